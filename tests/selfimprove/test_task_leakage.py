"""No problem is in two splits up to equivalent rewrites, for every procedural family we own.

The keys here are re-derived from the prompt text, independently of the modules' own
``canonical_key``: a generator that keyed problems wrongly (``8 + 5`` apart from ``5 + 8``, the
leak of issue #12) fails these tests even if it checks its own keys.

(The ``code`` family is not listed: its splits are owned with its module, see
``selfimprove/tasks/code.py``.)
"""

import math
import re

import pytest

from selfimprove.config import load_config
from selfimprove.tasks import LeakageError, Problem, check_disjoint, load_task
from selfimprove.tasks.base import head_split

ARITH = re.compile(r"What is (\d+) ([-+*]) (\d+)\?")
EQUATION = re.compile(r"Solve for x: (-?\d*)x(?: ([-+]) (\d+))? = (-?\d+)")


def arithmetic_key(p: Problem) -> tuple:
    a, op, b = ARITH.fullmatch(p.prompt).groups()
    a, b = int(a), int(b)
    return (op, *sorted((a, b))) if op in "+*" else (op, a, b)


def equation_key(p: Problem) -> tuple:
    coef, sign, b, c = EQUATION.fullmatch(p.prompt).groups()
    a = {"": 1, "-": -1}.get(coef, None) or int(coef)
    b = 0 if b is None else int(b) * (1 if sign == "+" else -1)
    c = int(c)
    g = math.gcd(a, b, c)
    a, b, c = a // g, b // g, c // g
    return (a, b, c) if a > 0 else (-a, -b, -c)


FAMILIES = {  # name -> (task overrides, independent key); small spaces are asked for more than they hold
    "1-digit +": (["task.ops=['+']", "task.digits=1"], arithmetic_key),
    "1-digit + - *": (["task.ops=['+', '-', '*']", "task.digits=1"], arithmetic_key),
    "1-digit *": (["task.ops=['*']", "task.digits=1"], arithmetic_key),
    "2-digit +": (["task.ops=['+']", "task.digits=2"], arithmetic_key),
    "2-digit -": (["task.ops=['-']", "task.digits=2"], arithmetic_key),
    "2-digit x 1-digit": (["task.ops=['*']", "task.operand_digits=[2, 1]"], arithmetic_key),
    "1-digit + 2-digit": (["task.ops=['+']", "task.operand_digits=[1, 2]"], arithmetic_key),
    "3-digit +": (["task.ops=['+']", "task.digits=3"], arithmetic_key),
    "equations 1-digit": (["task.name=equations", "task.digits=1"], equation_key),
    "equations 2-digit": (["task.name=equations", "task.digits=2"], equation_key),
}


@pytest.mark.parametrize("sizes", [(60, 40), (400, 200)], ids=["small", "large"])
@pytest.mark.parametrize("seed", [0, 7, 1234])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_no_key_in_both_splits(family, seed, sizes):
    overrides, key = FAMILIES[family]
    num_train, num_test = sizes
    splits = load_task(load_config(None, [*overrides, f"task.seed={seed}", f"task.num_train={num_train}",
                                          f"task.num_test={num_test}"]).task)
    train, test = [key(p) for p in splits["train"]], [key(p) for p in splits["test"]]
    assert not set(train) & set(test)
    assert len(set(train)) == len(train) and len(set(test)) == len(test)  # one problem per key
    assert test  # the family is not empty
    # the module's own keys partition the problems exactly as the independent ones do
    own = {p.split_key: key(p) for p in splits["train"] + splits["test"]}
    assert len(own) == len(set(own.values())) == len(train) + len(test)


def test_commutative_twins_are_one_problem():
    splits = load_task(load_config(None, ["task.ops=['+']", "task.num_train=500", "task.num_test=40"]).task)
    problems = splits["train"] + splits["test"]
    assert len(problems) == 55  # unordered 1-digit facts, not the 100 ordered ones
    assert len({arithmetic_key(p) for p in problems}) == 55


def test_mixed_digits_show_both_orders():
    splits = load_task(load_config(None, ["task.ops=['*']", "task.operand_digits=[2, 1]", "task.num_train=300",
                                          "task.num_test=50"]).task)
    firsts = set()
    for p in splits["train"] + splits["test"]:
        a, _, b = ARITH.fullmatch(p.prompt).groups()
        assert sorted((len(a), len(b))) == [1, 2]
        assert int(p.reference) == int(a) * int(b)
        firsts.add(len(a))
    assert firsts == {1, 2}


def test_equation_rewrites_share_a_key():
    from selfimprove.tasks.equations import canonical_key

    assert canonical_key(2, 4, 10) == canonical_key(1, 2, 5) == canonical_key(-1, -2, -5) == canonical_key(-3, -6, -15)
    assert canonical_key(3, 5, 20) != canonical_key(3, 2, 17)  # same solution, a different equation


def test_check_disjoint_names_the_shared_keys():
    twin = lambda pid, key: Problem(id=pid, prompt=pid, reference="13", task="arithmetic", key=key)  # noqa: E731
    with pytest.raises(LeakageError, match=r"train/test: 1 key\(s\).*arith:5\+8"):
        check_disjoint({"train": [twin("arith-8+5", "arith:5+8")], "test": [twin("arith-5+8", "arith:5+8")]})
    with pytest.raises(LeakageError):
        head_split([twin("a", "k"), twin("b", "k")], 1)
    check_disjoint({"train": [twin("a", "k1")], "test": [twin("b", "k2")]})  # disjoint: no error
    # without a key, the id is the key
    plain = Problem(id="p1", prompt="?", reference="1", task="t")
    with pytest.raises(LeakageError):
        check_disjoint({"train": [plain], "val": [plain]})
