"""Cross-checks: a program the model writes from the question alone computes the answer a second
way, in the sandbox; a solution and a program that agree make the answer `cross-checked`,
evidence below `verified` and never shown as it.

The model here is a scripted backend (named as such: `ScriptedBackend`), replying by prompt,
so solutions and programs can be told apart whatever order the graph's branches run in; the
verifier and the sandbox are the real ones."""

from __future__ import annotations

import json

import httpx
from loopback import serving
from typer.testing import CliRunner

from verimath import Agent, Settings
from verimath.cli import app
from verimath.graphs.checking import agreements
from verimath.graphs.contracts import SamplingParams
from verimath.graphs.crosscheck import derive_by_program, program_answer
from verimath.graphs.guardrails import guard_output
from verimath.graphs.nodes import draft_tasks, next_step
from verimath.graphs.prompts import CROSS_CHECK_PREFILL, cross_check_prompt
from verimath.graphs.reasoning import Generation
from verimath.graphs.selection import (
    Candidate,
    CrossCheck,
    Plan,
    Selection,
    cross_check_pairs,
    select,
)
from verimath.models import ScriptedBackend
from verimath.tools.programs import ProgramRun
from verimath.tools.verdict import Verdict

WORD_PROBLEM = (
    "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes "
    "muffins for her friends every day with four. She sells the remainder at the farmers' "
    "market daily for $2 per fresh duck egg. How much in dollars does she make every day?"
)
RIGHT_PROGRAM = "eggs = 16 - 3 - 4\nprint(eggs * 2)"


def candidate(answer, status="unverified", source="model", value=None):
    generation = Generation("trace", "", answer, "stop", False, 10, 20)
    return Candidate(generation, Verdict(status), source=source, value=value)


def by_prompt(solutions, programs):
    """A scripted model: the next of `solutions` to a solution prompt, the next of `programs`
    (program text, replied inside the prefilled code block) to a cross-check prompt."""
    solutions, programs = list(solutions), list(programs)

    def reply(messages, prefill):
        if prefill == CROSS_CHECK_PREFILL:
            return (programs.pop(0) if len(programs) > 1 else programs[0]) + "\n```\nDone."
        return solutions.pop(0) if len(solutions) > 1 else solutions[0]

    return ScriptedBackend(reply)


# ---- pure decisions --------------------------------------------------------------------------


def test_a_group_where_solution_and_program_agree_is_cross_checked_and_shows_the_solution():
    cands = [candidate("18", source="program"), candidate("18"), candidate("20"), candidate("20")]
    groups = ((0, 1), (2, 3))
    pair = CrossCheck(solution=1, program=0)
    chosen = select(cands, groups, agreed=[pair])
    assert (chosen.status, chosen.chosen, chosen.cross_check) == ("cross-checked", 1, pair)
    # Without the verifier's agreement the same groups are a plain vote (ties: first group).
    plain = select(cands, groups)
    assert (plain.status, plain.cross_check) == ("unverified", None)


def test_evidence_ranks_verified_then_cross_checked_then_votes():
    cands = [candidate("18"), candidate("18", source="program"), *(candidate("20"),) * 3,
             candidate("5", "verified")]  # fmt: skip
    groups = ((0, 1), (2, 3, 4), (5,))
    assert select(cands, groups, agreed=[CrossCheck(0, 1)]).status == "verified"
    without_verified = select(cands[:5], groups[:2], agreed=[CrossCheck(0, 1)])
    assert (without_verified.status, without_verified.chosen) == ("cross-checked", 0)
    # Plain self-consistency ("majority") counts votes alone, evidence aside.
    assert select(cands[:5], groups[:2], "majority", agreed=[CrossCheck(0, 1)]).chosen == 2


def test_a_cross_checked_answer_settles_and_a_disagreement_asks_for_one_more_of_each():
    settings = Settings(samples=4, cross_checks=2)
    cands = [candidate("18"), candidate("20", source="program")]
    disagree = select(cands, ((0,), (1,)))
    assert next_step(cands, disagree, settings) == Plan("sample", count=1, programs=1)
    agree = Selection(0, "cross-checked", 2, 1.0, ((0, 1),), CrossCheck(0, 1))
    assert next_step(cands, agree, settings) is None
    # The programs' bound holds while solutions go on.
    spent = [*cands, candidate("21", source="program"), candidate("22")]
    step = next_step(spent, select(spent, ((0,), (1,), (2,), (3,))), settings)
    assert step == Plan("sample", count=1, programs=0)


def test_fan_out_sends_solutions_then_programs_and_resamples_after_the_first_of_each():
    state = {
        "question": WORD_PROBLEM,
        "candidates": [candidate("18"), candidate("7", source="program")],
    }
    tasks = draft_tasks(state, Plan("sample", count=2, programs=1))
    assert [(t["kind"], t["index"], t["resample"]) for t in tasks] == [
        ("solution", 2, True), ("solution", 3, True), ("program", 4, True),
    ]  # fmt: skip
    first = draft_tasks({"question": WORD_PROBLEM}, Plan("sample", count=1, programs=1))
    assert [(t["kind"], t["resample"]) for t in first] == [("solution", False), ("program", False)]


def test_a_cross_checked_answer_left_unevaluated_is_shown_as_its_value():
    cands = [candidate("16 - 3 - 4", value="9"), candidate("9", source="program")]
    screen = guard_output(
        cands, Selection(0, "cross-checked", 2, 1.0, ((0, 1),), CrossCheck(0, 1)),
        max_answer_chars=100,
    )  # fmt: skip
    assert (screen.answer, screen.status, screen.as_written) == ("9", "cross-checked", "16 - 3 - 4")


def test_a_group_with_a_refuted_member_is_never_a_cross_check():
    cands = [candidate("4"), candidate("4", source="program"), candidate("4", "refuted")]
    assert agreements_of(cands, ((0, 1, 2),)) == []


def agreements_of(cands, groups, verifier=None):

    return (
        cross_check_pairs(cands, groups)
        if verifier is None
        else agreements(verifier, cands, groups)
    )


# ---- the verifier's agreement ------------------------------------------------------------------


def test_agreement_follows_the_rules_verified_follows(verifier):
    cases = {
        ("12.5", "25/2"): True,  # equal values in two forms
        ("\\frac{1}{3}", "1/3"): True,
        ("0.33", "1/3"): False,  # a rounded value is not the exact one
        ("18", "20"): False,
        ("16 - 3 - 4", "9"): False,  # an operation left to carry out is no answer...
    }
    for (solution, printed), agreed in cases.items():
        cands = [candidate(solution), candidate(printed, source="program")]
        found = agreements(verifier, cands, ((0, 1),))
        assert (found == [CrossCheck(0, 1)]) is agreed, (solution, printed)
    # ...unless it is shown as its exact value, which is then what the program is compared with.
    shown_as_value = [candidate("16 - 3 - 4", value="9"), candidate("9", source="program")]
    assert agreements(verifier, shown_as_value, ((0, 1),)) == [CrossCheck(0, 1)]
    # A pair that does not agree does not hide one that does: the next solution is tried.
    second = [candidate("16 - 3 - 4"), candidate("9"), candidate("9", source="program")]
    assert agreements(verifier, second, ((0, 1, 2),)) == [CrossCheck(1, 2)]


# ---- the program's derivation in the sandbox ----------------------------------------------------


def test_a_program_runs_in_the_sandbox_and_its_last_printed_line_is_its_answer(verifier):
    program = "from fractions import Fraction\nprint('work')\nprint(Fraction(9, 2) * 4)"
    backend = ScriptedBackend([program + "\n```\nIt prints 18."])
    messages = cross_check_prompt(WORD_PROBLEM, [])
    generation = derive_by_program(backend, messages, SamplingParams(128), verifier.run_program)
    assert generation.answer == "18"
    assert generation.programs[0].ok and "Fraction(9, 2)" in generation.reasoning
    assert "It prints" not in generation.reasoning  # the text after the block is not the program
    assert backend.calls[0].prefill == CROSS_CHECK_PREFILL
    assert backend.calls[0].params.stop == ("\n```",)


def test_a_hostile_or_broken_program_gives_no_answer(verifier):
    messages = cross_check_prompt(WORD_PROBLEM, [])
    for program in ("import os\nprint(os.listdir('/'))", "print(1/0)", "x = 1", "print('a' * 300)"):
        backend = ScriptedBackend([program + "\n```"])
        generation = derive_by_program(backend, messages, SamplingParams(64), verifier.run_program)
        assert generation.answer is None, program
    assert program_answer(ProgramRun("", "18\n\n", True)) == "18"
    assert program_answer(ProgramRun("", "18", False)) is None


def test_a_backend_that_cannot_continue_a_turn_is_asked_for_the_whole_block(verifier):
    backend = ScriptedBackend(["Here it is:\n```python\nprint(2 * 9)\n```"])
    backend.supports_prefill = False
    generation = derive_by_program(
        backend, cross_check_prompt(WORD_PROBLEM, []), SamplingParams(64), verifier.run_program
    )
    assert generation.answer == "18" and backend.calls[0].prefill == ""


# ---- end to end through the agent ----------------------------------------------------------------


def ask(backend, verifier, **settings):
    settings = {"max_new_tokens": 64, "samples": 4, "cross_checks": 2, **settings}
    with Agent(backend, index=False, verifier=verifier, settings=Settings(**settings)) as agent:
        return agent.ask(WORD_PROBLEM)


def test_a_word_problem_comes_back_cross_checked_with_the_program_that_agreed(verifier):
    backend = by_prompt(["She keeps 9 eggs and sells them: \\boxed{18}"], [RIGHT_PROGRAM])
    answer = ask(backend, verifier)
    assert (answer.answer, answer.status) == ("18", "cross-checked")
    assert answer.cross_check.program == RIGHT_PROGRAM and answer.cross_check.output == "18"
    shown, program = (
        answer.candidates[answer.cross_check.solution],
        answer.candidates[answer.cross_check.program_candidate],
    )
    assert (shown.source, program.source, program.answer) == ("model", "program", "18")
    assert answer.reasoning.startswith("She keeps")  # the solution's trace, not the program
    assert len(backend.calls) == 2  # adaptive: one solution, one program, settled
    assert answer.attempts == 1


def test_a_disagreement_brings_another_solution_and_program_within_the_bound(verifier):
    backend = by_prompt(["\\boxed{20}", "\\boxed{18}"], ["print(21)", RIGHT_PROGRAM])
    answer = ask(backend, verifier)
    assert (answer.answer, answer.status) == ("18", "cross-checked")
    assert len(backend.calls) == 4
    # Never agreeing: the bound (4 solutions, 2 programs) ends it, as a plain vote.
    stubborn = by_prompt(["\\boxed{20}", "\\boxed{20}", "\\boxed{19}"], ["print(21)"])
    voted = ask(stubborn, verifier)
    assert (voted.answer, voted.status, voted.cross_check) == ("20", "unverified", None)
    assert [c.source for c in voted.candidates].count("program") == 2
    assert [c.source for c in voted.candidates].count("model") == 4


def test_agreement_on_a_wrong_answer_is_cross_checked_never_verified(verifier):
    backend = by_prompt(["\\boxed{26}"], ["print(16 - 3)\nprint(13 * 2)"])
    answer = ask(backend, verifier)
    assert (answer.answer, answer.status) == ("26", "cross-checked")  # evidence, not proof


def test_a_checkable_question_is_still_verified_by_sympy_not_merely_cross_checked(verifier):
    backend = by_prompt(
        ["3x = 12, so \\boxed{x = 4}"],
        ["from sympy import symbols, solve\nx = symbols('x')\nprint(solve(3*x - 12, x)[0])"],
    )
    with Agent(
        backend, index=False, verifier=verifier, settings=Settings(max_new_tokens=64)
    ) as agent:
        answer = agent.ask("Solve 3x = 12.")
    assert answer.status == "verified" and answer.cross_check is None


def test_cli_server_and_schema_carry_the_cross_check(verifier, monkeypatch):
    from verimath.cli import answering
    from verimath.server import API_KEY_ENV, create_app

    settings = Settings(max_new_tokens=64, cross_checks=2)
    backend = by_prompt(["\\boxed{18}"], [RIGHT_PROGRAM])
    with Agent(backend, index=False, verifier=verifier, settings=settings) as agent:
        monkeypatch.setattr(answering, "build_agent", lambda config: agent)
        result = CliRunner().invoke(app, ["ask", WORD_PROBLEM])
        assert result.exit_code == 0, result.output
        assert "Status:   CROSS-CHECKED" in result.output
        assert "printed 18, the answer of candidate 1" in result.output
        assert "    eggs = 16 - 3 - 4" in result.output
        monkeypatch.delenv(API_KEY_ENV, raising=False)
        with serving(create_app(agent)) as url:
            data = httpx.post(f"{url}/v1/ask", json={"question": WORD_PROBLEM}, timeout=60).json()
            spec = httpx.get(f"{url}/openapi.json").json()
            chat = httpx.post(
                f"{url}/v1/chat/completions",
                json={"messages": [{"role": "user", "content": WORD_PROBLEM}]},
                timeout=60,
            ).json()
    assert data["status"] == "cross-checked"
    assert data["cross_check"] == {"program": RIGHT_PROGRAM, "output": "18", "solution": 0,
                                   "program_candidate": 1}  # fmt: skip
    assert chat["verimath"]["status"] == "cross-checked"
    assert chat["verimath"]["cross_check"]["output"] == "18"
    schemas = spec["components"]["schemas"]
    assert "cross-checked" in json.dumps(schemas)
    assert {"program", "output", "solution", "program_candidate"} <= set(
        json.dumps(schemas).replace('"', " ").split()
    )
