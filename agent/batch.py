"""Answer a question file into JSONL that survives being killed: resumable, nothing duplicated.

Why this shape: a run over thousands of questions will be interrupted (a kill, a reboot, an
out-of-memory). Each answer is appended as one complete line and flushed the moment it is
done, so an interruption loses only the questions in flight. Rerunning the same command reads
the output first, drops a half-written last line, and skips every id already answered;
`retry_errors` rewrites the file without its `error` rows (atomically) and answers those again.
One failing or overlong question becomes a row with status `error`, never an aborted batch;
a misconfiguration stops the run (error policy "stop" of `verimath.engine`, which runs it).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from verimath.answer import Answer
from verimath.engine import ErrorPolicy, answer_all
from verimath.errors import InputFileError
from verimath.questions import QuestionRow, grade_choice
from verimath.rows import RowError, read_jsonl

__all__ = ["BatchSummary", "run_batch", "read_done", "answer_record", "append_record", "resume"]


@dataclass
class BatchSummary:
    """What a run did; `done_before` rows were already in the output and were skipped."""

    total: int
    done_before: int = 0
    answered: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    graded: int = 0
    correct: int = 0
    elapsed_s: float = 0.0

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.graded if self.graded else None

    def count(self, data: dict[str, Any]) -> None:
        """Add one written output line (`answer_record`) to the totals."""
        self.answered += 1
        self.statuses[data["status"]] += 1
        if "gold" in data:
            self.graded += 1
            self.correct += data["correct"] is True

    def line(self) -> str:
        rate = self.answered / self.elapsed_s * 60 if self.elapsed_s > 0 else 0.0
        parts = [
            f"answered {self.answered} of {self.total} questions"
            + (f" ({self.done_before} already done)" if self.done_before else ""),
            ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items())) or "nothing new",
            f"{self.elapsed_s:.0f} s, {rate:.1f} questions/min",
        ]
        if self.accuracy is not None:
            parts.append(f"accuracy {self.accuracy:.3f} on {self.graded} graded")
        return "; ".join(parts)


def read_done(output: Path, *, retry_errors: bool = False) -> set[str]:
    """Ids already answered in `output`, repairing it first: a half-written last line (the
    process died mid-write) is cut off, and with `retry_errors` the `error` rows are removed."""
    if not output.exists():
        return set()
    kept: list[dict[str, Any]] = []
    done: set[str] = set()
    dropped = False
    try:
        for number, record in read_jsonl(output, torn_tail="drop"):
            if record.get("id") is None:
                raise RowError(output, number, "has no id")
            if retry_errors and record.get("status") == "error":
                dropped = True
                continue
            kept.append(record)
            done.add(str(record["id"]))
    except RowError as exc:
        reason = f"{exc.reason}, so it is not a verimath batch output"
        raise RowError(exc.path, exc.line, reason, "move it away or choose another -o") from None
    if dropped or not _ends_with_newline(output):  # rows are written as run_batch writes them
        _replace(output, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
    return done


def _ends_with_newline(path: Path) -> bool:
    """Whether `path` is empty or ends with a complete line, so appending starts a new one."""
    with path.open("rb") as file:
        if file.seek(0, os.SEEK_END) == 0:
            return True
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"


def _replace(path: Path, text: str) -> None:
    fd, staging = tempfile.mkstemp(prefix=".verimath-batch-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(staging, path)


def _check_unique(rows: Sequence[QuestionRow]) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        if row.id in seen:
            raise InputFileError(
                f"question id '{row.id}' appears on lines {seen[row.id]} and {row.line}; "
                "give every question a unique id so that a batch can resume"
            )
        seen[row.id] = row.line


def run_batch(
    ask: Callable[[str], Answer],
    rows: Sequence[QuestionRow],
    output: Path,
    *,
    grade: Callable[[str, str], bool | None] | None = None,
    model_name: str = "",
    retry_errors: bool = False,
    timeout_s: float | None = None,
    concurrency: int = 1,
    on_row: Callable[[dict[str, Any], BatchSummary], None] | None = None,
    errors: ErrorPolicy = "stop",
) -> BatchSummary:
    """Answer `rows` with `ask`, appending one JSON line per question to `output` as each
    finishes (in finishing order; `id` says which question a row answers).

    grade(gold, answer): whether an answer matches the gold (rows with gold get `correct`);
    multiple-choice rows (with `choices`) are graded by `grade_choice` instead.
    timeout_s: a question still running after this long is written as an `error` row (its
    generation should also be bounded, see `Settings.generation_time_limit_s`).
    concurrency: questions in flight at once; they share one model.
    errors: what an exception does (`verimath.engine`). By default "stop": one broken question
    is an `error` row and the run goes on, but a misconfiguration (`VerimathError`: a model
    that cannot be found, a server that is down) raises once the questions in flight are
    written, since every later question would fail the same way; fix it and rerun to resume.
    "row" writes it as an `error` row too (`retry_errors` answers those again).
    on_row(row, summary): called after each row is written, one call at a time.
    """
    todo, summary = resume(rows, output, retry_errors=retry_errors)
    start = time.perf_counter()
    with output.open("a", encoding="utf-8") as out:

        def record(row: QuestionRow, answer: Answer) -> None:
            data = answer_record(row, answer, grade)
            append_record(out, data)
            summary.count(data)
            summary.elapsed_s = time.perf_counter() - start
            if on_row is not None:
                on_row(data, summary)

        answer_all(
            ask, [row.question for row in todo], lambda i, answer: record(todo[i], answer),
            errors=errors, concurrency=concurrency, timeout_s=timeout_s, model_name=model_name,
        )  # fmt: skip
    summary.elapsed_s = time.perf_counter() - start
    return summary


def resume(
    rows: Sequence[QuestionRow], output: Path, *, retry_errors: bool = False
) -> tuple[list[QuestionRow], BatchSummary]:
    """The rows still to answer into `output` (ids must be unique; the output is repaired as
    `read_done` says), and the summary that counts the rest as done before."""
    _check_unique(rows)
    output.parent.mkdir(parents=True, exist_ok=True)
    done = read_done(output, retry_errors=retry_errors)
    todo = [row for row in rows if row.id not in done]
    return todo, BatchSummary(total=len(rows), done_before=len(rows) - len(todo))


def answer_record(
    row: QuestionRow, answer: Answer, grade: Callable[[str, str], bool | None] | None
) -> dict[str, Any]:
    """The output line for `row`: its id, the answer, the row's metadata, and for a row with a
    gold answer the gold and whether the answer matches it."""
    data: dict[str, Any] = {"id": row.id, **answer.to_dict(), "metadata": row.metadata}
    if row.gold is not None:
        data["gold"] = row.gold
        data["correct"] = answer.answer is not None and _correct(row, answer.answer, grade)
    return data


def append_record(out: TextIO, data: dict[str, Any]) -> None:
    """One complete line, flushed at once: a kill loses at most the line being written, which
    `read_done` cuts off."""
    out.write(json.dumps(data, ensure_ascii=False) + "\n")
    out.flush()


def _correct(
    row: QuestionRow, answer: str, grade: Callable[[str, str], bool | None] | None
) -> bool:
    """Multiple-choice rows by letter or choice text; others by `grade`, where an undecided
    comparison (None) counts as not correct."""
    if row.gold is None:
        return False
    if row.choices:
        return grade_choice(row.gold, answer, row.choices)
    return grade is not None and grade(row.gold, answer) is True
