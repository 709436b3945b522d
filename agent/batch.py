"""Answer a question file into JSONL that survives being killed: resumable, nothing duplicated.

Why this shape: a run over thousands of questions will be interrupted (a kill, a reboot, an
out-of-memory). Each answer is appended as one complete line and flushed the moment it is
done, so an interruption loses only the questions in flight. Rerunning the same command reads
the output first, drops a half-written last line, and skips every id already answered;
`retry_errors` rewrites the file without its `error` rows (atomically) and answers those again.
One failing or overlong question becomes a row with status `error`, never an aborted batch.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verimath.answer import Answer
from verimath.errors import InputFileError, VerimathError
from verimath.questions import QuestionRow, grade_choice

__all__ = ["BatchSummary", "run_batch", "read_done"]


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
    try:
        text = output.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(
            f"cannot read the existing output '{output}' ({type(exc).__name__}); "
            "move it away or choose another -o"
        ) from exc
    kept, done = [], set()
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        try:
            record = json.loads(line)
            row_id = str(record["id"])
        except (json.JSONDecodeError, KeyError, TypeError):
            if line.endswith("\n") and line.strip():
                raise InputFileError(
                    f"'{output}' line {number} is not an answer row; it is not a verimath batch "
                    "output: move it away or choose another -o"
                ) from None
            continue  # the torn last line of an interrupted run
        if retry_errors and record.get("status") == "error":
            continue
        kept.append(line if line.endswith("\n") else line + "\n")
        done.add(row_id)
    repaired = "".join(kept)
    if repaired != text:
        _replace(output, repaired)
    return done


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
) -> BatchSummary:
    """Answer `rows` with `ask`, appending one JSON line per question to `output`.

    grade(gold, answer): whether an answer matches the gold (rows with gold get `correct`);
    multiple-choice rows (with `choices`) are graded by `grade_choice` instead.
    timeout_s: a question still running after this long is written as an `error` row (its
    generation should also be bounded, see `Settings.generation_time_limit_s`).
    concurrency: questions in flight at once; they share one model.
    """
    _check_unique(rows)
    output.parent.mkdir(parents=True, exist_ok=True)
    done = read_done(output, retry_errors=retry_errors)
    todo = [row for row in rows if row.id not in done]
    summary = BatchSummary(total=len(rows), done_before=len(rows) - len(todo))
    start = time.perf_counter()
    write_lock = threading.Lock()
    with output.open("a", encoding="utf-8") as out:

        def record(row: QuestionRow, answer: Answer) -> None:
            data: dict[str, Any] = {"id": row.id, **answer.to_dict(), "metadata": row.metadata}
            if row.gold is not None:
                data["gold"] = row.gold
                data["correct"] = answer.answer is not None and _correct(row, answer.answer, grade)
            with write_lock:
                out.write(json.dumps(data, ensure_ascii=False) + "\n")
                out.flush()
                summary.answered += 1
                summary.statuses[answer.status] += 1
                if row.gold is not None:
                    summary.graded += 1
                    summary.correct += data["correct"] is True
                summary.elapsed_s = time.perf_counter() - start
                if on_row is not None:
                    on_row(data, summary)

        _answer_all(ask, todo, record, model_name, timeout_s, max(1, concurrency))
    summary.elapsed_s = time.perf_counter() - start
    return summary


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


def _answer_all(
    ask: Callable[[str], Answer],
    todo: Sequence[QuestionRow],
    record: Callable[[QuestionRow, Answer], None],
    model_name: str,
    timeout_s: float | None,
    concurrency: int,
) -> None:
    """Keep `concurrency` questions in flight; record each as it finishes or times out."""
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="verimath-batch")
    pending: dict[Future[Answer], tuple[QuestionRow, float]] = {}
    queue = list(todo)[::-1]
    try:
        while queue or pending:
            while queue and len(pending) < concurrency:
                row = queue.pop()
                pending[pool.submit(ask, row.question)] = (row, time.monotonic())
            finished, _ = wait(list(pending), timeout=1.0, return_when=FIRST_COMPLETED)
            for future in finished:
                row, _ = pending.pop(future)
                record(row, _result(future, row, model_name))
            if timeout_s is None:
                continue
            now = time.monotonic()
            for future, (row, started) in list(pending.items()):
                if now - started > timeout_s:
                    pending.pop(future)
                    future.cancel()  # a running question cannot be stopped; it is abandoned
                    error = TimeoutError(f"no answer within {timeout_s:g} s")
                    record(row, Answer.failed(row.question, error, model=model_name))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _result(future: Future[Answer], row: QuestionRow, model_name: str) -> Answer:
    try:
        return future.result()
    except VerimathError:
        raise  # misconfiguration (model, index) stops the run: every question would fail
    except Exception as exc:  # one broken question is a row, not an aborted batch
        return Answer.failed(row.question, exc, model=model_name)
