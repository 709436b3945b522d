"""Passages and search hits: the values retrieval hands to the graph."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Passage", "Hit"]


@dataclass(frozen=True, slots=True)
class Passage:
    id: str
    text: str
    title: str = ""
    source: str = ""
    license: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Passage:
        return cls(
            **{k: str(row.get(k) or "") for k in ("id", "text", "title", "source", "license")}
        )


@dataclass(frozen=True, slots=True)
class Hit:
    passage: Passage
    score: float
