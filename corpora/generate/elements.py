"""Elements: one passage per element (1-118), then families and molar-mass tables.

Values come from periodictable (standard atomic weights, densities, covalent radii); the
sentences around them are ours, worded so that questions such as "molar mass of sodium" or
"which elements are halogens" retrieve the passage that answers them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from .rows import import_extra, row

__all__ = ["element_rows"]

_PERIOD_STARTS = (1, 3, 11, 19, 37, 55, 87, 119)
_FAMILIES = {
    1: "the alkali metals",
    2: "the alkaline earth metals",
    13: "the boron group",
    14: "the carbon group",
    15: "the pnictogens (nitrogen group)",
    16: "the chalcogens (oxygen group)",
    17: "the halogens",
    18: "the noble gases",
}
_GASES = {"H", "He", "N", "O", "F", "Ne", "Cl", "Ar", "Kr", "Xe", "Rn"}  # at 20 °C and 1 atm
_OTHER_SPELLINGS = {"Al": "aluminium", "Cs": "caesium", "S": "sulphur"}
_NO_STABLE_ISOTOPES = "has no stable isotopes and therefore no standard atomic weight"


def _period(number: int) -> int:
    return next(p for p, start in enumerate(_PERIOD_STARTS[1:], 1) if number < start)


def _group(number: int) -> int | None:
    """IUPAC group 1-18; None for the lanthanides (57-71) and actinides (89-103)."""
    if 57 <= number <= 71 or 89 <= number <= 103:
        return None
    period = _period(number)
    position = number - _PERIOD_STARTS[period - 1] + 1
    if period == 1:
        return 1 if number == 1 else 18
    if period <= 3:
        return position if position <= 2 else position + 10
    if period <= 5:
        return position
    return position if position <= 2 else position - 14


def _placement(symbol: str, number: int) -> str:
    period, group = _period(number), _group(number)
    if group is None:
        series = "a lanthanide" if number <= 71 else "an actinide"
        return f"is {series}, in period {period} of the periodic table"
    if group == 1 and symbol == "H":
        kind = "a nonmetal placed in group 1"
    elif group in _FAMILIES:
        kind = f"in group {group} ({_FAMILIES[group]})"
    else:
        kind = f"a d-block metal in group {group}"
    return f"is {kind}, period {period} of the periodic table"


def trim(value: float) -> str:
    return f"{Decimal(repr(value)).normalize():f}"


def _density(element: Any) -> str:
    density, caveat = element.density, str(element.density_caveat or "")
    if density is None or caveat == "unavailable":
        return ""
    shown = f"{trim(density)} g/cm³"
    if caveat.startswith("T="):
        celsius = caveat[2:].split(",")[0].strip()
        if element.symbol in _GASES:
            return f"Its density is {shown} as a liquid near its boiling point, at {celsius} °C."
        return f"Its density is {shown} at {celsius} °C."
    if "(graphite)" in caveat:
        return f"Its density is {shown} (graphite; reported values range from 1.9 to 2.3)."
    if re.fullmatch(r"[\d.]+-[\d.]+", caveat):
        low, high = caveat.split("-")
        return f"Its density is {shown} (reported values range from {low} to {high})."
    if caveat:
        return f"Its density is {shown} ({caveat})."
    return f"Its density is {shown} at 20 °C."


def _element_text(element: Any) -> str:
    name, symbol, number = element.name, element.symbol, element.number
    other = f" (also spelled {_OTHER_SPELLINGS[symbol]})" if symbol in _OTHER_SPELLINGS else ""
    capital = name[0].upper() + name[1:]
    plural = "" if number == 1 else "s"
    particles = f"{number} proton{plural} and {number} electron{plural}"
    parts = [
        f"{capital}{other} has chemical symbol {symbol} and atomic number {number}, so a neutral "
        f"atom has {particles}; it {_placement(symbol, number)}."
    ]
    mass = element.mass
    if mass == int(mass):
        parts.append(
            f"{capital} {_NO_STABLE_ISOTOPES}; its molar mass is usually taken as {int(mass)} "
            f"g/mol, the mass number of a long-lived isotope."
        )
    else:
        weight = trim(mass)
        rounded = f" (about {mass:.2f} g/mol)" if len(weight.split(".")[1]) > 3 else ""
        parts.append(
            f"The standard atomic weight of {name} is {weight}, so the molar mass of {name} is "
            f"{weight} g/mol{rounded}: one mole of {name} atoms has a mass of {weight} grams."
        )
    parts.append(_density(element))
    if element.covalent_radius:
        radius = trim(element.covalent_radius)
        picometres = trim(round(element.covalent_radius * 100, 6))
        parts.append(f"Its covalent radius is {radius} Å ({picometres} pm).")
    natural = [iso for iso in element if iso.abundance > 0]
    if natural and mass != int(mass):
        top = max(natural, key=lambda iso: iso.abundance)
        parts.append(f"Its most abundant natural isotope is {name}-{top.isotope}.")
    return " ".join(part for part in parts if part)


def _family_rows(elements: Sequence[Any], source: str, licence: str) -> list[dict[str, str]]:
    def listing(members: Iterable[Any]) -> str:
        items = [f"{el.name} ({el.symbol}, {el.number})" for el in members]
        return ", ".join(items[:-1]) + " and " + items[-1]

    rows = []
    for group, family in _FAMILIES.items():
        members = [el for el in elements if _group(el.number) == group and el.symbol != "H"]
        text = (
            f"The elements of group {group}, {family}, are {listing(members)} "
            "(name, symbol, atomic number)."
        )
        if group == 1:
            text += " Hydrogen sits above them in group 1 but is not an alkali metal."
        slug = family.split("(")[0].strip().removeprefix("the ").replace(" ", "-")
        rows.append(
            row(f"elements/group-{group}-{slug}", f"Group {group}: {family}", text, source, licence)
        )
    for slug, low, high, title in (
        ("lanthanides", 57, 71, "The lanthanides"),
        ("actinides", 89, 103, "The actinides"),
    ):
        members = [el for el in elements if low <= el.number <= high]
        text = (
            f"{title} are the {len(members)} elements with atomic numbers {low} to {high}: "
            f"{listing(members)}."
        )
        rows.append(row(f"elements/{slug}", title, text, source, licence))
    for low, high in ((1, 20), (21, 40)):
        members = [el for el in elements if low <= el.number <= high]
        items = [f"{el.symbol} {trim(el.mass)}" for el in members]
        text = (
            f"Molar masses in g/mol (standard atomic weights) of elements {low} to {high}: "
            + ", ".join(items)
            + "."
        )
        title = f"Molar masses of elements {low}-{high}"
        rows.append(row(f"elements/molar-masses-{low}-{high}", title, text, source, licence))
    return rows


def element_rows() -> list[dict[str, str]]:
    """One passage per element (1-118), then group and molar-mass summaries."""
    periodictable = import_extra("periodictable")
    source = (
        f"periodictable {periodictable.__version__}: standard atomic weights (CIAAW 2021), "
        "densities (CRC Handbook), covalent radii (Cordero et al. 2008)"
    )
    licence = f"Public domain (periodictable {periodictable.__version__} and its data tables)"
    elements = [el for el in periodictable.elements if el.number > 0]
    rows = [
        row(
            f"elements/{el.name}",
            f"{el.name[0].upper()}{el.name[1:]} ({el.symbol}), element {el.number}",
            _element_text(el),
            source,
            licence,
        )
        for el in elements
    ]
    return rows + _family_rows(elements, source, licence)
