"""Embeddings cached by content, so a rebuild only embeds the passages that changed.

The key is sha256(model name, NUL, text): a passage that moved, was renamed or whose metadata
changed keeps its vector; a changed text or another model gets a new one. Vectors live in one
SQLite file (by default `cache_dir()/embeddings.sqlite3`) as raw little-endian float32 bytes
with their dimension: no pickle, safe to share between indexes and between processes (SQLite
locks), and a rebuild into a new folder still hits. The file only grows; delete it to reclaim
the space (the next build re-embeds everything).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verimath.errors import IndexFormatError

__all__ = ["EmbeddingCache", "CacheStats", "content_key", "embed_texts"]

_BATCH = 64  # texts per embed_documents call: small enough for a smooth progress bar
_SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, dim INTEGER, vector BLOB)"


def content_key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Distinct texts looked up: found in the cache, or not (and so embedded by a build)."""

    hits: int = 0
    misses: int = 0


class EmbeddingCache:
    """Normalised float32 vectors by content key. Opens its file on first use."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._connection: sqlite3.Connection | None = None
        self.stats = CacheStats()

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                connection = sqlite3.connect(self.path, timeout=30)
                connection.execute(_SCHEMA)
            except sqlite3.DatabaseError as exc:
                raise IndexFormatError(
                    f"embedding cache '{self.path}' is unreadable ({exc}); delete it"
                ) from exc
            self._connection = connection
        return self._connection

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        import numpy as np

        found: dict[str, Any] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), 500):  # SQLite's limit on bound parameters
            batch = unique[i : i + 500]
            marks = ",".join("?" * len(batch))
            rows = self._db().execute(
                f"SELECT key, dim, vector FROM vectors WHERE key IN ({marks})", batch
            )
            for key, dim, blob in rows:
                if len(blob) == 4 * dim:  # a torn row is a miss, not a crash
                    found[key] = np.frombuffer(blob, dtype="<f4")
        hits = sum(key in found for key in unique)  # a text twice in a corpus counts once
        self.stats = CacheStats(self.stats.hits + hits, self.stats.misses + len(unique) - hits)
        return found

    def put_many(self, items: Sequence[tuple[str, Any]]) -> None:
        import numpy as np

        rows = [
            (key, int(vector.shape[0]), np.asarray(vector, dtype="<f4").tobytes())
            for key, vector in items
        ]
        with self._db() as connection:
            connection.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)

    def __len__(self) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def embed_texts(
    texts: Sequence[str],
    embeddings: Any,
    model: str,
    *,
    cache: EmbeddingCache | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Any:
    """An (n, d) float32 matrix of L2-normalised embeddings, embedding only cache misses.

    `progress(done, total)` is called after each batch, counting only the texts embedded.
    """
    import faiss
    import numpy as np

    keys = [content_key(model, text) for text in texts]
    known = cache.get_many(keys) if cache is not None else {}
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    text_of = dict(zip(keys, texts, strict=True))
    if progress:
        progress(0, len(missing))
    for start in range(0, len(missing), _BATCH):
        batch = missing[start : start + _BATCH]
        vectors = np.asarray(embeddings.embed_documents([text_of[k] for k in batch]), "float32")
        faiss.normalize_L2(vectors)
        known.update(zip(batch, vectors, strict=True))
        if cache is not None:
            cache.put_many(list(zip(batch, vectors, strict=True)))
        if progress:
            progress(min(start + _BATCH, len(missing)), len(missing))
    matrix = np.asarray([known[k] for k in keys], dtype="float32").reshape(len(keys), -1)
    dims = {int(known[k].shape[0]) for k in keys}
    if len(dims) > 1:
        raise IndexFormatError(
            f"embedding cache '{cache.path if cache else ''}' mixes dimensions {sorted(dims)}; "
            "delete it and rebuild"
        )
    return matrix
