#!/usr/bin/env bash
# The GPU smoke check: one rft and one grpo round of the embedded model under DeepSpeed ZeRO-3 on
# 1 rank, then on 2 ranks when 2 GPUs are visible, then once more with rollouts.backend=vllm when
# vLLM imports (benchmarks/gpu_smoke.py says what is checked: one run directory, every rank's grpo
# steps and rollouts, float32 master weights, devices). Each run writes <out>/ranks-<N>[-vllm]/smoke.json
# (the directory is emptied first); the script exits non-zero when any check failed.
#
#   bash benchmarks/gpu_smoke.sh [--dry] [--out DIR]
#
#   --dry      the tiny random model on CPUs (gloo): the same code paths, no GPU needed
#   --out DIR  where the runs go (default: runs/gpu-smoke; $OUT/gpu-smoke under the device tool)
set -euo pipefail
cd "$(dirname "$0")/.."
dry=() out=${OUT:+$OUT/gpu-smoke}
out=${out:-runs/gpu-smoke}
while (($#)); do
    case $1 in
        --dry) dry=(--dry); shift ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "gpu_smoke.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
PY=${SELFIMPROVE_VENV:-.venv}/bin/python
[[ -x $PY ]] || PY=$(command -v python3)
gpus=$("$PY" -c "import torch; print(torch.cuda.device_count())")
ranks=(1)
if ((${#dry[@]})) || ((gpus >= 2)); then ranks+=(2); fi
status=0
smoke() {  # smoke NRANKS NAME [ARGS...]
    local n=$1 name=$2
    shift 2
    echo "gpu_smoke.sh: $n rank(s)${dry:+ (dry)} $*" >&2
    rm -rf "${out:?}/$name"
    timeout 480 bash launch/torchrun.sh --nproc "$n" --entry benchmarks.gpu_smoke -- --out "$out/$name" "${dry[@]}" "$@" ||
        status=1
}
for n in "${ranks[@]}"; do
    smoke "$n" "ranks-$n"
done
if "$PY" -c "import vllm" 2>/dev/null; then
    smoke "${ranks[-1]}" "ranks-${ranks[-1]}-vllm" --vllm
fi
exit $status
