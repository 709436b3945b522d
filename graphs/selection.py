"""Verified self-consistency: sample candidates, group them by meaning, choose, decide what next.

A small model is right more often when it answers several times and the answer that checks out
is kept. Candidates are grouped by symbolic equivalence (the verification engine decides that
`1/2`, `0.5` and `\\frac{1}{2}` are one answer), and a group is chosen by its evidence first
(verified > cross-checked > unverified > refuted), then by votes, then by which came first (the
first sample is greedy). Agreement, the chosen group's share of all candidates, is reported as
confidence.

`cross-checked` is a group's status, never a candidate's: a solution and an independent
program (`graphs.crosscheck`) stated answers the verifier graded equal (`checking.agreements`),
and no SymPy check refuted any member. It is evidence, not a proof, so it ranks below verified.

Everything here is pure: the graph's nodes call these functions with the verifier's `same`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from verimath.graphs.reasoning import Generation
from verimath.tools.grounding import ValueUse
from verimath.tools.verdict import Verdict, VerdictStatus

__all__ = [
    "Candidate", "Selection", "SelectionStatus", "CrossCheck", "Plan", "group_answers",
    "select", "plan_next", "sympy_answer", "cross_check_pairs",
]  # fmt: skip

SelectionPolicy = Literal["verified", "majority"]
SelectionStatus = Literal["verified", "cross-checked", "unverified", "refuted"]
_RANK: dict[SelectionStatus, int] = {
    "verified": 3, "cross-checked": 2, "unverified": 1, "refuted": 0,
}  # fmt: skip


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
    source: Literal["model", "program", "sympy", "reviewer"] = "model"
    value: str | None = None
    # The retrieved passages' numbers its reasoning used (`tools.grounding`), set when checked.
    grounding: tuple[ValueUse, ...] = ()

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
class CrossCheck:
    """What agreed in a cross-checked group: a solution and a program (candidate indices)
    whose answers the verifier graded equal."""

    solution: int
    program: int


@dataclass(frozen=True, slots=True)
class Selection:
    """The chosen candidate (None when no candidate stated an answer), its group's status and
    votes, every group as candidate indices, and what agreed when it is cross-checked."""

    chosen: int | None
    status: SelectionStatus
    votes: int
    confidence: float
    groups: tuple[tuple[int, ...], ...]
    cross_check: CrossCheck | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """What to generate next: `count` fresh samples and `programs` cross-check programs, or
    one retry of a refuted candidate."""

    kind: Literal["sample", "retry"]
    count: int = 1
    retry_of: int | None = None
    programs: int = 0


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


def cross_check_pairs(
    candidates: Sequence[Candidate], groups: tuple[tuple[int, ...], ...]
) -> list[list[CrossCheck]]:
    """For each group where solutions and programs stated answers and no member was refuted,
    its solution-program pairs in order: the verifier is asked about them (`checking`) until
    one agrees."""
    pairs = []
    for group in groups:
        if any(candidates[i].status == "refuted" for i in group):
            continue
        solutions = [i for i in group if candidates[i].source == "model"]
        programs = [i for i in group if candidates[i].source == "program"]
        if solutions and programs:
            pairs.append([CrossCheck(s, p) for s in solutions for p in programs])
    return pairs


def select(
    candidates: Sequence[Candidate],
    groups: tuple[tuple[int, ...], ...],
    policy: SelectionPolicy = "verified",
    agreed: Sequence[CrossCheck] = (),
) -> Selection:
    """Choose a group: by evidence then votes ("verified"), or by votes alone ("majority",
    plain self-consistency, kept for comparison). Ties go to the group that came first. A
    group holding an `agreed` pair (a cross-check the verifier passed) is cross-checked unless
    a member is verified. A reviewer's answer (human review) is chosen over any other: a
    person decided, and its own check gives its status. In a cross-checked group the solution
    is shown, not the program."""
    if not groups:
        return Selection(None, "unverified", 0, 0.0, groups)
    reviewed = [i for i, c in enumerate(candidates) if c.source == "reviewer" and c.answer]
    if reviewed:
        chosen = reviewed[-1]
        votes = next(len(group) for group in groups if chosen in group)
        share = round(votes / len(candidates), 4)
        return Selection(chosen, candidates[chosen].status, votes, share, groups)

    checked = {pair.solution: pair for pair in agreed}

    def agreement(group: tuple[int, ...]) -> CrossCheck | None:
        return next((checked[i] for i in group if i in checked), None)

    def status_of(group: tuple[int, ...]) -> SelectionStatus:
        best: SelectionStatus = max((candidates[i].status for i in group), key=_RANK.__getitem__)
        return "cross-checked" if best == "unverified" and agreement(group) else best

    def key(group: tuple[int, ...]) -> tuple[int, ...]:
        order = (len(group), -group[0])
        return (_RANK[status_of(group)], *order) if policy == "verified" else order

    best = max(groups, key=key)
    status = status_of(best)
    pair = agreement(best) if status == "cross-checked" else None
    solutions_first = sorted(best, key=lambda i: candidates[i].source == "program")
    chosen = (
        pair.solution
        if pair
        else next(i for i in solutions_first if candidates[i].status == status)
    )
    confidence = round(len(best) / len(candidates), 4)
    return Selection(chosen, status, len(best), confidence, groups, pair)


def plan_next(
    candidates: Sequence[Candidate],
    selection: Selection | None,
    *,
    samples: int,
    adaptive: bool,
    refuted_retries: int,
    cross_checks: int = 0,
    settled_by_sympy: bool = False,
) -> Plan | None:
    """The next generation, or None when the answer is settled or the budget is spent.

    A verified or cross-checked choice settles it. Otherwise a refuted candidate not yet
    retried gets one retry with its evidence (at most `refuted_retries` in all), then fresh
    samples continue up to `samples`, and cross-check programs beside them up to
    `cross_checks`: one of each a step when adaptive (so a disagreement, or a program that
    gave no answer, brings one more of each), all at once otherwise. When SymPy computed the
    answer itself and it will be given (`settled_by_sympy`), more samples cannot change it, nor
    can they change a reviewer's answer.
    """
    if selection is not None and selection.status in ("verified", "cross-checked"):
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
    written = sum(1 for c in candidates if c.source == "program")
    count, programs = max(0, samples - fresh), max(0, cross_checks - written)
    if adaptive:
        count, programs = min(count, 1), min(programs, 1)
    if count or programs:
        return Plan("sample", count=count, programs=programs)
    return None


def sympy_answer(candidates: Sequence[Candidate]) -> str | None:
    """The answer SymPy computed from the question while checking a candidate, if it did."""
    return next((c.verdict.computed for c in candidates if c.verdict and c.verdict.computed), None)
