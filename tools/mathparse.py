"""Math text from a language model or a user -> SymPy objects, without running the text as code.

Why a hand-written parser: SymPy's own string entry points evaluate Python, and answers are
hostile input. Here a tokenizer and a recursive-descent parser build every object by calling
SymPy constructors from an explicit allow-list, and size limits are checked *before* SymPy is
asked to compute anything expensive (huge powers, factorials, binomials, digit strings).

The work is done in three modules, one per stage: `mathtokens` strips presentation and cuts the
text into tokens, `mathgrammar` parses the tokens, and `mathguards` holds the size-checked SymPy
constructors the parser builds with. This module is the front door: the functions callers use,
with ParseError and normalize, which they need beside them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import sympy

from verimath.tools.mathgrammar import PM, Parser
from verimath.tools.mathtokens import ParseError, Token, normalize, tokenize

__all__ = [
    "ParseError", "normalize", "parse_expression", "parse_items", "expand_pm", "free_variables",
    "PM",
]  # fmt: skip

_RECURSION_LIMIT = 5000  # MAX_DEPTH levels cost about 10 Python frames each


def _guarded(build: Callable[[], list[sympy.Basic]]) -> list[sympy.Basic]:
    """Run the parser so that only ParseError escapes, with stack room for MAX_DEPTH levels."""
    old = sys.getrecursionlimit()
    if old < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)
    try:
        return build()
    except ParseError:
        raise
    except RecursionError:
        raise ParseError("expression nested too deeply") from None
    except Exception as exc:  # SymPy refusing a construction (Interval(1, i)) is a parse error
        detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
        raise ParseError(f"cannot build this expression: {type(exc).__name__} {detail}") from exc
    finally:
        if old < _RECURSION_LIMIT:
            sys.setrecursionlimit(old)


def parse_expression(text: str) -> sympy.Basic:
    """One expression or one relation (=, <, >, \\le, \\ge, \\ne, <=, >=, !=).

    Returns an Expr, a Relational (Eq/Lt/... built unevaluated), an And for chained relations,
    or a Tuple / Interval / FiniteSet / Union for bracketed text. Raises ParseError."""

    def build() -> list[sympy.Basic]:
        toks = tokenize(normalize(text))
        if not toks:
            raise ParseError("empty input")
        return [Parser(toks).whole()]

    return _guarded(build)[0]


def parse_items(text: str) -> list[sympy.Basic]:
    """Top-level items split at `,` `;` `or` `and` (outside brackets), each parsed like
    parse_expression. A bracketed (3, \\pi/2) or \\{1, 2\\} stays one Tuple/FiniteSet item."""

    def build() -> list[sympy.Basic]:
        groups: list[list[Token]] = [[]]
        depth = 0
        for t in tokenize(normalize(text)):
            if t.kind == "op":
                depth += (t.text in ("(", "[", "{", "\\{")) - (t.text in (")", "]", "}", "\\}"))
            if depth == 0 and (t.kind == "sep" or (t.kind == "op" and t.text in ",;")):
                groups.append([])
            else:
                groups[-1].append(t)
        items = [Parser(g).whole() for g in groups if g]
        if not items:
            raise ParseError("empty input")
        return items

    return _guarded(build)


def _substitute_pm(expr: sympy.Basic, sign: int) -> sympy.Basic:
    if isinstance(expr, sympy.core.relational.Relational):  # keep relations unevaluated
        lhs, rhs = _substitute_pm(expr.lhs, sign), _substitute_pm(expr.rhs, sign)
        return expr.func(lhs, rhs, evaluate=False)
    if isinstance(expr, sympy.And):
        return sympy.And(*(_substitute_pm(a, sign) for a in expr.args), evaluate=False)
    if isinstance(expr, sympy.Tuple):
        return sympy.Tuple(*(_substitute_pm(a, sign) for a in expr.args))
    return expr.subs(PM, sign)


def expand_pm(expr: sympy.Basic) -> list[sympy.Basic]:
    """Expressions containing the ± marker become two (with +, then -); others a one-item list.
    Every ± and ∓ in one expression share one sign, as in `a \\pm b \\mp c`."""
    if PM not in expr.free_symbols:
        return [expr]
    try:
        return [_substitute_pm(expr, 1), _substitute_pm(expr, -1)]
    except Exception as exc:  # e.g. an interval whose ends become incomparable
        raise ParseError(f"cannot expand ±: {type(exc).__name__}") from exc


def free_variables(expr: sympy.Basic) -> set[sympy.Symbol]:
    """Free symbols excluding the ± marker: what a caller must solve for or substitute."""
    return {s for s in expr.free_symbols if isinstance(s, sympy.Symbol) and s != PM}
