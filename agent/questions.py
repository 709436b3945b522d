"""Read question files for `batch` and `eval`: JSONL, CSV or TXT, one question a row, or a
folder of JSONL files (one per subject, say).

Malformed rows are reported with their line numbers and skipped; the rest is still answered.
Multiple-choice rows (a `choices` list and a letter as the answer, like MMLU) show the model
their choices and are graded by `grade_choice`, never by mathematical equivalence.
"""

from __future__ import annotations

import csv
import json
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verimath.errors import InputFileError

__all__ = [
    "QuestionRow", "read_questions", "grade_choice", "QUESTION_FIELDS", "GOLD_FIELDS",
    "CHOICE_INSTRUCTION",
]  # fmt: skip

QUESTION_FIELDS = ("question", "problem")
GOLD_FIELDS = ("gold", "answer")
CHOICE_INSTRUCTION = "Answer with the letter of the correct choice."
_LETTERS = string.ascii_uppercase


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


def grade_choice(gold: str, answer: str, choices: Sequence[str]) -> bool:
    """Whether `answer` picks the gold letter of a multiple-choice question: the letter as
    `B`, `(B)`, `B)`, `\\text{B}`, `B: text`, `option B` (capitals only: `b` may be a variable),
    or the gold choice's exact text (case and spacing aside).
    Another letter, another choice's text, or a letter whose text names another choice is
    wrong. Pure text matching: nothing is parsed as mathematics."""
    gold_letter = _letter_of(gold, len(choices))
    if gold_letter is None:
        raise ValueError(
            f"gold answer '{gold}' is not a choice letter A-{_LETTERS[len(choices) - 1]}; "
            "give multiple-choice rows a letter as their answer"
        )
    gold_index = gold_letter[0]
    letter = _letter_of(answer, len(choices))
    if letter is None:
        return _folded(answer) == _folded(choices[gold_index])
    index, rest = letter
    named = [i for i, choice in enumerate(choices) if _folded(choice) == _folded(rest)]
    return index == gold_index and (not rest or not named or gold_index in named)


_WRAPPER = re.compile(r"^\\(?:text|textbf|textit|textrm|mathrm|mathbf|boxed)\s*\{([^{}]*)\}$")
_LETTER_FORM = re.compile(
    r"^(?:(?:option|choice|answer)\s*:?\s*)?"
    r"(?:\((?P<p>[A-Z])\)|(?P<letter>[A-Z])(?:[).:]|(?=\s*$)))(?:\s+(?P<rest>.*))?$",
    re.DOTALL | re.IGNORECASE,
)


def _plain(text: str) -> str:
    """Without surrounding math delimiters, text wrappers and a closing full stop."""
    previous = None
    text = text.strip()
    while text != previous:
        previous = text
        text = text.strip().removesuffix(".").strip()
        if len(text) > 1 and text[0] == text[-1] == "$":
            text = text.strip("$")
        if text.startswith("\\(") and text.endswith("\\)"):
            text = text[2:-2]
        text = _WRAPPER.sub(r"\1", text)
    return text


def _folded(text: str) -> str:
    return " ".join(_plain(text).split()).casefold()


def _letter_of(text: str, count: int) -> tuple[int, str] | None:
    """The index of the choice that a letter form names, and any text after the letter."""
    found = _LETTER_FORM.match(_plain(text))
    if found is None:
        return None
    letter = found["p"] or found["letter"]
    if letter not in _LETTERS[:count]:
        return None
    return _LETTERS.index(letter), (found["rest"] or "").strip()


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
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read '{file}' ({type(exc).__name__}); use UTF-8") from exc
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
        records = _json_lines(text, problems, file)
    else:
        raise InputFileError(f"'{file}': unsupported question file; use .jsonl, .csv or .txt")
    for number, record in records:
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
        or not 2 <= len(choices) <= len(_LETTERS)
        or not all(isinstance(c, str | int | float) and str(c).strip() for c in choices)
    ):
        return row, "choices must be a list of 2 to 26 non-empty strings"
    texts = [str(c) for c in choices]
    gold = row.gold
    letter = None if gold is None else _letter_of(gold, len(texts))
    if gold is not None and letter is None:
        named = [i for i, text in enumerate(texts) if _folded(text) == _folded(gold)]
        if len(named) != 1:
            last = _LETTERS[len(texts) - 1]
            return row, f"answer '{gold}' is neither a letter A-{last} nor one of the choices"
        gold = _LETTERS[named[0]]
    elif letter is not None:
        gold = _LETTERS[letter[0]]
    listed = "\n".join(f"({_LETTERS[i]}) {text.strip()}" for i, text in enumerate(texts))
    question = f"{row.question}\n\n{listed}\n\n{CHOICE_INSTRUCTION}"
    metadata = {**row.metadata, "choices": texts}
    return QuestionRow(row.line, question, row.id, gold, metadata), None


def _json_lines(text: str, problems: list[str], file: Path) -> list[tuple[int, dict[str, Any]]]:
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"{file}:{number}: not valid JSON; skipped")
            continue
        if not isinstance(record, dict):
            problems.append(f"{file}:{number}: not a JSON object; skipped")
            continue
        records.append((number, record))
    return records
