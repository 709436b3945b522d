"""A search index over passages: FAISS vectors and BM25, fused; saved as a folder safe to load.

Layout: `index.faiss` (vectors), `passages.jsonl` (passages as plain JSON), `bm25/` (bm25s
arrays as `.npy` without pickle, vocabulary and parameters as JSON) and `manifest.json`
(embedding model, dimension, count, kind and parameters, tokeniser, corpus hash, format
version). Loading checks the manifest against the embeddings in use, because vectors from
another model are meaningless.

Search modes: `dense` (cosine over the embeddings), `bm25` (keywords and formula tokens) and
`hybrid` (the default: both, fused by reciprocal rank). Every hit carries its cosine as `score`,
whatever the mode, so a relevance threshold means the same thing in all of them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from verimath.errors import ConfigError, IndexFormatError
from verimath.retrieval.bm25 import Bm25
from verimath.retrieval.embedding_cache import EmbeddingCache, embed_texts
from verimath.retrieval.embeddings import embedding_model_name
from verimath.retrieval.hybrid import reciprocal_rank_fusion
from verimath.retrieval.manifest import FORMAT_VERSION, Manifest, corpus_hash, read_manifest
from verimath.retrieval.passage import Hit, Passage, embedding_text
from verimath.retrieval.screening import screen_passage
from verimath.retrieval.tokens import TOKENIZER
from verimath.retrieval.vectors import (
    HNSW_THRESHOLD,
    IndexKind,
    build_vectors,
    choose_kind,
    configure,
)
from verimath.rows import read_jsonl

__all__ = [
    "Index",
    "Manifest",
    "SearchMode",
    "corpus_hash",
    "read_manifest",
    "FORMAT_VERSION",
    "CANDIDATES",
]

SearchMode = Literal["hybrid", "dense", "bm25"]
CANDIDATES = 50  # how deep each ranking goes before fusion


class Index:
    """Dense, keyword and hybrid search over a fixed list of passages."""

    def __init__(
        self,
        passages: list[Passage],
        vectors: Any,
        bm25: Bm25,
        embeddings: Any,
        manifest: Manifest,
    ) -> None:
        self.passages = passages
        self._vectors = vectors
        self._bm25 = bm25
        self.embeddings = embeddings
        self.manifest = manifest

    def __len__(self) -> int:
        return len(self.passages)

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @classmethod
    def build(
        cls,
        passages: Sequence[Passage],
        embeddings: Any,
        *,
        kind: IndexKind = "auto",
        hnsw_threshold: int = HNSW_THRESHOLD,
        cache: EmbeddingCache | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Index:
        """Screen, embed (only what `cache` lacks) and index `passages`.

        `kind="auto"` is exact search up to `hnsw_threshold` passages and HNSW above it.
        `progress(done, total)` follows the embedding, the slow part.
        """
        if not passages:
            raise IndexFormatError("no passages to index; check the corpus sources")
        chosen = choose_kind(kind, len(passages), hnsw_threshold)
        screened = [screen_passage(p) for p in passages]
        texts = [embedding_text(p) for p in screened]
        model = embedding_model_name(embeddings)
        matrix = embed_texts(texts, embeddings, model, cache=cache, progress=progress)
        vectors, params = build_vectors(matrix, chosen)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            embedding_model=model,
            dimension=int(matrix.shape[1]),
            corpus_sha256=corpus_hash(screened),
            count=len(screened),
            kind=chosen,
            params=params,
            tokenizer=TOKENIZER,
        )
        return cls(screened, vectors, Bm25.build(texts), embeddings, manifest)

    def search(self, query: str, k: int = 4, mode: SearchMode = "hybrid") -> list[Hit]:
        """The `k` best passages for `query`, best first (see the module docstring)."""
        import faiss
        import numpy as np

        if mode not in ("hybrid", "dense", "bm25"):
            raise ConfigError(f"unknown search mode '{mode}'; use hybrid, dense or bm25")
        k = min(k, len(self.passages))
        if k <= 0:
            return []
        vector = np.asarray([self.embeddings.embed_query(query)], dtype="float32")
        faiss.normalize_L2(vector)
        depth = k if mode == "dense" else min(max(k, CANDIDATES), len(self.passages))
        cosines: dict[int, float] = {}
        if mode != "bm25":
            scores, ids = self._vectors.search(vector, depth)
            cosines = {int(i): float(s) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0}
        keyword = dict(self._bm25.top(query, depth)) if mode != "dense" else {}
        order: Sequence[tuple[int, float | None]]  # (passage, fused score: hybrid only)
        if mode == "dense":
            order = [(i, None) for i in cosines]
        elif mode == "bm25":
            order = [(i, None) for i in keyword]
        else:
            order = reciprocal_rank_fusion([list(cosines), list(keyword)])
        hits = []
        for i, fused in order[:k]:
            cosine = cosines.get(i)
            if cosine is None:  # found by BM25 only: its cosine comes from the stored vector
                cosine = float(self._vectors.reconstruct(i) @ vector[0])
            hits.append(Hit(self.passages[i], cosine, fused, keyword.get(i)))
        return hits

    def save(self, folder: str | Path) -> Path:
        """Write atomically: a half-written index never replaces a good one."""
        import faiss

        target = Path(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".verimath-index-", dir=target.parent))
        try:
            faiss.write_index(self._vectors, str(staging / "index.faiss"))
            with (staging / "passages.jsonl").open("w", encoding="utf-8") as out:
                for passage in self.passages:
                    out.write(json.dumps(passage.to_dict(), ensure_ascii=False) + "\n")
            self._bm25.save(staging / "bm25")
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
        if manifest.tokenizer != TOKENIZER:
            raise IndexFormatError(
                f"index '{folder}' uses BM25 tokeniser '{manifest.tokenizer}', this verimath "
                f"uses '{TOKENIZER}'; rebuild it with `verimath index build`"
            )
        try:
            vectors = faiss.read_index(str(folder / "index.faiss"))
            rows = read_jsonl(folder / "passages.jsonl")
            passages = [Passage.from_dict(row) for _, row in rows]
            bm25 = Bm25.load(folder / "bm25")
        except (OSError, RuntimeError, ValueError, KeyError) as exc:
            raise IndexFormatError(
                f"index '{folder}' is damaged ({type(exc).__name__}); rebuild it"
            ) from exc
        if not len(passages) == vectors.ntotal == len(bm25) == manifest.count:
            raise IndexFormatError(f"index '{folder}' is incomplete; rebuild it")
        configure(vectors, manifest.params)
        return cls(passages, vectors, bm25, embeddings, manifest)
