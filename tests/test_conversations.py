"""Conversations on LangGraph's SQLite checkpointer (they survive a restart) and human review
with `interrupt`/`Command`, through the real graph and SymPy verifier with a scripted chat
backend (named as such)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from verimath import Agent, ConfigError, Settings
from verimath.models import ScriptedBackend

QUESTION = "What is 17 times 23?"
ONE_SAMPLE = Settings(max_new_tokens=64, samples=1, refuted_retries=0)


def agent_with(replies, verifier, checkpoint, settings=ONE_SAMPLE) -> Agent:
    return Agent(
        ScriptedBackend(replies), index=False, verifier=verifier, settings=settings,
        checkpoint=checkpoint,
    )  # fmt: skip


def test_a_conversation_survives_a_restart(verifier, tmp_path):
    path = tmp_path / "conversations.sqlite"
    first = agent_with(["\\boxed{391}"], verifier, path)
    assert first.ask(QUESTION, thread_id="alice").status == "verified"
    del first  # the process that held the conversation is gone

    later = agent_with(["\\boxed{782}"], verifier, path)
    answer = later.ask("Now double it.", thread_id="alice")
    prompt = [m.content for m in later.backend.calls[0].messages]
    assert "Question: What is 17 times 23?" in prompt and "\\boxed{391}" in prompt
    assert prompt[-1].endswith("Question: Now double it.")
    assert [t.answer for t in later.history("alice")] == ["391", "782"]
    assert answer.attempts == 1 and len(answer.candidates) == 1  # the turn starts afresh

    later.ask("What is 2 plus 3?", thread_id="bob")
    assert len(later.backend.calls[-1].messages) == 2  # bob's thread has no history
    rows = sqlite3.connect(path).execute("select count(distinct thread_id) from checkpoints")
    assert rows.fetchone()[0] == 2


# Saved by verimath 0.1 (before the reasoning split moved from `verimath.models` to
# `verimath.graphs`): one verified turn, "What is 17 times 23?" answered 391, on thread
# "saved-before-layers".
SAVED_BY_0_1 = Path(__file__).parent / "data" / "conversation_saved_by_0.1.sqlite3"


def test_a_conversation_saved_before_the_layers_moved_still_loads(verifier, tmp_path):
    path = tmp_path / "old.sqlite3"
    shutil.copy(SAVED_BY_0_1, path)
    agent = agent_with(["\\boxed{782}"], verifier, path)
    saved = agent.conversations.get_state({"configurable": {"thread_id": "saved-before-layers"}})
    (candidate,) = saved.values["candidates"]  # its Generation was stored under its old module
    assert (candidate.answer, candidate.generation.reasoning) == ("391", "17*23 = 391")
    agent.ask("Now double it.", thread_id="saved-before-layers")
    assert "\\boxed{391}" in [m.content for m in agent.backend.calls[0].messages]
    assert [t.answer for t in agent.history("saved-before-layers")] == ["391", "782"]


def test_a_question_without_thread_leaves_no_history(verifier, tmp_path):
    agent = agent_with(["\\boxed{391}"], verifier, tmp_path / "c.sqlite")
    agent.ask(QUESTION)
    agent.ask(QUESTION)
    assert len(agent.backend.calls[-1].messages) == 2


def test_refused_turns_are_remembered_but_not_shown_to_the_model(verifier):
    agent = agent_with(["\\boxed{391}"], verifier, None)
    assert agent.ask("   ", thread_id="t").status == "refused"
    assert agent.ask(QUESTION, thread_id="t").status == "verified"
    assert [t.status for t in agent.history("t")] == ["refused", "verified"]
    assert len(agent.backend.calls[0].messages) == 2


def test_a_broken_checkpoint_file_is_a_clear_error(verifier, tmp_path):
    bad = tmp_path / "not-sqlite.db"
    bad.write_text("this is not a database" * 100)
    agent = agent_with(["\\boxed{391}"], verifier, bad)
    with pytest.raises(ConfigError, match="not a usable SQLite file"):
        agent.ask(QUESTION, thread_id="t")
    with pytest.raises(ConfigError, match="does not exist"):
        agent_with(["x"], verifier, tmp_path / "missing" / "c.db").ask(QUESTION, thread_id="t")


REVIEW = Settings(max_new_tokens=64, samples=1, refuted_retries=0, human_review=True)
DERIVATIVE = "Find the derivative of x^3."  # SymPy refutes wrong answers but states none itself


def test_a_refuted_answer_waits_for_review_and_an_override_is_checked(verifier, tmp_path):
    path = tmp_path / "review.sqlite"
    agent = agent_with(["\\boxed{3x^3}"], verifier, path, REVIEW)
    pending = agent.ask(DERIVATIVE, thread_id="r")
    assert (pending.status, pending.answer, pending.review_pending) == ("refuted", "3x^3", True)
    assert "3*x**2" in pending.evidence

    restarted = agent_with(["\\boxed{3x^3}"], verifier, path, REVIEW)  # outlives a restart
    wrong = restarted.review("r", answer="x^2")
    assert (wrong.status, wrong.answer, wrong.review_pending) == ("refuted", "x^2", False)
    assert "review: answer overridden by a reviewer (refuted by SymPy)" in wrong.guardrails

    assert restarted.backend.calls == []  # resuming a review runs no model
    again = restarted.ask(DERIVATIVE, thread_id="r")
    assert again.review_pending and len(restarted.backend.calls) == 1
    fixed = restarted.review("r", answer="3x^2")
    assert (fixed.status, fixed.answer) == ("verified", "3x^2")
    assert len(restarted.backend.calls) == 1


def test_approving_keeps_the_refutation(verifier):
    agent = agent_with(["\\boxed{3x^3}"], verifier, None, REVIEW)
    assert agent.ask(DERIVATIVE, thread_id="r").review_pending
    approved = agent.review("r")
    assert (approved.status, approved.answer) == ("refuted", "3x^3")
    assert "review: approved" in approved.guardrails
    with pytest.raises(ConfigError, match="not waiting for a review"):
        agent.review("r")


def test_review_needs_a_conversation_and_a_refutation(verifier):
    agent = agent_with(["\\boxed{3x^3}"], verifier, None, REVIEW)
    answer = agent.ask(DERIVATIVE)  # no thread: nothing could resume it, so no interrupt
    assert (answer.status, answer.review_pending) == ("refuted", False)
    verified = agent_with(["\\boxed{3x^2}"], verifier, None, REVIEW).ask(DERIVATIVE, thread_id="v")
    assert (verified.status, verified.review_pending) == ("verified", False)
