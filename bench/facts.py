"""Facts the model does not know: numeric questions whose answers need a value in the shipped
corpus (element properties, molar masses, CODATA constants, unit definitions), answered by the
bare model, the agent with retrieval and the agent without, on the same questions.

Why: the design's premise is that retrieval makes up for a small model's weak factual recall.
This measures it with the measurement model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M through
llama.cpp, ../shared/models/README.md).

The questions are generated here from templates and fixed number lists (seeded, so every run
asks the same 120); every gold answer is computed from the data sources the corpus itself is
generated from (periodictable 2.1 and scipy.constants, CODATA 2022), never typed by hand. An
answer is right when the first number of its final answer (decimal, `e` or `\\times 10^{}`
notation, units ignored) is within 1% of the gold: the corpus gives values to 4 or more
significant figures, so 1% forgives a constant rounded to 3 and a final rounding, and catches
a wrong element, a wrong power of ten and a slipped sum.

Rows (one greedy sample each, 400 new tokens, so the rows differ only in what they are shown):

- bare: the model alone, with the prompt of the model's README;
- agent-retrieval: `Agent` over the shipped corpus (its default index), `samples=1`, with
  its defaults otherwise: grounding on, one retry of a refuted answer;
- agent-retrieval-ungrounded: the same with `grounding=False` (passages shown, numbers not
  tied to them, so a misread is not caught);
- agent-no-retrieval: the same agent with `index=False`.

Beside the rows, `search` records the top 5 passages the agent's retriever returns for each
question with their scores, so the relevance threshold (`Settings.min_relevance`) can be read
against which passages each question needs. Resumable like bench/evidence.py.

    MODEL=$(../shared/models/get-qwen2.5-coder-0.5b.sh)
    .venv/bin/python bench/facts.py --model "$MODEL" [--rows bare,agent-retrieval,...]
        [--out build/bench-facts] [--report]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

import periodictable  # noqa: E402
from evidence import (  # bench/evidence.py, beside this script  # noqa: E402
    BARE_PROMPT,
    append_records,
    map_in_threads,
    model_bench_arguments,
    row_seconds,
)
from scipy import constants as codata  # noqa: E402

from verimath import Agent, Settings  # noqa: E402
from verimath.graphs.contracts import Message, SamplingParams  # noqa: E402
from verimath.retrieval import default_embeddings, default_index  # noqa: E402
from verimath.tools.extract import extract_final_answer  # noqa: E402

ROWS = ("bare", "agent-retrieval", "agent-no-retrieval", "agent-retrieval-ungrounded")
TOLERANCE = 0.01

COMPOUNDS = (
    ("water", "H2O"), ("carbon dioxide", "CO2"), ("sodium chloride", "NaCl"),
    ("calcium carbonate", "CaCO3"), ("sulfuric acid", "H2SO4"), ("glucose", "C6H12O6"),
    ("ammonia", "NH3"), ("methane", "CH4"), ("potassium permanganate", "KMnO4"),
    ("iron(III) oxide", "Fe2O3"), ("magnesium sulfate", "MgSO4"),
    ("sodium bicarbonate", "NaHCO3"), ("ethanol", "C2H6O"), ("nitric acid", "HNO3"),
    ("aluminium oxide", "Al2O3"), ("copper(II) sulfate", "CuSO4"),
    ("potassium chloride", "KCl"), ("calcium hydroxide", "Ca(OH)2"),
    ("sodium hydroxide", "NaOH"), ("phosphoric acid", "H3PO4"), ("silicon dioxide", "SiO2"),
    ("silver nitrate", "AgNO3"), ("barium sulfate", "BaSO4"), ("zinc chloride", "ZnCl2"),
    ("sucrose", "C12H22O11"), ("lithium carbonate", "Li2CO3"), ("titanium dioxide", "TiO2"),
    ("lead(II) nitrate", "Pb(NO3)2"), ("potassium dichromate", "K2Cr2O7"),
    ("nickel(II) chloride", "NiCl2"),
)  # fmt: skip
# Elements for isotope and atom-count questions; metals whose corpus density is at 20-25 °C.
ISOTOPE_ELEMENTS = ("Li", "B", "N", "F", "Na", "Mg", "P", "Cl", "K", "Ca", "Mn", "Fe", "Br",
                    "Ag", "I", "Ba", "Au", "Hg", "Pb", "Cu")  # fmt: skip
ATOM_ELEMENTS = ("C", "Fe", "Cu", "Au", "Ag", "S", "Al", "Ca", "Zn", "Sn")
DENSE_METALS = ("Al", "Mg", "Ti", "Fe", "Cu", "Ni", "Zn", "Ag", "Sn", "W", "Pt", "Pb")
# (what, scipy.constants attribute, SI unit it converts to, passage) for unit questions.
UNITS = (
    ("nautical miles", "nautical_mile", "metres", "units/length-units"),
    ("miles", "mile", "metres", "units/length-units"),
    ("light-years", "light_year", "metres", "units/astronomical-distance-units"),
    ("astronomical units", "au", "metres", "units/astronomical-distance-units"),
    ("calories (thermochemical)", "calorie", "joules", "units/energy-units"),
    ("electronvolts", "eV", "joules", "units/energy-units"),
    ("standard atmospheres", "atm", "pascals", "constants/standard-pressure"),
    ("horsepower (mechanical)", "hp", "watts", "units/force-and-power-units"),
    ("troy ounces", "troy_ounce", "kilograms", "units/mass-units"),
    ("torr", "torr", "pascals", "units/pressure-units"),
)  # fmt: skip

# A question's "needs": one list per value it needs, of the passages that state that value.
Question = dict[str, Any]
# The defining constants of the SI are also stated together in one passage.
AVOGADRO = ["constants/avogadro-constant", "constants/si-defining-constants"]
PLANCK = ["constants/planck-constant", "constants/si-defining-constants"]
LIGHT = ["constants/speed-of-light", "constants/si-defining-constants"]
CHARGE = ["constants/elementary-charge", "constants/si-defining-constants"]


def _element(symbol: str) -> Any:
    return periodictable.elements.symbol(symbol)


def _element_passage(symbol: str) -> list[str]:
    return [f"elements/{_element(symbol).name}"]


def _weight_passages(symbol: str) -> list[str]:
    """Where the corpus states an element's molar mass: its own passage, and the table of
    elements 1-20 or 21-40 when it is in one."""
    number = _element(symbol).number
    tables = {1: "elements/molar-masses-1-20", 21: "elements/molar-masses-21-40"}
    return _element_passage(symbol) + [
        t for start, t in tables.items() if start <= number < start + 20
    ]


def _formula_passages(formula: str) -> list[list[str]]:
    """One need per element of the formula: its molar mass."""
    atoms = sorted(str(el) for el in periodictable.formula(formula).atoms)
    return [_weight_passages(symbol) for symbol in atoms]


def _molar_mass(formula: str) -> float:
    return float(periodictable.formula(formula).mass)


def _chemistry(rng: random.Random) -> Iterator[Question]:
    for name, formula in COMPOUNDS:
        yield {"kind": "molar mass", "gold": _molar_mass(formula),
               "question": f"What is the molar mass of {name} ({formula}), in g/mol?",
               "needs": _formula_passages(formula)}  # fmt: skip
    for name, formula in COMPOUNDS[:15]:
        moles = rng.choice((0.25, 0.5, 1.5, 2, 2.5, 3, 0.75, 4, 0.2, 1.25))
        yield {"kind": "mass of moles", "gold": moles * _molar_mass(formula),
               "question": f"What is the mass, in grams, of {moles} mol of {name} ({formula})?",
               "needs": _formula_passages(formula)}  # fmt: skip
    for name, formula in COMPOUNDS[15:25]:
        grams = rng.choice((10, 25, 50, 75, 100, 150, 200, 250, 500))
        yield {"kind": "moles in mass", "gold": grams / _molar_mass(formula),
               "question": f"How many moles of {name} ({formula}) are in {grams} g of it?",
               "needs": _formula_passages(formula)}  # fmt: skip
    for symbol in ISOTOPE_ELEMENTS:
        el = _element(symbol)
        top = max((iso for iso in el if iso.abundance > 0), key=lambda iso: iso.abundance)
        yield {"kind": "neutrons", "gold": float(top.isotope - el.number),
               "question": f"How many neutrons are in the nucleus of an atom of the most "
                           f"abundant natural isotope of {el.name}?",
               "needs": [_element_passage(symbol)]}  # fmt: skip
    for symbol in ATOM_ELEMENTS:
        el, grams = _element(symbol), rng.choice((1, 5, 12, 20, 50, 100))
        yield {"kind": "atoms in mass", "gold": grams / el.mass * codata.Avogadro,
               "question": f"How many atoms are in {grams} g of pure {el.name}?",
               "needs": [_weight_passages(symbol), AVOGADRO]}  # fmt: skip
    for symbol in DENSE_METALS:
        el, volume = _element(symbol), rng.choice((2, 5, 10, 12, 25, 40, 100))
        yield {"kind": "mass from density", "gold": volume * el.density,
               "question": f"A piece of pure {el.name} has a volume of {volume} cm³. What is "
                           f"its mass in grams?",
               "needs": [_element_passage(symbol)]}  # fmt: skip


def _physics(rng: random.Random) -> Iterator[Question]:
    c, h, e, k_e = codata.c, codata.h, codata.e, 1 / (4 * math.pi * codata.epsilon_0)
    for f in rng.sample((4.5, 5.0, 6.0, 7.5, 3.2), 5):
        yield {"kind": "photon energy", "gold": h * f * 1e14,
               "question": f"What is the energy, in joules, of a photon of frequency "
                           f"{f} × 10^14 Hz?",
               "needs": [PLANCK]}  # fmt: skip
    for f in rng.sample((88.5e6, 101.1e6, 95.7e6, 1200e6, 2450e6), 3):
        yield {"kind": "wavelength", "gold": c / f,
               "question": f"What is the wavelength, in metres, of a radio wave of frequency "
                           f"{f / 1e6:g} MHz travelling in vacuum?",
               "needs": [LIGHT]}  # fmt: skip
    for n, power in zip(rng.sample((1, 2.5, 6, 3), 3), rng.sample((6, 12, 15, 18), 3), strict=True):
        yield {"kind": "charge", "gold": n * 10**power * e,
               "question": f"What is the total charge, in coulombs, of {n} × 10^{power} electrons "
                           f"(give its magnitude)?",
               "needs": [CHARGE]}  # fmt: skip
    for n, t, v in zip(rng.sample((0.5, 1, 2, 3), 3), rng.sample((273, 298, 300, 350), 3),
                       rng.sample((10, 22.4, 5), 3), strict=True):  # fmt: skip
        yield {"kind": "ideal gas", "gold": n * codata.R * t / (v / 1000) / 1000,
               "question": f"An ideal gas of {n} mol is held at {t} K in a {v} L container. "
                           f"What is its pressure in kilopascals?",
               "needs": [["constants/molar-gas-constant"]]}  # fmt: skip
    for m1, m2, r in zip((50, 70, 1000), (60, 80, 2000), rng.sample((1, 2, 0.5), 3), strict=True):
        yield {"kind": "gravitation", "gold": codata.G * m1 * m2 / r**2,
               "question": f"What is the gravitational force, in newtons, between masses of "
                           f"{m1} kg and {m2} kg whose centres are {r} m apart?",
               "needs": [["constants/gravitational-constant"]]}  # fmt: skip
    for q1, q2, r in zip(
        (1, 2, 3), rng.sample((4, 5, 6), 3), rng.sample((0.1, 0.3, 0.5), 3), strict=True
    ):
        yield {"kind": "coulomb", "gold": k_e * q1 * 1e-6 * q2 * 1e-6 / r**2,
               "question": f"What is the magnitude of the electric force, in newtons, between "
                           f"charges of {q1} µC and {q2} µC that are {r} m apart in vacuum?",
               "needs": [["constants/vacuum-permittivity"]]}  # fmt: skip
    for what, attribute, unit, passage in UNITS:
        amount = rng.choice((3, 7, 12, 25, 40))
        yield {
            "kind": "unit conversion",
            "gold": amount * getattr(codata, attribute),
            "question": f"How many {unit} are in {amount} {what}?",
            "needs": [[passage]],
        }


def facts_questions() -> list[Question]:
    """The benchmark's questions, the same on every run (seeded number choices)."""
    rng = random.Random(18)
    questions = [*_chemistry(rng), *_physics(rng)]
    return [{"id": f"facts-{i}", **q} for i, q in enumerate(questions)]


_NUMBER = re.compile(
    r"(?P<sign>[-−])?\s*(?P<mantissa>\d[\d,]*(?:\.\d+)?|\.\d+)"
    r"(?:\s*(?:\\times|\\cdot|×|x|\*)\s*10\s*\^\s*\{?\s*(?P<power>[-−]?\s*\d+)\s*\}?"
    r"|\s*[eE](?P<e>[-+−]?\d+))?"
)


def read_number(answer: str | None) -> float | None:
    """The first number of a final answer: `6.63 \\times 10^{-19} J`, `6.63e-19`, `1,250 g`.
    Why here and not the verifier: the gold is a measured value compared within a tolerance,
    which is a grading rule of this benchmark, not a check the agent may claim."""
    if not answer:
        return None
    text = re.sub(r"\\[,;! ]|\{,\}", "", answer).replace("\\left", "").replace("\\right", "")
    found = _NUMBER.search(text)
    if not found:
        return None
    value = float(found["mantissa"].replace(",", ""))
    power = found["power"] or found["e"]
    if power:
        value *= 10.0 ** int(power.replace("−", "-").replace(" ", ""))
    return -value if found["sign"] else value


def right(gold: float, answer: str | None) -> bool:
    got = read_number(answer)
    return got is not None and math.isclose(got, gold, rel_tol=TOLERANCE)


def bare_answerer(agent: Agent, max_new_tokens: int) -> Callable[[Question], dict]:
    def answer(item: Question) -> dict:
        params = SamplingParams(max_new_tokens, 0.0, 1.0)
        messages = [Message("system", BARE_PROMPT), Message("user", item["question"])]
        done = agent.backend.complete(messages, params)
        return {"answer": extract_final_answer(done.text), "citations": [],
                "completion_tokens": done.completion_tokens, "text": done.text}  # fmt: skip

    return answer


def agent_answerer(agent: Agent) -> Callable[[Question], dict]:
    def answer(item: Question) -> dict:
        got = agent.ask(item["question"])
        return {"answer": got.answer, "status": got.status, "error": got.error,
                "citations": [c.id for c in got.citations],
                "grounding": [asdict(use) for use in got.grounding],
                "candidates": [{"answer": c.answer, "status": c.status,
                                "checks": [ch.to_dict() for ch in c.checks]}
                               for c in got.candidates],
                "completion_tokens": got.usage.completion_tokens,
                "text": got.candidates[0].reasoning if got.candidates else ""}  # fmt: skip

    return answer


def run_row(row: str, items: list[Question], out: Path, args: argparse.Namespace) -> None:
    path = out / f"{row}.jsonl"
    done = {json.loads(line)["id"] for line in path.open()} if path.exists() else set()
    todo = [item for item in items if item["id"] not in done]
    if not todo:
        return
    settings = Settings(
        max_new_tokens=args.max_new_tokens, samples=1, cross_checks=0,
        grounding=row != "agent-retrieval-ungrounded",
    )  # fmt: skip
    index = None if row.startswith("agent-retrieval") else False
    with Agent(args.model, backend="llama.cpp", index=index, settings=settings) as agent:
        agent.load()
        answer = (
            bare_answerer(agent, args.max_new_tokens) if row == "bare" else agent_answerer(agent)
        )

        def graded(item: Question) -> dict:
            start = time.perf_counter()
            result = answer(item)
            result["seconds"] = round(time.perf_counter() - start, 2)
            result["value"] = read_number(result["answer"])
            result["correct"] = right(item["gold"], result["answer"])
            return {**item, **result}

        append_records(row, path, map_in_threads(graded, todo, args.sequences))


def run_search(items: list[Question], out: Path) -> None:
    """The top 5 passages of the agent's own retriever and search mode for each question."""
    path = out / "search.jsonl"
    if path.exists():
        return
    index, mode = default_index(default_embeddings()), Settings().search_mode
    with path.open("w") as sink:
        for item in items:
            hits = index.search(item["question"], 5, mode=mode)
            found = [{"id": h.passage.id, "score": round(h.score, 4)} for h in hits]
            sink.write(json.dumps({"id": item["id"], "needs": item["needs"], "hits": found}) + "\n")


def covered(needs: list[list[str]], found: list[str]) -> bool:
    """Whether the passages found state every value the question needs."""
    return all(set(need) & set(found) for need in needs)


def grounding_lines(records: list[dict]) -> list[str]:
    """What grounding did in the agent-retrieval row: answers that showed a passage number,
    candidates refuted for a misread one, and how many of those were in fact right."""
    n = len(records)
    shown = sum(bool(r["grounding"]) for r in records)
    misread = [
        (r, c) for r in records for c in r["candidates"]
        if any(ch["name"] == "passage value" and ch["outcome"] == "failed" for ch in c["checks"])
    ]  # fmt: skip
    wrongly = sum(right(r["gold"], c["answer"]) for r, c in misread)
    fixed = sum(r["correct"] for r in {r["id"]: r for r, _ in misread}.values())
    return [
        f"Grounding (agent-retrieval): {shown}/{n} answers show the passage numbers they used; "
        f"{len(misread)} candidates were refuted for a misread passage number, {wrongly} of "
        f"them with a right answer (a false refutation); after the retry {fixed} of those "
        f"questions were answered right."
    ]


def threshold_table(searched: list[dict]) -> list[str]:
    """What the agent would be shown at each relevance threshold, for its top_k and for 5."""
    lines = ["| top k | threshold | every needed value shown | some needed value shown "
             "| passages shown / q | shown passages that state a needed value |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    n = len(searched)
    for k in sorted({Settings().top_k, 5}):
        for threshold in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55):
            shown = [[h["id"] for h in s["hits"][:k] if h["score"] >= threshold] for s in searched]
            pairs = list(zip(searched, shown, strict=True))
            every = sum(covered(s["needs"], ids) for s, ids in pairs)
            some = sum(any(set(need) & set(ids) for need in s["needs"]) for s, ids in pairs)
            total = sum(len(ids) for ids in shown)
            useful = sum(any(i in need for need in s["needs"]) for s, ids in pairs for i in ids)
            lines.append(f"| {k} | {threshold} | {every / n:.0%} | {some / n:.0%} "
                         f"| {total / n:.2f} | {useful / max(1, total):.0%} |")  # fmt: skip
    return lines


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open()] if path.exists() else []


def report(out: Path) -> str:
    lines = ["| row | n | right (within 1%) | needed passage cited | tokens / q | s / q |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    kinds: dict[str, dict[str, list[bool]]] = {}
    for row in ROWS:
        records = _load(out / f"{row}.jsonl")
        if not records:
            continue
        n = len(records)
        cited = sum(covered(r["needs"], r["citations"]) for r in records)
        lines.append(
            f"| {row} | {n} | {sum(r['correct'] for r in records) / n:.0%} "
            f"| {f'{cited / n:.0%}' if row.startswith('agent-retrieval') else '-'} "
            f"| {sum(r['completion_tokens'] for r in records) / n:.0f} "
            f"| {row_seconds(records):.1f} |"
        )
        for r in records:
            kinds.setdefault(r["kind"], {}).setdefault(row, []).append(r["correct"])
    if kinds:
        lines += ["", "| kind | n | " + " | ".join(ROWS) + " |", "|---|---|" + "---|" * len(ROWS)]
        for kind, by_row in kinds.items():
            n = max(len(v) for v in by_row.values())
            cells = [f"{sum(by_row[r])}/{len(by_row[r])}" if r in by_row else "-" for r in ROWS]
            lines.append(f"| {kind} | {n} | " + " | ".join(cells) + " |")
    grounded = _load(out / "agent-retrieval.jsonl")
    if grounded:
        lines += ["", *grounding_lines(grounded)]
    searched = _load(out / "search.jsonl")
    if searched:
        lines += ["", *threshold_table(searched)]
    return "\n".join(lines)


def main() -> None:
    args = model_bench_arguments(__doc__, ROWS, "build/bench-facts").parse_args()
    items = facts_questions()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report:
        run_search(items, args.out)
        for row in args.rows.split(",") if args.model else ():
            run_row(row, items, args.out, args)
    print(report(args.out))


if __name__ == "__main__":
    main()
