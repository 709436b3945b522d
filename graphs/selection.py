"""Verified self-consistency: sample candidates, group them by meaning, choose, decide what next.

A small model is right more often when it answers several times and the answer that checks out
is kept. Candidates are grouped by symbolic equivalence (the verification engine decides that
`1/2`, `0.5` and `\\frac{1}{2}` are one answer), and a group is chosen by verification first
(verified > unverified > refuted), then by votes, then by which came first (the first sample is
greedy). Agreement, the chosen group's share of all candidates, is reported as confidence.

Everything here is pure: the graph's nodes call these functions with the verifier's `same`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from verimath.graphs.reasoning import Generation
from verimath.tools.verdict import Verdict, VerdictStatus

__all__ = [
    "Candidate", "Selection", "Plan", "group_answers", "select", "plan_next", "sympy_answer",
]  # fmt: skip

SelectionPolicy = Literal["verified", "majority"]
_RANK: dict[VerdictStatus, int] = {"verified": 2, "unverified": 1, "refuted": 0}


@dataclass(frozen=True, slots=True)
class Candidate:
    """One answer and its verdict. `retry_of` is the refuted candidate whose evidence this one
    was asked to fix (None for a fresh sample). `source` says who gave the answer: the model,
    SymPy (its own computed answer, see `finalize`) or a human reviewer. `value` is the exact
    value of an answer written as an operation left to carry out (`Verifier.value_of`), None
    when it has none; `answer` is always the form written, the one that was checked."""

    generation: Generation
    verdict: Verdict | None = None
    retry_of: int | None = None
    temperature: float = 0.0
    source: Literal["model", "sympy", "reviewer"] = "model"
    value: str | None = None

    @property
    def answer(self) -> str | None:
        return self.generation.answer

    @property
    def shown_answer(self) -> str | None:
        """What a user is shown and what groups it: the value of an `unverified` answer left
        unevaluated, else the answer as written. A verified or refuted status always comes
        with the form that was checked, never with a value worked out beside it."""
        if self.value is not None and self.answer is not None and self.status == "unverified":
            return self.value
        return self.answer

    @property
    def status(self) -> VerdictStatus:
        if self.answer is None or self.verdict is None:
            return "unverified"
        return self.verdict.status


@dataclass(frozen=True, slots=True)
class Selection:
    """The chosen candidate (None when no candidate stated an answer), its group's status and
    votes, and every group as candidate indices."""

    chosen: int | None
    status: VerdictStatus
    votes: int
    confidence: float
    groups: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """What to generate next: `count` fresh samples, or one retry of a refuted candidate."""

    kind: Literal["sample", "retry"]
    count: int = 1
    retry_of: int | None = None


def group_answers(
    answers: Sequence[str | None], same: Callable[[str, str], bool]
) -> tuple[tuple[int, ...], ...]:
    """Indices of the stated answers, grouped by meaning; each new answer is compared with the
    first member of every group so far (k answers need at most k(k-1)/2 comparisons)."""
    groups: list[tuple[str, list[int]]] = []  # (first member's answer, members)
    for index, answer in enumerate(answers):
        if answer is None:
            continue
        for first, members in groups:
            if answer.strip() == first.strip() or same(first, answer):
                members.append(index)
                break
        else:
            groups.append((answer, [index]))
    return tuple(tuple(members) for _, members in groups)


def select(
    candidates: Sequence[Candidate],
    groups: tuple[tuple[int, ...], ...],
    policy: SelectionPolicy = "verified",
) -> Selection:
    """Choose a group: by verification then votes ("verified"), or by votes alone ("majority",
    plain self-consistency, kept for comparison). Ties go to the group that came first. A
    reviewer's answer (human review) is chosen over any other: a person decided, and its own
    check gives its status."""
    if not groups:
        return Selection(None, "unverified", 0, 0.0, groups)
    reviewed = [i for i, c in enumerate(candidates) if c.source == "reviewer" and c.answer]
    if reviewed:
        chosen = reviewed[-1]
        votes = next(len(group) for group in groups if chosen in group)
        share = round(votes / len(candidates), 4)
        return Selection(chosen, candidates[chosen].status, votes, share, groups)

    def status_of(group: tuple[int, ...]) -> VerdictStatus:
        return max((candidates[i].status for i in group), key=_RANK.__getitem__)

    def key(group: tuple[int, ...]) -> tuple[int, ...]:
        order = (len(group), -group[0])
        return (_RANK[status_of(group)], *order) if policy == "verified" else order

    best = max(groups, key=key)
    status = status_of(best)
    chosen = next(i for i in best if candidates[i].status == status)
    confidence = round(len(best) / len(candidates), 4)
    return Selection(chosen, status, len(best), confidence, groups)


def plan_next(
    candidates: Sequence[Candidate],
    selection: Selection | None,
    *,
    samples: int,
    adaptive: bool,
    refuted_retries: int,
    settled_by_sympy: bool = False,
) -> Plan | None:
    """The next generation, or None when the answer is settled or the budget is spent.

    A verified choice settles it. Otherwise a refuted candidate not yet retried gets one retry
    with its evidence (at most `refuted_retries` in all), then fresh samples continue up to
    `samples`: one at a time when adaptive, all at once otherwise. When SymPy computed the
    answer itself and it will be given (`settled_by_sympy`), more samples cannot change it, nor
    can they change a reviewer's answer.
    """
    if selection is not None and selection.status == "verified":
        return None
    if settled_by_sympy or any(c.source == "reviewer" for c in candidates):
        return None  # SymPy's answer will be given, or a person has decided
    retried = {c.retry_of for c in candidates if c.retry_of is not None}
    if len(retried) < refuted_retries:
        refuted = [
            i for i, c in enumerate(candidates) if c.status == "refuted" and i not in retried
        ]
        if refuted:
            return Plan("retry", retry_of=refuted[-1])
    fresh = sum(1 for c in candidates if c.retry_of is None and c.source == "model")
    if fresh < samples:
        return Plan("sample", count=1 if adaptive else samples - fresh)
    return None


def sympy_answer(candidates: Sequence[Candidate]) -> str | None:
    """The answer SymPy computed from the question while checking a candidate, if it did."""
    return next((c.verdict.computed for c in candidates if c.verdict and c.verdict.computed), None)
