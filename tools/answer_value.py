"""The exact value of a final answer written as an operation left to carry out.

Why: a model may end with `2368 + 1920 + 72`, `\\frac{3}{4} \\cdot 12` or `17 \\times 23`. The
checks leave such an answer `unverified` (`answer_form.not_an_answer`: it is not an answer),
and that stays so. Its value, `4360`, lets equal answers group together and is what a user is
shown beside the model's own form; it is never what is checked.

What has a value here: exactly the answers `not_an_answer` calls unevaluated, read as one
number (or `x = <number>`) without variables, whose value SymPy writes exactly and shortly
(`answer_text`). Everything else has none: an answer already evaluated, a list, a relation
between numbers, text that does not parse, a value too long to read.

Runs only inside sandbox workers (it imports SymPy).
"""

from __future__ import annotations

import re

import sympy

from verimath.tools.answer_form import not_an_answer
from verimath.tools.answer_text import answer_text, short_answer
from verimath.tools.equivalence import prepare_answer
from verimath.tools.mathparse import ParseError, free_variables, parse_items

__all__ = ["value_of"]

_DECIMAL = re.compile(r"\d\.\d")


def value_of(answer: str) -> str | None:
    """The exact value of an answer left unevaluated, written as an answer the checks read
    back as that value (`4360`, `x = 391`, `37.5` when the answer was written in decimals), or
    None when it has none (see the module's docstring)."""
    if not_an_answer(answer) is None:
        return None
    name, _, expression = answer.rpartition("=")
    try:
        items = parse_items(prepare_answer(answer))
    except ParseError:
        return None
    if len(items) != 1:
        return None
    value = items[0]
    if isinstance(value, sympy.Equality) and isinstance(value.lhs, sympy.Symbol):
        value, prefix = value.rhs, f"{name.strip()} = "
        if "=" in name:
            return None  # `x = 2 + 3 = 5`: a chain, not one value
    elif isinstance(value, sympy.Expr):
        prefix = ""
    else:
        return None  # a relation between numbers, a tuple, a set, an interval
    if not (isinstance(value, sympy.Expr) and value.is_number) or free_variables(value):
        return None
    text = _decimal_text(value) if _DECIMAL.search(expression) else None
    text = text or answer_text(value)
    return None if text is None else short_answer(prefix + text)


def _decimal_text(value: sympy.Expr) -> str | None:
    """A rational value with a terminating decimal expansion, as that decimal (`37.5`):
    exact, for an answer the model wrote in decimals. None for any other value."""
    if not isinstance(value, sympy.Rational):
        return None
    numerator, denominator = int(value.p), int(value.q)
    twos = fives = 0
    while denominator % 2 == 0:
        denominator, twos = denominator // 2, twos + 1
    while denominator % 5 == 0:
        denominator, fives = denominator // 5, fives + 1
    if denominator != 1:
        return None
    places = max(twos, fives)
    if places == 0:
        return str(numerator)
    scaled = numerator * 10**places // int(value.q)  # exact: q divides 10**places
    sign, digits = ("-" if scaled < 0 else ""), str(abs(scaled)).rjust(places + 1, "0")
    return short_answer(f"{sign}{digits[:-places]}.{digits[-places:]}")
