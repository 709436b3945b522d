"""Physical constants: one passage per group of related CODATA values, via scipy.constants.

The groups and their wording are ours (a symbol, a label where the CODATA name reads badly, a
sentence on what the constant is for); every number comes from scipy.constants, so upgrading
scipy to a new CODATA release updates the passages with no value typed by hand.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from .latex import quantity
from .rows import import_extra, row

__all__ = ["constant_rows"]


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


def _coulomb_constant(permittivity: float, uncertainty: float) -> str:
    coulomb = 1 / (4 * math.pi * permittivity)
    spread = coulomb * uncertainty / permittivity
    return (
        "It sets the strength of electric forces: Coulomb's constant "
        r"$k_e = \frac{1}{4\pi\varepsilon_0}$, computed from it, is "
        f"{quantity(coulomb, spread, 'N m^2 C^-2')}, so $F = k_e\\frac{{q_1q_2}}{{r^2}}$."
    )


def constant_rows() -> list[dict[str, str]]:
    """One passage per group of related CODATA constants (unit definitions: `unit_rows`)."""
    scipy = import_extra("scipy")
    constants = import_extra("scipy.constants")
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
            sentences.append(f"The {name}{symbol} is {quantity(value, uncertainty, unit)}.")
        if group.slug == "vacuum-permittivity":  # k_e is no CODATA entry: derive it from ε0
            _, _, spread = constants.physical_constants["vacuum electric permittivity"]
            sentences.append(_coulomb_constant(constants.epsilon_0, spread))
        if group.note:
            sentences.append(group.note)
        text = " ".join(sentences)
        rows.append(row(f"constants/{group.slug}", group.title, text, source, licence))
    return rows
