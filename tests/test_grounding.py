"""Answers grounded in their passages (`tools.grounding`): the numbers a reasoning took from
the retrieved passages are shown with their passage, and a misread one refutes the answer.

The passages are the shipped corpus's own (corpora/*.jsonl). End to end, the retriever is the
real FAISS index over it, the verifier the real sandboxed SymPy pool, and the model a scripted
backend (named as such: `ScriptedBackend`) that misreads a fact and then corrects it.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from verimath import Agent, Settings
from verimath.cli import app
from verimath.graphs.checking import with_grounding
from verimath.models import ScriptedBackend
from verimath.tools.grounding import ground, numbers_in
from verimath.tools.verdict import Check, Verdict

CORPORA = Path(__file__).resolve().parents[1] / "corpora"
ROWS = {
    row["id"]: row
    for name in ("elements.jsonl", "constants.jsonl")
    for row in map(json.loads, (CORPORA / name).read_text().splitlines())
}
PASSAGES = {id_: row["text"] for id_, row in ROWS.items()}


def shown(*ids):
    """The passages as the graph gives them: (id, text, title)."""
    return [(i, ROWS[i]["text"], ROWS[i]["title"]) for i in ids]


def uses(reasoning, *ids):
    return [(u.passage, u.stated, u.passage_value, u.agrees)
            for u in ground(reasoning, shown(*ids))]  # fmt: skip


# ---- what counts as a use and as a misread ---------------------------------------------------


def test_an_atomic_number_off_by_one_is_a_misread_of_the_element_it_names():
    ids = ("elements/sodium", "elements/chlorine")
    assert uses("The atomic number of sodium is 10.", *ids) == [
        ("elements/sodium", "10", "11", False)
    ]
    assert uses("The atomic number of sodium is 11.", *ids) == [
        ("elements/sodium", "11", "11", True)
    ]
    assert uses("Chlorine has atomic number 17.", *ids) == [("elements/chlorine", "17", "17", True)]


def test_a_constant_at_the_wrong_power_of_ten_is_a_misread_and_a_rounding_is_a_use():
    wrong = uses("Planck's constant h = 6.626 \\times 10^{-33} J s.", "constants/planck-constant")
    assert wrong == [
        (
            "constants/planck-constant",
            "6.626 \\times 10^{-33}",
            "6.62607015 \\times 10^{-34}",
            False,
        )
    ]
    right = uses("Using h = 6.63e-34 J s, E = hf.", "constants/planck-constant")
    assert right == [("constants/planck-constant", "6.63e-34", "6.62607015 \\times 10^{-34}", True)]
    light = uses("c = 3.0 x 10^7 m/s", "constants/speed-of-light")
    assert light == [("constants/speed-of-light", "3.0 x 10^7", "299792458", False)]


def test_a_table_value_is_tied_by_its_symbol_and_a_slipped_one_is_caught():
    table = "elements/molar-masses-1-20"
    assert uses("Na = 22.99 g/mol, Cl = 35.45 g/mol. Total = 58.44 g/mol", table) == [
        (table, "22.99", "22.98976928", True),
        (table, "35.45", "35.45", True),
    ]
    assert uses("Na: 23.99 g/mol\nCl: 35.45 g/mol", table)[0] == (
        table,
        "23.99",
        "22.98976928",
        False,
    )


def test_another_edition_of_a_value_and_the_question_s_own_numbers_are_not_misreads():
    table = "elements/molar-masses-1-20"
    # Older standard atomic weights, within 0.5%: not what the passage says, not a misreading.
    assert uses("S: 32.07 g/mol\nH: 1.0079 g/mol", table) == []
    assert uses("S: 33.07 g/mol", table) == [(table, "33.07", "32.06", False)]
    # A number the question gives is its data, even beside a passage number's label.
    question = "A sample of sodium has a mass of 23.5 g. How many moles is it?"
    reasoning = "Na: 23.5 g / 22.99 g/mol = 1.02 mol"
    assert uses(reasoning, table) == [(table, "23.5", "22.98976928", False)]
    grounded = ground(reasoning, [(table, PASSAGES[table])], question)
    assert [(u.stated, u.agrees) for u in grounded] == [("22.99", True)]


def test_a_passage_s_title_names_its_numbers_and_another_quantity_is_never_tied():
    # "Its density is 7.874" is iron's: the title says so.
    assert uses("Iron's density is 8.87 g/cm^3.", "elements/iron") == [
        ("elements/iron", "8.87", "7.874", False)
    ]
    # Nickel's density is not iron's, though nickel's passage was not retrieved.
    assert uses("The density of nickel is 8.9 g/cm^3.", "elements/iron") == []
    # Neutrons are not the atomic number, nor the mass number of the isotope named.
    assert uses("The number of neutrons in chlorine-35 is 18.", "elements/chlorine") == []
    assert uses("Neutrons in the most abundant isotope of boron: 10", "elements/boron") == []


def test_a_result_that_keeps_a_constant_s_digits_is_not_a_misread_of_it():
    assert uses("Q = 1.602 \\times 10^{-13} C.", "constants/elementary-charge") == []
    assert uses("Multiply 6.674 by 3000.", "constants/gravitational-constant") == []
    assert uses("e = 1.602 \\times 10^{-13} C.", "constants/elementary-charge")[0][3] is False


def test_results_worked_out_from_a_value_and_other_quantities_are_not_misreads():
    table = "elements/molar-masses-1-20"
    # A conversion repeats the digits at another power of ten: a result, not a copy.
    assert all(u[3] for u in uses("Na is 22.99 g/mol, so 22.99 g = 0.02299 kg.", table))
    # The same symbol for another quantity, far from the passage's number.
    assert uses("Na atoms: 2", table) == []
    # A label that names several different numbers ties to none of them.
    assert uses("Its atomic number is 12.", "elements/sodium", "elements/magnesium") == []


def test_numbers_are_read_as_written_in_text_and_latex_and_exponents_are_not_values():
    text = (
        "$6.62607015 \\times 10^{-34}\\ \\mathrm{J}\\,\\mathrm{s}^{-1}$, 1,250.5 g, 2.5e-3, "
        "3 × 10^8"
    )
    read = {n.text: (n.value, n.digits) for n in numbers_in(text)}
    assert set(read) == {"6.62607015 \\times 10^{-34}", "1,250.5", "2.5e-3", "3 × 10^8"}
    assert str(read["1,250.5"][0]) == "1250.5" and read["3 × 10^8"][1] == "3"


@given(st.lists(st.sampled_from(["sodium", "atomic", "number", "is", "h", "=", "Na:", "10",
                                 "11", "22.99", "6.626e-33", ".", "\n", "×", "10^8", "2"]),
                max_size=30))  # fmt: skip
def test_a_use_only_ever_names_a_passage_it_was_given(words):
    given_ids = ("elements/sodium", "constants/planck-constant")
    for use in ground(" ".join(words), [(i, PASSAGES[i]) for i in given_ids]):
        assert use.passage in given_ids


# ---- the verdict ------------------------------------------------------------------------------


def test_a_misread_refutes_only_what_sympy_left_unchecked():
    misread = ground(
        "The atomic number of sodium is 10.", [("elements/sodium", PASSAGES["elements/sodium"])]
    )
    refuted = with_grounding(Verdict("unverified"), misread)
    assert refuted.status == "refuted"
    assert "states 10, but passage elements/sodium says" in refuted.evidence
    assert "atomic number 11" in refuted.evidence
    proven = Verdict("verified", (Check("value", "passed", "SymPy"),))
    assert with_grounding(proven, misread) == proven  # SymPy judged the answer itself
    agreed = ground(
        "The atomic number of sodium is 11.", [("elements/sodium", PASSAGES["elements/sodium"])]
    )
    kept = with_grounding(Verdict("unverified"), agreed)
    assert kept.status == "unverified" and kept.checks[0].outcome == "passed"


# ---- end to end: the real index and verifier, a scripted model --------------------------------

QUESTION = "How many protons are in the nucleus of a sodium atom?"
MISREAD = "Sodium has atomic number 10, so its nucleus has 10 protons. \\boxed{10}"
CORRECTED = "The passage says sodium has atomic number 11, so 11 protons. \\boxed{11}"


def test_a_misread_fact_is_refuted_with_the_passage_and_the_retry_is_shown_it(
    shipped_index, verifier, monkeypatch
):
    from verimath.cli import answering

    backend = ScriptedBackend([MISREAD, CORRECTED])
    settings = Settings(max_new_tokens=64, samples=1, refuted_retries=1)
    with Agent(backend, index=shipped_index, verifier=verifier, settings=settings) as agent:
        answer = agent.ask(QUESTION)
        assert "elements/sodium" in [c.id for c in answer.citations]
        first, retry = answer.candidates
        assert (first.answer, first.status, retry.answer) == ("10", "refuted", "11")
        assert any("passage elements/sodium says" in c.detail for c in first.checks)
        feedback = backend.calls[1].messages[-1].content
        assert "states 10, but passage elements/sodium says" in feedback and "number 11" in feedback
        assert (answer.answer, answer.status) == ("11", "unverified")  # a fact, not a SymPy proof
        (use,) = answer.grounding
        assert (use.passage, use.stated, use.passage_value, use.agrees) == (
            "elements/sodium", "11", "11", True
        )  # fmt: skip
        assert {u.passage for u in answer.grounding} <= {c.id for c in answer.citations}

        monkeypatch.setattr(answering, "build_agent", lambda config: agent)
        backend.calls.clear()  # the script starts over: misread, then corrected
        printed = CliRunner().invoke(app, ["ask", QUESTION])
        assert printed.exit_code == 0, printed.output
        assert "Passage values the reasoning used:" in printed.output
        assert "11: copied, elements/sodium gives 11" in printed.output
