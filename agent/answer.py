"""The `Answer` every question gets: status, answer, evidence, citations, trace and costs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verimath.graphs.state import AgentState, Status
from verimath.retrieval.passage import Hit
from verimath.tools.verdict import Check, failed_evidence

__all__ = ["Answer", "Citation", "Usage"]

_TIMING_KEYS = ("guard_ms", "retrieve_ms", "generate_ms", "verify_ms", "finalize_ms", "total_ms")


@dataclass(frozen=True, slots=True)
class Citation:
    id: str
    source: str
    title: str
    text: str
    score: float

    @classmethod
    def from_hit(cls, hit: Hit) -> Citation:
        p = hit.passage
        return cls(p.id, p.source, p.title, p.text, round(hit.score, 4))


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Answer:
    """`verified` only when a SymPy check passed; `refuted` carries the failed checks."""

    question: str
    answer: str | None
    status: Status
    reasoning: str = ""
    citations: tuple[Citation, ...] = ()
    checks: tuple[Check, ...] = ()
    guardrails: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    model: str = ""
    usage: Usage = field(default_factory=Usage)
    attempts: int = 0
    truncated: bool = False
    error: str | None = None

    @classmethod
    def from_state(cls, state: AgentState, *, question: str, model: str) -> Answer:
        generation, verdict = state.get("generation"), state.get("verdict")
        timings = {key: 0.0 for key in _TIMING_KEYS}
        timings.update({k: round(v, 2) for k, v in (state.get("timings") or {}).items()})
        return cls(
            question=question,
            answer=state.get("answer"),
            status=state.get("status", "error"),
            reasoning=generation.reasoning if generation else "",
            citations=tuple(Citation.from_hit(h) for h in state.get("passages") or ()),
            checks=verdict.checks if verdict else (),
            guardrails=tuple(state.get("guardrails") or ()),
            timings=timings,
            model=model,
            usage=Usage(state.get("prompt_tokens", 0), state.get("completion_tokens", 0)),
            attempts=state.get("attempts", 0),
            truncated=bool(generation and generation.truncated),
        )

    @classmethod
    def failed(cls, question: str, error: BaseException, *, model: str) -> Answer:
        """A question whose run broke: recorded as a row, never an aborted batch."""
        return cls(question, None, "error", model=model, error=f"{type(error).__name__}: {error}")

    @property
    def evidence(self) -> str:
        return failed_evidence(self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "status": self.status,
            "reasoning": self.reasoning,
            "citations": [
                {"id": c.id, "source": c.source, "title": c.title, "text": c.text, "score": c.score}
                for c in self.citations
            ],
            "checks": [c.to_dict() for c in self.checks],
            "guardrails": list(self.guardrails),
            "timings": dict(self.timings),
            "model": self.model,
            "usage": {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
            },
            "attempts": self.attempts,
            "truncated": self.truncated,
            "error": self.error,
        }
