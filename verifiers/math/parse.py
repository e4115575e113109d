"""Parse an answer string into :mod:`.nodes` shapes.

Structure (lists, tuples, intervals, sets, equations, inequalities, units, labels, ``\\pm``) is
read here with a small bracket-aware splitter; every *single value* is handed to
``latex2sympy2_extended`` (the LaTeX-to-sympy parser that math-verify also uses; ANTLR grammar,
maintained by Hugging Face), or to an exact fast path for plain numbers and fractions.
Parsing runs under ``sympy.evaluate(False)`` and :func:`.guard.check_size` vets the tree
before sympy is allowed to evaluate it.

Values are exact (:mod:`.numbers`): a decimal is the rational it denotes, a number written with a
point records its places, ``i`` is the imaginary unit, odd roots of negative numbers are real.
A number keeps the unit written after it (:mod:`.units`, :mod:`.words`); a numeral with a base
subscript is its value (``1101_2`` is 13, :mod:`.numbers`); words that say there is no answer
become the empty set or ``does not exist`` (:mod:`.words`). ``A \\approx B`` is read as ``A`` (the
exact value stated first), or as ``B`` when ``A`` is only a name (``x \\approx 0.67``).

Limits: a bare comma list is read as a list of answers (``1, 5``), never as one number with
a thousands separator, unless the whole answer is a single such number (``1,000``). ``(a, b)`` is
kept as a pair and compared with an interval only when the other side is an interval.
"""

from __future__ import annotations

import dataclasses
import functools
import re

import sympy
from latex2sympy2_extended import latex2sympy
from latex2sympy2_extended.latex2sympy2 import ConversionConfig
from latex2sympy2_extended.math_normalization import NormalizationConfig

from verifiers.math import guard, numbers, units, words
from verifiers.math.nodes import Equation, MatrixNode, Node, Relation, Scalar, Seq, SetNode
from verifiers.math.normalize import normalize
from verifiers.math.scan import split_top, split_top_keep, wrapped


class ParseError(ValueError):
    """The text is not a math answer this parser understands."""


_PERCENT_RE = re.compile(r"\s*\\?%\s*$")
_DEGREE_RE = re.compile(r"\s*\^\s*(?:\{\s*\\circ\s*\}|\\circ)\s*$")
_LABEL_RE = re.compile(r"^[A-Za-z][A-Za-z ]*(?:\s*\d+)?\s*:\s*(?=\S)")
_IN_PREFIX_RE = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?\s*\\in(?![a-zA-Z])\s*")
_NAME = r"(?:[A-Za-z]+|\\[a-zA-Z]+)(?:_\{[^{}]*\}|_\\?[A-Za-z0-9]+)?(?:\^\{?\*\}?)?"
_ASSIGN_RE = re.compile(rf"^{_NAME}(?:\(([^()]*)\))?$")
_REL_OPS = {"<": "<", ">": ">", r"\leq": "<=", r"\geq": ">=", r"\neq": "!=", "<=": "<=", ">=": ">="}
_WORD_SEPARATORS = [",", ";", " and ", " or "]
_MATRIX_RE = re.compile(r"^\\begin\{([pbBvV]?matrix|array)\}(?:\{[^{}]*\})?(.*)\\end\{\1\}$", re.DOTALL)

_L2S_NORMALIZATION = NormalizationConfig(basic_latex=True, units=False, malformed_operators=True,
                                         nits=False, boxed="none", equations=False)
_L2S_CONVERSION = ConversionConfig(interpret_as_mixed_fractions=True, lowercase_symbols=False)


@functools.lru_cache(maxsize=4096)
def parse_answer(text: str) -> Node:
    """Parse one extracted answer (raises :class:`ParseError` or :class:`.guard.TooComplex`).

    Cached: a reference is graded against every completion of its group, and the parsed
    nodes are immutable. Failures are not cached (they raise).
    """
    guard.check_text(text)
    s = normalize(text)
    if not s:
        raise ParseError("empty answer")
    return _parse(s, depth=0)


def _parse(s: str, depth: int) -> Node:
    if depth > 12:
        raise ParseError("answer structure is nested too deeply")
    s = _IN_PREFIX_RE.sub("", s.strip())
    s = re.sub(r"\\text\{\s*(and|or)\s*\}", r" \1 ", s)
    s = re.sub(r"(?<=\S)\s*\\text\{[^{}]*\s(and|or)\s*\}", r" \1 ", s)  # "7 \text{ goats and } 4 \text{ toys}"
    parts = [p for p in split_top(s, _WORD_SEPARATORS) if p]
    if len(parts) > 1:
        items = [_parse_item(p, depth) for p in parts]
        return _flat_list([i for i in items if i is not None])
    item = _parse_item(s, depth)
    if item is None:
        raise ParseError("empty answer")
    return item


def _parse_item(s: str, depth: int) -> Node | None:
    """One list item: prose qualifiers, labels and units removed, then its structure."""
    s = words.strip_prose(s)
    if not isinstance(s, str) or not s:
        return s or None
    if s in words.EMPTY_SYMBOLS:
        return SetNode(sympy.EmptySet)
    s = _drop_approximation(s)
    if not re.match(r"^[A-Za-z]\s*:", s):
        s = _LABEL_RE.sub("", s)
    s = _IN_PREFIX_RE.sub("", s)
    if (r"\pm" in s or r"\mp" in s) and not s.startswith(r"\{"):  # in a set: per element
        return _flat_list([_parse(v, depth + 1) for v in _expand_pm(s)])
    unions = split_top(s, [r"\cup"])
    if len(unions) > 1:
        return SetNode(sympy.Union(*(_as_set(_parse(p, depth + 1)) for p in unions)))
    eq = split_top(s, ["="])
    if len(eq) > 1:
        return _equation(eq, depth)
    rel = _relation(s, depth)
    if rel is not None:
        return rel
    shell = wrapped(s)
    if shell is not None:
        return _bracketed(*shell, depth=depth)
    m = _MATRIX_RE.match(s)
    if m:
        rows = [r for r in re.split(r"\\\\", m.group(2)) if r.strip()]
        return MatrixNode(tuple(tuple(_parse(c, depth + 1) for c in r.split("&")) for r in rows))
    return _scalar(s)


def _drop_approximation(s: str) -> str:
    """``A \\approx B``: ``A`` (the value stated first), or ``B`` when ``A`` is only a name."""
    parts = split_top(s, [r"\approx", r"\simeq"])
    if len(parts) == 1:
        return s
    values = [p for p in parts if p and not _is_symbol(p)]
    return values[0] if values else s


def _flat_list(items: list[Node]) -> Seq:
    flat: list[Node] = []
    for item in items:
        if isinstance(item, Seq) and not item.brackets and not item.ordered:
            flat.extend(item.items)
        else:
            flat.append(item)
    return Seq(tuple(flat), ordered=False)


def _expand_pm(s: str, limit: int = 16) -> list[str]:
    out = [s]
    while any(r"\pm" in v or r"\mp" in v for v in out):
        nxt = []
        for v in out:
            m = re.search(r"\\pm|\\mp", v)
            if not m:
                nxt.append(v)
                continue
            first, second = ("+", "-") if m.group(0) == r"\pm" else ("-", "+")
            nxt += [v[: m.start()] + first + v[m.end():], v[: m.start()] + second + v[m.end():]]
        out = nxt
        if len(out) > limit:
            raise ParseError(f"more than {limit} \\pm combinations")
    return out


def _equation(parts: list[str], depth: int) -> Equation:
    lhs, rhs = parts[0], parts[-1]
    if not rhs:
        raise ParseError("equation without a right-hand side")
    shell = wrapped(lhs)
    names = split_top(shell[1], [","]) if shell and shell[0] == "(" else [lhs]
    matches = [_ASSIGN_RE.match(n.strip()) for n in names]
    assignment = all(matches) or bool(re.fullmatch(r"[A-Za-z][A-Za-z ]*", lhs))
    params: tuple[sympy.Symbol, ...] = ()
    if assignment and len(matches) == 1 and matches[0] and matches[0].group(1):
        args = [a.strip() for a in matches[0].group(1).split(",")]
        if all(re.fullmatch(r"[A-Za-z]", a) for a in args):
            params = tuple(sympy.Symbol(a) for a in args)
    lhs_node = None if assignment else _parse(lhs, depth + 1)
    if assignment and len(matches) == 1 and matches[0] and not params and not shell:
        try:  # "y = x + 1" can also be compared as the equation it is
            name = lhs.strip()  # one letter, as latex2sympy names it, without the parser's cost
            lhs_node = Scalar(sympy.Symbol(name), name) if re.fullmatch(r"[A-Za-z]", name) else _scalar(lhs)
        except ParseError:
            pass
    return Equation(lhs, _parse(rhs, depth + 1), assignment, params, lhs_node)


def _relation(s: str, depth: int) -> Node | None:
    operands, found = split_top_keep(s, list(_REL_OPS))
    if not found:
        return None
    ops = [_REL_OPS[o] for o in found]
    if any(not o.strip() for o in operands) or any(split_top(o, [",", "="])[1:] for o in operands):
        return None
    if "!=" in ops:
        if len(ops) == 1 and _is_symbol(operands[0]):
            point = _scalar(operands[1].strip()).expr
            return SetNode(sympy.Union(sympy.Interval.open(-sympy.oo, point), sympy.Interval.open(point, sympy.oo)))
        return None
    if ">" in ops[0]:  # read a > b > c as c < b < a
        operands, ops = operands[::-1], [o.replace(">", "<") for o in ops[::-1]]
    if any(">" in o for o in ops):
        return None
    symbols = [i for i, o in enumerate(operands) if _is_symbol(o)]
    if len(symbols) == 1 and len(operands) in (2, 3):
        i = symbols[0]
        lo = hi = None
        lo_open = hi_open = True
        if i > 0:
            lo, lo_open = _scalar(operands[i - 1].strip()).expr, ops[i - 1] == "<"
        if i + 1 < len(operands):
            hi, hi_open = _scalar(operands[i + 1].strip()).expr, ops[i] == "<"
        return SetNode(sympy.Interval(lo if lo is not None else -sympy.oo, hi if hi is not None else sympy.oo,
                                      lo_open or lo is None, hi_open or hi is None))
    return Relation(tuple(ops), tuple(_parse(o, depth + 1) for o in operands))


def _is_symbol(s: str) -> bool:
    return bool(re.fullmatch(rf"\s*{_NAME}\s*", s)) and not re.fullmatch(r"\s*\\(?:infty|pi)\s*", s)


def _bracketed(opener: str, inner: str, closer: str, depth: int) -> Node:
    if opener in (r"\{",) and re.search(r"(?<!\\)\|", inner):  # set-builder {x | condition}
        condition = split_top(inner, ["|"])[-1]
        return SetNode(_as_set(_parse(condition, depth + 1)))
    items = [p for p in split_top(inner, [",", ";"])]
    if opener in (r"\{",):
        return _flat_list([_parse(p, depth + 1) for p in items if p]) if items != [""] else Seq((), False, "{}")
    if len(items) == 1:
        if opener == "{":
            return _parse(inner, depth + 1)
        return _scalar(opener + inner + closer)
    brackets = opener + closer
    return Seq(tuple(_parse(p, depth + 1) for p in items), ordered=True, brackets=brackets)


def _as_set(node: Node) -> sympy.Set:
    if isinstance(node, SetNode):
        return node.value
    if isinstance(node, Seq) and node.ordered and len(node.items) == 2 and node.brackets in ("()", "[]", "(]", "[)"):
        lo, hi = node.items
        if isinstance(lo, Scalar) and isinstance(hi, Scalar):
            return sympy.Interval(lo.expr, hi.expr, node.brackets[0] == "(", node.brackets[1] == ")")
    if isinstance(node, Seq) and not node.ordered:  # "x < 1 or x = 3", "{1, 2}"
        return sympy.Union(*(_as_set(i) for i in node.items)) if node.items else sympy.EmptySet
    if isinstance(node, Equation) and node.assignment:  # "a = 1" read as the set {1}
        return _as_set(node.rhs)
    if isinstance(node, Scalar):
        return sympy.FiniteSet(node.expr)
    raise ParseError("a union of things that are not sets")


def _scalar(s: str) -> Scalar:
    s, unit = units.take_unit(units.drop_plain_unit(s.strip()))  # "165.5 grams", "15 Day", "5 percent"
    if unit:
        return dataclasses.replace(_scalar(s), unit=unit)
    percent = bool(_PERCENT_RE.search(s))
    s = _PERCENT_RE.sub("", s)
    degrees = bool(_DEGREE_RE.search(s))
    s = _DEGREE_RE.sub("", s).strip()
    ratio = split_top(s, [":"])
    if len(ratio) == 2 and all(ratio):
        a, b = _scalar(ratio[0]), _scalar(ratio[1])
        return Scalar(sympy.Mul(a.expr, sympy.Pow(b.expr, -1)), s, percent=percent, degrees=degrees)
    if not s:
        raise ParseError("empty value")
    try:
        numeral = numbers.base_numeral(s)
        if numeral is not None:
            return Scalar(numeral[0], s, percent=percent, degrees=degrees, base=numeral[1])
        s = numbers.replace_base_numerals(s)  # "21_3 + 1"
        exact = numbers.exact_number(s)
    except ZeroDivisionError as exc:
        raise ParseError("division by zero") from exc
    except guard.TooComplex:
        raise
    except ValueError as exc:  # a digit not valid in its base
        raise ParseError(str(exc)) from exc
    if exact is not None:
        value, places = exact
        return Scalar(value, s, places, percent, degrees)
    return Scalar(_latex_value(s), s, None, percent, degrees)


def _latex_value(s: str) -> sympy.Expr:
    """One value through latex2sympy, unevaluated first so :mod:`.guard` can vet it."""
    try:
        with sympy.evaluate(False):
            value = latex2sympy(s, normalization_config=_L2S_NORMALIZATION, conversion_config=_L2S_CONVERSION)
    except RecursionError as exc:
        raise guard.TooComplex("answer nests too deeply for the parser") from exc
    except Exception as exc:  # the ANTLR grammar raises many exception types for bad input
        raise ParseError(f"cannot parse {s[:80]!r}: {type(exc).__name__}: {exc}"[:300]) from exc
    if not isinstance(value, sympy.Expr):
        raise ParseError(f"{s[:80]!r} is a {type(value).__name__}, not a value")
    guard.check_size(value)
    return numbers.exact_conventions(value).doit()
