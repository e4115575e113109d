#!/usr/bin/env bash
# The documentation site (docs/pages/, MkDocs with the Material theme), from the project's .venv.
#
#   bash launch/docs.sh            # serve it at http://127.0.0.1:8000, rebuilt on every save
#   bash launch/docs.sh build      # build it into docs/site/ (git-ignored), failing on any warning
#
# Extra arguments go to `mkdocs serve` / `mkdocs build` (e.g. --dev-addr 0.0.0.0:8000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh
MKDOCS=("${SELFIMPROVE_VENV:-.venv}/bin/python" -m mkdocs)
if [[ ${1:-serve} == build ]]; then
    shift $(($# > 0 ? 1 : 0))
    exec "${MKDOCS[@]}" build --strict --config-file docs/mkdocs.yml "$@"
fi
[[ ${1:-} == serve ]] && shift
exec "${MKDOCS[@]}" serve --config-file docs/mkdocs.yml "$@"
