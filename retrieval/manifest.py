"""The manifest of a saved index: what it was built with, checked before anything is loaded.

Format 2 (this version) added the index kind and its parameters, the BM25 tokeniser and the
`bm25/` folder; passages gained `section`, `metadata` and `flags`. A folder of another format
is refused with the command that rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from verimath.errors import IndexFormatError
from verimath.retrieval.passage import Passage

__all__ = ["Manifest", "FORMAT_VERSION", "corpus_hash", "read_manifest", "size_on_disk"]

FORMAT_VERSION = 2


@dataclass(frozen=True, slots=True)
class Manifest:
    format_version: int
    embedding_model: str
    dimension: int
    corpus_sha256: str
    count: int
    metric: str = "inner_product"
    kind: str = "flat"
    params: dict[str, int] = field(default_factory=dict, hash=False)
    tokenizer: str = ""


def corpus_hash(passages: Sequence[Passage]) -> str:
    digest = hashlib.sha256()
    for passage in passages:
        digest.update(json.dumps(passage.to_dict(), sort_keys=True).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def read_manifest(folder: str | Path) -> Manifest:
    folder = Path(folder)
    path = folder / "manifest.json"
    if not path.is_file():
        raise IndexFormatError(
            f"'{folder}' is not a verimath index (no manifest.json); build one with "
            "`verimath index build SOURCES -o DIR`"
        )
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        version = raw.get("format_version") if isinstance(raw, dict) else None
    except (OSError, ValueError) as exc:
        raise IndexFormatError(f"index '{folder}' has an unreadable manifest; rebuild it") from exc
    if version != FORMAT_VERSION:
        raise IndexFormatError(
            f"index '{folder}' has format {version}, this verimath reads {FORMAT_VERSION}; "
            "rebuild it with `verimath index build SOURCES -o DIR`"
        )
    known = {f.name for f in fields(Manifest)}
    try:
        return Manifest(**{k: v for k, v in raw.items() if k in known})
    except TypeError as exc:
        raise IndexFormatError(f"index '{folder}' has an incomplete manifest; rebuild it") from exc


def size_on_disk(folder: str | Path) -> int:
    """Bytes of every file in the index folder."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
