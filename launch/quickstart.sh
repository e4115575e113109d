#!/usr/bin/env bash
# The Quickstart's main job: set everything up (idempotent), then a short self-improvement run of the embedded model on CPU.
#
#   bash launch/quickstart.sh [--set section.key=value ...]
#
# Extra arguments go to `selfimprove`. Outputs land in runs/quickstart-<time>/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh
exec "${SELFIMPROVE_VENV:-.venv}/bin/selfimprove" train --config configs/quickstart.yaml "$@"
