"""The graph's nodes and routers: each unpacks state, calls one pure function or dependency,
and returns an update; every decision is a pure function (here or in `selection`,
`guardrails`, `checking`) tested on its own.

    guard_input ─▶ retrieve ─▶ generate ×k (Send) ─▶ verify ─▶ (review ─▶ verify) ─▶ finalize
                                   ▲                     │
                                   └──── next_step ──────┘

Every node but `generate` records its wall time under `timings` (`<node>_ms`); the
`generate` branches run side by side, so `verify` records the span of the step's branches.
"""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Literal, Protocol

from langgraph.runtime import Runtime
from langgraph.types import Send, interrupt

from verimath.graphs.checking import check_candidates, choose, settle_with_sympy
from verimath.graphs.context import AgentContext, Settings
from verimath.graphs.contracts import Retriever, SamplingParams
from verimath.graphs.crosscheck import derive_by_program
from verimath.graphs.events import Retrieved, Token
from verimath.graphs.guardrails import OutputScreen, guard_output, screen_question
from verimath.graphs.prompts import cross_check_prompt, render_prompt
from verimath.graphs.reasoning import Channel, OnToken, generate_answer
from verimath.graphs.selection import Candidate, Plan, Selection, plan_next, sympy_answer
from verimath.graphs.state import AgentState, Draft, DraftTask, Turn
from verimath.retrieval.passage import Hit
from verimath.tools.languages import read_as_english

__all__ = [
    "guard_input",
    "retrieve",
    "generate",
    "verify",
    "review",
    "finalize",
    "route_after_guard",
    "route_after_retrieve",
    "route_after_verify",
    "next_step",
    "draft_tasks",
    "after_verify",
    "sampling",
]


class Node(Protocol):
    """A graph node. A Protocol, not a Callable, so that the parameter names (which LangGraph
    matches: `runtime`) are part of the type."""

    def __call__(self, state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]: ...


def timed(name: str) -> Callable[[Node], Node]:
    """Add the node's wall time to `timings[<name>_ms]` (a node that runs again adds up)."""

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


# ---- decisions (pure) ----------------------------------------------------------------------


def next_step(
    candidates: Sequence[Candidate], selection: Selection | None, settings: Settings
) -> Plan | None:
    """The next generation the settings allow (`selection.plan_next`), or None: settled."""
    return plan_next(
        candidates,
        selection,
        samples=max(1, settings.samples),
        adaptive=settings.adaptive,
        refuted_retries=settings.refuted_retries,
        cross_checks=settings.cross_checks,
        settled_by_sympy=settings.sympy_answer and sympy_answer(candidates) is not None,
    )


def draft_tasks(state: AgentState, step: Plan) -> list[DraftTask]:
    """One task per candidate the step calls for, solutions then cross-check programs: a retry
    carries the refuted answer and its evidence; a fresh sample or program after the first of
    its kind is marked `resample`."""
    candidates = state.get("candidates") or []
    target = candidates[step.retry_of] if step.retry_of is not None else None
    fresh_before = sum(1 for c in candidates if c.retry_of is None and c.source == "model")
    programs_before = sum(1 for c in candidates if c.source == "program")
    kinds = [("solution", fresh_before + n) for n in range(step.count)]
    kinds += [("program", programs_before + n) for n in range(step.programs)]
    return [
        DraftTask(
            question=state["question"],
            passages=list(state.get("passages") or []),
            examples=list(state.get("examples") or []),
            history=list(state.get("history") or []),
            index=len(candidates) + n,
            retry_of=step.retry_of,
            previous_answer=target.answer if target else None,
            feedback=target.verdict.evidence if target and target.verdict else None,
            resample=target is None and before > 0,
            kind=kind,  # type: ignore[typeddict-item]
        )
        for n, (kind, before) in enumerate(kinds)
    ]


def sampling(settings: Settings, index: int, *, resample: bool) -> SamplingParams:
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


def after_verify(
    state: AgentState, *, human_review: bool, conversation: bool
) -> Literal["generate", "review", "finalize"]:
    """More generation while a step is planned; a refuted answer in a conversation waits for
    a person once (human review), unless SymPy's own answer settled it; else finalize."""
    if state.get("next_step") is not None:
        return "generate"
    selection = state.get("selection")
    refuted = selection is not None and selection.status == "refuted"
    if human_review and conversation and refuted and not state.get("reviewed"):
        return "review"
    return "finalize"


def _usage(state: AgentState, drafts: Sequence[Draft]) -> dict[str, Any]:
    """Token counts and `generate_ms` with the step's drafts added."""
    timings = dict(state.get("timings") or {})
    if drafts:
        span = max(d.ended for d in drafts) - min(d.started for d in drafts)
        timings["generate_ms"] = timings.get("generate_ms", 0.0) + span * 1000
    return {
        "timings": timings,
        "prompt_tokens": state.get("prompt_tokens", 0)
        + sum(d.candidate.generation.prompt_tokens for d in drafts),
        "completion_tokens": state.get("completion_tokens", 0)
        + sum(d.candidate.generation.completion_tokens for d in drafts),
    }


# ---- nodes and routers ---------------------------------------------------------------------


@timed("guard")
def guard_input(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Start a turn: reset every per-turn field (a conversation's state carries over), screen
    the question, and plan the first generation."""
    settings = runtime.context.settings
    screen = screen_question(
        state.get("question"), max_chars=settings.max_question_chars, off_topic=settings.off_topic
    )
    turn: dict[str, Any] = {
        "started_at": time.perf_counter(),
        "guardrails": list(screen.notes),
        "refusal": screen.refusal,
        **dict.fromkeys(("passages", "examples", "candidates"), []),
        **dict.fromkeys(("selection", "answer", "answer_as_written", "drafts"), None),
        "next_step": next_step([], None, settings),
        "reviewed": False,
        **dict.fromkeys(("prompt_tokens", "completion_tokens"), 0),
        "timings": {},
    }
    return turn if screen.refusal else {**turn, "question": screen.question}


def route_after_guard(
    state: AgentState, runtime: Runtime[AgentContext]
) -> Literal["retrieve", "finalize"] | list[Send]:
    if state.get("refusal"):
        return "finalize"
    if retrieval_sources(runtime.context):
        return "retrieve"
    return route_after_retrieve(state)


def retrieval_sources(context: AgentContext) -> list[tuple[str, Retriever, int]]:
    """What this run searches, as (state key, retriever, how many): "passages" with a
    retriever, "examples" with an examples retriever and `Settings.examples` > 0."""
    settings, sources = context.settings, []
    if context.retriever is not None:
        sources.append(("passages", context.retriever, settings.top_k))
    if context.examples is not None and settings.examples > 0:
        sources.append(("examples", context.examples, settings.examples))
    return sources


@timed("retrieve")
def retrieve(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Passages, and solved problems as worked examples, at or above the relevance threshold.
    The embedding model reads English: a question in another language is searched with its
    cue words read as English."""
    context, settings = runtime.context, runtime.context.settings
    query = read_as_english(state["question"])
    found: dict[str, list[Hit]] = {"passages": [], "examples": []}
    for key, retriever, k in retrieval_sources(context):
        hits = retriever.search(query, k, mode=settings.search_mode)
        found[key] = [hit for hit in hits if hit.score >= settings.min_relevance]
    runtime.stream_writer(Retrieved(tuple(found["passages"]), tuple(found["examples"])))
    return found


def route_after_retrieve(state: AgentState) -> list[Send]:
    """Fan out: one `generate` branch per candidate of the planned step."""
    step = state.get("next_step") or Plan("sample")
    return [Send("generate", task) for task in draft_tasks(state, step)]


def generate(state: DraftTask, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """One candidate (one `Send` branch; the step's branches run side by side, so a batching
    backend decodes them together). `state` is the branch's `DraftTask` (LangGraph's node
    types name the first parameter `state`)."""
    context, started = runtime.context, time.perf_counter()
    settings = context.settings
    if state.get("kind") == "program":  # a task saved before cross-checks has no kind
        return {"drafts": [_cross_check(state, context, started)]}
    messages = render_prompt(
        state["question"], state["passages"], settings.system_prompt,
        examples=state.get("examples") or (),  # a task saved before examples has none
        programs=settings.programs, history=state["history"],
        previous_answer=state["previous_answer"], feedback=state["feedback"],
    )  # fmt: skip
    params = sampling(settings, state["index"], resample=state["resample"])
    generation = generate_answer(
        context.backend, messages, params,
        forced_answer_tokens=settings.forced_answer_tokens,
        on_token=_token_stream(runtime, state["index"]),
        run_program=context.verifier.run_program if settings.programs else None,
        max_programs=settings.programs,
    )  # fmt: skip
    candidate = Candidate(generation, retry_of=state["retry_of"], temperature=params.temperature)
    return {"drafts": [Draft(candidate, started, time.perf_counter())]}


def _cross_check(state: DraftTask, context: AgentContext, started: float) -> Draft:
    """A cross-check program's candidate (`graphs.crosscheck`); its answer is what it printed."""
    settings = context.settings
    params = sampling(settings, state["index"], resample=state["resample"])
    params = replace(params, max_new_tokens=settings.cross_check_tokens)
    messages = cross_check_prompt(state["question"], state["passages"])
    generation = derive_by_program(context.backend, messages, params, context.verifier.run_program)
    candidate = Candidate(generation, temperature=params.temperature, source="program")
    return Draft(candidate, started, time.perf_counter())


def _token_stream(runtime: Runtime[AgentContext], index: int) -> OnToken | None:
    """Token events for this candidate when the run streams tokens, else None (no cost).
    Backends call back from their own threads, so each event is written in a copy of the
    node's context, where LangGraph's stream writer finds its run."""
    if not runtime.context.stream_tokens:
        return None
    context, writer = contextvars.copy_context(), runtime.stream_writer

    def on_token(text: str, channel: Channel) -> None:
        context.copy().run(writer, Token(text, channel, index))

    return on_token


@timed("verify")
def verify(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Check the new candidates, choose among all, and decide the next step. With no step
    left, SymPy's own answer may settle a question no candidate got verified."""
    context, question = runtime.context, state["question"]
    verifier, settings = context.verifier, context.settings
    drafts = state.get("drafts") or []
    candidates = [*(state.get("candidates") or []), *(d.candidate for d in drafts)]
    passages = state.get("passages") or () if settings.grounding else ()
    shown = [(hit.passage.id, hit.passage.text, hit.passage.title) for hit in passages]
    candidates = check_candidates(verifier, question, candidates, runtime.stream_writer, shown)
    selection = choose(verifier, candidates, settings.selection)
    step, notes = next_step(candidates, selection, settings), list(state.get("guardrails") or [])
    if step is None and settings.sympy_answer:
        if settled := settle_with_sympy(verifier, question, candidates, selection):
            candidates, selection, note = settled
            notes.append(note)
    update = {"candidates": candidates, "selection": selection, "next_step": step}
    return {**update, "drafts": None, "guardrails": notes, **_usage(state, drafts)}


def route_after_verify(
    state: AgentState, runtime: Runtime[AgentContext]
) -> Literal["review", "finalize"] | list[Send]:
    context = runtime.context
    route = after_verify(
        state, human_review=context.settings.human_review, conversation=context.conversation
    )
    return route_after_retrieve(state) if route == "generate" else route


def review(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Stop for a person: the answer was refuted. Resume with `Command(resume=...)`:
    {"action": "approve"} keeps it (still refuted), {"action": "override", "answer": "..."}
    adds the reviewer's answer, which `verify` then checks like any other and chooses."""
    selection, candidates = state["selection"], list(state["candidates"])
    assert selection is not None and selection.chosen is not None  # safe: routed on refuted
    chosen = candidates[selection.chosen]
    evidence = chosen.verdict.evidence if chosen.verdict else ""
    decision = interrupt(
        {"question": state["question"], "answer": chosen.answer, "evidence": evidence}
    )
    if not isinstance(decision, dict) or decision.get("action") != "override":
        return {"reviewed": True, "guardrails": [*state["guardrails"], "review: approved"]}
    answer = str(decision.get("answer", "")).strip() or None
    reviewer = Candidate(replace(chosen.generation, answer=answer), source="reviewer")
    return {"reviewed": True, "candidates": [*candidates, reviewer]}


@timed("finalize")
def finalize(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """What the user is shown (`guard_output`), and the turn joins the conversation history."""
    question, settings = state.get("question"), runtime.context.settings
    shown = (
        OutputScreen(None, "refused", ())
        if state.get("refusal")
        else guard_output(
            state.get("candidates") or [],
            state.get("selection"),
            max_answer_chars=settings.max_answer_chars,
        )
    )
    turn = Turn(question if isinstance(question, str) else "", shown.answer, shown.status)
    return {
        "status": shown.status,
        "answer": shown.answer,
        "answer_as_written": shown.as_written,
        "guardrails": [*(state.get("guardrails") or []), *shown.notes],
        "timings": _with_total(state),
        "history": [*(state.get("history") or []), turn],
    }


def _with_total(state: AgentState) -> dict[str, float]:
    """The turn's timings with `total_ms`, its wall time so far: taken when the final node's
    work is done, so no node falls outside it."""
    started = state.get("started_at", time.perf_counter())
    return {**(state.get("timings") or {}), "total_ms": (time.perf_counter() - started) * 1000}
