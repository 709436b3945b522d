"""Whether a candidate is an answer at all: evaluated, not the question's operation restated.

Why: SymPy evaluates what it reads, so `17 \\times 23`, `100 \\bmod 7`, `\\gcd(12, 18)` or
`\\frac{d}{dx} x^3` *equal* the right value, and a check that compares values passes them. An
answer that still contains the operation the question asks to carry out is not an answer; the
checks leave it `unverified` with the note this module writes.

How: the candidate is read a second time with SymPy's evaluation switched off, so the tree is
the one written, and walked for operations on numbers that SymPy would carry out:

- a sum or product of two or more rational numbers (`2 + 3`, `17 \\cdot 23`, `2 \\cdot 3x`);
- a power of a rational number (`2^{10}`), or a root or function value that comes out rational
  (`\\sqrt{16}`, `\\log_2 8`, `|{-3}|`, `\\sin\\frac{\\pi}{6}`, `5!`, `\\binom{5}{2}`);
- a fraction that divides out to a whole number (`\\frac{6}{2}`);
- remainders, gcd/lcm, and unevaluated derivatives, integrals, limits, sums and products.

What stays an answer: a fraction `\\frac{3\\sqrt{2}}{2}`, a surd `2\\sqrt{3}`, `1 + \\sqrt{2}`,
`3 + 2i`, `\\frac{\\pi}{4}`, a mixed number `4\\frac{2}{3}`, a percentage, scientific notation
`6.02 \\times 10^{23}`. Text that does not parse is left to the checks, which decide on it.

`written_form` is the same reading for the simplify check: it keeps how an expression was
written (`x + 4x` is not `5x`) while folding plain numbers, so form can be compared.

Runs only inside sandbox workers (it imports SymPy).
"""

from __future__ import annotations

import re

import sympy

from verimath.tools.equivalence import prepare_answer
from verimath.tools.mathparse import ParseError, parse_expression, parse_items
from verimath.tools.verdict import shorten

__all__ = ["not_an_answer", "restates", "written_form"]

_OPERATION_WORDS = re.compile(
    r"\\(?:gcd|lcm|bmod|pmod|mod|binom|dbinom|tbinom|int|iint|oint|lim|sum|prod|partial)(?![A-Za-z])"
    r"|\b(?:gcd|lcm|mod|lim)\b|\\frac\s*\{\s*d\s*[a-z]?\s*(?:\^\s*\{?\s*\d\s*\}?\s*)?\}\s*\{\s*d"
    r"|\bd/d[a-z]\b",
)
_FACTORIAL = re.compile(r"[\d)}]\s*!(?!=)")
_UNEVALUATED = (sympy.Derivative, sympy.Integral, sympy.Limit, sympy.Sum, sympy.Product)
_NAMES = {
    sympy.Add: "a sum of numbers", sympy.Mul: "a product or quotient of numbers",
    sympy.Pow: "a power of a number", sympy.Mod: "a remainder",
}  # fmt: skip


def not_an_answer(candidate: str) -> str | None:
    """Why the candidate is not an evaluated answer (one line), or None when it is one."""
    words = _OPERATION_WORDS.search(candidate) or _FACTORIAL.search(candidate)
    if words:
        operation = words.group().strip()
        return f"the answer still contains the operation '{operation}'; give its value"
    try:
        items = _written_items(candidate)
    except ParseError:
        return None
    for item in items:
        problem = _first_operation(item)
        if problem:
            return f"the answer is not evaluated: {problem}; give its value"
    return None


def written_form(text: str) -> sympy.Basic:
    """The expression as written, with only its plain-number parts evaluated. Raises
    ParseError."""
    return _fold_numbers(_written(text))


def restates(candidate: str, expression: str) -> str | None:
    """Why the candidate, the question's expression as written, is not yet its answer: SymPy's
    value of it reads otherwise (`\\arcsin(-\\frac{1}{2})` is -π/6, `(1+i)^4` is -4), or a small
    closed form matches it to 45 digits (`\\arctan\\frac{2}{5} + \\arctan\\frac{5}{2}` and π/2).
    None when it is not restated, or is already its own value (`\\ln 2 + 1`)."""
    text = candidate.rsplit("=", 1)[-1]
    try:  # as typed: `0.\\overline{3}` is not a restated `1/3`
        written = _written(text, plain=False)
        if written != _written(expression, plain=False):
            return None
        value = sympy.simplify(parse_expression(text))
    except ParseError:
        return None
    if _shape(written) != _shape(value):
        return f"the answer restates the question's {expression}, which is {shorten(value, 60)}"
    guess = _closed_form(value)
    if guess is not None:
        return f"the answer restates the question's {expression}, which equals {guess} to 45 digits"
    return None


def _closed_form(value: sympy.Basic) -> sympy.Expr | None:
    """A simpler closed form (small rationals, π, square roots) equal to a number to 45 digits,
    or None. Evidence that a restated number is left to evaluate, never a proof of anything."""
    if not (isinstance(value, sympy.Expr) and value.is_number and value.is_extended_real):
        return None
    tolerance = sympy.Rational(1, 10**45)
    guess = sympy.nsimplify(sympy.N(value, 60), [sympy.pi], tolerance=tolerance)
    small = all(max(abs(n.p), n.q) < 10**6 for n in guess.atoms(sympy.Rational))
    if not small or _shape(guess) == _shape(value):
        return None
    return guess


def _shape(node: sympy.Basic) -> str:
    """How an expression reads, whether SymPy built it evaluated or as written: plain numbers
    by value, the parser's factors of 1 dropped, sums and products in any order."""
    if _rational_literal(node):
        return f"number {_value(node)}"
    args = node.args
    if isinstance(node, sympy.Mul):
        args = tuple(a for a in args if a != 1)
        if len(args) == 1:
            return _shape(args[0])
    if not args:
        return sympy.srepr(node)
    shapes = [_shape(a) for a in args]
    if isinstance(node, sympy.Add | sympy.Mul):
        shapes.sort()
    return f"{type(node).__name__}({', '.join(shapes)})"


def _written(text: str, plain: bool = True) -> sympy.Basic:
    text = prepare_answer(text, as_written=True) if plain else text
    with sympy.evaluate(False):
        return parse_expression(text)


def _written_items(candidate: str) -> list[sympy.Basic]:
    text = prepare_answer(candidate, as_written=True)
    with sympy.evaluate(False):
        items = parse_items(text)
    flat: list[sympy.Basic] = []
    for item in items:
        if isinstance(item, sympy.Equality):  # `x = 17 \times 23`: the value side
            flat.extend(side for side in (item.lhs, item.rhs) if not isinstance(side, sympy.Symbol))
        elif isinstance(item, sympy.Tuple | sympy.FiniteSet):
            flat.extend(item.args)
        else:
            flat.append(item)
    return flat


def _first_operation(node: sympy.Basic) -> str | None:
    """The first operation on numbers SymPy would carry out in the written tree, described."""
    if isinstance(node, _UNEVALUATED):
        return f"it contains {type(node).__name__.lower()} {shorten(node, 60)}"
    is_function = isinstance(node, sympy.Function) and not isinstance(node, sympy.Mod)
    if (is_function or isinstance(node, sympy.Add | sympy.Mul)) and node.is_number:
        exact = _exact(node) if node.atoms(sympy.Function) else None
        if exact is not None and exact.is_Rational:
            return f"a function value that comes out exact ({shorten(node, 60)} = {exact})"
    if isinstance(node, sympy.Mul):  # the parser writes each product with two operands
        # Signs are written as factors of ±1 (`-x` is -1·x, each term of a sum 1·t).
        numbers = [a for a in node.args if _rational_literal(a) and a not in (1, -1)]
        numbers = [a for a in numbers if not _scale(a)]
        fraction = any(map(_reciprocal, numbers)) and any(map(_plain_number, numbers))
        if len(numbers) == 2 and not fraction:  # `17 \\cdot 23`, `\\frac{2/5}{3/7}`
            return f"{_NAMES[sympy.Mul]} ({shorten(node, 60)})"
        coefficient = [a for a in _flatten(node) if _rational_literal(a) and a not in (1, -1)]
        if sum(map(_reciprocal, coefficient)) == 1 and len(coefficient) == 2:  # p/q, p√2/q
            if _value(sympy.Mul(*coefficient)).is_Integer:
                return f"a fraction that divides out ({shorten(node, 60)})"
    elif isinstance(node, sympy.Add):
        terms = _flatten(node)  # `x + 2 + 3` is written (x + 2) + 3
        if sum(map(_rational_literal, terms)) > 1:
            return f"{_NAMES[sympy.Add]} ({shorten(node, 60)})"
        return next(filter(None, map(_first_operation, terms)), None)
    if isinstance(node, sympy.Pow):
        base, exponent = node.args
        if _rational_literal(base) and _value(exponent).is_Integer:
            if not (_reciprocal(node) or _scale(node)):
                return f"{_NAMES[sympy.Pow]} ({shorten(node, 60)})"
        elif node.is_number and _value(node).is_Rational:
            return f"a root that comes out exact ({shorten(node, 60)} = {_value(node)})"
    elif isinstance(node, sympy.Mod):
        return f"{_NAMES[sympy.Mod]} ({shorten(node, 60)})"
    return next(filter(None, map(_first_operation, node.args)), None)


def _flatten(node: sympy.Basic) -> list[sympy.Basic]:
    """The operands of nested sums (or products) written one after another."""
    parts: list[sympy.Basic] = []
    for arg in node.args:
        parts.extend(_flatten(arg) if type(arg) is type(node) else [arg])
    return parts


def _rational_literal(node: sympy.Basic) -> bool:
    """A number whose value is rational, written without π, e or i (`3`, `0.5`, `2^{-1}`)."""
    if not isinstance(node, sympy.Expr) or node.free_symbols:
        return False
    return not node.atoms(sympy.NumberSymbol, type(sympy.I)) and _value(node).is_Rational


def _reciprocal(node: sympy.Basic) -> bool:
    """`2^{-1}` as the parser writes the denominator of a fraction: a plain number's."""
    return isinstance(node, sympy.Pow) and node.args[1] == -1 and _plain_number(node.args[0])


def _plain_number(node: sympy.Basic) -> bool:
    """A number as typed (`3`, `0.5`), with at most a sign (the parser writes -2 as -1·2)."""
    if isinstance(node, sympy.Rational):
        return True
    return (
        isinstance(node, sympy.Mul)
        and len(node.args) == 2
        and node.args[0] in (1, -1)
        and _plain_number(node.args[1])
    )


def _scale(node: sympy.Basic) -> bool:
    """`10^{23}` of scientific notation."""
    return isinstance(node, sympy.Pow) and node.args[0] == 10 and _value(node.args[1]).is_Integer


def _value(node: sympy.Basic) -> sympy.Basic:
    """The written node evaluated, as SymPy would read it."""
    return node.doit() if isinstance(node, sympy.Basic) else node


def _exact(node: sympy.Basic) -> sympy.Basic:
    """The value of a written number with functions in it, simplified (`\\log_8 2` is 1/3)."""
    return sympy.simplify(_value(node))


def _fold_numbers(node: sympy.Basic) -> sympy.Basic:
    """Evaluate the plain-number parts of a written tree and keep the rest as written."""
    if not node.args:
        return node
    if isinstance(node, sympy.Expr) and node.is_number and not node.atoms(*_UNEVALUATED):
        return _value(node)
    args = [_fold_numbers(a) for a in node.args]
    if isinstance(node, sympy.Mul):  # the parser's sign factors: 1·x is x
        args = [a for a in args if a != 1] or [sympy.Integer(1)]
        if len(args) == 1:
            return args[0]
    with sympy.evaluate(False):
        return node.func(*args)
