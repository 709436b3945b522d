"""The graph's state: what each node reads and the partial updates it returns.

A conversation keeps one state per thread (with a checkpointer), so `guard_input` starts each
turn by resetting every per-turn field; only `history` carries over from turn to turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal, TypedDict

from verimath.graphs.selection import Candidate, Plan, Selection
from verimath.retrieval.passage import Hit

__all__ = ["AgentState", "Status", "Turn", "Draft", "DraftTask", "collect_drafts"]

# `cross-checked`: a solution and an independent program agree (`graphs.crosscheck`), which is
# evidence, not a proof; `verified` is a SymPy check of the answer against the question.
Status = Literal["verified", "cross-checked", "refuted", "unverified", "refused", "error"]


@dataclass(frozen=True, slots=True)
class Turn:
    """One finished question of a conversation, as later turns see it."""

    question: str
    answer: str | None
    status: Status


@dataclass(frozen=True, slots=True)
class Draft:
    """A candidate one `generate` branch wrote, not yet checked, with the branch's wall-clock
    span (`time.perf_counter()`): branches run side by side, so their time is the span of all."""

    candidate: Candidate
    started: float
    ended: float


def collect_drafts(current: list[Draft] | None, new: Sequence[Draft] | None) -> list[Draft]:
    """The `drafts` channel: the branches of one step add theirs; `verify` empties it (None)."""
    return [] if new is None else [*(current or []), *new]


class DraftTask(TypedDict):
    """What one `generate` branch is sent (`Send`): the prompt's parts and the sample's place.
    `index` is the candidate's position (its seed offset and its stream); `resample` says it
    is a further fresh sample, so a greedy configuration samples it instead. `kind` is
    "solution" (the model solves the question) or "program" (a cross-check program)."""

    question: str
    passages: list[Hit]
    examples: list[Hit]
    history: list[Turn]
    index: int
    retry_of: int | None
    previous_answer: str | None
    feedback: str | None
    resample: bool
    kind: Literal["solution", "program"]


class AgentState(TypedDict, total=False):
    question: str
    started_at: float
    guardrails: list[str]
    refusal: str | None
    passages: list[Hit]
    # Solved problems like the question, shown as worked examples (never grounded against).
    examples: list[Hit]
    candidates: list[Candidate]
    drafts: Annotated[list[Draft], collect_drafts]
    selection: Selection | None
    # What comes after `verify`: more generation (a Plan), or None when the answer is settled.
    next_step: Plan | None
    # A person has reviewed this turn's refuted answer (`review`); it is not asked twice.
    reviewed: bool
    timings: dict[str, float]
    prompt_tokens: int
    completion_tokens: int
    answer: str | None
    # The model's own form when `answer` is its value (an answer left unevaluated), else None.
    answer_as_written: str | None
    status: Status
    history: list[Turn]
