"""The `Answer` every question gets: status, answer, evidence, citations, trace and costs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from verimath.graphs.selection import Candidate, Selection
from verimath.graphs.state import AgentState, Status
from verimath.retrieval.passage import Hit
from verimath.tools.grounding import ValueUse
from verimath.tools.programs import ProgramRun
from verimath.tools.verdict import Check, failed_evidence

__all__ = ["Answer", "CandidateAnswer", "Citation", "CrossCheckEvidence", "Usage"]

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
class CandidateAnswer:
    """One sampled solution with its verdict. `group` numbers the answers that mean the same
    (candidates with equal `group` were counted as one answer's votes); `retry_of` is the
    refuted candidate this one was asked to correct; `source` is who gave it ("model",
    "sympy" for the answer SymPy computed itself, or "reviewer"). An unverified answer left
    unevaluated (`2368 + 1920 + 72`) has its exact value as `answer` and its own form, the one
    checked, as `answer_as_written` (None when the answer is as written)."""

    answer: str | None
    status: Status
    checks: tuple[Check, ...]
    group: int | None
    retry_of: int | None
    temperature: float
    truncated: bool
    reasoning: str
    source: str = "model"
    # Programs the model ran while reasoning (tool-integrated reasoning), with their output.
    programs: tuple[ProgramRun, ...] = ()
    answer_as_written: str | None = None

    @classmethod
    def from_candidate(cls, candidate: Candidate, group: int | None) -> CandidateAnswer:
        g = candidate.generation
        checks = candidate.verdict.checks if candidate.verdict else ()
        return cls(
            candidate.shown_answer, candidate.status, checks, group, candidate.retry_of,
            candidate.temperature, g.truncated, g.reasoning, candidate.source, g.programs,
            _as_written(candidate),
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "answer_as_written": self.answer_as_written,
            "status": self.status,
            "checks": [c.to_dict() for c in self.checks],
            "group": self.group,
            "retry_of": self.retry_of,
            "temperature": self.temperature,
            "truncated": self.truncated,
            "reasoning": self.reasoning,
            "source": self.source,
            "programs": [p.to_dict() for p in self.programs],
        }


@dataclass(frozen=True, slots=True)
class CrossCheckEvidence:
    """Why an answer is `cross-checked`: the program that computed the same answer from the
    question alone, what it printed, and which candidates agreed (indices into
    `Answer.candidates`: the solution shown and the program's own candidate). Independent
    derivations that agree are evidence, not a proof."""

    program: str
    output: str
    solution: int
    program_candidate: int

    @classmethod
    def from_selection(
        cls, candidates: list[Candidate], selection: Selection | None
    ) -> CrossCheckEvidence | None:
        pair = selection.cross_check if selection is not None else None
        if pair is None:
            return None
        runs = candidates[pair.program].generation.programs
        code, output = (runs[0].code, runs[0].output) if runs else ("", "")
        return cls(code, output, pair.solution, pair.program)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Answer:
    """`verified` only when a SymPy check passed; `refuted` carries the failed checks.

    `candidates` are all sampled solutions with their verdicts; `confidence` is the share of
    them that gave the chosen answer (None when none stated one). `review_pending` is True when
    a conversation stopped for human review (resume with `Agent.review`).

    `cross-checked` means a solution and an independent program the model wrote agreed
    (`cross_check` shows the program and its output); it is evidence, not a SymPy check.

    `examples` are the solved problems shown as worked examples (`Settings.examples`), cited
    apart from the passages. `grounding` lists the numbers of the cited passages the shown
    reasoning used: which passage, its number, the reasoning's, and whether they agree. A
    misread one refutes an answer SymPy could not check, with the passage's number as the
    evidence.

    An unverified answer the model left unevaluated (`2368 + 1920 + 72`) is shown as its exact
    value (`4360`), with the model's own form, the one checked, in `answer_as_written` (None
    when the answer is shown as written). A verified or refuted answer is always shown as
    written: its status belongs to the form that was checked.
    """

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
    candidates: tuple[CandidateAnswer, ...] = ()
    confidence: float | None = None
    review_pending: bool = False
    answer_as_written: str | None = None
    cross_check: CrossCheckEvidence | None = None
    grounding: tuple[ValueUse, ...] = ()
    examples: tuple[Citation, ...] = ()

    @classmethod
    def from_state(
        cls, state: AgentState, *, question: str, model: str, review_pending: bool = False
    ) -> Answer:
        """The answer of a finished run, or of one stopped for review (the chosen candidate,
        not yet final)."""
        candidates, selection = state.get("candidates") or [], state.get("selection")
        index = selection.chosen if selection else None
        # With no stated answer, the first candidate's trace still shows what the model did.
        shown = candidates[index if index is not None else 0] if candidates else None
        group_of = (
            {i: g for g, members in enumerate(selection.groups) for i in members}
            if (selection)
            else {}
        )
        timings = {key: 0.0 for key in _TIMING_KEYS}
        timings.update({k: round(v, 2) for k, v in (state.get("timings") or {}).items()})
        status: Status
        if review_pending and selection is not None:
            answer, status = (shown.shown_answer if shown else None), selection.status
            as_written = _as_written(shown) if shown else None
        else:
            answer, status = state.get("answer"), state.get("status", "error")
            as_written = state.get("answer_as_written")
        return cls(
            question=question,
            answer=answer,
            status=status,
            reasoning=shown.generation.reasoning if shown else "",
            citations=tuple(Citation.from_hit(h) for h in state.get("passages") or ()),
            checks=shown.verdict.checks if shown and shown.verdict else (),
            guardrails=tuple(state.get("guardrails") or ()),
            timings=timings,
            model=model,
            usage=Usage(state.get("prompt_tokens", 0), state.get("completion_tokens", 0)),
            attempts=sum(1 for c in candidates if c.source == "model"),
            truncated=bool(shown and shown.generation.truncated),
            candidates=tuple(
                CandidateAnswer.from_candidate(c, group_of.get(i)) for i, c in enumerate(candidates)
            ),
            confidence=selection.confidence if selection and index is not None else None,
            review_pending=review_pending,
            answer_as_written=as_written,
            cross_check=CrossCheckEvidence.from_selection(candidates, selection)
            if status == "cross-checked"
            else None,
            grounding=shown.grounding if shown else (),
            examples=tuple(Citation.from_hit(h) for h in state.get("examples") or ()),
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
            "answer_as_written": self.answer_as_written,
            "status": self.status,
            "reasoning": self.reasoning,
            "citations": [asdict(c) for c in self.citations],
            "examples": [asdict(c) for c in self.examples],
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
            "confidence": self.confidence,
            "review_pending": self.review_pending,
            "candidates": [c.to_dict() for c in self.candidates],
            "cross_check": self.cross_check.to_dict() if self.cross_check else None,
            "grounding": [asdict(use) for use in self.grounding],
        }


def _as_written(candidate: Candidate) -> str | None:
    """The candidate's own form when it is shown as its value, else None."""
    shown = candidate.shown_answer
    return candidate.answer if shown != candidate.answer else None
