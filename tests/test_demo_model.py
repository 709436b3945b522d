"""The real offline demo model (SmolLM2-135M GGUF through transformers) through the whole graph."""

from __future__ import annotations

import pytest

from verimath import Agent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_agent(demo_backend, verifier, shipped_index, small_budget):
    with Agent(
        demo_backend, index=shipped_index, verifier=verifier, settings=small_budget
    ) as agent:
        yield agent


def test_demo_answers_the_quickstart_question_with_citations(demo_agent):
    answer = demo_agent.ask("Solve 3x^2+4x+5=1")
    assert answer.status in {"verified", "refuted", "unverified"}
    assert any("quadratic" in c.id for c in answer.citations)
    assert answer.usage.completion_tokens > 0 and answer.timings["generate_ms"] > 0
    if answer.status == "verified":  # only if the roots really are (-2 ± 2i√2)/3
        assert demo_agent.context.verifier.equivalent(
            r"\frac{-2 + 2i\sqrt{2}}{3}, \frac{-2 - 2i\sqrt{2}}{3}", answer.answer
        ).equivalent
    if answer.status == "refuted":
        assert answer.evidence


def test_demo_status_agrees_with_arithmetic(demo_agent):
    answer = demo_agent.ask("What is 17 times 23?")
    assert answer.answer is None or "<think>" not in answer.answer
    if answer.status == "verified":
        assert answer.answer.strip().rstrip(".") == str(17 * 23)
    elif answer.answer is not None and answer.answer.strip() == "391":
        pytest.fail("a correct answer was not verified")
    assert answer.status in {"verified", "refuted", "unverified"}


def test_demo_batch_shares_one_model(demo_agent):
    answers = demo_agent.batch(["What is 2 plus 2?", "What is 6 times 7?"], max_concurrency=2)
    assert [a.question for a in answers] == ["What is 2 plus 2?", "What is 6 times 7?"]
    assert all(a.status in {"verified", "refuted", "unverified"} for a in answers)
    assert all(a.model == demo_agent.backend.name for a in answers)


def test_the_model_cards_japanese_question_goes_through_end_to_end(demo_agent):
    """Phi-4-mini-reasoning's model card asks `3x^2+4x+5=1の解き方は?` ("how do I solve ...?").
    It is math: not refused or flagged, retrieved on by its formula, and checked by SymPy."""
    answer = demo_agent.ask("3x^2+4x+5=1の解き方は?")
    assert answer.status != "refused" and not any("math or science" in g for g in answer.guardrails)
    assert any("quadratic" in c.id or "completing" in c.id for c in answer.citations)
    assert answer.status == "verified"  # the model's answer, or SymPy's own when it computed one
    roots = r"\frac{-2 + 2i\sqrt{2}}{3}, \frac{-2 - 2i\sqrt{2}}{3}"
    assert demo_agent.context.verifier.equivalent(roots, answer.answer).equivalent is True
