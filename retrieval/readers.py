"""Read one corpus file into documents: rows of JSONL/CSV, or a whole .md/.txt/.tex/.pdf file.

Every problem is a `LoadError` naming the file (and the line, for a row) and what to do; the
caller keeps going with the other files and rows. Only a missing optional dependency raises,
because it affects every PDF and has one fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verimath.errors import MissingExtraError
from verimath.rows import RowError, read_rows

__all__ = [
    "Document",
    "LoadError",
    "read_file",
    "SUFFIXES",
    "TEXT_FIELDS",
    "ID_FIELDS",
    "TITLE_FIELDS",
]

TEXT_FIELDS = ("text", "content", "solution", "passage", "body")
ID_FIELDS = ("id", "unique_id", "uid")
TITLE_FIELDS = ("title", "subject")
SUFFIXES = (".jsonl", ".csv", ".md", ".markdown", ".txt", ".tex", ".pdf")


@dataclass(frozen=True, slots=True)
class LoadError:
    """Why a file, or one line of it, was skipped."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Document:
    """A unit before chunking: one row, or one whole file. `pages` are the offsets where each
    PDF page starts in `text`, so a chunk can say which page it came from; the chunks of a
    `whole_file` document are always numbered (`notes#1`), a row's only when there are several."""

    id: str
    text: str
    title: str = ""
    source: str = ""
    license: str = ""
    section: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    pages: tuple[int, ...] = ()
    whole_file: bool = False


def read_file(file: Path, doc_id: str) -> tuple[list[Document], list[LoadError]]:
    """Documents in `file`; `doc_id` names a whole-file document (its path without suffix)."""
    suffix = file.suffix.lower()
    if suffix == ".pdf":
        return _read_pdf(file, doc_id)
    if suffix in (".jsonl", ".csv"):
        return _read_rows(file)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return [], [LoadError(str(file), f"not UTF-8 (byte {exc.start}); re-save it as UTF-8")]
    except OSError as exc:
        return [], [LoadError(str(file), f"unreadable ({exc.strerror or type(exc).__name__})")]
    if suffix == ".tex":
        title = _first(r"\\title\{([^{}\n]+)\}", text) or file.stem
        text = _tex_body(text)
    else:
        title = _first(r"^#[ \t]+(.+?)[ \t#]*$", text) or file.stem
    if not text.strip():
        return [], [LoadError(str(file), "empty; nothing to index")]
    return [Document(doc_id, text, title, str(file), whole_file=True)], []


def _read_rows(file: Path) -> tuple[list[Document], list[LoadError]]:
    """Documents from the rows of a JSONL or CSV file; a bad row is skipped and reported."""
    documents: list[Document] = []
    errors: list[LoadError] = []

    def skip(problem: RowError) -> None:
        errors.append(LoadError(problem.path, f"{problem.reason}; skipped", problem.line))

    try:
        for number, row in read_rows(file, on_error=skip):
            document = _row_document(row, file, number)
            if isinstance(document, LoadError):
                errors.append(document)
            else:
                documents.append(document)
    except RowError as exc:  # the file as a whole: unreadable, or a CSV file not in UTF-8
        return [], [LoadError(exc.path, f"{exc.reason}; {exc.fix}", exc.line)]
    return documents, errors


def _row_document(row: Mapping[str, Any], file: Path, line: int) -> Document | LoadError:
    key = next((k for k in TEXT_FIELDS if isinstance(row.get(k), str) and row[k].strip()), None)
    if key is None:
        return LoadError(str(file), f"no text field ({', '.join(TEXT_FIELDS)}); skipped", line)
    id_key = next((k for k in ID_FIELDS if row.get(k) not in (None, "")), None)
    title_key = next((k for k in TITLE_FIELDS if row.get(k) not in (None, "")), None)
    used = {key, id_key, title_key, "source", "license", "section"}
    metadata = {
        str(k): str(v)
        for k, v in row.items()
        if k and k not in used and isinstance(v, str | int | float | bool) and v != ""
    }
    return Document(
        id=str(row[id_key]) if id_key else f"{file.stem}:{line}",
        text=row[key],
        title=str(row[title_key]) if title_key else "",
        source=str(row.get("source") or row.get("book_title") or file.name),
        license=str(row.get("license") or ""),
        section=str(row.get("section") or ""),
        metadata=metadata,
    )


def _read_pdf(file: Path, doc_id: str) -> tuple[list[Document], list[LoadError]]:
    try:
        from pypdf import PdfReader
    except ImportError as exc:
        raise MissingExtraError(
            f"reading '{file}' needs pypdf; install it with pip install 'verimath[pdf]'"
        ) from exc
    try:
        reader = PdfReader(file)
        if reader.is_encrypted:
            return [], [LoadError(str(file), "encrypted PDF; decrypt it first (e.g. qpdf)")]
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = str((info.get("/Title") if info else None) or "").strip() or file.stem
    except Exception as exc:  # pypdf raises many types on damaged files; one file, one error
        return [], [LoadError(str(file), f"unreadable PDF ({type(exc).__name__}: {exc})")]
    offsets, parts, position = [], [], 0
    for page in pages:
        offsets.append(position)
        parts.append(page)
        position += len(page) + 2
    text = "\n\n".join(parts)
    if not text.strip():
        return [], [LoadError(str(file), "no extractable text (a scan?); run OCR on it first")]
    return [Document(doc_id, text, title, str(file), pages=tuple(offsets), whole_file=True)], []


def _tex_body(text: str) -> str:
    """Drop comments and the preamble: what is between \\begin{document} and \\end{document}."""
    text = re.sub(r"(?<!\\)%[^\n]*", "", text)
    body = re.search(r"\\begin\{document\}(.*?)(?:\\end\{document\}|\Z)", text, re.S)
    return body.group(1) if body else text


def _first(pattern: str, text: str) -> str:
    found = re.search(pattern, text, re.M)
    return found.group(1).strip() if found else ""
