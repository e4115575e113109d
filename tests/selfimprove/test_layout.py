"""Small files: each module of the selfimprove package stays readable in one sitting."""

from pathlib import Path

import selfimprove

PACKAGE = Path(selfimprove.__file__).parent
LIMIT = 300


def test_no_module_over_the_line_limit():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > LIMIT}
    assert not long, f"modules over {LIMIT} lines (split them by idea): {long}"
