"""The graph's state: what each node reads and the partial updates it returns."""

from __future__ import annotations

import operator
from typing import Annotated, Literal, TypedDict

from verimath.models.reasoning import Generation
from verimath.retrieval.passage import Hit
from verimath.tools.verdict import Verdict

__all__ = ["AgentState", "Status", "add_timings"]

Status = Literal["verified", "refuted", "unverified", "refused", "error"]


def add_timings(left: dict[str, float], right: dict[str, float]) -> dict[str, float]:
    """Node times add up: a retried generation counts both attempts."""
    merged = dict(left or {})
    for key, value in (right or {}).items():
        merged[key] = merged.get(key, 0.0) + value
    return merged


class AgentState(TypedDict, total=False):
    question: str
    started_at: float
    guardrails: Annotated[list[str], operator.add]
    refusal: str | None
    passages: list[Hit]
    generation: Generation | None
    attempts: int
    verdict: Verdict | None
    timings: Annotated[dict[str, float], add_timings]
    prompt_tokens: Annotated[int, operator.add]
    completion_tokens: Annotated[int, operator.add]
    answer: str | None
    status: Status
