"""SymPy's own answer as text a user reads, and that the checks read back as the same value.

When SymPy computes the answer itself (a value, every root, a system's solutions), the agent may
show it; so it must be exact, short, in the syntax `mathparse` reads (`i`, `e^3`, `ln`, `∞`,
`arctan`), and when the question asks for a rounding, that rounding. Runs only inside sandbox
workers (it imports SymPy).
"""

from __future__ import annotations

import sympy
from sympy.functions.elementary.trigonometric import (
    InverseTrigonometricFunction,
    TrigonometricFunction,
)
from sympy.printing.str import StrPrinter

from verimath.tools.equivalence import prepare_answer
from verimath.tools.mathparse import ParseError, free_variables, parse_expression
from verimath.tools.precision import Rounding, rounded_text

__all__ = ["answer_text", "short_answer"]

_MAX_ANSWER_CHARS = 200  # a computed answer longer than this is not one a user reads


class _AnswerPrinter(StrPrinter):
    """SymPy's plain text in the syntax `mathparse` reads: `i`, `e^3`, `ln`, `∞`, `arctan`."""

    _NAMES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "Abs": "abs", "log": "ln"}

    def _print_ImaginaryUnit(self, expr: sympy.Expr) -> str:
        return "i"

    def _print_Exp1(self, expr: sympy.Expr) -> str:
        return "e"

    def _print_Infinity(self, expr: sympy.Expr) -> str:
        return "∞"

    def _print_NegativeInfinity(self, expr: sympy.Expr) -> str:
        return "-∞"

    def _print_exp(self, expr: sympy.Expr) -> str:
        (power,) = expr.args
        text = self._print(power)
        return f"e^{text}" if power.is_Integer and power > 0 else f"e^({text})"

    def _print_Function(self, expr: sympy.Expr) -> str:
        name = self._NAMES.get(expr.func.__name__, expr.func.__name__)
        return f"{name}({self.stringify(expr.args, ', ')})"

    _print_Abs = _print_log = _print_Function


def answer_text(value: sympy.Basic, rounding: Rounding | None = None) -> str | None:
    """An exact number as an answer a user reads (`-1/3`, `2 - sqrt(3)`, `5 + 5*i`), or None
    when it is not exact (a decimal), too long to read, or would not read back as itself.
    When the question asks for a rounding, the rounded decimal (None if it does not say how)."""
    if not isinstance(value, sympy.Expr) or value.has(sympy.Float) or free_variables(value):
        return None
    if rounding is not None:
        return rounded_text(value, rounding)
    angles = value.atoms(TrigonometricFunction, InverseTrigonometricFunction)
    if len(angles) > 1 or any(f.args[0].has(sympy.pi) for f in angles):
        return None  # sin(pi/9)^2…, arctan(2/5) + arctan(5/2): what SymPy could not reduce
    numbers = value.atoms(sympy.Rational)
    if any(max(abs(n.p), n.q).bit_length() > 3 * _MAX_ANSWER_CHARS for n in numbers):
        return None  # too many digits to read, and to print outside a worker
    exponents = [abs(p.exp) for p in value.atoms(sympy.Pow) if p.exp.is_Integer]
    if value.has(sympy.I) and max(exponents, default=0) <= 12 and sympy.count_ops(value) <= 40:
        value = sympy.expand(value)  # (1 + 2i)(3 - i) is 5 + 5i; small, so at once
    text = short_answer(_AnswerPrinter().doprint(value).replace("**", "^"))
    if text is None:
        return None
    try:
        read_back = parse_expression(prepare_answer(text))
    except ParseError:
        return None
    return text if read_back == value else None


def short_answer(text: str) -> str | None:
    return text if len(text) <= _MAX_ANSWER_CHARS else None
