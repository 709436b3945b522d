"""Each decision the graph makes, as the pure function its node calls: the next step, the
fan-out tasks, sampling, the route after verify, the output guard, a reviewer's answer, and
the drafts channel. No model, no verifier: values in, values out."""

from __future__ import annotations

from dataclasses import replace

import pytest

from verimath.graphs import Settings
from verimath.graphs.guardrails import guard_output
from verimath.graphs.nodes import after_verify, draft_tasks, next_step, sampling
from verimath.graphs.reasoning import Generation
from verimath.graphs.selection import Candidate, Plan, Selection, plan_next, select
from verimath.graphs.state import Draft, collect_drafts
from verimath.tools.verdict import Check, Verdict


def candidate(answer, status=None, *, retry_of=None, source="model", forced=False, evidence=""):
    generation = Generation("trace", f"\\boxed{{{answer}}}", answer, "stop", forced, 10, 20)
    checks = (Check("value", "failed", evidence),) if evidence else ()
    verdict = Verdict(status, checks) if status else None
    return Candidate(generation, verdict, retry_of, source=source)


def chosen(index, status, groups=((0,),)):
    return Selection(index, status, 1, 1.0, groups)


def test_the_first_step_samples_one_when_adaptive_and_k_when_not():
    solutions = Settings(samples=4, cross_checks=0)
    assert next_step([], None, solutions) == Plan("sample", count=1)
    assert next_step([], None, replace(solutions, adaptive=False)) == Plan("sample", count=4)
    assert next_step([], None, replace(solutions, samples=0)) == Plan("sample", count=1)
    # With cross-checks: one solution and one program a step, or all of both at once.
    assert next_step([], None, Settings(samples=4, cross_checks=2)) == Plan("sample", 1, None, 1)
    fixed = Settings(samples=4, cross_checks=2, adaptive=False)
    assert next_step([], None, fixed) == Plan("sample", count=4, programs=2)


def test_a_computed_sympy_answer_or_a_reviewer_ends_generation():
    computed = replace(candidate("7", "refuted"), verdict=Verdict("refuted", computed="8"))
    assert next_step([computed], chosen(0, "refuted"), Settings(refuted_retries=0)) is None
    assert next_step([computed], chosen(0, "refuted"), Settings(sympy_answer=False)) is not None
    reviewed = [candidate("7", "refuted"), candidate("9", "refuted", source="reviewer")]
    assert (
        plan_next(reviewed, chosen(1, "refuted"), samples=4, adaptive=True, refuted_retries=1)
        is None
    )


def test_a_retry_task_carries_the_refuted_answer_and_its_evidence():
    state = {"question": "q", "candidates": [candidate("381", "refuted", evidence="17*23 = 391")]}
    (task,) = draft_tasks(state, Plan("retry", retry_of=0))
    assert (task["index"], task["retry_of"], task["resample"]) == (1, 0, False)
    assert (task["previous_answer"], task["feedback"]) == ("381", "17*23 = 391")


def test_fresh_samples_after_the_first_are_marked_to_resample():
    tasks = draft_tasks({"question": "q"}, Plan("sample", count=3))
    assert [(t["index"], t["resample"]) for t in tasks] == [(0, False), (1, True), (2, True)]
    assert all(t["previous_answer"] is None and t["feedback"] is None for t in tasks)


def test_a_greedy_setting_samples_its_resamples_with_a_seed_per_candidate():
    settings = Settings(temperature=0.0, sample_temperature=0.8, sample_top_p=0.95, seed=10)
    first, later = sampling(settings, 0, resample=False), sampling(settings, 2, resample=True)
    assert (first.temperature, first.top_p, first.seed) == (0.0, 1.0, 10)
    assert (later.temperature, later.top_p, later.seed) == (0.8, 0.95, 12)


@pytest.mark.parametrize(
    ("state", "review", "conversation", "expected"),
    [
        ({"next_step": Plan("sample")}, True, True, "generate"),
        ({"next_step": None, "selection": chosen(0, "refuted")}, True, True, "review"),
        ({"next_step": None, "selection": chosen(0, "refuted")}, True, False, "finalize"),
        ({"next_step": None, "selection": chosen(0, "refuted")}, False, True, "finalize"),
        ({"selection": chosen(0, "refuted"), "reviewed": True}, True, True, "finalize"),
        ({"next_step": None, "selection": chosen(0, "verified")}, True, True, "finalize"),
        ({"next_step": None, "selection": None}, True, True, "finalize"),
    ],
)  # fmt: skip
def test_the_route_after_verify(state, review, conversation, expected):
    assert after_verify(state, human_review=review, conversation=conversation) == expected


def test_the_output_guard_shows_the_chosen_answer_with_its_status():
    shown = guard_output(
        [candidate("391", "verified")], chosen(0, "verified"), max_answer_chars=500
    )
    assert (shown.answer, shown.status, shown.notes) == ("391", "verified", ())


def test_the_output_guard_removes_tags_and_cuts_long_answers():
    tagged = guard_output(
        [candidate("<think>4</think>", "unverified")], chosen(0, "unverified"), max_answer_chars=500
    )
    assert (tagged.answer, tagged.notes) == (
        "4",
        ("output: removed reasoning tags from the answer",),
    )
    long = guard_output([candidate("x" * 20, "refuted")], chosen(0, "refuted"), max_answer_chars=5)
    assert (long.answer, long.status) == ("xxxxx…", "refuted")
    assert long.notes == ("output: answer cut to 5 characters",)


def test_no_answer_is_unverified_whatever_was_selected_and_a_forced_answer_is_said():
    empty = guard_output(
        [candidate("<think></think>", "verified")], chosen(0, "verified"), max_answer_chars=9
    )
    assert (empty.answer, empty.status) == (None, "unverified")
    assert "output: the model gave no final answer" in empty.notes
    forced = guard_output(
        [candidate("5", "unverified", forced=True)], chosen(0, "unverified"), max_answer_chars=9
    )
    assert forced.notes[0].startswith("output: no final answer in the response")
    nothing = guard_output([], None, max_answer_chars=9)
    assert (nothing.answer, nothing.status) == (None, "unverified")


def test_a_reviewers_answer_is_chosen_and_named():
    candidates = [candidate("3x^3", "refuted"), candidate("x^2", "refuted", source="reviewer")]
    selection = select(candidates, ((0,), (1,)))
    assert (selection.chosen, selection.status, selection.votes) == (1, "refuted", 1)
    shown = guard_output(candidates, selection, max_answer_chars=500)
    assert shown.notes == ("review: answer overridden by a reviewer (refuted by SymPy)",)


def test_the_drafts_channel_collects_a_steps_branches_and_verify_empties_it():
    one, two = (Draft(candidate(str(n)), 0.0, 1.0) for n in (1, 2))
    assert collect_drafts(collect_drafts([], [one]), [two]) == [one, two]
    assert collect_drafts([one, two], None) == []
