#!/usr/bin/env bash
# One node, N processes: torchrun --standalone around a selfimprove entry point.
#
#   bash launch/torchrun.sh [--nproc N] [--entry MODULE] [--] [ARGS...]
#
#   bash launch/torchrun.sh --nproc 8 -- train --config configs/x.yaml \
#       --set train.deepspeed=configs/deepspeed/zero3.json
#   bash launch/torchrun.sh --entry selfimprove.dist_train -- --deepspeed configs/deepspeed/zero3.json --out runs/check
#
# Options:
#   --nproc N       processes on this node (default: the GPUs torch sees, or 2 on a CPU-only machine)
#   --entry MODULE  the Python module torchrun runs with -m (default selfimprove.cli, the
#                   `selfimprove` command; selfimprove.dist_train is a small DeepSpeed self-check)
#   ARGS            passed to the module unchanged
#
# Environment: SELFIMPROVE_VENV (default .venv in the repo; falls back to python3 on PATH),
# SELFIMPROVE_DIST_BACKEND (default: nccl when GPUs are visible, else gloo).
# --standalone picks a free rendezvous port on this machine, so runs side by side do not collide.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "torchrun.sh: error: $*" >&2; exit 2; }

nproc="" entry=selfimprove.cli
while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --nproc) [[ $# -ge 2 ]] || die "--nproc needs a number"; nproc=$2; shift 2 ;;
        --entry) [[ $# -ge 2 ]] || die "--entry needs a module name"; entry=$2; shift 2 ;;
        --) shift; break ;;
        *) break ;;
    esac
done

[[ -z $nproc || $nproc =~ ^[1-9][0-9]*$ ]] || die "--nproc must be a positive integer, got '$nproc'"

VENV=${SELFIMPROVE_VENV:-.venv}
PY=$VENV/bin/python
[[ -x $PY ]] || PY=$(command -v python3) || die "no Python: run 'bash launch/setup.sh' or set SELFIMPROVE_VENV"
"$PY" -c "import torch, selfimprove" 2>/dev/null \
    || die "$PY cannot import torch and selfimprove: run 'bash launch/setup.sh' (or set SELFIMPROVE_VENV)"
gpus=$("$PY" -c "import torch; print(torch.cuda.device_count())")
if [[ -z $nproc ]]; then
    nproc=$((gpus > 0 ? gpus : 2))
fi
if ((gpus > 0 && nproc > gpus)); then
    die "--nproc $nproc but only $gpus GPU(s) visible; NCCL needs one GPU per process"
fi
export SELFIMPROVE_DIST_BACKEND=${SELFIMPROVE_DIST_BACKEND:-$( ((gpus > 0)) && echo nccl || echo gloo)}

echo "torchrun.sh: $nproc process(es), backend $SELFIMPROVE_DIST_BACKEND, python -m $entry $*" >&2
exec "$PY" -m torch.distributed.run --standalone --nnodes 1 --nproc-per-node "$nproc" -m "$entry" "$@"
