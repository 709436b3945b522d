"""Write the generated corpus files from maintained packages, so that no value is typed by hand.

`constants.jsonl` comes from `scipy.constants` (CODATA recommended values and unit definitions);
`elements.jsonl` comes from `periodictable` (standard atomic weights, densities, covalent radii).
Each passage is a few plain sentences worded for dense retrieval, and names its source and
licence. Run `python -m verimath.corpora.generate [FOLDER]` after upgrading either package; the
committed files are compared with a fresh run in tests/test_corpora.py.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from verimath.errors import MissingExtraError

__all__ = ["GENERATED_FILES", "constant_rows", "element_rows", "generate", "main"]

GENERATED_FILES = ("constants.jsonl", "elements.jsonl")
_HINT = "pip install 'verimath[corpora]'"
_EXACT_DIGITS = 10  # CODATA prints exact values with long expansions to 10 significant digits


# ---------------------------------------------------------------------------------------------
# Numbers and units as LaTeX


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


def _quantity(value: float, uncertainty: float, unit: str) -> str:
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


# ---------------------------------------------------------------------------------------------
# Physical constants (CODATA via scipy.constants)


@dataclass(frozen=True, slots=True)
class _Entry:
    codata: str  # the key in scipy.constants.physical_constants
    symbol: str  # LaTeX, without dollars; empty when there is no usual symbol
    label: str = ""  # how the sentence names it, when the CODATA name reads badly


@dataclass(frozen=True, slots=True)
class _Group:
    slug: str
    title: str
    entries: tuple[_Entry, ...]
    note: str = ""  # a sentence of our own on what the constant is for


_CONSTANT_GROUPS: tuple[_Group, ...] = (
    _Group(
        "si-defining-constants",
        "The seven defining constants of the SI",
        (
            _Entry(
                "hyperfine transition frequency of Cs-133",
                r"\Delta\nu_{\mathrm{Cs}}",
                "caesium-133 hyperfine transition frequency",
            ),
            _Entry("speed of light in vacuum", "c"),
            _Entry("Planck constant", "h"),
            _Entry("elementary charge", "e"),
            _Entry("Boltzmann constant", "k"),
            _Entry("Avogadro constant", r"N_A"),
            _Entry(
                "luminous efficacy",
                r"K_{\mathrm{cd}}",
                "luminous efficacy of 540 THz monochromatic radiation",
            ),
        ),
        "Since 2019 the SI fixes these seven constants exactly and defines the second, metre, "
        "kilogram, ampere, kelvin, mole and candela from them.",
    ),
    _Group(
        "speed-of-light",
        "Speed of light in vacuum",
        (_Entry("speed of light in vacuum", "c"),),
        "It is exact because the SI defines the metre from it; in one second light travels "
        "299 792 458 metres, roughly $3.00 \\times 10^8$ m.",
    ),
    _Group(
        "planck-constant",
        "Planck constant and reduced Planck constant",
        (
            _Entry("Planck constant", "h"),
            _Entry("Planck constant in eV/Hz", "h", "Planck constant in electronvolt seconds"),
            _Entry("reduced Planck constant", r"\hbar", "reduced Planck constant (h-bar)"),
            _Entry(
                "reduced Planck constant in eV s",
                r"\hbar",
                "reduced Planck constant in electronvolt seconds",
            ),
        ),
        "The energy of a photon of frequency $f$ is $E = hf$, and $\\hbar = h/(2\\pi)$.",
    ),
    _Group(
        "elementary-charge",
        "Elementary charge",
        (_Entry("elementary charge", "e"),),
        "It is the charge of the proton; the electron carries charge $-e$.",
    ),
    _Group(
        "boltzmann-constant",
        "Boltzmann constant",
        (
            _Entry("Boltzmann constant", r"k_B"),
            _Entry(
                "Boltzmann constant in eV/K",
                r"k_B",
                "Boltzmann constant in electronvolts per kelvin",
            ),
        ),
        "It links temperature to energy per particle; the mean translational kinetic energy of an "
        "ideal-gas molecule is $\\frac{3}{2}k_BT$.",
    ),
    _Group(
        "avogadro-constant",
        "Avogadro constant (Avogadro's number)",
        (_Entry("Avogadro constant", r"N_A"),),
        "One mole of any substance contains exactly this many elementary entities.",
    ),
    _Group(
        "molar-gas-constant",
        "Molar gas constant R",
        (_Entry("molar gas constant", "R", "molar gas constant (universal gas constant)"),),
        "It equals $N_A k_B$ and appears in the ideal gas law $PV = nRT$.",
    ),
    _Group(
        "faraday-constant",
        "Faraday constant",
        (_Entry("Faraday constant", "F"),),
        "It is the charge of one mole of elementary charges, $F = N_A e$, used in electrolysis.",
    ),
    _Group(
        "gravitational-constant",
        "Newtonian constant of gravitation G",
        (
            _Entry(
                "Newtonian constant of gravitation",
                "G",
                "Newtonian constant of gravitation (universal gravitational constant)",
            ),
        ),
        "It appears in Newton's law of gravitation $F = G\\frac{m_1m_2}{r^2}$.",
    ),
    _Group(
        "standard-gravity",
        "Standard acceleration of gravity g",
        (
            _Entry(
                "standard acceleration of gravity",
                r"g_n",
                "standard acceleration of gravity (standard gravity, g)",
            ),
        ),
        "It is the conventional value of the free-fall acceleration near Earth's surface.",
    ),
    _Group(
        "vacuum-permittivity",
        "Vacuum electric permittivity and Coulomb's constant",
        (
            _Entry(
                "vacuum electric permittivity",
                r"\varepsilon_0",
                "vacuum electric permittivity (permittivity of free space)",
            ),
        ),
        "",
    ),
    _Group(
        "vacuum-permeability",
        "Vacuum magnetic permeability and impedance of free space",
        (
            _Entry(
                "vacuum mag. permeability",
                r"\mu_0",
                "vacuum magnetic permeability (permeability of free space)",
            ),
            _Entry("characteristic impedance of vacuum", r"Z_0"),
        ),
        "Since 2019 $\\mu_0$ is measured rather than defined; it agrees with the former exact "
        "value $4\\pi \\times 10^{-7}$ N A$^{-2}$ to about one part in $10^{10}$, and "
        "$c^2 = 1/(\\mu_0\\varepsilon_0)$.",
    ),
    _Group(
        "electron-mass",
        "Electron mass, rest energy and charge-to-mass ratio",
        (
            _Entry("electron mass", r"m_e"),
            _Entry("electron mass in u", r"m_e", "electron mass in atomic mass units"),
            _Entry("electron mass energy equivalent in MeV", r"m_ec^2", "electron rest energy"),
            _Entry("electron charge to mass quotient", r"-e/m_e"),
        ),
    ),
    _Group(
        "proton-mass",
        "Proton mass, rest energy and proton-electron mass ratio",
        (
            _Entry("proton mass", r"m_p"),
            _Entry("proton mass in u", r"m_p", "proton mass in atomic mass units"),
            _Entry("proton mass energy equivalent in MeV", r"m_pc^2", "proton rest energy"),
            _Entry("proton-electron mass ratio", r"m_p/m_e"),
        ),
    ),
    _Group(
        "neutron-mass",
        "Neutron mass and rest energy",
        (
            _Entry("neutron mass", r"m_n"),
            _Entry("neutron mass in u", r"m_n", "neutron mass in atomic mass units"),
            _Entry("neutron mass energy equivalent in MeV", r"m_nc^2", "neutron rest energy"),
            _Entry(
                "neutron-proton mass difference energy equivalent in MeV",
                r"(m_n-m_p)c^2",
                "energy equivalent of the neutron-proton mass difference",
            ),
        ),
    ),
    _Group(
        "atomic-mass-constant",
        "Atomic mass constant (unified atomic mass unit, dalton) and molar mass constant",
        (
            _Entry("atomic mass constant", r"m_u", "atomic mass constant (1 u, one dalton)"),
            _Entry(
                "atomic mass constant energy equivalent in MeV",
                r"m_uc^2",
                "energy equivalent of one atomic mass unit",
            ),
            _Entry("molar mass constant", r"M_u"),
        ),
        "One atomic mass unit is one twelfth of the mass of a carbon-12 atom; since 2019 the "
        "molar mass constant is measured and is within about $10^{-9}$ of 1 g/mol.",
    ),
    _Group(
        "other-particle-masses",
        "Masses of the muon, tau, deuteron and alpha particle",
        (
            _Entry("muon mass", r"m_\mu"),
            _Entry("tau mass", r"m_\tau"),
            _Entry("deuteron mass", r"m_d", "deuteron (deuterium nucleus) mass"),
            _Entry("alpha particle mass", r"m_\alpha", "alpha particle (helium-4 nucleus) mass"),
        ),
    ),
    _Group(
        "electron-volt",
        "Electronvolt in joules and kelvin",
        (
            _Entry("electron volt", r"\mathrm{eV}", "electronvolt"),
            _Entry("electron volt-kelvin relationship", "", "temperature equivalent of 1 eV"),
        ),
        "One electronvolt is the energy gained by an elementary charge across one volt.",
    ),
    _Group(
        "stefan-boltzmann-constant",
        "Stefan-Boltzmann constant",
        (_Entry("Stefan-Boltzmann constant", r"\sigma"),),
        "A black body at temperature $T$ radiates power $P = \\sigma A T^4$ from area $A$.",
    ),
    _Group(
        "wien-displacement-constants",
        "Wien's displacement law constants",
        (
            _Entry("Wien wavelength displacement law constant", "b"),
            _Entry("Wien frequency displacement law constant", "b'"),
        ),
        "The black-body spectrum peaks at wavelength $\\lambda_{\\max} = b/T$; for the Sun "
        "($T \\approx 5800$ K) this is about 500 nm.",
    ),
    _Group(
        "radiation-constants",
        "First and second radiation constants (Planck's law)",
        (
            _Entry("first radiation constant", r"c_1 = 2\pi hc^2"),
            _Entry("second radiation constant", r"c_2 = hc/k"),
        ),
    ),
    _Group(
        "rydberg-constant",
        "Rydberg constant and the hydrogen ionization energy",
        (
            _Entry("Rydberg constant", r"R_\infty"),
            _Entry(
                "Rydberg constant times hc in eV",
                r"R_\infty hc",
                "Rydberg energy (Rydberg constant times hc)",
            ),
            _Entry("Rydberg constant times c in Hz", r"R_\infty c", "Rydberg frequency"),
        ),
        "Hydrogen's spectral lines obey $\\frac{1}{\\lambda} = R_H\\left(\\frac{1}{n_1^2}-"
        "\\frac{1}{n_2^2}\\right)$ with $R_H = R_\\infty/(1+m_e/m_p) \\approx 1.09678 \\times "
        "10^7$ m$^{-1}$; the Rydberg energy, about 13.6 eV, is close to hydrogen's ionization "
        "energy.",
    ),
    _Group(
        "bohr-radius",
        "Bohr radius",
        (_Entry("Bohr radius", r"a_0"),),
        "It is the radius of the ground-state orbit in the Bohr model of hydrogen, about 0.529 "
        "angstrom.",
    ),
    _Group(
        "fine-structure-constant",
        "Fine-structure constant alpha",
        (
            _Entry("fine-structure constant", r"\alpha"),
            _Entry("inverse fine-structure constant", r"\alpha^{-1}"),
        ),
        "It is dimensionless, $\\alpha = \\frac{e^2}{4\\pi\\varepsilon_0\\hbar c}$, roughly 1/137.",
    ),
    _Group(
        "hartree-energy",
        "Hartree energy",
        (
            _Entry("Hartree energy", r"E_h"),
            _Entry("Hartree energy in eV", r"E_h", "Hartree energy in electronvolts"),
        ),
        "It is the atomic unit of energy, twice the Rydberg energy.",
    ),
    _Group(
        "magnetons-and-magnetic-moments",
        "Bohr magneton, nuclear magneton and the electron magnetic moment",
        (
            _Entry("Bohr magneton", r"\mu_B"),
            _Entry("nuclear magneton", r"\mu_N"),
            _Entry("electron mag. mom.", r"\mu_e", "electron magnetic moment"),
        ),
        "In magnitude the electron's moment is about 1.00116 Bohr magnetons, because its g-factor "
        "is about $-2.0023$ rather than exactly $-2$.",
    ),
    _Group(
        "electron-radius-and-compton-wavelength",
        "Classical electron radius, Compton wavelength and Thomson cross section",
        (
            _Entry("classical electron radius", r"r_e"),
            _Entry("Compton wavelength", r"\lambda_C", "electron Compton wavelength"),
            _Entry("Thomson cross section", r"\sigma_e"),
        ),
        "The Compton shift of a photon scattered through angle $\\theta$ by an electron is "
        "$\\lambda_C(1-\\cos\\theta)$.",
    ),
    _Group(
        "electrical-quantum-standards",
        "Magnetic flux quantum, conductance quantum, Josephson and von Klitzing constants",
        (
            _Entry("mag. flux quantum", r"\Phi_0", "magnetic flux quantum"),
            _Entry("conductance quantum", r"G_0"),
            _Entry("Josephson constant", r"K_J"),
            _Entry("von Klitzing constant", r"R_K"),
        ),
    ),
    _Group(
        "standard-pressure",
        "Standard atmosphere and standard-state pressure",
        (
            _Entry("standard atmosphere", r"\mathrm{atm}"),
            _Entry("standard-state pressure", r"p^\circ"),
        ),
        "Older STP uses 1 atm and 0 °C; IUPAC's standard pressure is 1 bar = 100 kPa.",
    ),
    _Group(
        "molar-volume-of-ideal-gas",
        "Molar volume of an ideal gas at STP and Loschmidt constant",
        (
            _Entry(
                "molar volume of ideal gas (273.15 K, 101.325 kPa)",
                r"V_m",
                "molar volume of an ideal gas at 273.15 K and 101.325 kPa (0 °C, 1 atm)",
            ),
            _Entry(
                "molar volume of ideal gas (273.15 K, 100 kPa)",
                r"V_m",
                "molar volume of an ideal gas at 273.15 K and 100 kPa (0 °C, 1 bar)",
            ),
            _Entry(
                "Loschmidt constant (273.15 K, 101.325 kPa)",
                r"n_0",
                "Loschmidt constant (molecules per cubic metre of ideal gas at 0 °C, 1 atm)",
            ),
        ),
        "In litres: about 22.414 L/mol at 0 °C and 1 atm, "
        "and about 22.711 L/mol at 0 °C and 1 bar.",
    ),
    _Group(
        "planck-units",
        "Planck length, mass, time and temperature",
        (
            _Entry("Planck length", r"\ell_P"),
            _Entry("Planck mass", r"m_P"),
            _Entry("Planck time", r"t_P"),
            _Entry("Planck temperature", r"T_P"),
        ),
    ),
)

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


def _import(name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            f"generating the corpus needs {name.split('.')[0]}; run: {_HINT}"
        ) from exc


def _codata_release(constants: Any) -> str:
    """'CODATA 2022': read from the scipy.constants documentation, which cites the release."""
    found = re.search(r"\[CODATA(\d{4})\]", constants.__doc__ or "")
    if found is None:
        codata = getattr(constants, "_codata", None)
        release = str(getattr(codata, "_current_codata", ""))
        if not release.startswith("CODATA "):
            raise RuntimeError(
                "cannot tell which CODATA release this scipy ships; run the generator without "
                "python -OO, or add the release to _codata_release"
            )
        return release
    return f"CODATA {found.group(1)}"


def _row(slug: str, title: str, text: str, source: str, licence: str) -> dict[str, str]:
    return {"id": slug, "title": title, "text": text, "source": source, "license": licence}


def _coulomb_constant(permittivity: float, uncertainty: float) -> str:
    coulomb = 1 / (4 * math.pi * permittivity)
    spread = coulomb * uncertainty / permittivity
    return (
        "It sets the strength of electric forces: Coulomb's constant "
        r"$k_e = \frac{1}{4\pi\varepsilon_0}$, computed from it, is "
        f"{_quantity(coulomb, spread, 'N m^2 C^-2')}, so $F = k_e\\frac{{q_1q_2}}{{r^2}}$."
    )


def constant_rows() -> list[dict[str, str]]:
    """One passage per group of related CODATA constants, then unit definitions."""
    scipy = _import("scipy")
    constants = _import("scipy.constants")
    source = f"{_codata_release(constants)} via scipy.constants {scipy.__version__}"
    licence = (
        "CC0-1.0 for the passage text (written by verimath); the values are CODATA facts "
        "as published by NIST, read through scipy.constants (BSD-3-Clause)"
    )
    rows = []
    for group in _CONSTANT_GROUPS:
        sentences = []
        for entry in group.entries:
            value, unit, uncertainty = constants.physical_constants[entry.codata]
            name = entry.label or entry.codata
            symbol = f" ${entry.symbol}$" if entry.symbol else ""
            sentences.append(f"The {name}{symbol} is {_quantity(value, uncertainty, unit)}.")
        if group.slug == "vacuum-permittivity":  # k_e is no CODATA entry: derive it from ε0
            _, _, spread = constants.physical_constants["vacuum electric permittivity"]
            sentences.append(_coulomb_constant(constants.epsilon_0, spread))
        if group.note:
            sentences.append(group.note)
        text = " ".join(sentences)
        rows.append(_row(f"constants/{group.slug}", group.title, text, source, licence))
    unit_source = f"scipy.constants {scipy.__version__} (unit definitions)"
    unit_licence = "BSD-3-Clause (scipy); unit definitions are public facts"
    for slug, title, units in _UNIT_GROUPS:
        sentences = []
        for attribute, subject, si_unit in units:
            value = float(getattr(constants, attribute))
            sentences.append(f"{subject} is {_quantity(value, 0.0, si_unit)}.")
        text = f"{title}, converted to SI units. " + " ".join(sentences)
        rows.append(_row(f"units/{slug}", title, text, unit_source, unit_licence))
    return rows


# ---------------------------------------------------------------------------------------------
# Elements (periodictable)

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


def _trim(value: float) -> str:
    return f"{Decimal(repr(value)).normalize():f}"


def _density(element: Any) -> str:
    density, caveat = element.density, str(element.density_caveat or "")
    if density is None or caveat == "unavailable":
        return ""
    shown = f"{_trim(density)} g/cm³"
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
        weight = _trim(mass)
        rounded = f" (about {mass:.2f} g/mol)" if len(weight.split(".")[1]) > 3 else ""
        parts.append(
            f"The standard atomic weight of {name} is {weight}, so the molar mass of {name} is "
            f"{weight} g/mol{rounded}: one mole of {name} atoms has a mass of {weight} grams."
        )
    parts.append(_density(element))
    if element.covalent_radius:
        radius = _trim(element.covalent_radius)
        picometres = _trim(round(element.covalent_radius * 100, 6))
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
            _row(
                f"elements/group-{group}-{slug}", f"Group {group}: {family}", text, source, licence
            )
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
        rows.append(_row(f"elements/{slug}", title, text, source, licence))
    for low, high in ((1, 20), (21, 40)):
        members = [el for el in elements if low <= el.number <= high]
        items = [f"{el.symbol} {_trim(el.mass)}" for el in members]
        text = (
            f"Molar masses in g/mol (standard atomic weights) of elements {low} to {high}: "
            + ", ".join(items)
            + "."
        )
        title = f"Molar masses of elements {low}-{high}"
        rows.append(_row(f"elements/molar-masses-{low}-{high}", title, text, source, licence))
    return rows


def element_rows() -> list[dict[str, str]]:
    """One passage per element (1-118), then group and molar-mass summaries."""
    periodictable = _import("periodictable")
    source = (
        f"periodictable {periodictable.__version__}: standard atomic weights (CIAAW 2021), "
        "densities (CRC Handbook), covalent radii (Cordero et al. 2008)"
    )
    licence = f"Public domain (periodictable {periodictable.__version__} and its data tables)"
    elements = [el for el in periodictable.elements if el.number > 0]
    rows = [
        _row(
            f"elements/{el.name}",
            f"{el.name[0].upper()}{el.name[1:]} ({el.symbol}), element {el.number}",
            _element_text(el),
            source,
            licence,
        )
        for el in elements
    ]
    return rows + _family_rows(elements, source, licence)


# ---------------------------------------------------------------------------------------------
# Files


def write_jsonl(rows: Sequence[dict[str, str]], path: Path) -> Path:
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def generate(folder: Path) -> list[Path]:
    """Write every generated corpus file into `folder`; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_jsonl(constant_rows(), folder / "constants.jsonl"),
        write_jsonl(element_rows(), folder / "elements.jsonl"),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m verimath.corpora.generate", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "folder",
        nargs="?",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="where to write the files (default: the installed verimath/corpora folder)",
    )
    args = parser.parse_args(argv)
    for path in generate(args.folder):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
