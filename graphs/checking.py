"""Every verifier call the graph makes, as functions of a `Verifier` and values.

The `verify` node is the only caller: it checks the new candidates, groups them, and when no
more generation is planned, lets SymPy's own answer settle a question none of them got right.
Keeping the calls here, out of the nodes, leaves each node a few lines and each call testable
with a real verifier and plain values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from verimath.graphs.contracts import Verifier
from verimath.graphs.events import Checked
from verimath.graphs.selection import (
    Candidate,
    CrossCheck,
    Selection,
    SelectionPolicy,
    cross_check_pairs,
    group_answers,
    select,
    sympy_answer,
)
from verimath.tools.grounding import ValueUse, ground, grounding_checks
from verimath.tools.verdict import Verdict

__all__ = ["check_candidates", "choose", "agreements", "settle_with_sympy", "with_grounding"]


def check_candidates(
    verifier: Verifier,
    question: str,
    candidates: Sequence[Candidate],
    on_checked: Callable[[Checked], None] | None = None,
    passages: Sequence[tuple[str, ...]] = (),
) -> list[Candidate]:
    """The candidates with every unchecked one checked against the question (in order). The
    check reads the answer as written; an unverified answer left unevaluated also gets its
    value (`Verifier.value_of`), to group and show beside it. A verified or refuted answer
    is evaluated already (`check_answer` leaves any other unverified), so it gets none.
    Each is also grounded in the retrieved `passages` (id, text, title) it was shown."""
    checked = list(candidates)
    for index, candidate in enumerate(checked):
        if candidate.verdict is None:
            verdict = verifier.check_answer(question, candidate.answer)
            uses = _grounding(candidate, passages, question)
            verdict = with_grounding(verdict, uses)
            value = verifier.value_of(candidate.answer) if verdict.status == "unverified" else None
            checked[index] = replace(candidate, verdict=verdict, value=value, grounding=uses)
            if on_checked is not None:
                on_checked(Checked(index, candidate.answer, verdict))
    return checked


def _grounding(
    candidate: Candidate, passages: Sequence[tuple[str, ...]], question: str
) -> tuple[ValueUse, ...]:
    if not passages or candidate.source not in ("model", "program"):
        return ()
    generation = candidate.generation
    return ground(f"{generation.reasoning}\n{generation.response}", passages, question)


def with_grounding(verdict: Verdict, uses: Sequence[ValueUse]) -> Verdict:
    """The verdict with the passage values the reasoning used. A misread value refutes an
    answer nothing else checked, with the passage's number as evidence; a SymPy verdict
    (verified or refuted) stands, since it judged the answer itself, and keeps only the
    uses that agree beside its own checks."""
    if verdict.status == "unverified" and any(not use.agrees for use in uses):
        return Verdict("refuted", (*verdict.checks, *grounding_checks(uses)), verdict.computed)
    agreed = grounding_checks([use for use in uses if use.agrees])
    return replace(verdict, checks=(*verdict.checks, *agreed)) if agreed else verdict


def choose(
    verifier: Verifier, candidates: Sequence[Candidate], policy: SelectionPolicy
) -> Selection:
    """Group the stated answers by meaning (the verifier decides equivalence; an answer left
    unevaluated by its value), find the cross-checks that agree, then select."""
    groups = group_answers(
        [c.shown_answer for c in candidates],
        lambda a, b: verifier.equivalent(a, b).equivalent is True,
    )
    return select(candidates, groups, policy, agreements(verifier, candidates, groups))


def agreements(
    verifier: Verifier, candidates: Sequence[Candidate], groups: tuple[tuple[int, ...], ...]
) -> list[CrossCheck]:
    """For each group, its first solution-program pair whose answers agree by the rules
    `verified` follows: the solution's answer, graded against the program's printed answer as
    against a gold, must be an evaluated answer and equal it (a decimal equal, not merely
    close). Grouping alone is not enough: it lets equal values of different forms meet."""
    agreed = []
    for pairs in cross_check_pairs(candidates, groups):
        for pair in pairs:
            program = candidates[pair.program].answer
            solution = candidates[pair.solution].shown_answer
            if program and solution and verifier.grade(program, solution).equivalent is True:
                agreed.append(pair)
                break
    return agreed


def settle_with_sympy(
    verifier: Verifier,
    question: str,
    candidates: Sequence[Candidate],
    selection: Selection | None,
) -> tuple[list[Candidate], Selection, str] | None:
    """When SymPy computed the answer itself and no candidate was verified, the final answer
    is SymPy's (checked once more like any answer), never a refuted or unchecked one: the
    candidates with SymPy's added, its selection and a note; None when SymPy has no answer.
    A reviewer's decision stands."""
    if selection is not None and selection.status == "verified":
        return None
    if any(c.source == "reviewer" for c in candidates):
        return None
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
    settled = [*candidates, Candidate(generation, verdict, source="sympy")]
    index = len(settled) - 1
    groups = selection.groups if selection else ()
    chosen = Selection(index, "verified", 0, 0.0, (*groups, (index,)))
    given = f"'{shown.answer}' was {shown.status}" if shown.answer else "no answer was stated"
    note = f"output: {given}; the answer shown is the one SymPy computed from the question"
    return settled, chosen, note
