#!/usr/bin/env bash
# Check the setup, then submit launch/slurm/train.sbatch with sbatch.
#
#   bash launch/slurm/submit.sh [--nodes N] [--gpus-per-node G] [--partition P] [--account A]
#                               [--time T] [--wait] [--dry-run] [--] [TRAIN_SBATCH_ARGS...]
#
#   bash launch/slurm/submit.sh --nodes 2 --gpus-per-node 8 --time 02:00:00 -- \
#       train --config configs/x.yaml --set train.deepspeed=configs/deepspeed/zero3.json
#
# Options:
#   --nodes N          nodes (default 1)
#   --gpus-per-node G  GPUs per node (default: none requested, a CPU job)
#   --partition P, --account A, --time T
#                      passed to sbatch; when not given, sbatch's own SBATCH_PARTITION,
#                      SBATCH_ACCOUNT and SBATCH_TIMELIMIT apply, then the cluster's defaults
#   --wait             return when the job ends, with its exit code (sbatch --wait)
#   --dry-run          print the sbatch command instead of running it
#   TRAIN_SBATCH_ARGS  options of train.sbatch (see its header), then its module's arguments
# The job's own log goes to logs/<job name>-<job id>.out, per-node logs to logs/slurm-<job id>/.
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "submit.sh: error: $*" >&2; exit 2; }

sbatch_args=() dry_run=0
while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --nodes|--gpus-per-node|--partition|--account|--time)
            [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"
            sbatch_args+=("$1=$2"); shift 2 ;;
        --wait) sbatch_args+=(--wait); shift ;;
        --dry-run) dry_run=1; shift ;;
        --) shift; break ;;
        *) break ;;
    esac
done

command -v sbatch >/dev/null || die "sbatch not found: run this on a SLURM login node (or install slurm-client)"
VENV=${SELFIMPROVE_VENV:-$PWD/.venv}
[[ -x $VENV/bin/python ]] || die "no virtual environment at $VENV: run 'bash launch/setup.sh' first (on a filesystem the nodes share)"
mkdir -p logs

cmd=(sbatch --chdir "$PWD" --output "logs/%x-%j.out" "${sbatch_args[@]}" launch/slurm/train.sbatch "$@")
if ((dry_run)); then
    printf '%q ' "${cmd[@]}"; echo
    exit 0
fi
export SELFIMPROVE_REPO=$PWD SELFIMPROVE_VENV=$VENV
exec "${cmd[@]}"
