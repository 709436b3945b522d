"""Read question files for `batch` and `eval`: JSONL, CSV, Parquet or TXT, one question a row, or a
folder of JSONL files (one per subject, say).

Malformed rows are reported with their line numbers and skipped; the rest is still answered.
Multiple-choice rows (a `choices` list and a letter as the answer, like MMLU) show the model
their choices and are graded by `grade_choice` (tools/choices.py, the one grader of choice
letters, re-exported here), never by mathematical equivalence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verimath.errors import InputFileError
from verimath.graphs.prompts import CHOICE_INSTRUCTION
from verimath.rows import RowError, read_rows
from verimath.tools.choices import LETTERS, folded, grade_choice, picked_choice

__all__ = ["QuestionRow", "read_questions", "grade_choice", "QUESTION_FIELDS", "GOLD_FIELDS"]

QUESTION_FIELDS = ("question", "problem")
GOLD_FIELDS = ("gold", "answer")


@dataclass(frozen=True, slots=True)
class QuestionRow:
    line: int
    question: str
    id: str
    gold: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def choices(self) -> tuple[str, ...]:
        """A multiple-choice row's choices (the gold is then a letter); () otherwise."""
        return tuple(self.metadata.get("choices") or ())


def _gold(row: dict[str, Any]) -> str | None:
    value = next((row[k] for k in GOLD_FIELDS if row.get(k) not in (None, "")), None)
    if value is None:
        return None
    text = str(value)
    return text.rsplit("####", 1)[-1].strip() if "####" in text else text.strip()


def read_questions(path: str | Path) -> tuple[list[QuestionRow], list[str]]:
    """Rows and per-line problems. GSM8K's `#### 42` gold answers are reduced to `42`.

    A folder is read as all its `.jsonl` files in name order; ids get the file's name in
    front (`astronomy:12`), so they stay unique across files.
    """
    folder = Path(path)
    if not folder.is_dir():
        return _read_file(folder)
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise InputFileError(
            f"folder '{path}' has no .jsonl question files; pass a question file or a folder "
            "of .jsonl files"
        )
    rows: list[QuestionRow] = []
    problems: list[str] = []
    for file in files:
        found, trouble = _read_file(file)
        rows += [
            QuestionRow(r.line, r.question, f"{file.stem}:{r.id}", r.gold, r.metadata)
            for r in found
        ]
        problems += trouble
    return rows, problems


def _read_file(file: Path) -> tuple[list[QuestionRow], list[str]]:
    if not file.is_file():
        raise InputFileError(f"question file '{file}' does not exist; check the path")
    rows: list[QuestionRow] = []
    problems: list[str] = []
    if file.suffix == ".txt":
        return _read_txt(file), problems
    if file.suffix not in (".csv", ".jsonl", ".parquet"):
        raise InputFileError(
            f"'{file}': unsupported question file; use .jsonl, .csv, .parquet or .txt"
        )

    def skip(problem: RowError) -> None:
        problems.append(f"{problem.where}: {problem.reason}; skipped")

    for number, record in read_rows(file, on_error=skip):
        question = next((record[k] for k in QUESTION_FIELDS if record.get(k)), None)
        if not isinstance(question, str) or not question.strip():
            problems.append(f"{file}:{number}: no question field ({', '.join(QUESTION_FIELDS)})")
            continue
        known = {*QUESTION_FIELDS, *GOLD_FIELDS, "id"}
        row = QuestionRow(
            number,
            question.strip(),
            str(record.get("id") or record.get("unique_id") or number),
            _gold(record),
            {k: v for k, v in record.items() if k not in known},
        )
        if "choices" in record:
            row, problem = _with_choices(row, record["choices"])
            if problem:
                problems.append(f"{file}:{number}: {problem}; skipped")
                continue
        rows.append(row)
    return rows, problems


def _with_choices(row: QuestionRow, choices: Any) -> tuple[QuestionRow, str | None]:
    """The row with its choices listed in the question and a letter as its gold answer."""
    if (
        not isinstance(choices, list)
        or not 2 <= len(choices) <= len(LETTERS)
        or not all(isinstance(c, str | int | float) and str(c).strip() for c in choices)
    ):
        return row, "choices must be a list of 2 to 26 non-empty strings"
    texts = [str(c) for c in choices]
    gold = row.gold
    letter = None if gold is None else picked_choice(gold, len(texts))
    if gold is not None and letter is None:
        named = [i for i, text in enumerate(texts) if folded(text) == folded(gold)]
        if len(named) != 1:
            last = LETTERS[len(texts) - 1]
            return row, f"answer '{gold}' is neither a letter A-{last} nor one of the choices"
        gold = LETTERS[named[0]]
    elif letter is not None:
        gold = LETTERS[letter[0]]
    listed = "\n".join(f"({LETTERS[i]}) {text.strip()}" for i, text in enumerate(texts))
    question = f"{row.question}\n\n{listed}\n\n{CHOICE_INSTRUCTION}"
    metadata = {**row.metadata, "choices": texts}
    return QuestionRow(row.line, question, row.id, gold, metadata), None


def _read_txt(file: Path) -> list[QuestionRow]:
    """One question a line; blank lines are skipped, the numbers are the file's lines."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read '{file}' ({type(exc).__name__}); use UTF-8") from exc
    lines = text.split("\n")
    return [QuestionRow(n, line.strip(), str(n)) for n, line in enumerate(lines, 1) if line.strip()]
