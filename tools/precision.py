"""When a stated number counts as the exact one: equal, or the rounding the question asked for.

Why this module exists: a decimal that agrees with the exact value to its shown digits is an
approximation. `0.3` for 1/3 is a fine approximation and a wrong answer to "What is 1/3?", so
it must never be `verified`; it is not wrong enough to be `refuted` either. The rule, used by
every numeric comparison of the SymPy tool (values, roots, systems):

- a number verifies when it equals the exact value (`0.125` for 1/8, `0.\\overline{3}` for 1/3);
- or when the question asks for rounding (decimal places, the nearest tenth, significant
  figures, "approximately", "round", "estimate") and the number is the exact value correctly
  rounded to the asked precision (for "approximately" with no precision: to its own digits).
  An exact tie (2.5 to the nearest whole) accepts half-up and half-to-even alike;
- otherwise a number within half a unit of its last shown place is an approximation, left
  `unverified` with a note that says so;
- anything further off is a different number.

Runs only inside sandbox workers (it imports SymPy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

import sympy

from verimath.tools.equivalence import numerically_equal
from verimath.tools.verdict import shorten

__all__ = [
    "Rounding", "NumberMatch", "rounding_asked", "shown_places", "compare_numbers", "rounded_text",
    "written_number",
]  # fmt: skip

_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9, "ten": 10}  # fmt: skip
_COUNT = r"(?P<n>\d{1,2}|" + "|".join(_WORDS) + ")"
_PLACES = re.compile(_COUNT + r"[\s-]+decimal[\s-]+(?:places?|digits?|points?)", re.I)
_SIGNIFICANT = re.compile(_COUNT + r"[\s-]+significant[\s-]+(?:figures?|digits?)", re.I)
_NEAREST = re.compile(r"\bnearest\s+(?P<unit>[a-z-]+(?:\s+[a-z-]+)?)", re.I)
_NEAREST_PLACES = {
    "tenth": 1, "hundredth": 2, "thousandth": 3, "ten-thousandth": 4, "ten thousandth": 4,
    "whole": 0, "whole number": 0, "integer": 0, "unit": 0, "one": 0, "dollar": 0,
    "cent": 2, "ten": -1, "hundred": -2, "thousand": -3,
}  # fmt: skip
_APPROXIMATE = re.compile(
    r"\bapproximat(?:e|ely|ion)\b|\bestimate\b|\brounding\b|\bto\s+the\s+nearest\b"
    r"|\bround(?:ed)?\s+(?:it\s+|(?:your|the)\s+answer\s+)?(?:to|off)\b"
    r"|\bdecimal\s+approximation\b|\\approx\b|≈",
    re.I,
)
_DECIMAL = re.compile(r"\d*\.(\d+)")


@dataclass(frozen=True, slots=True)
class Rounding:
    """The rounding a question asks for. `places` counts decimal places (negative: tens,
    hundreds); `significant` counts significant figures; neither: "approximately" without a
    precision, where the candidate's own shown digits are the precision."""

    places: int | None = None
    significant: int | None = None

    def places_for(self, exact: sympy.Expr, shown: int) -> int:
        """Decimal places the answer must be rounded to, for this exact value."""
        if self.places is not None:
            return self.places
        if self.significant is not None and exact != 0:
            leading = Decimal(_digits(exact, 30)).copy_abs().adjusted()  # 10^leading <= |v|
            return self.significant - 1 - leading
        return shown

    def describe(self, places: int) -> str:
        if self.significant is not None:
            return f"{self.significant} significant figures"
        if places > 0:
            return f"{places} decimal place{'s' if places > 1 else ''}"
        return "a whole number" if places == 0 else f"the nearest {10**-places:,}"


@dataclass(frozen=True, slots=True)
class NumberMatch:
    """True: the same number (or the asked rounding of it); False: a different number; None:
    an approximation, or equal to 40 digits but unproven. `note` says which, for the evidence."""

    same: bool | None
    note: str = ""


def rounding_asked(question: str) -> Rounding | None:
    """The rounding the question asks for, or None when it asks for the exact value."""
    places = _PLACES.search(question)
    if places:
        return Rounding(places=_count(places.group("n")))
    significant = _SIGNIFICANT.search(question)
    if significant:
        return Rounding(significant=_count(significant.group("n")))
    nearest = _NEAREST.search(question)
    if nearest:
        unit = nearest.group("unit").lower()
        for name in (unit, unit.split()[0]):  # "whole number", then "tenth (of a …)"
            if name.rstrip("s") in _NEAREST_PLACES:
                return Rounding(places=_NEAREST_PLACES[name.rstrip("s")])
        return Rounding()  # "the nearest degree": a rounding, at the answer's own digits
    return Rounding() if _APPROXIMATE.search(question) else None


def shown_places(candidate: str) -> int | None:
    """The most decimal places among the candidate's numbers, or None when it has no decimal
    (an integer or a fraction is not an approximation unless rounding was asked for)."""
    places = [len(m.group(1)) for m in _DECIMAL.finditer(candidate)]
    return max(places) if places else None


def compare_numbers(
    stated: sympy.Expr, exact: sympy.Expr, candidate: str, rounding: Rounding | None
) -> NumberMatch:
    """Whether the stated number is the exact one, by the rule in the module docstring."""
    if not (stated.is_finite and exact.is_finite):
        return NumberMatch(stated == exact)  # oo matches only oo
    difference = sympy.simplify(stated - exact)
    shown = shown_places(candidate)
    if rounding is not None and exact.is_extended_real:
        places = rounding.places_for(exact, shown or 0)
        if stated.is_Rational and stated in _correct_roundings(exact, places):
            asked = rounding.describe(places)
            return NumberMatch(True, f"{shorten(exact)} correctly rounded to {asked}, as asked")
        if difference == 0:  # right, but not what the question asked for (nor what it grades)
            wanted = _wanted(exact, places)
            return NumberMatch(None, f"the exact value; the question asks for it rounded: {wanted}")
        shown = shown or 0  # an integer is an approximation too once rounding was asked for
    if difference == 0:
        return NumberMatch(True)
    if shown is not None and _agrees_to(stated, exact, difference, shown):
        return NumberMatch(None, _approximation_note(stated, exact, rounding, shown))
    if difference.is_zero is False:  # SymPy proves it: 1/2004! + 1 is not 1
        return NumberMatch(False)
    if numerically_equal(stated, exact):
        return NumberMatch(None, f"agrees with {shorten(exact)} to 40 digits, unproven")
    return NumberMatch(False)


def _approximation_note(
    stated: sympy.Expr, exact: sympy.Expr, rounding: Rounding | None, shown: int
) -> str:
    value = f"{shorten(exact)} = {_decimal_text(exact)}" if exact.is_extended_real else exact
    written = _as_decimal(stated, shown)
    head = f"{written} approximates {value} to {Rounding().describe(shown)} only"
    if rounding is None:
        return f"{head}; the question asks for the exact value, not a rounded one"
    return f"{head}; as the question asks, {_wanted(exact, rounding.places_for(exact, shown))}"


def _wanted(exact: sympy.Expr, places: int) -> str:
    roundings = sorted(_as_decimal(r, places) for r in _correct_roundings(exact, places))
    return f"to {Rounding().describe(places)} it is {' or '.join(roundings)}"


def rounded_text(exact: sympy.Expr, rounding: Rounding) -> str | None:
    """The answer a question that asks for this rounding expects: the value rounded to the
    asked places, or None when it says no precision or the value is an exact tie."""
    if rounding.places is None and rounding.significant is None:
        return None
    if not exact.is_extended_real:
        return None
    places = rounding.places_for(exact, 0)
    roundings = _correct_roundings(exact, places)
    return _as_decimal(next(iter(roundings)), places) if len(roundings) == 1 else None


def _agrees_to(stated: sympy.Expr, exact: sympy.Expr, difference: sympy.Expr, places: int) -> bool:
    """Within half a unit of the last shown place, or the rounding of an exact tie (0.88 for
    0.875); a truncation such as 0.87 is not."""
    half_unit = sympy.Rational(1, 2) * sympy.Rational(10) ** -places
    if (sympy.Abs(difference) < half_unit) is sympy.true:
        return True
    return bool(exact.is_extended_real and stated in _correct_roundings(exact, places))


def written_number(number: sympy.Expr, candidate: str) -> str:
    """A stated number as the evidence shows it: `1.415` when the candidate wrote decimals,
    not the 283/200 it was read as."""
    shown = shown_places(candidate)
    return shorten(number) if shown is None else _as_decimal(number, shown)


def _as_decimal(number: sympy.Expr, places: int) -> str:
    """`0.30` for 3/10 at two places: a rational as the decimal it was written as."""
    if not number.is_Rational:
        return shorten(number)
    value = Decimal(number.p) / Decimal(number.q)
    return str(value.quantize(Decimal(1).scaleb(-max(places, 0)))) if places >= 0 else str(value)


def _decimal_text(exact: sympy.Expr) -> str:
    """`0.875` for 7/8 (it ends), `0.333333333333…` for 1/3 (it does not)."""
    if exact.is_Rational and sympy.factorint(exact.q).keys() <= {2, 5}:
        return str(Decimal(exact.p) / Decimal(exact.q))
    return f"{_digits(exact, 12)}…"


def _digits(exact: sympy.Expr, digits: int) -> str:
    """The value as a decimal string of `digits` significant digits (plain or e-notation)."""
    return str(sympy.N(exact, digits))


def _correct_roundings(exact: sympy.Expr, places: int) -> set[sympy.Rational]:
    """The value rounded to `places` (half-up and half-even: both where it is an exact tie)."""
    try:
        value = Decimal(_digits(exact, 60))
    except InvalidOperation:
        return set()
    quantum = Decimal(1).scaleb(-places)
    with localcontext() as context:
        context.prec = 120
        rounded = {
            value.quantize(quantum, rounding=mode) for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN)
        }
    return {sympy.Rational(str(r)) for r in rounded}


def _count(text: str) -> int:
    return _WORDS.get(text.lower()) or int(text)
