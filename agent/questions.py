"""Read question files for `batch` and `eval`: JSONL, CSV or TXT, one question a row.

Malformed rows are reported with their line numbers and skipped; the rest is still answered.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verimath.errors import InputFileError

__all__ = ["QuestionRow", "read_questions", "QUESTION_FIELDS", "GOLD_FIELDS"]

QUESTION_FIELDS = ("question", "problem")
GOLD_FIELDS = ("gold", "answer")


@dataclass(frozen=True, slots=True)
class QuestionRow:
    line: int
    question: str
    id: str
    gold: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _gold(row: dict[str, Any]) -> str | None:
    value = next((row[k] for k in GOLD_FIELDS if row.get(k) not in (None, "")), None)
    if value is None:
        return None
    text = str(value)
    return text.rsplit("####", 1)[-1].strip() if "####" in text else text.strip()


def read_questions(path: str | Path) -> tuple[list[QuestionRow], list[str]]:
    """Rows and per-line problems. GSM8K's `#### 42` gold answers are reduced to `42`."""
    file = Path(path)
    if not file.is_file():
        raise InputFileError(f"question file '{path}' does not exist; check the path")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read '{path}' ({type(exc).__name__}); use UTF-8") from exc
    rows: list[QuestionRow] = []
    problems: list[str] = []
    if file.suffix == ".txt":
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                rows.append(QuestionRow(number, line.strip(), str(number)))
        return rows, problems
    if file.suffix == ".csv":
        records = enumerate(csv.DictReader(text.splitlines()), 2)
    elif file.suffix == ".jsonl":
        records = _json_lines(text, problems)
    else:
        raise InputFileError(f"'{path}': unsupported question file; use .jsonl, .csv or .txt")
    for number, record in records:
        question = next((record[k] for k in QUESTION_FIELDS if record.get(k)), None)
        if not isinstance(question, str) or not question.strip():
            problems.append(f"{path}:{number}: no question field ({', '.join(QUESTION_FIELDS)})")
            continue
        known = {*QUESTION_FIELDS, *GOLD_FIELDS, "id"}
        rows.append(
            QuestionRow(
                number,
                question.strip(),
                str(record.get("id") or record.get("unique_id") or number),
                _gold(record),
                {k: v for k, v in record.items() if k not in known},
            )
        )
    return rows, problems


def _json_lines(text: str, problems: list[str]) -> list[tuple[int, dict[str, Any]]]:
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"line {number}: not valid JSON; skipped")
            continue
        if not isinstance(record, dict):
            problems.append(f"line {number}: not a JSON object; skipped")
            continue
        records.append((number, record))
    return records
