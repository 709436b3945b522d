"""A FAISS index over passages, saved as a folder that is safe to load.

Layout: `index.faiss` (vectors), `passages.jsonl` (metadata as plain JSON, never pickle) and
`manifest.json` (embedding model, dimension, corpus hash, format version). Loading checks the
manifest against the embeddings in use, because vectors from another model are meaningless.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from verimath.errors import IndexFormatError
from verimath.retrieval.embeddings import embedding_model_name
from verimath.retrieval.passage import Hit, Passage

__all__ = ["Index", "Manifest", "corpus_hash", "read_manifest", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_BATCH = 256


@dataclass(frozen=True, slots=True)
class Manifest:
    format_version: int
    embedding_model: str
    dimension: int
    corpus_sha256: str
    count: int
    metric: str = "inner_product"


def corpus_hash(passages: Sequence[Passage]) -> str:
    digest = hashlib.sha256()
    for passage in passages:
        digest.update(json.dumps(passage.to_dict(), sort_keys=True).encode())
        digest.update(b"\n")
    return digest.hexdigest()


class Index:
    """Exact inner-product search over normalised embeddings (cosine similarity)."""

    def __init__(
        self, passages: list[Passage], vectors: Any, embeddings: Any, manifest: Manifest
    ) -> None:
        self.passages = passages
        self._faiss_index = vectors
        self.embeddings = embeddings
        self.manifest = manifest

    def __len__(self) -> int:
        return len(self.passages)

    @classmethod
    def build(cls, passages: Sequence[Passage], embeddings: Any) -> Index:
        import faiss
        import numpy as np

        if not passages:
            raise IndexFormatError("no passages to index; check the corpus sources")
        chunks = [
            embeddings.embed_documents([p.text for p in passages[i : i + _BATCH]])
            for i in range(0, len(passages), _BATCH)
        ]
        matrix = np.asarray([v for chunk in chunks for v in chunk], dtype="float32")
        faiss.normalize_L2(matrix)
        vectors = faiss.IndexFlatIP(matrix.shape[1])
        vectors.add(matrix)
        manifest = Manifest(
            FORMAT_VERSION,
            embedding_model_name(embeddings),
            int(matrix.shape[1]),
            corpus_hash(passages),
            len(passages),
        )
        return cls(list(passages), vectors, embeddings, manifest)

    def search(self, query: str, k: int = 4) -> list[Hit]:
        import faiss
        import numpy as np

        vector = np.asarray([self.embeddings.embed_query(query)], dtype="float32")
        faiss.normalize_L2(vector)
        scores, ids = self._faiss_index.search(vector, min(k, len(self.passages)))
        return [
            Hit(self.passages[i], float(s))
            for s, i in zip(scores[0], ids[0], strict=True)
            if i >= 0
        ]

    def save(self, folder: str | Path) -> Path:
        """Write atomically: a half-written index never replaces a good one."""
        import faiss

        target = Path(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".verimath-index-", dir=target.parent))
        try:
            faiss.write_index(self._faiss_index, str(staging / "index.faiss"))
            with (staging / "passages.jsonl").open("w", encoding="utf-8") as out:
                for passage in self.passages:
                    out.write(json.dumps(passage.to_dict(), ensure_ascii=False) + "\n")
            manifest = json.dumps(asdict(self.manifest), indent=2)
            (staging / "manifest.json").write_text(manifest, encoding="utf-8")
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    @classmethod
    def load(cls, folder: str | Path, embeddings: Any) -> Index:
        import faiss

        folder = Path(folder)
        manifest = read_manifest(folder)
        expected = embedding_model_name(embeddings)
        if manifest.embedding_model != expected:
            raise IndexFormatError(
                f"index '{folder}' was built with '{manifest.embedding_model}', not '{expected}'; "
                "rebuild it with `verimath index build` or use the same embeddings"
            )
        try:
            vectors = faiss.read_index(str(folder / "index.faiss"))
            lines = (folder / "passages.jsonl").read_text(encoding="utf-8").splitlines()
            passages = [Passage.from_dict(json.loads(line)) for line in lines if line.strip()]
        except (OSError, RuntimeError, ValueError) as exc:
            raise IndexFormatError(
                f"index '{folder}' is damaged ({type(exc).__name__}); rebuild it"
            ) from exc
        if len(passages) != manifest.count or vectors.ntotal != manifest.count:
            raise IndexFormatError(f"index '{folder}' is incomplete; rebuild it")
        return cls(passages, vectors, embeddings, manifest)


def read_manifest(folder: Path) -> Manifest:
    path = folder / "manifest.json"
    if not path.is_file():
        raise IndexFormatError(
            f"'{folder}' is not a verimath index (no manifest.json); build one with "
            "`verimath index build SOURCES -o DIR`"
        )
    try:
        manifest = Manifest(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise IndexFormatError(f"index '{folder}' has an unreadable manifest; rebuild it") from exc
    if manifest.format_version != FORMAT_VERSION:
        raise IndexFormatError(
            f"index '{folder}' has format {manifest.format_version}, this verimath reads "
            f"{FORMAT_VERSION}; rebuild it"
        )
    return manifest
