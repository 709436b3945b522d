"""A corpus: the passages in some files and folders, chunked, and what could not be read.

    corpus = Corpus.from_paths(["notes/", "papers/lecture.pdf", "rows.jsonl"])
    corpus.passages   # list[Passage], every one at most MAX_CHARS long (formulas stay whole)
    corpus.errors     # list[LoadError]: one per unreadable file, or per bad line of a JSONL/CSV

Formats: `.jsonl` and `.csv` (one document per row, its text in the first of `TEXT_FIELDS`;
`id`/`unique_id`, `title`/`subject`, `section`, `source`, `license` are used, other scalar
fields kept as metadata), and whole-file documents `.md`, `.markdown`, `.txt`, `.tex`, `.pdf`
(PDF needs the `pdf` extra). Files of other types inside a folder are listed in `skipped`;
hidden files and folders are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from verimath.errors import InputFileError
from verimath.retrieval.chunking import MAX_CHARS, MIN_CHARS, chunk_text
from verimath.retrieval.passage import Passage
from verimath.retrieval.readers import SUFFIXES, TEXT_FIELDS, Document, LoadError, read_file

__all__ = ["Corpus", "LoadReport", "LoadError", "load_passages", "TEXT_FIELDS", "SUFFIXES"]


@dataclass
class Corpus:
    """Passages ready to index, with the per-file and per-line errors met on the way."""

    passages: list[Passage] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    files: int = 0

    def __len__(self) -> int:
        return len(self.passages)

    def __iter__(self) -> Iterator[Passage]:
        return iter(self.passages)

    @classmethod
    def from_paths(
        cls,
        paths: Iterable[str | Path],
        *,
        max_chars: int = MAX_CHARS,
        min_chars: int = MIN_CHARS,
    ) -> Corpus:
        """Every passage in the given files and folders (folders are searched recursively)."""
        corpus = cls()
        for source in paths:
            root = Path(source)
            if not root.exists():
                raise InputFileError(f"corpus source '{source}' does not exist; check the path")
            for file, doc_id in _files(root, corpus.skipped):
                documents, errors = read_file(file, doc_id)
                corpus.files += 1
                corpus.errors.extend(errors)
                for document in documents:
                    corpus.passages.extend(_chunk(document, max_chars, min_chars))
        return corpus


LoadReport = Corpus  # the v0 name, kept for callers of `load_passages`


def load_passages(sources: Iterable[str | Path]) -> Corpus:
    """`Corpus.from_paths(sources)` with the default chunk size."""
    return Corpus.from_paths(sources)


def _files(root: Path, skipped: list[str]) -> Iterator[tuple[Path, str]]:
    """Supported files under `root`, each with a document id: its path without suffix."""
    if not root.is_dir():
        if root.suffix.lower() in SUFFIXES:
            yield root, root.stem
        else:
            skipped.append(str(root))
        return
    for file in sorted(root.rglob("*")):
        relative = file.relative_to(root)
        if not file.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        if file.suffix.lower() in SUFFIXES:
            yield file, relative.with_suffix("").as_posix()
        else:
            skipped.append(str(file))


def _chunk(document: Document, max_chars: int, min_chars: int) -> list[Passage]:
    """A row that fits keeps its id; longer rows and whole files get `#1`, `#2`, ..."""
    chunks = chunk_text(document.text, max_chars, min_chars)
    numbered = len(chunks) > 1 or document.whole_file
    passages = []
    for number, chunk in enumerate(chunks, 1):
        metadata = dict(document.metadata)
        if chunk.heading and chunk.heading != document.title:
            metadata["heading"] = chunk.heading
        if document.pages:
            metadata["page"] = str(sum(1 for start in document.pages if start <= chunk.start))
        if numbered:
            metadata["parent"] = document.id
        passages.append(
            Passage(
                id=f"{document.id}#{number}" if numbered else document.id,
                text=chunk.text,
                title=document.title,
                source=document.source,
                license=document.license,
                section=document.section or metadata.get("heading", ""),
                metadata=metadata,
            )
        )
    return passages
