"""Final answers that are values: an answer left unevaluated (`2368 + 1920 + 72`) is shown and
grouped as its exact value (`4360`), worked out in the sandbox, with the model's own form kept
beside it; the check is still of the form written, so its status never rises. With the real
SymPy verifier and a scripted chat backend (a test double named as such, no model weights)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from verimath import Agent, Settings
from verimath.graphs.checking import check_candidates, choose
from verimath.graphs.guardrails import guard_output
from verimath.graphs.reasoning import Generation
from verimath.graphs.selection import Candidate, select
from verimath.models import ScriptedBackend
from verimath.tools.verdict import Verdict

# A GSM8K-like word problem: nothing in it is an expression SymPy can check an answer against.
WORD_PROBLEM = (
    "A bakery sold 2368 rolls in March, 1920 in April and 72 in May. "
    "How many rolls did it sell in the three months?"
)
SUM = "2368 + 1920 + 72"


def candidate(answer: str | None, status: str | None = None, value: str | None = None):
    generation = Generation("", "", answer, "stop", False, 0, 0)
    return Candidate(generation, Verdict(status) if status else None, value=value)


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        (SUM, "4360"),
        ("\\frac{3}{4} \\cdot 12", "9"),
        ("17 \\times 23", "391"),
        ("2^{10}", "1024"),
        ("\\sqrt{16}", "4"),
        ("\\frac{1}{3} + \\frac{1}{6}", "1/2"),
        ("12.5 \\times 3", "37.5"),  # written in decimals, shown in decimals, exactly
        ("-3.5 \\times 2.1", "-7.35"),
        ("x = 17 \\times 23", "x = 391"),
    ],
)
def test_an_answer_left_unevaluated_has_its_exact_value(verifier, answer, value):
    assert verifier.value_of(answer) == value
    assert verifier.equivalent(answer, value).equivalent is True


@pytest.mark.parametrize(
    "answer",
    [
        "4360",  # already a value
        "\\frac{3}{4}",  # a fraction is an answer
        "2\\sqrt{3}",  # so is a surd
        "6.02 \\times 10^{23}",  # and scientific notation
        "x + 2 + 3",  # a variable: no value
        "\\frac{d}{dx} x^3",
        "1 + 1, 2 + 2",  # a list is no one value
        "2368 + 1920 + 72 = 4360",  # a relation between numbers
        "2 \\pm 1 + 1",
        "the answer is many rolls",  # not math
        "2^{1000}",  # exact, but 302 digits: too long to show, kept as written
        "9^{9^{9}}",  # refused by the parser's size limits before it is computed
        "",
        None,
    ],
)
def test_anything_else_has_no_value(verifier, answer):
    assert verifier.value_of(answer) is None


def test_an_answer_and_its_unevaluated_form_are_one_group(verifier):
    cands = check_candidates(verifier, WORD_PROBLEM, [candidate(SUM), candidate("4360")])
    assert [(c.answer, c.value, c.status) for c in cands] == [
        (SUM, "4360", "unverified"), ("4360", None, "unverified"),
    ]  # fmt: skip
    selection = choose(verifier, cands, "verified")
    assert selection.groups == ((0, 1),) and selection.votes == 2


@pytest.mark.parametrize(
    ("question", "written"),
    [("What is 2368 + 1920 + 72?", SUM), ("Evaluate 17 \\times 23.", "17 \\times 23")],
)
def test_the_check_is_of_the_written_form_which_stays_unverified_with_its_note(
    verifier, question, written
):
    """The trust rule: SymPy's value of the question's own computation, restated, is still
    not an answer; the value is worked out beside it, never checked in its place."""
    (checked,) = check_candidates(verifier, question, [candidate(written)])
    assert checked.status == "unverified" and checked.value is not None
    notes = [c.detail for c in checked.verdict.checks if c.name == "answer form"]
    assert notes and "not evaluated" in notes[0]


def test_a_verified_status_is_only_ever_shown_with_the_form_checked():
    """A group that joins a verified value and an unevaluated form of it shows the verified
    candidate; and a value is never shown with a status other than unverified."""
    cands = [candidate(SUM, "unverified", "4360"), candidate("4360", "verified")]
    selection = select(cands, ((0, 1),))
    shown = guard_output(cands, selection, max_answer_chars=100)
    assert (shown.answer, shown.status, shown.as_written) == ("4360", "verified", None)
    for status in ("verified", "refuted"):  # cannot come from check_answer, still never shown
        odd = [candidate(SUM, status, "4360")]
        screen = guard_output(odd, select(odd, ((0,),)), max_answer_chars=100)
        assert (screen.answer, screen.status, screen.as_written) == (SUM, status, None)


@pytest.fixture
def scripted_agent(verifier):
    made = []

    def make(replies, **settings) -> Agent:
        backend = ScriptedBackend(replies)
        settings = {"cross_checks": 0, **settings}  # these tests vote among solutions
        agent = Agent(backend, index=False, verifier=verifier, settings=Settings(**settings))
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent.close()


def test_a_word_problem_answered_with_a_sum_shows_its_value(scripted_agent):
    agent = scripted_agent([f"Add the months. \\boxed{{{SUM}}}"], samples=1)
    answer = agent.ask(WORD_PROBLEM)
    assert (answer.answer, answer.answer_as_written, answer.status) == ("4360", SUM, "unverified")
    (only,) = answer.candidates
    assert (only.answer, only.answer_as_written, only.status) == ("4360", SUM, "unverified")
    data = answer.to_dict()
    assert (data["answer"], data["answer_as_written"]) == ("4360", SUM)


def test_samples_that_agree_in_value_vote_together(scripted_agent):
    replies = [f"\\boxed{{{SUM}}}", "\\boxed{4360}", "\\boxed{4350}"]
    answer = scripted_agent(replies, samples=3, adaptive=False).ask(WORD_PROBLEM)
    assert (answer.answer, answer.status, answer.confidence) == ("4360", "unverified", 0.6667)
    assert [c.group for c in answer.candidates] == [0, 0, 1]
    # The first of the group is shown, as its value, with its own form beside it.
    assert answer.answer_as_written == SUM


def test_a_verified_plain_value_is_chosen_over_its_unevaluated_form(scripted_agent):
    replies = [f"\\boxed{{{SUM}}}", "\\boxed{4360}"]
    answer = scripted_agent(replies, samples=2, sympy_answer=False).ask("What is 2368 + 1920 + 72?")
    assert (answer.answer, answer.answer_as_written, answer.status) == ("4360", None, "verified")
    assert [(c.answer, c.answer_as_written, c.status) for c in answer.candidates] == [
        ("4360", SUM, "unverified"), ("4360", None, "verified"),
    ]  # fmt: skip
    assert answer.candidates[0].group == answer.candidates[1].group


def test_the_cli_prints_the_value_and_the_form_written(scripted_agent, monkeypatch):
    from verimath.cli import answering, app

    agent = scripted_agent([f"\\boxed{{{SUM}}}"], samples=1)
    monkeypatch.setattr(answering, "build_agent", lambda config: agent)
    result = CliRunner().invoke(app, ["ask", WORD_PROBLEM])
    assert result.exit_code == 0, result.output
    assert f"Answer:   4360 (written {SUM})" in result.output
    assert "Status:   UNVERIFIED" in result.output


def test_the_cli_prints_why_a_refuted_answer_was_refuted(scripted_agent, monkeypatch):
    """The evidence is what makes a refutation worth reading: it is printed under the answer,
    not only in --json."""
    from verimath.cli import answering, app

    agent = scripted_agent(["Divide by 3. \\boxed{x = 12}"], samples=1, refuted_retries=0)
    monkeypatch.setattr(answering, "build_agent", lambda config: agent)
    result = CliRunner().invoke(app, ["ask", "Solve 3x = 12"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    refuted = lines.index("  1. x = 12: refuted")
    assert lines[refuted + 1] == "       substitution: x = 12 in 3x = 12: residual 24"
    assert "Answer:   x = 4" in result.output  # SymPy's own answer, verified
