"""Text clean-up applied to an extracted answer before it is parsed.

Only rewrites that do not change the mathematical meaning live here: LaTeX spacing and sizing
commands, ``\\dfrac`` -> ``\\frac``, unicode operators -> LaTeX, ``$`` delimiters and currency (an
answer that is only ``\\$5`` keeps the dollars as a unit marker, :mod:`.units`),
thousands separators of a lone number, ordinal suffixes, trailing full stops. Rewrites that
carry meaning (percent, degrees, units, labels) are decided per item in :mod:`.parse`.
"""

from __future__ import annotations

import re

_UNICODE = {
    "\u2212": "-", "\u2013": "-", "\u2264": r"\leq ", "\u2265": r"\geq ", "\u2260": r"\neq ",
    "\u221e": r"\infty ", "\u03c0": r"\pi ", "\u222a": r"\cup ", "\u2229": r"\cap ",
    "\u00d7": r"\times ", "\u00b7": r"\cdot ", "\u22c5": r"\cdot ", "\u00f7": r"\div ",
    "\u221a": r"\sqrt ", "\u00b0": r"^\circ ", "\uff1e": ">", "\uff1c": "<", "\u2208": r"\in ",
    "\u2200": r"\forall ", "\uff0c": ",", "\u2217": "*", "\u00bd": "1/2", "\u2248": r"\approx ",
}
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE)))

_DROP_RE = re.compile(
    r"\\(?:left|right|[Bb]igg?[lr]?|displaystyle|textstyle|scriptstyle|limits)(?![a-zA-Z])"
    r"|(?<!\\)\\[!,;:> ]|\\q?quad(?![a-zA-Z])|~|\\hfill|\\phantom\{[^{}]*\}"
)
# Renames, applied in order, one a line: a regular expression, white space, and its replacement (a
# re.sub template: "\\" is one backslash, "\1" a group; none deletes the match). Neither has spaces.
_RENAME_TABLE = r"""
\\[dt]frac(?![a-zA-Z])                                                         \\frac
\\[dt]binom(?![a-zA-Z])                                                        \\binom
\\(?:mbox|textbf|textit|textrm|textnormal|mathrm|mathbf|mathit|rm)\s*\{        \\text{
\\leqslant|\\le(?![a-zA-Z])                                                    \\leq
\\geqslant|\\ge(?![a-zA-Z])                                                    \\geq
\\ne(?![a-zA-Z])                                                               \\neq
\\lt(?![a-zA-Z])                                                               <
\\gt(?![a-zA-Z])                                                               >
\\mid(?![a-zA-Z])                                                              |
\\textcirc|\\degree|\\circ(?![a-zA-Z])                                         \\circ
\\lbrace                                                                       \\{
\\lbrack                                                                       [
\\rbrace                                                                       \\}
\\rbrack                                                                       ]
\\tan\^\{-1\}                                                                  \\arctan
\\sin\^\{-1\}                                                                  \\arcsin
\\cos\^\{-1\}                                                                  \\arccos
\\cdots|\\ldots|\\dots                                                         \\cdots
# "0.333..." is a repeating decimal (read in parse), not "0.333" with a full stop
(\.\d+)\s*(?:\.\.\.|\u2026)                                                    \1\\cdots
\\lg(?![a-zA-Z])                                                               \\log_{10}
<sup>(.*?)</sup>                                                               ^{\1}
# \frac12, \frac{a}b, \sqrt2: single-token arguments without braces
\\frac\s*(\d)\s*(\d)                                                           \\frac{\1}{\2}
\\frac\s*(\{[^{}]*\})\s*([A-Za-z0-9])                                          \\frac\1{\2}
\\sqrt\s*(\d)                                                                  \\sqrt{\1}
# the full stop in "\sqrt{2}.]" or "x.)" ends the sentence, not a number
(?<![\d\s])\s*\.(?=\s*(?:\]|\)|\\\}|,))
"""


def _rules(table: str) -> list[tuple[re.Pattern[str], str]]:
    """The (compiled pattern, replacement) of each rule line of ``table``; "#" lines are comments."""
    rules = []
    for line in table.strip().splitlines():
        if line.startswith("#"):
            continue
        pattern, *replacement = line.split()
        if len(replacement) > 1:
            raise ValueError(f"rename rule {line!r}: a pattern and at most one replacement, neither with spaces")
        rules.append((re.compile(pattern), "".join(replacement)))
    return rules


_RENAME = _rules(_RENAME_TABLE)
_THIN_SPACE_GROUP_RE = re.compile(r"(?<=\d)(?:\\,|\\ |\\;|~|\{,\})(?=\d{3}(?!\d))")
_THOUSANDS_RE = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?$")
_DOLLARS_RE = re.compile(r"^\s*\\\$\s*(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)\s*$")
_ORDINAL_RE = re.compile(r"(\d)\s*(?:\^\{?\\text\{(?:st|nd|rd|th)\}\}?|(?:st|nd|rd|th)\b)")


def normalize(text: str) -> str:
    """Return ``text`` with presentation-only LaTeX removed (see the module docstring)."""
    s = _UNICODE_RE.sub(lambda m: _UNICODE[m.group(0)], text)
    s = _THIN_SPACE_GROUP_RE.sub("", s)  # 1\,000 -> 1000
    # "\frac" / "\text" written in JSON without escaping arrive as form feed / tab.
    s = s.replace("\x0c", "\\f").replace("\text", "\\text")
    s = re.sub(r"^\s*(?:\\\[|\\\()(.*?)(?:\\\]|\\\))\s*$", r"\1", s, flags=re.DOTALL)
    s = _DROP_RE.sub(" ", s)
    for pattern, repl in _RENAME:
        s = pattern.sub(repl, s)
    # "\$5" is five dollars: the sign is a unit (see units), unless it only delimits math ("$5$")
    s = _DOLLARS_RE.sub(lambda m: m.group(1).replace(",", "") + r" \unit{dollars}", s)
    s = s.replace(r"\$", " ").replace("$", " ")
    s = _ORDINAL_RE.sub(r"\1", s)
    s = s.strip()
    while s.endswith(".") and not re.search(r"\d\.$", s[-2:]):
        s = s[:-1].rstrip()
    s = re.sub(r"(\d)\.$", r"\1", s)
    s = re.sub(r"\s+", " ", s).strip()
    if _THOUSANDS_RE.match(s):
        s = s.replace(",", "")
    return s
