"""The index over the shipped corpus: built once on first use, then loaded from the cache."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from verimath.corpora import default_corpus_files
from verimath.errors import IndexFormatError
from verimath.retrieval.corpus import load_passages
from verimath.retrieval.embedding_cache import EmbeddingCache
from verimath.retrieval.embeddings import embedding_model_name
from verimath.retrieval.index import Index, corpus_hash

__all__ = ["cache_dir", "default_index"]


def cache_dir() -> Path:
    """`$VERIMATH_CACHE`, else the XDG cache folder."""
    if os.environ.get("VERIMATH_CACHE"):
        return Path(os.environ["VERIMATH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "verimath"


def default_index(embeddings: Any) -> Index:
    """Load the cached default index, building it when the corpus or the model changed."""
    report = load_passages(default_corpus_files())
    digest = corpus_hash(report.passages)
    model = embedding_model_name(embeddings).replace("/", "--")
    folder = cache_dir() / f"default-{model}-{digest[:12]}"
    if folder.is_dir():
        try:
            return Index.load(folder, embeddings)
        except IndexFormatError:
            pass  # a damaged cache entry is rebuilt below
    # Editing the shipped corpus re-embeds only the passages that changed.
    cache = EmbeddingCache(cache_dir() / "embeddings.sqlite3")
    index = Index.build(report.passages, embeddings, cache=cache)
    index.save(folder)
    return index
