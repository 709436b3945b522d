"""Verified self-consistency: grouping by meaning, choosing by verification then votes, the
adaptive sampling plan, and the whole loop through the real graph and SymPy verifier with a
scripted chat backend (named as such) and with the real demo model."""

from __future__ import annotations

import pytest

from verimath import Agent, Settings
from verimath.graphs.reasoning import Generation
from verimath.graphs.selection import Candidate, Plan, group_answers, plan_next, select
from verimath.models import ScriptedBackend
from verimath.tools.verdict import Verdict

QUESTION = "What is 17 times 23?"


def candidate(answer: str | None, status: str | None = None, retry_of: int | None = None):
    generation = Generation("", "", answer, "stop", False, 0, 0)
    return Candidate(generation, Verdict(status) if status else None, retry_of)


def test_answers_are_grouped_by_meaning_not_by_string(verifier):
    answers = ["\\frac{1}{2}", "0.5", None, "1/3", "\\dfrac12", "0.333"]
    groups = group_answers(answers, lambda a, b: verifier.equivalent(a, b).equivalent is True)
    assert groups == ((0, 1, 4), (3,), (5,))  # 0.333 is not 1/3; no answer joins no group


def test_verification_outranks_votes_and_majority_ignores_it():
    cands = [candidate("381", "refuted"), candidate("391", "verified"), candidate("381", "refuted")]
    groups = ((0, 2), (1,))
    verified = select(cands, groups, "verified")
    assert (verified.chosen, verified.status, verified.votes) == (1, "verified", 1)
    assert verified.confidence == pytest.approx(1 / 3, abs=1e-3)
    majority = select(cands, groups, "majority")
    assert (majority.chosen, majority.status, majority.votes) == (0, "refuted", 2)


def test_unverified_beats_refuted_and_ties_go_to_the_first_sample():
    cands = [candidate("7", "unverified"), candidate("8", "refuted"), candidate("9", "unverified")]
    choice = select(cands, ((0,), (1,), (2,)), "verified")
    assert (choice.chosen, choice.status) == (0, "unverified")
    assert select([candidate(None)], (), "verified").chosen is None


@pytest.mark.parametrize(
    ("statuses", "adaptive", "expected"),
    [
        ([], True, Plan("sample", 1)),
        ([], False, Plan("sample", 4)),
        (["verified"], True, None),
        (["unverified"], True, Plan("sample", 1)),
        (["refuted"], True, Plan("retry", retry_of=0)),
        (["unverified"] * 4, True, None),
        (["refuted"] * 4, False, Plan("retry", retry_of=3)),
    ],
)
def test_the_sampling_plan(statuses, adaptive, expected):
    cands = [candidate(str(i), s) for i, s in enumerate(statuses)]
    groups = tuple((i,) for i in range(len(cands)))
    selection = select(cands, groups) if cands else None
    plan = plan_next(cands, selection, samples=4, adaptive=adaptive, refuted_retries=1)
    assert plan == expected


def test_each_refuted_answer_is_retried_at_most_the_configured_times():
    cands = [candidate("1", "refuted"), candidate("2", "refuted", retry_of=0)]
    selection = select(cands, ((0,), (1,)))
    plan = plan_next(cands, selection, samples=1, adaptive=True, refuted_retries=1)
    assert plan is None  # one retry spent, one fresh sample spent


@pytest.fixture
def scripted_agent(verifier):
    made = []

    def make(replies, **settings) -> tuple[Agent, ScriptedBackend]:
        backend = ScriptedBackend(replies)
        settings = {"cross_checks": 0, **settings}  # these tests vote among solutions
        agent = Agent(backend, index=False, verifier=verifier, settings=Settings(**settings))
        made.append(agent)
        return agent, backend

    yield make
    for agent in made:
        agent.close()


DERIVATIVE = "Find the derivative of x^3."  # SymPy refutes wrong answers but states none itself


def test_adaptive_sampling_stops_at_the_first_verified_answer(scripted_agent):
    replies = ["\\boxed{3x^3}", "\\boxed{x^2}", "\\boxed{3x^2}", "\\boxed{1}"]
    agent, backend = scripted_agent(replies)
    answer = agent.ask(DERIVATIVE)
    assert (answer.status, answer.answer) == ("verified", "3x^2")
    # 3x^3 refuted → a retry with its evidence (x^2, refuted) → a fresh sample (3x^2): settled.
    assert [c.answer for c in answer.candidates] == ["3x^3", "x^2", "3x^2"]
    assert [c.retry_of for c in answer.candidates] == [None, 0, None]
    assert "3*x**2" in backend.calls[1].messages[-1].content  # the evidence went into the retry
    assert len(backend.calls) == 3


def test_when_sympy_computed_the_answer_the_final_answer_agrees(scripted_agent):
    agent, backend = scripted_agent(["\\boxed{80}"])
    answer = agent.ask("What is 12 times 7?")
    assert (answer.status, answer.answer, answer.attempts) == ("verified", "84", 1)
    assert [(c.answer, c.status, c.source) for c in answer.candidates] == [
        ("80", "refuted", "model"), ("84", "verified", "sympy"),
    ]  # fmt: skip
    assert answer.confidence == 0.0  # no model candidate agreed
    assert any("SymPy computed" in note for note in answer.guardrails)
    assert len(backend.calls) == 1  # no more samples: they could not change the answer


def test_later_samples_are_drawn_at_the_sampling_temperature(scripted_agent):
    agent, backend = scripted_agent(["\\boxed{x}"], samples=3, refuted_retries=0)
    answer = agent.ask("Explain why the sky is blue.")
    assert answer.status == "unverified" and answer.attempts == 3
    assert [call.params.temperature for call in backend.calls] == [0.0, 0.8, 0.8]
    assert answer.confidence == 1.0 and {c.group for c in answer.candidates} == {0}


def test_fixed_sampling_votes_and_keeps_every_candidate_with_its_verdict(scripted_agent):
    replies = ["\\boxed{3x^3}", "\\boxed{3x^2}", "\\boxed{3x^{3}}", "\\boxed{3 x^3}"]
    agent, _ = scripted_agent(replies, adaptive=False, refuted_retries=0)
    answer = agent.ask(DERIVATIVE)
    assert (answer.status, answer.answer, answer.attempts) == ("verified", "3x^2", 4)
    assert answer.confidence == 0.25  # one of four agreed: verified, but contested
    assert sorted(c.status for c in answer.candidates) == ["refuted"] * 3 + ["verified"]
    assert all(c.checks for c in answer.candidates)
    majority, _ = scripted_agent(replies, adaptive=False, refuted_retries=0, selection="majority")
    voted = majority.ask(DERIVATIVE)
    assert (voted.status, voted.answer, voted.confidence) == ("refuted", "3x^3", 0.75)


def test_without_any_model_answer_sympy_still_answers_what_it_can(scripted_agent):
    agent, _ = scripted_agent(["<think>12 sevens are<truncated>", "..."], samples=1)
    answer = agent.ask("What is 12 times 7?")
    assert (answer.status, answer.answer, answer.attempts) == ("verified", "84", 1)
    assert answer.candidates[0].answer is None
    assert any("no answer was stated" in note for note in answer.guardrails)


def test_no_answer_from_any_candidate_is_unverified_not_the_trace(scripted_agent):
    agent, _ = scripted_agent(["<think>let me think<truncated>", "..."], samples=2)
    answer = agent.ask(DERIVATIVE)
    assert (answer.status, answer.answer, answer.confidence) == ("unverified", None, None)
    assert answer.reasoning.startswith("let me think") and answer.attempts == 2


@pytest.mark.slow
def test_demo_model_samples_diverse_candidates_in_one_batch(demo_backend, verifier):
    settings = Settings(
        max_new_tokens=48, forced_answer_tokens=12, samples=3, adaptive=False,
        refuted_retries=0, sympy_answer=False, cross_checks=0,
    )  # fmt: skip
    with Agent(demo_backend, index=False, verifier=verifier, settings=settings) as agent:
        stats = demo_backend._batcher.stats
        requests_before, batches_before = stats.requests, stats.batches
        answer = agent.ask("What is 12 times 7?")
    assert answer.attempts == 3 and len(answer.candidates) == 3
    assert [c.temperature for c in answer.candidates] == [0.0, 0.8, 0.8]
    # candidates generated at once share batched generate calls
    assert stats.requests - requests_before > stats.batches - batches_before
    if answer.status == "verified":  # never a wrong answer labelled verified
        assert verifier.equivalent("84", answer.answer).equivalent is True
