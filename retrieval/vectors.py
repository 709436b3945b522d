"""The FAISS part of an index: exact search for small corpora, HNSW for large ones.

`auto` picks HNSW above `HNSW_THRESHOLD` (20,000) passages. Measured on 2 cores (BENCHMARKS.md):
an exact scan of 10K MiniLM vectors answers in about 0.8 ms, 100K in 15 ms and 1M in 150 ms,
growing linearly, while HNSW stays near 1 ms. Embedding the query costs about 11 ms, so up to a
few tens of thousands of passages the exact scan is exact, needs no build time and is not the
bottleneck; above that the scan starts to dominate. HNSW costs about 35 s of build per 100K
vectors (190 s for 300K; 1M did not finish in 10 minutes) and its recall is slightly under 1:
at 10K real passages it returned 0.999 of the exact top 10 (on random vectors, its worst case,
far less).

HNSW parameters: M=32 links per node, efConstruction=80, efSearch=128 (search depth; at least
the number of candidates hybrid search asks for). They are recorded in the manifest.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = [
    "IndexKind",
    "HNSW_THRESHOLD",
    "HNSW_PARAMS",
    "choose_kind",
    "build_vectors",
    "configure",
]

IndexKind = Literal["flat", "hnsw", "auto"]
HNSW_THRESHOLD = 20_000
HNSW_PARAMS = {"M": 32, "ef_construction": 80, "ef_search": 128}


def choose_kind(kind: str, count: int, threshold: int = HNSW_THRESHOLD) -> Literal["flat", "hnsw"]:
    from verimath.errors import ConfigError

    if kind == "auto":
        return "hnsw" if count > threshold else "flat"
    if kind in ("flat", "hnsw"):
        return kind  # type: ignore[return-value]
    raise ConfigError(f"unknown index kind '{kind}'; use flat, hnsw or auto")


def build_vectors(matrix: Any, kind: Literal["flat", "hnsw"]) -> tuple[Any, dict[str, int]]:
    """A FAISS index holding the rows of `matrix` (already normalised), and its parameters."""
    import faiss

    dimension = int(matrix.shape[1])
    index: faiss.Index
    if kind == "flat":
        index, params = faiss.IndexFlatIP(dimension), {}
    else:
        params = dict(HNSW_PARAMS)
        hnsw = faiss.IndexHNSWFlat(dimension, params["M"], faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = params["ef_construction"]
        index = hnsw
    configure(index, params)
    index.add(matrix)
    return index, params


def configure(index: Any, params: dict[str, int]) -> None:
    """Search-time settings, applied after building and again after loading."""
    if "ef_search" in params and hasattr(index, "hnsw"):
        index.hnsw.efSearch = int(params["ef_search"])
