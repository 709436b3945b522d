"""The graph's nodes and routers. Each node unpacks state, calls one dependency, returns an update.

Every node records its wall time under `timings` (`<node>_ms`).
"""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Literal

from langgraph.config import get_config
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from verimath.graphs.context import AgentContext, Settings
from verimath.graphs.events import Checked, Retrieved, Token
from verimath.graphs.guardrails import screen_question
from verimath.graphs.prompts import render_prompt
from verimath.graphs.selection import (
    Candidate,
    Plan,
    Selection,
    group_answers,
    plan_next,
    select,
    sympy_answer,
)
from verimath.graphs.state import AgentState, Turn
from verimath.models.base import SamplingParams
from verimath.models.reasoning import THINK_CLOSE, THINK_OPEN, Channel, OnToken, generate_answer
from verimath.tools.languages import read_as_english

__all__ = [
    "guard_input",
    "retrieve",
    "generate",
    "verify",
    "finalize",
    "review",
    "route_after_guard",
    "route_after_verify",
    "STREAM_TOKENS",
]

Node = Callable[[AgentState, Runtime[AgentContext]], dict[str, Any]]
# Set `config["configurable"][STREAM_TOKENS] = True` to stream generated text as `Token` events.
STREAM_TOKENS = "verimath_stream_tokens"


def timed(name: str) -> Callable[[Node], Node]:
    """Add the node's wall time to `timings[<name>_ms]` (a retried node adds up)."""

    def decorate(node: Node) -> Node:
        @functools.wraps(node)
        def wrapper(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
            start = time.perf_counter()
            update = node(state, runtime)
            elapsed = (time.perf_counter() - start) * 1000
            timings = dict(update.get("timings", state.get("timings") or {}))
            timings[f"{name}_ms"] = timings.get(f"{name}_ms", 0.0) + elapsed
            return {**update, "timings": timings}

        return wrapper

    return decorate


@timed("guard")
def guard_input(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Start a turn: reset every per-turn field (a conversation's state carries over), then
    screen the question."""
    settings = runtime.context.settings
    screen = screen_question(
        state.get("question"), max_chars=settings.max_question_chars, off_topic=settings.off_topic
    )
    turn: dict[str, Any] = {
        "started_at": time.perf_counter(),
        "guardrails": list(screen.notes),
        "refusal": screen.refusal,
        "passages": [],
        "candidates": [],
        "selection": None,
        "timings": {},
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "answer": None,
    }
    return turn if screen.refusal else {**turn, "question": screen.question}


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
    # The embedding model reads English: a question in another language is searched with its
    # cue words read as English and its formulas as they are.
    query = read_as_english(state["question"])
    hits = runtime.context.retriever.search(query, settings.top_k, mode=settings.search_mode)
    relevant = [hit for hit in hits if hit.score >= settings.min_relevance]
    runtime.stream_writer(Retrieved(tuple(relevant)))
    return {"passages": relevant}


@timed("generate")
def generate(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Generate the next candidates the plan calls for (several at once share a batch)."""
    settings = runtime.context.settings
    candidates = list(state.get("candidates") or [])
    plan = _plan(state, settings) or Plan("sample")
    first = len(candidates)
    jobs = [  # stream writers are looked up here, in the node's own thread
        functools.partial(
            _one_candidate,
            state,
            runtime,
            candidates,
            plan,
            first + n,
            _token_stream(runtime, first + n),
        )  # fmt: skip
        for n in range(plan.count)
    ]
    if len(jobs) == 1:
        new = [jobs[0]()]
    else:
        with ThreadPoolExecutor(len(jobs), thread_name_prefix="verimath-sample") as pool:
            new = list(pool.map(lambda job: job(), jobs))
    return {
        "candidates": candidates + new,
        "prompt_tokens": state.get("prompt_tokens", 0)
        + sum(c.generation.prompt_tokens for c in new),
        "completion_tokens": state.get("completion_tokens", 0)
        + sum(c.generation.completion_tokens for c in new),
    }


def _one_candidate(
    state: AgentState,
    runtime: Runtime[AgentContext],
    candidates: list[Candidate],
    plan: Plan,
    index: int,
    on_token: OnToken | None,
) -> Candidate:
    settings = runtime.context.settings
    target = candidates[plan.retry_of] if plan.retry_of is not None else None
    messages = render_prompt(
        state["question"],
        state.get("passages", []),
        settings.system_prompt,
        programs=settings.programs,
        history=state.get("history") or (),
        previous_answer=target.answer if target else None,
        feedback=target.verdict.evidence if target and target.verdict else None,
    )
    fresh_before = sum(1 for c in candidates if c.retry_of is None)
    fresh_position = fresh_before + index - len(candidates)
    params = _sampling(settings, index, resample=target is None and fresh_position > 0)
    generation = generate_answer(
        runtime.context.backend, messages, params,
        forced_answer_tokens=settings.forced_answer_tokens,
        on_token=on_token,
        run_program=runtime.context.verifier.run_program if settings.programs else None,
        max_programs=settings.programs,
    )  # fmt: skip
    return Candidate(generation, retry_of=plan.retry_of, temperature=params.temperature)


def _sampling(settings: Settings, index: int, *, resample: bool) -> SamplingParams:
    """The first sample and retries decode with the configured temperature; further samples
    need randomness, so a greedy configuration samples them at `sample_temperature`."""
    temperature, top_p = settings.temperature, settings.top_p
    if resample and temperature == 0:
        temperature, top_p = settings.sample_temperature, settings.sample_top_p
    return SamplingParams(
        settings.max_new_tokens,
        temperature,
        top_p,
        None if settings.seed is None else settings.seed + index,
        max_time_s=settings.generation_time_limit_s,
    )


def _token_stream(runtime: Runtime[AgentContext], index: int) -> OnToken | None:
    """Token events for this candidate when the caller streams tokens, else None (no cost).
    Backends call back from their own threads, so each event is written in a copy of the
    node's context, where LangGraph's stream writer finds its run."""
    if not get_config().get("configurable", {}).get(STREAM_TOKENS):
        return None
    context, writer = contextvars.copy_context(), runtime.stream_writer

    def on_token(text: str, channel: Channel) -> None:
        context.copy().run(writer, Token(text, channel, index))

    return on_token


@timed("verify")
def verify(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Check each new candidate, then group all candidates by meaning and choose one."""
    verifier, settings = runtime.context.verifier, runtime.context.settings
    candidates = list(state.get("candidates") or [])
    for index, candidate in enumerate(candidates):
        if candidate.verdict is None:
            verdict = verifier.check_answer(state["question"], candidate.answer)
            candidates[index] = replace(candidate, verdict=verdict)
            runtime.stream_writer(Checked(index, candidate.answer, verdict))
    groups = group_answers(
        [c.answer for c in candidates],
        lambda a, b: verifier.equivalent(a, b).equivalent is True,
    )
    return {"candidates": candidates, "selection": select(candidates, groups, settings.selection)}


def _plan(state: AgentState, settings: Settings) -> Plan | None:
    candidates = state.get("candidates") or []
    return plan_next(
        candidates,
        state.get("selection"),
        samples=max(1, settings.samples),
        adaptive=settings.adaptive,
        refuted_retries=settings.refuted_retries,
        settled_by_sympy=settings.sympy_answer and sympy_answer(candidates) is not None,
    )


def route_after_verify(
    state: AgentState, runtime: Runtime[AgentContext]
) -> Literal["generate", "review", "finalize"]:
    if _plan(state, runtime.context.settings) is not None:
        return "generate"
    selection = state.get("selection")
    in_conversation = "thread_id" in get_config().get("configurable", {})
    if runtime.context.settings.human_review and in_conversation:
        refuted = selection is not None and selection.status == "refuted"
        settings = runtime.context.settings
        if refuted and not (settings.sympy_answer and sympy_answer(state["candidates"])):
            return "review"
    return "finalize"


def review(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Stop for a person: the answer was refuted. Resume with `Command(resume=...)`:
    {"action": "approve"} keeps it (still refuted), {"action": "override", "answer": "..."}
    replaces it with the reviewer's answer, which is then checked like any other."""
    selection, candidates = state["selection"], list(state["candidates"])
    assert selection is not None and selection.chosen is not None  # safe: routed on refuted
    chosen = candidates[selection.chosen]
    decision = interrupt(
        {
            "question": state["question"],
            "answer": chosen.answer,
            "evidence": chosen.verdict.evidence if chosen.verdict else "",
        }
    )
    action = decision.get("action") if isinstance(decision, dict) else decision
    if action != "override":
        return {"guardrails": [*state["guardrails"], "review: approved"]}
    answer = str(decision.get("answer", "")).strip() or None
    verdict = runtime.context.verifier.check_answer(state["question"], answer)
    candidates.append(
        Candidate(replace(chosen.generation, answer=answer), verdict, source="reviewer")
    )
    index = len(candidates) - 1
    status = candidates[index].status
    chosen_by_reviewer = Selection(index, status, 1, selection.confidence, selection.groups)
    note = f"review: answer overridden by a reviewer ({status} by SymPy)"
    return {
        "candidates": candidates,
        "selection": chosen_by_reviewer,
        "guardrails": [*state["guardrails"], note],
    }


@timed("finalize")
def finalize(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Output guardrails: no trace in the answer, a length cap, and the status from the
    chosen candidate's verdict. The turn joins the conversation history."""
    settings = runtime.context.settings
    history = list(state.get("history") or [])
    if state.get("refusal"):
        raw = state.get("question")
        turn = Turn(raw if isinstance(raw, str) else "", None, "refused")
        return {
            "status": "refused",
            "answer": None,
            "timings": _with_total(state),
            "history": [*history, turn],
        }
    notes: list[str] = list(state.get("guardrails") or [])
    candidates, selection = list(state.get("candidates") or []), state.get("selection")
    settled = (
        _agree_with_sympy(state["question"], candidates, selection, runtime)
        if settings.sympy_answer
        else None
    )
    if settled is not None:
        candidates, selection, note = settled
        notes.append(note)
    chosen = candidates[selection.chosen] if selection and selection.chosen is not None else None
    answer = chosen.answer if chosen else None
    shown = chosen or (candidates[0] if candidates else None)  # what Answer.reasoning shows
    if shown and shown.generation.forced:
        notes.append("output: no final answer in the response; a short final answer was forced")
    if answer is not None and (THINK_OPEN in answer or THINK_CLOSE in answer):
        answer = answer.replace(THINK_OPEN, "").replace(THINK_CLOSE, "").strip() or None
        notes.append("output: removed reasoning tags from the answer")
    if answer is not None and len(answer) > settings.max_answer_chars:
        answer = answer[: settings.max_answer_chars] + "…"
        notes.append(f"output: answer cut to {settings.max_answer_chars} characters")
    if answer is None:
        notes.append("output: the model gave no final answer")
    status = selection.status if selection is not None and answer is not None else "unverified"
    turn = Turn(state["question"], answer, status)
    return {
        "status": status,
        "answer": answer,
        "candidates": candidates,
        "selection": selection,
        "guardrails": notes,
        "timings": _with_total(state),
        "history": [*history, turn],
    }


def _with_total(state: AgentState) -> dict[str, float]:
    """The turn's timings with `total_ms`, its wall time so far: taken when the final node's
    work is done (SymPy may have computed an answer there), so no node falls outside it."""
    started = state.get("started_at", time.perf_counter())
    return {**(state.get("timings") or {}), "total_ms": (time.perf_counter() - started) * 1000}


def _agree_with_sympy(
    question: str,
    candidates: list[Candidate],
    selection: Selection | None,
    runtime: Runtime[AgentContext],
) -> tuple[list[Candidate], Selection, str] | None:
    """When SymPy computed the answer itself and no candidate was verified, the final answer
    is SymPy's (checked once more like any answer), never a refuted or unchecked one."""
    if selection is not None and selection.status == "verified":
        return None
    verifier = runtime.context.verifier
    computed = sympy_answer(candidates)
    if computed is None and not any(c.verdict and c.answer for c in candidates):
        computed = verifier.computed_answer(question)  # no candidate answer was checked
    if computed is None:
        return None
    verdict = verifier.check_answer(question, computed)
    if verdict.status != "verified":
        return None
    shown = candidates[selection.chosen if selection and selection.chosen is not None else 0]
    generation = replace(shown.generation, answer=computed, forced=False)
    candidates = [*candidates, Candidate(generation, verdict, source="sympy")]
    groups = selection.groups if selection else ()
    chosen = Selection(len(candidates) - 1, "verified", 0, 0.0, (*groups, (len(candidates) - 1,)))
    given = f"'{shown.answer}' was {shown.status}" if shown.answer else "no answer was stated"
    note = f"output: {given}; the answer shown is the one SymPy computed from the question"
    return candidates, chosen, note
