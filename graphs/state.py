"""The graph's state: what each node reads and the partial updates it returns.

A conversation keeps one state per thread (with a checkpointer), so `guard_input` starts each
turn by resetting every per-turn field; only `history` carries over from turn to turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

from verimath.graphs.selection import Candidate, Selection
from verimath.retrieval.passage import Hit

__all__ = ["AgentState", "Status", "Turn"]

Status = Literal["verified", "refuted", "unverified", "refused", "error"]


@dataclass(frozen=True, slots=True)
class Turn:
    """One finished question of a conversation, as later turns see it."""

    question: str
    answer: str | None
    status: Status


class AgentState(TypedDict, total=False):
    question: str
    started_at: float
    guardrails: list[str]
    refusal: str | None
    passages: list[Hit]
    candidates: list[Candidate]
    selection: Selection | None
    timings: dict[str, float]
    prompt_tokens: int
    completion_tokens: int
    answer: str | None
    status: Status
    history: list[Turn]
