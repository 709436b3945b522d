"""Numbers and units as LaTeX, written the way CODATA prints them.

Passages state each value to the digits its source gives and no further: a measured value is
rounded to the second significant digit of its uncertainty, an exact one keeps all its digits
(or ten and an ellipsis), so a retrieved passage never claims more precision than the source.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

__all__ = ["quantity"]

_EXACT_DIGITS = 10  # CODATA prints exact values with long expansions to 10 significant digits


def _scientific(value: Decimal) -> tuple[Decimal, int]:
    exponent = value.adjusted()
    return value.scaleb(-exponent), exponent


def _render(value: Decimal, ellipsis: bool = False) -> str:
    """Plain notation between 0.001 and 10^6, else `m \\times 10^{e}`; keeps the given digits."""
    dots = r"\ldots" if ellipsis else ""
    whole = value == value.to_integral_value() and value.adjusted() < 10
    if value == 0 or -3 <= value.adjusted() < 6 or (whole and not ellipsis):
        return f"{value:f}{dots}"
    mantissa, exponent = _scientific(value)
    return rf"{mantissa:f}{dots} \times 10^{{{exponent}}}"


def _two_digits(value: float) -> str:
    """A positive uncertainty with two significant digits: plain from 0.01 to 9999."""
    exact = Decimal(repr(value))
    rounded = exact.quantize(Decimal(1).scaleb(exact.adjusted() - 1), ROUND_HALF_EVEN)
    mantissa, exponent = _scientific(rounded)
    if -2 <= exponent <= 3:
        return f"{rounded:f}"
    return rf"{mantissa.quantize(Decimal('0.1')):f} \times 10^{{{exponent}}}"


def _measured(value: float, uncertainty: float) -> str:
    """The value rounded to the second significant digit of its standard uncertainty."""
    step = Decimal(1).scaleb(Decimal(repr(uncertainty)).adjusted() - 1)
    return _render(Decimal(repr(value)).quantize(step, ROUND_HALF_EVEN))


def _terminating(value: float) -> Decimal | None:
    """The shortest decimal of at most 12 digits that the float stands for, if there is one.

    Values computed from exact definitions carry rounding noise (12 inches come out as
    0.30479999999999996 m), so a decimal within 1e-14 relative counts as the value itself.
    """
    for digits in range(1, 13):
        candidate = Decimal(f"{value:.{digits - 1}e}")
        if abs(float(candidate) - value) <= 1e-14 * abs(value):
            return candidate.normalize()
    return None


def _exact(value: float) -> str:
    """An exact value: all its digits, or the first ten and an ellipsis when they go on."""
    short = _terminating(value)
    if short is not None:
        return _render(short)
    digits = Decimal(repr(value))
    step = Decimal(1).scaleb(digits.adjusted() - _EXACT_DIGITS + 1)
    return _render(digits.quantize(step, ROUND_DOWN), ellipsis=True)


def _unit(text: str) -> str:
    r"""'J mol^-1 K^-1' -> '\mathrm{J}\,\mathrm{mol}^{-1}\,\mathrm{K}^{-1}'."""
    parts = []
    for token in text.split():
        match = re.fullmatch(r"([A-Za-z_]+)(?:\^(-?\d+))?", token)
        if match is None:
            raise ValueError(f"unit token {token!r} in {text!r} has no LaTeX form; extend _unit")
        name, power = match.groups()
        base = r"\Omega" if name == "ohm" else rf"\mathrm{{{name}}}"
        parts.append(f"{base}^{{{power}}}" if power else base)
    return r"\,".join(parts)


def quantity(value: float, uncertainty: float, unit: str) -> str:
    """A sentence tail: '$v\\ unit$ exactly' or '$v\\ unit$ with standard uncertainty ...'."""
    latex_unit = rf"\ {_unit(unit)}" if unit else ""
    if uncertainty == 0:
        shown = _exact(value)
        if shown.count(r"\ldots"):
            return f"${shown}{latex_unit}$ (exact; the decimal digits go on)"
        return f"${shown}{latex_unit}$ exactly"
    relative = _two_digits(uncertainty / abs(value))
    return (
        f"${_measured(value, uncertainty)}{latex_unit}$ with standard uncertainty "
        f"${_two_digits(uncertainty)}{latex_unit}$ (relative standard uncertainty ${relative}$)"
    )
