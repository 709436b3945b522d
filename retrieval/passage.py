"""Passages and search hits: the values retrieval hands to the graph."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Passage", "Hit", "embedding_text"]


@dataclass(frozen=True, slots=True)
class Passage:
    """One retrievable piece of text with where it came from.

    `section` locates the passage inside its document (a textbook section number, or the
    heading it falls under); `metadata` keeps the other scalar fields of its source row
    (subject, level, url, page, heading...) as strings, so every passage stays JSON-safe.
    `flags` names the instruction-like text that screening neutralised (see `screening`).
    """

    id: str
    text: str
    title: str = ""
    source: str = ""
    license: str = ""
    section: str = ""
    metadata: dict[str, str] = field(default_factory=dict, hash=False)
    flags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "title": self.title,
            "source": self.source,
            "license": self.license,
            "section": self.section,
            "metadata": dict(self.metadata),
            "flags": list(self.flags),
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Passage:
        fields = ("id", "text", "title", "source", "license", "section")
        metadata = row.get("metadata") or {}
        return cls(
            **{k: str(row.get(k) or "") for k in fields},
            metadata={str(k): str(v) for k, v in dict(metadata).items()},
            flags=tuple(str(f) for f in row.get("flags") or ()),
        )


def embedding_text(passage: Passage) -> str:
    """What is embedded and BM25-indexed: a one-line header (title, section, heading) and the
    text. A chunk from the middle of a long section is then still about its section's topic.
    A solved problem (a row with a `problem` field) leads with its problem, so a question
    finds the problems like it (the embedding model reads only the first 256 tokens)."""
    heading = passage.metadata.get("heading", "")
    parts = [passage.title, passage.section, heading if heading != passage.section else ""]
    header = " - ".join(p for p in parts if p)
    problem = passage.metadata.get("problem", "")
    body = f"{problem}\n\n{passage.text}" if problem else passage.text
    return f"{header}\n\n{body}" if header else body


@dataclass(frozen=True, slots=True)
class Hit:
    """A passage found by a search.

    `score` is always the cosine similarity between the query and the passage embedding, in
    every search mode: the graph's `min_relevance` threshold reads it. `fused` is the
    reciprocal-rank-fusion score (hybrid search only) and `bm25` the BM25 score (None when the
    passage matched no query term or BM25 was not used); hits are ordered by the mode's own
    ranking, so in hybrid mode by `fused`.
    """

    passage: Passage
    score: float
    fused: float | None = None
    bm25: float | None = None
