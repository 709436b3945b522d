"""Unit definitions: one passage per family of units, converted to SI by scipy.constants."""

from __future__ import annotations

from .latex import quantity
from .rows import import_extra, row

__all__ = ["unit_rows"]

# Unit definitions: (scipy.constants attribute, the sentence's subject, SI unit of the value).
_UNIT_GROUPS: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "pressure-units",
        "Pressure units: atmosphere, bar, torr, psi",
        (
            ("atm", "One standard atmosphere (atm)", "Pa"),
            ("bar", "One bar", "Pa"),
            ("torr", "One torr (1/760 atm, within a millionth of 1 mmHg)", "Pa"),
            ("psi", "One pound-force per square inch (psi)", "Pa"),
        ),
    ),
    (
        "energy-units",
        "Energy units: calorie, electronvolt, erg, BTU, ton of TNT",
        (
            ("calorie", "One thermochemical calorie (cal)", "J"),
            ("calorie_IT", "One International Table calorie", "J"),
            ("eV", "One electronvolt (eV)", "J"),
            ("erg", "One erg", "J"),
            ("Btu", "One British thermal unit (BTU, International Table)", "J"),
            ("ton_TNT", "One ton of TNT", "J"),
        ),
    ),
    (
        "length-units",
        "Length units: inch, foot, yard, mile, nautical mile, angstrom",
        (
            ("inch", "One inch", "m"),
            ("foot", "One foot", "m"),
            ("yard", "One yard", "m"),
            ("mile", "One mile (international statute mile)", "m"),
            ("nautical_mile", "One nautical mile", "m"),
            ("angstrom", "One angstrom", "m"),
            ("micron", "One micron (micrometre)", "m"),
        ),
    ),
    (
        "astronomical-distance-units",
        "Astronomical distances: astronomical unit, light-year, parsec",
        (
            ("astronomical_unit", "One astronomical unit (au)", "m"),
            ("light_year", "One light-year (the distance light travels in a Julian year)", "m"),
            ("parsec", "One parsec", "m"),
        ),
    ),
    (
        "mass-units",
        "Mass units: pound, ounce, stone, ton, carat, troy ounce",
        (
            ("pound", "One pound (avoirdupois)", "kg"),
            ("ounce", "One ounce (avoirdupois)", "kg"),
            ("stone", "One stone", "kg"),
            ("short_ton", "One short ton (US ton, 2000 lb)", "kg"),
            ("long_ton", "One long ton (imperial ton, 2240 lb)", "kg"),
            ("metric_ton", "One metric ton (tonne)", "kg"),
            ("carat", "One metric carat", "kg"),
            ("troy_ounce", "One troy ounce", "kg"),
        ),
    ),
    (
        "volume-units",
        "Volume units: litre, US and imperial gallon, fluid ounce, barrel",
        (
            ("liter", "One litre (liter)", "m^3"),
            ("gallon_US", "One US gallon", "m^3"),
            ("gallon_imp", "One imperial gallon", "m^3"),
            ("fluid_ounce_US", "One US fluid ounce", "m^3"),
            ("barrel", "One barrel (of oil, 42 US gallons)", "m^3"),
        ),
    ),
    (
        "speed-units",
        "Speed units: kilometres per hour, miles per hour, knot",
        (
            ("kmh", "One kilometre per hour (km/h)", "m s^-1"),
            ("mph", "One mile per hour (mph)", "m s^-1"),
            ("knot", "One knot (one nautical mile per hour)", "m s^-1"),
        ),
    ),
    (
        "force-and-power-units",
        "Force and power units: pound-force, kilogram-force, dyne, horsepower",
        (
            ("lbf", "One pound-force (lbf)", "N"),
            ("kgf", "One kilogram-force (kgf)", "N"),
            ("dyn", "One dyne", "N"),
            ("hp", "One mechanical horsepower (hp)", "W"),
        ),
    ),
    (
        "time-units",
        "Time units: minute, hour, day, week, year, Julian year",
        (
            ("minute", "One minute", "s"),
            ("hour", "One hour", "s"),
            ("day", "One day", "s"),
            ("week", "One week", "s"),
            ("year", "One common year (365 days)", "s"),
            ("Julian_year", "One Julian year (365.25 days)", "s"),
        ),
    ),
    (
        "angle-and-temperature-units",
        "Angle and temperature units: degree, arcminute, arcsecond, Celsius, Fahrenheit",
        (
            ("degree", "One degree of arc", "rad"),
            ("arcminute", "One arcminute", "rad"),
            ("arcsecond", "One arcsecond", "rad"),
            ("zero_Celsius", "The temperature 0 °C", "K"),
            ("degree_Fahrenheit", "A temperature difference of one degree Fahrenheit", "K"),
        ),
    ),
)


def unit_rows() -> list[dict[str, str]]:
    """One passage per family of units (pressure, energy, length, ...), each value exact."""
    scipy = import_extra("scipy")
    constants = import_extra("scipy.constants")
    rows = []
    source = f"scipy.constants {scipy.__version__} (unit definitions)"
    licence = "BSD-3-Clause (scipy); unit definitions are public facts"
    for slug, title, units in _UNIT_GROUPS:
        sentences = []
        for attribute, subject, si_unit in units:
            value = float(getattr(constants, attribute))
            sentences.append(f"{subject} is {quantity(value, 0.0, si_unit)}.")
        text = f"{title}, converted to SI units. " + " ".join(sentences)
        rows.append(row(f"units/{slug}", title, text, source, licence))
    return rows
