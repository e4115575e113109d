#!/usr/bin/env bash
# Set up (idempotent) and run the test suite. Extra arguments go to pytest:
#
#   bash launch/test.sh                 # the default suite (fast; no `slow` / `gpu` tests)
#   bash launch/test.sh -m slow         # the slow tests (embedded model, long runs)
set -uo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh || exit 1
# Test-only system package: headless Chromium renders `selfimprove report` pages in a test.
if ! command -v chromium >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "test.sh: installing chromium for the report rendering test"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } ||
        echo "test.sh: warning: could not install chromium; the rendering test will skip" >&2
fi
"${SELFIMPROVE_VENV:-.venv}/bin/python" -m pytest "$@"
rc=$?
if [[ $rc == 5 ]]; then
    # pytest's "no tests collected": a broken suite must not pass as green.
    echo "test.sh: pytest ran no test (exit 5); treating that as a failure" >&2
    exit 1
fi
exit $rc
