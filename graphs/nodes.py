"""The graph's nodes and routers. Each node unpacks state, calls one dependency, returns an update.

Every node records its wall time under `timings` (`<node>_ms`).
"""

from __future__ import annotations

import functools
import re
import time
import unicodedata
from collections.abc import Callable
from typing import Any, Literal

from langgraph.runtime import Runtime

from verimath.graphs.context import AgentContext
from verimath.graphs.prompts import render_prompt
from verimath.graphs.state import AgentState
from verimath.models.base import SamplingParams
from verimath.models.reasoning import THINK_CLOSE, THINK_OPEN, generate_answer

__all__ = [
    "guard_input",
    "retrieve",
    "generate",
    "verify",
    "finalize",
    "route_after_guard",
    "route_after_verify",
    "screen_question",
]

Node = Callable[[AgentState, Runtime[AgentContext]], dict[str, Any]]
_CHAT_CONTROL = re.compile(r"<\|[a-z_]{2,20}\|>|</?think>", re.IGNORECASE)


def timed(name: str) -> Callable[[Node], Node]:
    def decorate(node: Node) -> Node:
        @functools.wraps(node)
        def wrapper(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
            start = time.perf_counter()
            update = node(state, runtime)
            elapsed = (time.perf_counter() - start) * 1000
            return {**update, "timings": {**update.get("timings", {}), f"{name}_ms": elapsed}}

        return wrapper

    return decorate


def screen_question(question: object, max_chars: int) -> tuple[str, list[str], str | None]:
    """(cleaned question, guardrail notes, refusal reason or None). Pure, so it is tested alone."""
    if not isinstance(question, str) or not question.strip():
        return "", [], "empty question: ask a math or science question"
    if len(question) > max_chars:
        return (
            "",
            [],
            (
                f"question is {len(question)} characters, over the limit of {max_chars} "
                "(Settings.max_question_chars)"
            ),
        )
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t\r" for ch in question):
        return "", [], "question contains control or binary characters; send plain text"
    notes = []
    cleaned = _CHAT_CONTROL.sub(" ", question)
    if cleaned != question:
        notes.append("input: removed chat-template control tokens from the question")
    return cleaned.strip(), notes, None


@timed("guard")
def guard_input(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    question, notes, refusal = screen_question(
        state.get("question"), runtime.context.settings.max_question_chars
    )
    update: dict[str, Any] = {"started_at": time.perf_counter(), "guardrails": notes}
    if refusal:
        return {**update, "refusal": refusal, "guardrails": [f"input: {refusal}"]}
    return {**update, "question": question, "attempts": 0, "passages": []}


def route_after_guard(
    state: AgentState, runtime: Runtime[AgentContext]
) -> Literal["retrieve", "generate", "finalize"]:
    if state.get("refusal"):
        return "finalize"
    return "retrieve" if runtime.context.retriever is not None else "generate"


@timed("retrieve")
def retrieve(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    settings = runtime.context.settings
    assert runtime.context.retriever is not None  # safe: routed here only with a retriever
    hits = runtime.context.retriever.search(
        state["question"], settings.top_k, mode=settings.search_mode
    )
    relevant = [hit for hit in hits if hit.score >= settings.min_relevance]
    return {"passages": relevant}


@timed("generate")
def generate(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    settings = runtime.context.settings
    previous, verdict = state.get("generation"), state.get("verdict")
    messages = render_prompt(
        state["question"],
        state.get("passages", []),
        settings.system_prompt,
        previous_answer=previous.answer if previous else None,
        feedback=verdict.evidence if verdict and verdict.status == "refuted" else None,
    )
    params = SamplingParams(
        settings.max_new_tokens,
        settings.temperature,
        settings.top_p,
        settings.seed,
        max_time_s=settings.generation_time_limit_s,
    )
    generation = generate_answer(
        runtime.context.backend, messages, params,
        forced_answer_tokens=settings.forced_answer_tokens,
    )  # fmt: skip
    return {
        "generation": generation,
        "attempts": state.get("attempts", 0) + 1,
        "prompt_tokens": generation.prompt_tokens,
        "completion_tokens": generation.completion_tokens,
    }


@timed("verify")
def verify(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    generation = state["generation"]
    answer = generation.answer if generation else None
    return {"verdict": runtime.context.verifier.check_answer(state["question"], answer)}


def route_after_verify(
    state: AgentState, runtime: Runtime[AgentContext]
) -> Literal["generate", "finalize"]:
    verdict = state.get("verdict")
    retry = verdict is not None and verdict.status == "refuted"
    if retry and state.get("attempts", 0) < runtime.context.settings.max_attempts:
        return "generate"
    return "finalize"


@timed("finalize")
def finalize(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Output guardrails: no trace in the answer, a length cap, and the status from the verdict."""
    settings = runtime.context.settings
    total = {
        "total_ms": (time.perf_counter() - state.get("started_at", time.perf_counter())) * 1000
    }
    if state.get("refusal"):
        return {"status": "refused", "answer": None, "timings": total}
    notes: list[str] = []
    generation, verdict = state.get("generation"), state.get("verdict")
    answer = generation.answer if generation else None
    if generation and generation.forced:
        notes.append("output: no final answer in the response; a short final answer was forced")
    if answer is not None and (THINK_OPEN in answer or THINK_CLOSE in answer):
        answer = answer.replace(THINK_OPEN, "").replace(THINK_CLOSE, "").strip() or None
        notes.append("output: removed reasoning tags from the answer")
    if answer is not None and len(answer) > settings.max_answer_chars:
        answer = answer[: settings.max_answer_chars] + "…"
        notes.append(f"output: answer cut to {settings.max_answer_chars} characters")
    if answer is None:
        notes.append("output: the model gave no final answer")
    status = verdict.status if verdict is not None and answer is not None else "unverified"
    return {"status": status, "answer": answer, "guardrails": notes, "timings": total}
