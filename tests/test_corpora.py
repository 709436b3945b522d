"""The shipped corpora: well-formed rows, required topics, generated files that match a fresh run,
LaTeX that parses as delimited math, and real retrieval over all of it."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from verimath.corpora import default_corpus_files, default_corpus_path
from verimath.retrieval import Index, load_passages

REPO = Path(__file__).resolve().parents[1]
FIELDS = ("id", "title", "text", "source", "license")

# One id per topic the reference corpus must cover (issue 3); a rename must update this list.
REQUIRED_IDS = (
    # algebra
    "algebra/quadratic-formula",
    "algebra/discriminant",
    "algebra/vieta-formulas",
    "algebra/binomial-theorem",
    "algebra/arithmetic-series",
    "algebra/geometric-series",
    "algebra/logarithm-rules",
    "algebra/exponent-rules",
    "algebra/complex-number-arithmetic",
    "algebra/euler-formula-and-identity",
    "algebra/remainder-and-factor-theorems",
    "algebra/rational-root-theorem",
    "algebra/partial-fractions",
    "algebra/absolute-value-equations",
    "algebra/absolute-value-inequalities",
    "algebra/functions-domain-and-range",
    "algebra/function-composition",
    "algebra/inverse-functions",
    "algebra/linear-recurrences",
    "algebra/floor-and-ceiling",
    # geometry and trigonometry
    "geometry/pythagorean-theorem",
    "geometry/law-of-sines",
    "geometry/law-of-cosines",
    "geometry/herons-formula",
    "geometry/circle-circumference-and-area",
    "geometry/sphere-volume-surface-area",
    "geometry/cone-volume-surface-area",
    "geometry/cylinder-and-prism-volume-surface-area",
    "geometry/polygon-angle-sum",
    "geometry/polygon-diagonals",
    "geometry/euler-polyhedron-formula",
    "geometry/similar-triangles",
    "geometry/inscribed-angle-theorem",
    "geometry/power-of-a-point",
    "geometry/centroid-and-medians",
    "geometry/circumcenter-and-circumradius",
    "geometry/incircle-and-inradius",
    "geometry/triangle-area-with-sine",
    "geometry/shoelace-formula",
    "geometry/picks-theorem",
    "geometry/pyramid-volume-surface-area",
    "geometry/frustum-volume-surface-area",
    "geometry/torus-spherical-cap-pappus",
    "geometry/angle-bisector-theorem",
    "geometry/cyclic-quadrilaterals-ptolemy",
    "geometry/trig-pythagorean-identities",
    "geometry/trig-sum-difference-identities",
    "geometry/trig-double-and-half-angle",
    "geometry/trig-product-to-sum-and-sum-to-product",
    # number theory
    "number-theory/fermats-little-theorem",
    "number-theory/euler-totient",
    "number-theory/chinese-remainder-theorem",
    "number-theory/divisibility-rules",
    "number-theory/gcd-lcm-euclidean-algorithm",
    "number-theory/primes-fundamental-theorem-of-arithmetic",
    "number-theory/modular-arithmetic",
    "number-theory/wilsons-theorem",
    "number-theory/order-and-primitive-roots",
    "number-theory/legendres-formula",
    "number-theory/number-and-sum-of-divisors",
    "number-theory/last-digits-and-cyclicity",
    # calculus
    "calculus/derivative-rules",
    "calculus/table-of-derivatives",
    "calculus/table-of-integrals",
    "calculus/fundamental-theorem-of-calculus",
    "calculus/lhopital-rule",
    "calculus/taylor-maclaurin-series",
    "calculus/standard-limits",
    "calculus/limits-and-one-sided-limits",
    "calculus/related-rates",
    "calculus/optimization-problems",
    "calculus/area-between-curves",
    "calculus/volumes-of-revolution-disks-washers",
    "calculus/u-substitution",
    "calculus/integration-by-parts",
    "calculus/trigonometric-substitution",
    "calculus/improper-integrals",
    "calculus/series-convergence-tests",
    # combinatorics, probability, statistics
    "combinatorics/permutations-and-combinations",
    "combinatorics/stars-and-bars",
    "combinatorics/inclusion-exclusion",
    "combinatorics/pigeonhole-principle",
    "combinatorics/derangements",
    "combinatorics/catalan-numbers",
    "combinatorics/circular-permutations",
    "combinatorics/multinomial-coefficients",
    "probability/basic-probability-rules",
    "probability/bayes-theorem",
    "probability/expected-value-and-variance",
    "probability/binomial-distribution",
    "probability/geometric-distribution",
    "probability/poisson-distribution",
    "probability/uniform-distribution",
    "probability/normal-distribution",
    "probability/exponential-distribution",
    "statistics/standard-deviation",
    "statistics/z-scores-and-normal-probabilities",
    "statistics/confidence-intervals",
    "statistics/linear-regression",
    "statistics/correlation-coefficient",
    # inequalities and linear algebra
    "inequalities/am-gm",
    "inequalities/cauchy-schwarz",
    "linear-algebra/dot-product",
    "linear-algebra/cross-product",
    "linear-algebra/determinants",
    "linear-algebra/matrix-inverse-2x2",
    "linear-algebra/eigenvalues-and-eigenvectors",
    "linear-algebra/rank-and-nullity",
    "linear-algebra/vector-projection",
    # physics
    "physics/kinematics-constant-acceleration",
    "physics/newtons-laws",
    "physics/work-kinetic-potential-energy",
    "physics/conservation-of-energy",
    "physics/projectile-motion",
    "physics/uniform-circular-motion",
    "physics/newtons-law-of-gravitation",
    "physics/simple-harmonic-motion",
    "physics/pendulum",
    "physics/waves-frequency-wavelength-speed",
    "physics/snells-law-refraction",
    "physics/first-law-of-thermodynamics",
    "physics/coulombs-law",
    "physics/resistors-series-parallel-kirchhoff",
    "physics/capacitors",
    "physics/electrical-power-and-energy",
    # chemistry
    "chemistry/ideal-gas-law",
    "chemistry/moles-and-avogadro-number",
    "chemistry/stoichiometry",
    "chemistry/molarity-and-concentration",
    "chemistry/dilution",
    "chemistry/ph-and-poh",
    "chemistry/boyles-law",
    "chemistry/charles-and-gay-lussac-laws",
    "chemistry/combined-gas-law",
    "chemistry/molar-mass-and-percent-composition",
    "chemistry/empirical-and-molecular-formulas",
    "chemistry/limiting-reagent-and-percent-yield",
    "chemistry/calorimetry-and-specific-heat",
)

# CODATA names that must appear in constants.jsonl (as labelled there).
REQUIRED_CONSTANTS = (
    "speed of light in vacuum",
    "Planck constant",
    "reduced Planck constant",
    "elementary charge",
    "Boltzmann constant",
    "Avogadro constant",
    "molar gas constant",
    "Newtonian constant of gravitation",
    "standard acceleration of gravity",
    "vacuum electric permittivity",
    "vacuum magnetic permeability",
    "electron mass",
    "proton mass",
    "neutron mass",
    "atomic mass constant",
    "Faraday constant",
    "Stefan-Boltzmann constant",
    "Rydberg constant",
    "Bohr radius",
    "fine-structure constant",
    "standard atmosphere",
)


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _shipped() -> dict[str, list[dict[str, object]]]:
    return {path.name: _rows(path) for path in default_corpus_files()}


def test_shipped_files_are_the_reference_and_generated_corpora():
    names = [path.name for path in default_corpus_files()]
    assert names == ["constants.jsonl", "default.jsonl", "elements.jsonl"]
    assert default_corpus_path() in default_corpus_files()


def test_every_row_has_all_fields_and_a_unique_id():
    seen: set[str] = set()
    for name, rows in _shipped().items():
        assert rows, f"{name} is empty"
        for number, row in enumerate(rows, 1):
            assert set(row) == set(FIELDS), f"{name}:{number} has fields {sorted(row)}"
            empty = [f for f in FIELDS if not (isinstance(row[f], str) and row[f].strip())]
            assert not empty, f"{name}:{number} ({row.get('id')}) has empty {empty}"
            assert row["id"] not in seen, f"duplicate id {row['id']} in {name}"
            seen.add(str(row["id"]))
    assert len(seen) > 400


def test_every_row_loads_as_one_whole_passage():
    report = load_passages(default_corpus_files())
    assert not report.errors
    rows = [row["id"] for rows in _shipped().values() for row in rows]
    assert sorted(p.id for p in report.passages) == sorted(rows), "a row was split into chunks"


def test_reference_corpus_covers_the_required_topics():
    ids = {row["id"] for row in _rows(default_corpus_path())}
    missing = [i for i in REQUIRED_IDS if i not in ids]
    assert not missing, missing
    assert 260 <= len(ids) <= 340
    licences = {(row["source"], row["license"]) for row in _rows(default_corpus_path())}
    assert licences == {("verimath reference corpus", "CC0-1.0")}


def test_constants_and_elements_are_complete():
    constants = " ".join(
        str(row["text"]) for row in _rows(default_corpus_path().with_name("constants.jsonl"))
    )
    assert [c for c in REQUIRED_CONSTANTS if c not in constants] == []
    elements = _rows(default_corpus_path().with_name("elements.jsonl"))
    numbers = sorted(
        int(m.group(1))
        for row in elements
        if (m := re.fullmatch(r".*, element (\d+)", str(row["title"])))
    )
    assert numbers == list(range(1, 119))
    sodium = next(row for row in elements if row["id"] == "elements/sodium")
    assert "molar mass of sodium is 22.98976928 g/mol" in str(sodium["text"])


def _math_segments(text: str) -> list[str]:
    return text.split("$")[1::2]


@pytest.mark.parametrize("name", ["constants.jsonl", "default.jsonl", "elements.jsonl"])
def test_latex_is_delimited_and_braces_balance(name: str):
    for row in _rows(default_corpus_path().with_name(name)):
        text = str(row["text"])
        assert "\\$" not in text and "$$" not in text, row["id"]
        assert text.count("$") % 2 == 0, f"{row['id']}: unbalanced $ delimiters"
        for segment in _math_segments(text):
            assert segment.strip(), f"{row['id']}: empty math segment"
            depth = 0
            for char in segment.replace("\\{", "").replace("\\}", ""):
                depth += {"{": 1, "}": -1}.get(char, 0)
                assert depth >= 0, f"{row['id']}: '}}' before '{{' in ${segment}$"
            assert depth == 0, f"{row['id']}: unbalanced braces in ${segment}$"
            lefts = len(re.findall(r"\\left(?![a-zA-Z])", segment))
            rights = len(re.findall(r"\\right(?![a-zA-Z])", segment))
            assert lefts == rights, f"{row['id']}: \\left without \\right in ${segment}$"


def _generator_versions(folder: Path) -> dict[str, str]:
    """The package versions the committed files were written with, read from their sources."""
    constants = _rows(folder / "constants.jsonl")[0]["source"]
    elements = _rows(folder / "elements.jsonl")[0]["source"]
    scipy = re.search(r"scipy\.constants (\S+)", str(constants))
    periodic = re.search(r"periodictable (\S+?):", str(elements))
    assert scipy and periodic, "sources no longer name the generator versions"
    return {"scipy": scipy.group(1), "periodictable": periodic.group(1)}


def test_generated_files_match_a_fresh_run(tmp_path: Path):
    for package in ("scipy", "periodictable"):
        pytest.importorskip(package, reason=f"{package} missing: pip install 'verimath[corpora]'")
    folder = default_corpus_path().parent
    for package, version in _generator_versions(folder).items():
        installed = importlib.metadata.version(package)
        if installed != version:
            pytest.skip(
                f"committed files were generated with {package} {version}, {installed} is "
                "installed; run `python -m corpora.generate` to regenerate them"
            )
    # The generator is a maintainer's tool outside the wheel: run it as documented.
    command = [sys.executable, "-m", "corpora.generate", str(tmp_path)]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    written = sorted(tmp_path.iterdir())
    assert [path.name for path in written] == ["constants.jsonl", "elements.jsonl"]
    for path in written:
        committed = (folder / path.name).read_text(encoding="utf-8")
        assert path.read_text(encoding="utf-8") == committed, (
            f"{path.name} is stale: run `python -m corpora.generate` from the repository root"
        )


@pytest.mark.slow
def test_wheel_ships_every_corpus_file(tmp_path: Path):
    build = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path)]
    subprocess.run([*build, str(REPO)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("verimath-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    root = REPO / "corpora"
    shipped = {f"verimath/corpora/{p.relative_to(root).as_posix()}" for p in root.rglob("*.jsonl")}
    assert shipped and shipped <= names, sorted(shipped - names)
    generator = [name for name in names if name.startswith("verimath/corpora/generate")]
    assert not generator, (
        f"the corpus generator is a maintainer's tool, not shipped: {generator} "
        "(setuptools packs stale files from an old build/ folder: delete it and rebuild)"
    )


@pytest.fixture(scope="module")
def shipped_corpus_index(embeddings) -> Index:
    return Index.build(load_passages(default_corpus_files()).passages, embeddings)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("What is the speed of light in vacuum?", "constants/speed-of-light"),
        ("value of the Boltzmann constant", "constants/boltzmann-constant"),
        ("molar mass of sodium", "elements/sodium"),
        ("which elements are halogens", "elements/group-17-halogens"),
        ("how many metres are in a mile", "units/length-units"),
        ("how many diagonals does a hexagon have", "geometry/polygon-diagonals"),
        ("derivative of a quotient", "calculus/derivative-rules"),
        ("Heron's formula area of a triangle from its sides", "geometry/herons-formula"),
        ("number of trailing zeros of 100 factorial", "number-theory/trailing-zeros-of-factorial"),
        ("probability that nobody gets their own hat back", "combinatorics/derangements"),
        ("pH of a 0.01 M hydrochloric acid solution", "chemistry/ph-and-poh"),
        ("angle of refraction when light enters water", "physics/snells-law-refraction"),
        ("95% confidence interval for a mean", "statistics/confidence-intervals"),
    ],
)
def test_natural_questions_find_their_passage(shipped_corpus_index: Index, query, expected):
    hits = shipped_corpus_index.search(query, 3)
    assert expected in [hit.passage.id for hit in hits], [hit.passage.id for hit in hits]
