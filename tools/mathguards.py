"""SymPy constructors behind size limits, checked *before* SymPy is asked to compute.

The parser (`mathgrammar`) builds every object through these functions, never through SymPy's
operators directly: an answer such as `9^9^9`, `10000!` or a 500-digit radicand would otherwise
keep a worker busy for minutes (exact powers, factorials, binomials, primality tests inside
assumption queries). Each function refuses with a ParseError what could grow past the limits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import sympy
from sympy.logic.boolalg import Boolean

from verimath.tools.mathtokens import ParseError

__all__ = [
    "as_expr", "bits", "add", "mul", "power", "div", "factorial", "binomial", "mod", "number",
    "as_set", "relation", "RELATIONS", "MAX_EXPONENT", "MAX_FACTORIAL", "MAX_DIGITS",
    "MAX_ARG_BITS",
]  # fmt: skip

MAX_EXPONENT = 10_000
# 5_000, not 1_000: answers such as 1/2004! must parse; 5000! has ~16k digits.
MAX_FACTORIAL = 5_000
MAX_DIGITS = 400
_MAX_BITS = 1 << 16  # no exact rational larger than this (~19.7k digits) is ever computed
# Roots and function arguments stay under ~300 digits: SymPy factors radicands and its
# assumption queries may run a primality test on any integer it meets (seconds when huge).
MAX_ARG_BITS = 1024
RELATIONS = {"=": sympy.Eq, "==": sympy.Eq, "<": sympy.Lt, ">": sympy.Gt, "<=": sympy.Le,
             ">=": sympy.Ge, "!=": sympy.Ne}  # fmt: skip
_NUMBER = re.compile(r"([0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?", re.ASCII)


def as_expr(v: sympy.Basic) -> sympy.Expr:
    if not isinstance(v, sympy.Expr):
        raise ParseError(f"a {type(v).__name__} cannot be used in arithmetic")
    return v


def bits(v: sympy.Expr) -> int:
    nums = [v] if isinstance(v, sympy.Rational) else v.atoms(sympy.Rational)
    return max((max(abs(n.p).bit_length(), n.q.bit_length()) for n in nums), default=0)


def _magnitude(v: sympy.Expr) -> float:
    """|v| as a float, inf when huge or unknown; used only to refuse expensive arguments."""
    if isinstance(v, sympy.Rational):
        return math.inf if abs(v.p) > 10**6 * v.q else abs(v.p) / v.q
    try:
        value = abs(complex(v.evalf(20)))
    except (TypeError, ValueError, OverflowError, ArithmeticError):
        return math.inf
    return value if math.isfinite(value) else math.inf


def add(a: sympy.Basic, b: sympy.Basic, op: Callable[..., sympy.Expr] = sympy.Add) -> sympy.Expr:
    """a + b (or op(a, b)), refused when the exact result could exceed _MAX_BITS."""
    a, b = as_expr(a), as_expr(b)
    if bits(a) + bits(b) > _MAX_BITS:
        raise ParseError("number too large to check")
    return op(a, b)


def mul(a: sympy.Basic, b: sympy.Basic) -> sympy.Expr:
    return add(a, b, sympy.Mul)


def power(base: sympy.Basic, exp: sympy.Basic) -> sympy.Expr:
    """Refuse numeric exponents above MAX_EXPONENT (towers included) before SymPy computes."""
    base, exp = as_expr(base), as_expr(exp)
    if exp.is_number:
        size = _magnitude(exp)
        if size > MAX_EXPONENT:
            raise ParseError("exponent too large to check")
        if bits(base) * max(1.0, size) > _MAX_BITS:
            raise ParseError("number too large to check")
        if not exp.is_Integer and bits(base) > MAX_ARG_BITS:
            raise ParseError("root of a number too large to check")
    return sympy.Pow(base, exp)


def div(a: sympy.Basic, b: sympy.Basic) -> sympy.Expr:
    return mul(a, power(b, sympy.Integer(-1)))


def factorial(v: sympy.Basic) -> sympy.Expr:
    v = as_expr(v)
    if v.is_number and _magnitude(v) > MAX_FACTORIAL:
        raise ParseError(f"factorial of a number above {MAX_FACTORIAL}")
    return sympy.factorial(v)


def binomial(n: sympy.Basic, k: sympy.Basic) -> sympy.Expr:
    n, k = as_expr(n), as_expr(k)
    if isinstance(n, sympy.Integer) and isinstance(k, sympy.Integer):
        if min(abs(k), abs(n - k)) * max(bits(n), bits(k)) > _MAX_BITS:
            raise ParseError("binomial coefficient too large to check")
    elif k.is_number and _magnitude(k) > 20:  # SymPy multiplies out k symbolic factors
        raise ParseError("binomial coefficient too large to check")
    return sympy.binomial(n, k)


def mod(a: sympy.Basic, m: sympy.Basic) -> sympy.Expr:
    a, m = as_expr(a), as_expr(m)
    if m == 0:
        raise ParseError("modulus 0")
    return sympy.Mod(a, m)


def number(text: str) -> sympy.Expr:
    if len(text) > MAX_DIGITS:
        raise ParseError(f"number literal longer than {MAX_DIGITS} characters")
    m = _NUMBER.fullmatch(text)
    if m is None:
        raise ParseError(f"bad number {text!r}")
    whole, frac, exp = m.group(1), m.group(2) or "", m.group(3)
    value = sympy.Rational(int(whole + frac or "0"), 10 ** len(frac))
    if exp is not None:
        value = mul(value, power(sympy.Integer(10), sympy.Integer(int(exp))))
    return value


def as_set(v: sympy.Basic) -> sympy.Set:
    """Operand of \\cup / \\cap: a set, or (a, b) read as the open interval it must be here."""
    if isinstance(v, sympy.Tuple) and len(v) == 2:
        return sympy.Interval.open(as_expr(v[0]), as_expr(v[1]))
    if not isinstance(v, sympy.Set):
        raise ParseError("\\cup and \\cap need sets or intervals on both sides")
    return v


def relation(op: str, a: sympy.Basic, b: sympy.Basic) -> sympy.Basic:
    cls = RELATIONS[op]
    if cls in (sympy.Eq, sympy.Ne):
        if any(isinstance(v, Boolean) and not isinstance(v, sympy.Expr) for v in (a, b)):
            raise ParseError("a relation cannot be compared")
    else:
        a, b = as_expr(a), as_expr(b)
    return cls(a, b, evaluate=False)  # `x = x` stays an equation, never True
