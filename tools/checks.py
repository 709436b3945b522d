"""SymPy checks of a candidate answer. Runs only inside sandbox workers (see sandbox.py).

Two questions are answered here:
- `check_answer(question, candidate)`: does the candidate satisfy what SymPy can establish from
  the question itself (roots of an equation by substitution and completeness, the value of an
  arithmetic expression)? This is what makes an answer `verified` or `refuted`.
- `equivalent(gold, candidate)`: do two answers mean the same?

Only `mathparse` turns text into SymPy objects; nothing here evaluates text as code.
"""

from __future__ import annotations

import random
import re

import sympy

from verimath.tools.mathparse import (
    ParseError,
    expand_pm,
    free_variables,
    normalize,
    parse_expression,
    parse_items,
)
from verimath.tools.verdict import Check, Equivalence, Verdict

__all__ = ["check_answer", "equivalent", "find_checkable"]

_WORD_OPERATORS = [
    (r"\bmultiplied by\b", "*"),
    (r"\btimes\b", "*"),
    (r"\bdivided by\b", "/"),
    (r"\bplus\b", "+"),
    (r"\bminus\b", "-"),
    (r"\bto the power of\b", "^"),
    (r"\bsquared\b", "^2"),
    (r"\bcubed\b", "^3"),
]
_MATH_CHARS = r"A-Za-z0-9\s+\-*/^=().,!<>\[\]{}\\_|×÷−·√²³π±≤≥"
_MATH_RUN = re.compile(f"[{_MATH_CHARS}]+")
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}(?![A-Za-z])")
_KNOWN_WORDS = {
    "sin", "cos", "tan", "sec", "csc", "cot", "log", "ln", "exp", "sqrt", "pi",
    "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "abs", "frac", "dfrac", "cdot",
}  # fmt: skip
_OPERATOR = re.compile(r"[+\-*/^=×÷−·√!<>]|\\(?:frac|dfrac|sqrt|cdot|times|div)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*\\?%")
_MIXED_NUMBER = re.compile(
    r"^\s*(?P<whole>\d+)\s*\\[dt]?frac\s*\{?(?P<num>\d+)\}?\s*\{?(?P<den>\d+)\}?(?=\s*(?:\\text|$))"
)
_REPEATING = re.compile(r"(?P<whole>\d*)\.(?P<fixed>\d*)\\overline\{(?P<rep>\d+)\}")
_MATRIX = re.compile(
    r"(?P<factor>[^\\]*?|\\[dt]?frac\{[^{}]*\}\{[^{}]*\})\s*"
    r"\\begin\{[pbv]?matrix\}(?P<body>.*?)\\end\{[pbv]?matrix\}",
    re.S,
)
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_TOLERANCE_NOTE = "decimals match when equal to the shown precision (half a unit in the last place)"


# ----------------------------------------------------------------------------- question checks
def _words_to_symbols(text: str) -> str:
    for pattern, symbol in _WORD_OPERATORS:
        text = re.sub(pattern, f" {symbol} ", text, flags=re.IGNORECASE)
    return text


def find_checkable(question: str) -> list[str]:
    """Math fragments of a question, in any language: `$…$` spans, else runs of math characters
    with prose words cut out. Word operators (`17 times 23`) become symbols first."""
    text = _words_to_symbols(question)
    delimited = re.findall(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", text, re.S)
    if delimited:
        return [next(part for part in parts if part).strip() for parts in delimited]
    fragments = []
    for run in _MATH_RUN.findall(text):
        for piece in _split_prose(run):
            piece = _trim_punctuation(piece)
            if piece and _OPERATOR.search(piece) and re.search(r"\d|[a-z]", piece):
                fragments.append(piece)
    return fragments


def _trim_punctuation(piece: str) -> str:
    """Sentence punctuation off the ends; a `!` after a number or bracket is a factorial."""
    piece = piece.strip().strip(".,;:?").strip()
    while piece.endswith("!") and not re.search(r"[\d)}]!+$", piece):
        piece = piece[:-1].rstrip().rstrip(".,;:?").rstrip()
    return piece.lstrip("!").strip()


def _split_prose(run: str) -> list[str]:
    pieces, last = [], 0
    for match in _PROSE_WORD.finditer(run):
        if match.group().lower() in _KNOWN_WORDS:
            continue
        pieces.append(run[last : match.start()])
        last = match.end()
    pieces.append(run[last:])
    return pieces


def check_answer(question: str, candidate: str) -> Verdict:
    """Check the candidate against what the question lets SymPy compute."""
    equations, expressions = [], []
    for fragment in find_checkable(question):
        try:
            parsed = parse_expression(fragment)
        except ParseError:
            continue
        if isinstance(parsed, sympy.Equality) and free_variables(parsed):
            equations.append((fragment, parsed))
        elif isinstance(parsed, sympy.Expr) and not free_variables(parsed):
            expressions.append((fragment, parsed))
    if len(equations) == 1 and len(free_variables(equations[0][1])) == 1:
        return _check_roots(question, *equations[0], candidate)
    if not equations and len(expressions) == 1 and _only_numbers_in(question, expressions[0][0]):
        return _check_value(*expressions[0], candidate)
    reason = (
        "a system of several equations or variables (not yet checked)"
        if equations
        else "no single equation or arithmetic expression found in the question"
    )
    return Verdict("unverified", (Check("question", "not_applicable", reason),))


def _only_numbers_in(question: str, fragment: str) -> bool:
    """A word problem mentions numbers outside the expression; then the value is not the answer."""
    return len(_DIGITS.findall(_words_to_symbols(question))) == len(_DIGITS.findall(fragment))


def _candidate_values(candidate: str) -> list[sympy.Expr]:
    """Numbers the candidate states: `x = 1, x = 2`, `{1, 2}`, `\\frac{-2 \\pm …}{3}`, …"""
    values: list[sympy.Expr] = []
    for item in parse_items(candidate):
        parts = list(item.args) if isinstance(item, sympy.FiniteSet | sympy.Tuple) else [item]
        for part in parts:
            if isinstance(part, sympy.Equality):
                if isinstance(part.lhs, sympy.Symbol):
                    part = part.rhs
                elif isinstance(part.rhs, sympy.Symbol):
                    part = part.lhs
            values.extend(expand_pm(part))
    for value in values:
        if not isinstance(value, sympy.Expr) or free_variables(value):
            raise ParseError(f"'{_show(value)}' is not a number")
    return values


def _show(value: object, limit: int = 120) -> str:
    """Evidence stays readable: a 5,000-digit value is shown by its ends."""
    text = str(value)
    return text if len(text) <= limit else f"{text[:60]}…{text[-40:]} ({len(text)} chars)"


def _decimal_tolerance(candidate: str) -> sympy.Rational | None:
    places = [len(d.split(".")[1]) for d in _DIGITS.findall(candidate) if "." in d]
    return sympy.Rational(1, 2 * 10 ** min(places)) if places else None


def _same_number(a: sympy.Expr, b: sympy.Expr, tolerance: sympy.Rational | None) -> bool:
    """Exactly equal; or, for a decimal candidate, strictly within half a unit of its last place."""
    difference = sympy.simplify(a - b)
    if difference == 0:
        return True
    if tolerance is None:
        return False
    within = sympy.Abs(difference) < tolerance
    return within is sympy.true


def _check_value(fragment: str, value: sympy.Expr, candidate: str) -> Verdict:
    name = "arithmetic"
    try:
        values = _candidate_values(candidate)
    except ParseError as exc:
        return Verdict("unverified", (Check(name, "not_applicable", f"candidate: {exc}"),))
    if len(values) != 1:
        detail = f"{fragment} = {_show(value)}; the candidate states {len(values)} values"
        return Verdict("refuted", (Check(name, "failed", detail),))
    tolerance = _decimal_tolerance(candidate)
    if _same_number(values[0], value, tolerance):
        note = f" ({_TOLERANCE_NOTE})" if tolerance is not None else ""
        detail = f"SymPy computed {fragment} = {_show(value)}; the candidate agrees{note}"
        return Verdict("verified", (Check(name, "passed", detail),))
    detail = f"SymPy computed {fragment} = {_show(value)}, not {_show(values[0])}"
    return Verdict("refuted", (Check(name, "failed", detail),))


def _check_roots(question: str, fragment: str, equation: sympy.Equality, candidate: str) -> Verdict:
    """Substitute each stated root (residual 0), then compare with SymPy's full root list."""
    (variable,) = free_variables(equation)
    polynomial = sympy.expand(equation.lhs - equation.rhs)
    try:
        values = _candidate_values(candidate)
    except ParseError as exc:
        return Verdict("unverified", (Check("roots", "not_applicable", f"candidate: {exc}"),))
    solutions = sympy.solveset(polynomial, variable, domain=sympy.S.Complexes)
    roots = list(solutions) if isinstance(solutions, sympy.FiniteSet) else None
    tolerance = _decimal_tolerance(candidate)
    checks: list[Check] = []
    for value in values:
        residual = sympy.simplify(polynomial.subs(variable, value))
        ok = residual == 0 or (
            tolerance is not None
            and roots is not None
            and any(_same_number(value, root, tolerance) for root in roots)
        )
        detail = f"{variable} = {_show(value)} in {fragment}: residual {_show(residual)}"
        checks.append(Check("substitution", "passed" if ok else "failed", detail))
    if any(c.outcome == "failed" for c in checks):
        return Verdict("refuted", tuple(checks))
    if roots is None:
        checks.append(Check("completeness", "not_applicable", "SymPy found no finite root list"))
        return Verdict("unverified", tuple(checks))
    missing = [r for r in roots if not any(_same_number(r, v, tolerance) for v in values)]
    if re.search(r"\breal\b", question, re.IGNORECASE):
        missing = [r for r in missing if r.is_real is not False]
    listed = sorted(map(_show, roots))
    if missing:
        detail = f"{fragment} has roots {listed}; missing {[_show(r) for r in missing]}"
        return Verdict("refuted", (*checks, Check("completeness", "failed", detail)))
    detail = f"{fragment}: the candidate gives all roots {listed}"
    return Verdict("verified", (*checks, Check("completeness", "passed", detail)))


# ----------------------------------------------------------------------------- equivalence
def equivalent(gold: str, candidate: str) -> Equivalence:
    """Compare two answers; None when the parser cannot read one of them."""
    g, c = _prepare(gold), _prepare(candidate)
    if _squash(normalize(g)) == _squash(normalize(c)):
        return Equivalence(True, "identical after normalisation")
    try:
        gold_items, candidate_items = _answer_items(g), _answer_items(c)
    except ParseError as exc:
        return Equivalence(None, f"not parsed: {exc}")
    if len(gold_items) != len(candidate_items):
        return Equivalence(False, f"{len(gold_items)} items vs {len(candidate_items)}")
    if len(gold_items) > 1:
        return _compare_collections(gold_items, candidate_items, ordered=False)
    return _compare(gold_items[0], candidate_items[0])


def _prepare(text: str) -> str:
    """Typesetting that carries meaning, made plain before parsing: `25\\%` is 25/100,
    `10,\\!080` is 10080, `4\\frac{2}{3}` is a mixed number, `0.\\overline{3}` repeats,
    `x \\in [a, b]` is the interval."""
    text = _PERCENT.sub(r"(\1/100)", text)
    text = re.sub(r",\\!\s*", ",", text)
    text = re.sub(r"^\s*[A-Za-z]\s*\\in\s*", "", text)
    text = _MIXED_NUMBER.sub(r"(\g<whole>+\\frac{\g<num>}{\g<den>})", text)
    return _REPEATING.sub(_repeating_to_fraction, text)


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
            return Equivalence(False, f"no counterpart for {_show(x)}")
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
        return _compare_expressions(a, b)
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
        entry = _compare_expressions(x, y)
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
        return Equivalence(True, f"equations proportional (factor {_show(ratio)})")
    return Equivalence(False, "equations not proportional")


def _compare_expressions(a: sympy.Expr, b: sympy.Expr) -> Equivalence:
    difference = a - b
    variables = sorted(free_variables(difference), key=str)
    if not variables:
        simplified = sympy.simplify(difference)
        if simplified == 0:
            return Equivalence(True, "equal values")
        # 50 significant digits with an unbounded exponent: 1/2004! - 1/2006! is not 0.
        if simplified.is_zero is False or sympy.N(simplified, 50).is_zero is False:
            return Equivalence(False, f"values differ by {_show(sympy.N(simplified, 6))}")
        return Equivalence(None, "values agree numerically but not symbolically")
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
