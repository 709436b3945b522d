"""Read passages from corpus files: JSONL with a text field, or plain .txt/.md documents.

A file that cannot be read is reported with its reason and skipped; the rest is still used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from verimath.errors import InputFileError
from verimath.retrieval.passage import Passage

__all__ = ["LoadReport", "load_passages", "TEXT_FIELDS"]

TEXT_FIELDS = ("text", "content", "solution", "passage")
_DOCUMENT_SUFFIXES = {".txt", ".md"}


@dataclass
class LoadReport:
    passages: list[Passage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def load_passages(sources: Iterable[str | Path]) -> LoadReport:
    """Every passage in the given files and folders (folders are searched recursively)."""
    report = LoadReport()
    for source in sources:
        path = Path(source)
        if not path.exists():
            raise InputFileError(f"corpus source '{source}' does not exist; check the path")
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.suffix == ".jsonl":
                _read_jsonl(file, report)
            elif file.suffix in _DOCUMENT_SUFFIXES:
                _read_document(file, report)
            elif not path.is_dir():
                report.errors.append(f"{file}: unsupported file type; use .jsonl, .txt or .md")
    return report


def _read_jsonl(file: Path, report: LoadReport) -> None:
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        report.errors.append(f"{file}: unreadable ({type(exc).__name__}); expected UTF-8 JSONL")
        return
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            report.errors.append(f"{file}:{number}: not valid JSON; skipped")
            continue
        text = next((row[k] for k in TEXT_FIELDS if isinstance(row, dict) and row.get(k)), None)
        if not isinstance(text, str):
            report.errors.append(f"{file}:{number}: no text field ({', '.join(TEXT_FIELDS)})")
            continue
        row_id = str(row.get("id") or f"{file.stem}:{number}")
        source = str(row.get("source") or row.get("book_title") or file.name)
        report.passages.append(
            Passage(
                row_id, text, str(row.get("title") or ""), source, str(row.get("license") or "")
            )
        )


def _read_document(file: Path, report: LoadReport) -> None:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.errors.append(f"{file}: unreadable ({type(exc).__name__}); expected UTF-8 text")
        return
    blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
    for number, block in enumerate(_merge_short(blocks), 1):
        report.passages.append(Passage(f"{file.stem}#{number}", block, file.stem, str(file)))


def _merge_short(blocks: list[str], target: int = 600) -> list[str]:
    """Join paragraphs up to about `target` characters; a paragraph is never split."""
    merged: list[str] = []
    for block in blocks:
        if merged and len(merged[-1]) + len(block) < target:
            merged[-1] = merged[-1] + "\n\n" + block
        else:
            merged.append(block)
    return merged
