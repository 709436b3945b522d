"""Whether two answers mean the same, with the reason. Runs only inside sandbox workers.

Only `mathparse` turns text into SymPy objects; nothing here evaluates text as code.
"""

from __future__ import annotations

import random
import re

import sympy

from verimath.tools.choices import LETTERS, UNLISTED_CHOICES, grade_choice, picked_choice
from verimath.tools.mathparse import (
    ParseError,
    expand_pm,
    free_variables,
    normalize,
    parse_expression,
    parse_items,
)
from verimath.tools.verdict import Equivalence, shorten

__all__ = [
    "equivalent", "compare_expressions", "numerically_equal", "prepare_answer",
    "degrees_as_radians",
]  # fmt: skip

_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*\\?%")
_MIXED_NUMBER = re.compile(
    r"^\s*(?P<whole>\d+)\s*\\[dt]?frac\s*\{?(?P<num>\d+)\}?\s*\{?(?P<den>\d+)\}?(?=\s*(?:\\text|$))"
)
_DEGREES = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\^\s*\{?\s*\\circ\s*\}?|°)")
_REPEATING = re.compile(r"(?P<whole>\d*)\.(?P<fixed>\d*)\\overline\{(?P<rep>\d+)\}")
_MATRIX = re.compile(
    r"(?P<factor>[^\\]*?|\\[dt]?frac\{[^{}]*\}\{[^{}]*\})\s*"
    r"\\begin\{[pbv]?matrix\}(?P<body>.*?)\\end\{[pbv]?matrix\}",
    re.S,
)


def equivalent(gold: str, candidate: str) -> Equivalence:
    """Compare two answers; None when the parser cannot read one of them. A gold that is a
    choice letter (`B`, `(B)`, `option B`) is graded by `grade_choice` without choice texts:
    the candidate must name that letter (`B: 42`, `\\text{(B)}` do; `b`, `42` do not)."""
    gold_choice = picked_choice(gold, UNLISTED_CHOICES)
    if gold_choice is not None and not gold_choice[1]:  # a letter A-E: a multiple choice
        picked = picked_choice(candidate, UNLISTED_CHOICES)
        which = f"choice {LETTERS[picked[0]]}" if picked else "no choice letter"
        return Equivalence(grade_choice(gold, candidate), f"{which} vs {LETTERS[gold_choice[0]]}")
    g, c = prepare_answer(gold), prepare_answer(candidate)
    g, c = _degrees_beside_radians(g, c), _degrees_beside_radians(c, g)
    if _squash(normalize(g)) == _squash(normalize(c)):
        return Equivalence(True, "identical after normalisation")
    if (_is_text(g) or _is_text(c)) and _letters_only(g) and _letters_only(c):
        same = _plain_words(g) == _plain_words(c)
        return Equivalence(same, "same text" if same else "different text")
    try:
        gold_items, candidate_items = _answer_items(g), _answer_items(c)
    except ParseError as exc:
        return Equivalence(None, f"not parsed: {exc}")
    if len(gold_items) != len(candidate_items):
        return Equivalence(False, f"{len(gold_items)} items vs {len(candidate_items)}")
    if len(gold_items) > 1:
        return _compare_collections(gold_items, candidate_items, ordered=False)
    return _compare(gold_items[0], candidate_items[0])


def _degrees_beside_radians(text: str, other: str) -> str:
    """`30^\\circ` compared with an answer in radians (it mentions π) is π/6."""
    if re.search(r"\\pi|π", other) and not re.search(r"\\pi|π", text):
        return degrees_as_radians(text)
    return text


def degrees_as_radians(text: str) -> str:
    """`30^\\circ` and `30°` become `(30\\pi/180)`."""
    return _DEGREES.sub(r"(\1\\pi/180)", text)


def _is_text(text: str) -> bool:
    """An answer in words (`\\text{even}`, `Monday`), not math: letters only, with a word of
    4+ letters or one the parser refuses (`odd`); never a known constant or function name."""
    try:
        plain = normalize(text)
    except ParseError:
        return False
    if not re.fullmatch(r"[A-Za-z][A-Za-z\s'-]*", plain) or re.search(
        r"\b(?:sqrt|frac|infty|infinity|pi|sin|cos|tan|log|exp|ln|oo)\b", plain
    ):
        return False
    if re.search(r"[A-Za-z]{4,}", plain):
        return True
    try:
        parse_expression(plain)
    except ParseError:
        return True
    return False


def _letters_only(text: str) -> bool:
    try:
        return bool(re.fullmatch(r"[A-Za-z][A-Za-z\s'-]*", normalize(text)))
    except ParseError:
        return False


def _plain_words(text: str) -> str:
    words = normalize(text).lower().replace("-", " ").split()
    return " ".join(w for w in words if w not in ("a", "an", "the"))


def prepare_answer(text: str, *, as_written: bool = False) -> str:
    """Typesetting that carries meaning, made plain before parsing: `25\\%` is 25/100,
    `10,\\!080` is 10080, `4\\frac{2}{3}` is a mixed number, `0.\\overline{3}` repeats,
    `x \\in [a, b]` is the interval. `as_written` keeps a percentage its number and makes a
    mixed number one fraction, for reading how an answer is written (`answer_form`), where
    25/100 and 4 + 2/3 would read as operations left to do."""
    text = _PERCENT.sub(r"\1" if as_written else r"(\1/100)", text)
    text = re.sub(r",\\!\s*", ",", text)
    text = re.sub(r"^\s*[A-Za-z]\s*\\in\s*", "", text)
    mixed = _improper if as_written else r"(\g<whole>+\\frac{\g<num>}{\g<den>})"
    text = _MIXED_NUMBER.sub(mixed, text)
    return _REPEATING.sub(_repeating_to_fraction, text)


def _improper(match: re.Match[str]) -> str:
    whole, num, den = (int(match.group(g)) for g in ("whole", "num", "den"))
    return f"\\frac{{{whole * den + num}}}{{{den}}}"


def _repeating_to_fraction(match: re.Match[str]) -> str:
    whole, fixed, repeat = match.group("whole") or "0", match.group("fixed"), match.group("rep")
    value = (
        sympy.Integer(whole)
        + sympy.Rational(int(fixed or 0), 10 ** len(fixed))
        + sympy.Rational(int(repeat), (10 ** len(repeat) - 1) * 10 ** len(fixed))
    )
    return f"({value.p}/{value.q})"


def _answer_items(text: str) -> list[sympy.Basic]:
    """Items of an answer, `a \\pm b` counted as its two values; a matrix is one item.
    Matrices are read before normalisation, which would take their `\\\\` row breaks."""
    matrix = _parse_matrix(text)
    if matrix is not None:
        return [matrix]
    items = parse_items(text)
    if len(items) == 1 and isinstance(items[0], sympy.FiniteSet):
        items = list(items[0].args)  # {1, -2} and "1, -2" list the same values
    return [
        v for item in items for v in (expand_pm(item) if isinstance(item, sympy.Expr) else [item])
    ]


def _parse_matrix(text: str) -> sympy.Matrix | None:
    """`[c]\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix}` (also bmatrix), with an optional
    scalar factor in front; None when the text is not a matrix."""
    match = _MATRIX.fullmatch(text.strip())
    if match is None:
        return None
    rows = [r for r in re.split(r"\\\\", match.group("body")) if r.strip()]
    cells = [[parse_expression(cell) for cell in row.split("&")] for row in rows]
    if len({len(row) for row in cells}) != 1:
        raise ParseError("matrix rows of different lengths")
    factor = match.group("factor").strip()
    scale = sympy.Integer(-1) if factor == "-" else parse_expression(factor) if factor else 1
    return sympy.Matrix(cells) * scale


def _squash(text: str) -> str:
    """Compare as text without spacing, case or braces around a subscript (`52_{8}` = `52_8`)."""
    return re.sub(r"_\{(\w+)\}", r"_\1", re.sub(r"\s+", "", text)).lower()


def _compare_collections(a: list, b: list, *, ordered: bool) -> Equivalence:
    if ordered:
        for x, y in zip(a, b, strict=True):
            result = _compare(x, y)
            if result.equivalent is not True:
                return result
        return Equivalence(True, "all items equal in order")
    remaining = list(b)
    for x in a:
        match = next((y for y in remaining if _compare(x, y).equivalent is True), None)
        if match is None:
            return Equivalence(False, f"no counterpart for {shorten(x)}")
        remaining.remove(match)
    return Equivalence(True, "same items in any order")


def _compare(a: sympy.Basic, b: sympy.Basic) -> Equivalence:
    if a == b:
        return Equivalence(True, "structurally equal")
    a, b = _inequality_as_set(a), _inequality_as_set(b)
    a, b = _pair_as_interval(a, b), _pair_as_interval(b, a)
    if isinstance(a, sympy.MatrixBase) or isinstance(b, sympy.MatrixBase):
        return _compare_matrices(a, b)
    if isinstance(a, sympy.Equality) and isinstance(b, sympy.Equality):
        return _compare_equations(a, b)
    if isinstance(a, sympy.Equality) and isinstance(a.lhs, sympy.Symbol):
        a = a.rhs
    if isinstance(b, sympy.Equality) and isinstance(b.lhs, sympy.Symbol):
        b = b.rhs
    if isinstance(a, sympy.Tuple) and isinstance(b, sympy.Tuple):
        if len(a) != len(b):
            return Equivalence(False, "tuples of different length")
        return _compare_collections(list(a), list(b), ordered=True)
    if isinstance(a, sympy.FiniteSet) and isinstance(b, sympy.FiniteSet):
        if len(a) != len(b):
            return Equivalence(False, "sets of different size")
        return _compare_collections(list(a), list(b), ordered=False)
    if isinstance(a, sympy.Interval) and isinstance(b, sympy.Interval):
        same_ends = a.left_open == b.left_open and a.right_open == b.right_open
        if not same_ends:
            return Equivalence(False, "interval ends differ (open vs closed)")
        ends = _compare_collections([a.start, a.end], [b.start, b.end], ordered=True)
        return Equivalence(ends.equivalent, "interval " + ends.reason)
    if isinstance(a, sympy.Expr) and isinstance(b, sympy.Expr):
        return compare_expressions(a, b)
    if type(a) is not type(b):
        return Equivalence(False, f"{type(a).__name__} vs {type(b).__name__}")
    return Equivalence(a == b, "structurally equal" if a == b else "structurally different")


def _inequality_as_set(item: sympy.Basic) -> sympy.Basic:
    """An inequality in one variable is the set it describes: `x > 5` is (5, oo)."""
    is_inequality = isinstance(item, sympy.And | sympy.Rel) and not isinstance(
        item, sympy.Equality | sympy.Unequality
    )
    if is_inequality and len(free_variables(item)) == 1:
        try:
            return item.as_set()
        except (NotImplementedError, TypeError, ValueError):
            return item
    return item


def _pair_as_interval(item: sympy.Basic, other: sympy.Basic) -> sympy.Basic:
    """Beside an interval, a pair `(a, b)` is the open interval it is written as."""
    if isinstance(item, sympy.Tuple) and len(item) == 2 and isinstance(other, sympy.Interval):
        return sympy.Interval.open(*item.args)
    return item


def _compare_matrices(a: sympy.Basic, b: sympy.Basic) -> Equivalence:
    if not (isinstance(a, sympy.MatrixBase) and isinstance(b, sympy.MatrixBase)):
        return Equivalence(False, "a matrix and a non-matrix")
    if a.shape != b.shape:
        return Equivalence(False, f"matrix shapes {a.shape} and {b.shape}")
    for x, y in zip(a, b, strict=True):
        entry = compare_expressions(x, y)
        if entry.equivalent is not True:
            return Equivalence(entry.equivalent, f"matrix entries: {entry.reason}")
    return Equivalence(True, "matrices equal entry by entry")


def _compare_equations(a: sympy.Equality, b: sympy.Equality) -> Equivalence:
    """Equal when one side-difference is a nonzero constant multiple of the other."""
    da, db = a.lhs - a.rhs, b.lhs - b.rhs
    if da == 0 or db == 0:
        return Equivalence(None, "degenerate equation")
    ratio = sympy.simplify(da / db)
    if not free_variables(ratio) and ratio != 0 and ratio.is_finite:
        return Equivalence(True, f"equations proportional (factor {shorten(ratio)})")
    return Equivalence(False, "equations not proportional")


def numerically_equal(a: sympy.Expr, b: sympy.Expr, *, scale: sympy.Expr | None = None) -> bool:
    """Equal to 40 significant digits relative to `scale` (default: the larger of |a|, |b|).

    Evaluated at 50 digits with an unbounded exponent, so 1/2004! and 1/2006! differ. A true
    zero that SymPy cannot simplify evaluates to a precision-limited `0.e-160`, which passes."""

    def magnitude(value: sympy.Expr) -> sympy.Expr:
        return sympy.Abs(sympy.N(value, 50))

    try:
        difference = magnitude(a - b)
        size = magnitude(scale) if scale is not None else sympy.Max(magnitude(a), magnitude(b))
        if size == 0:
            return bool(difference == 0)
        return bool(difference <= sympy.Float(10, 50) ** -40 * size)
    except (TypeError, ValueError, ArithmeticError):  # NaN, zoo, or a comparison SymPy refuses
        return False


def compare_expressions(a: sympy.Expr, b: sympy.Expr) -> Equivalence:
    difference = a - b
    variables = sorted(free_variables(difference), key=str)
    if not variables:
        simplified = sympy.simplify(difference)
        if simplified == 0:
            return Equivalence(True, "equal values")
        if simplified.is_zero is False or not numerically_equal(a, b):
            return Equivalence(False, f"values differ by {shorten(sympy.N(simplified, 6))}")
        return Equivalence(None, "values agree to 40 digits but SymPy cannot prove them equal")
    simplified = sympy.simplify(difference) == 0
    numeric_ok = _agrees_at_random_points(difference, variables)
    if simplified and numeric_ok is not False:
        return Equivalence(True, "symbolically equal (simplify), numerically confirmed")
    if numeric_ok is False:
        return Equivalence(False, "differ at a random point")
    return Equivalence(None, "agree numerically, not proven symbolically")


def _agrees_at_random_points(expression: sympy.Expr, variables: list) -> bool | None:
    rng = random.Random(0)
    tested = 0
    for _ in range(8):
        point = {
            v: sympy.Rational(rng.randint(-300, 300), 97) + sympy.Rational(1, 7) for v in variables
        }
        try:
            value = complex(sympy.N(expression.subs(point), 30))
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if value != value:  # NaN: outside the domain
            continue
        tested += 1
        if abs(value) > 1e-9:
            return False
    return True if tested else None
