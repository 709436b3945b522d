"""The fixed question subset the agent benchmarks share: the first N graded questions of GSM8K
and of MATH-500 from ../shared/data, in that order, so every row of every table is computed on
the same questions."""

from __future__ import annotations

from pathlib import Path

from verimath.questions import QuestionRow, read_questions

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SETS = ("gsm8k", "math500")


def graded_subset(per_set: int) -> list[tuple[str, QuestionRow]]:
    """(set name, row) for the first `per_set` questions with a gold answer of each set."""
    rows: list[tuple[str, QuestionRow]] = []
    for name in SETS:
        found, _ = read_questions(DATA / name / "test.jsonl")
        rows += [(name, r) for r in found if r.gold is not None][:per_set]
    return rows
