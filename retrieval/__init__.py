"""Retrieval: corpus loading and chunking, embeddings, and the hybrid FAISS + BM25 index."""

from verimath.retrieval.chunking import MAX_CHARS, Chunk, chunk_text, math_spans
from verimath.retrieval.corpus import Corpus, LoadError, LoadReport, load_passages
from verimath.retrieval.default_index import cache_dir, default_index
from verimath.retrieval.embedding_cache import CacheStats, EmbeddingCache
from verimath.retrieval.embeddings import default_embeddings, embedding_model_name
from verimath.retrieval.hybrid import reciprocal_rank_fusion
from verimath.retrieval.index import Index, Manifest, SearchMode, read_manifest
from verimath.retrieval.manifest import FORMAT_VERSION, size_on_disk
from verimath.retrieval.passage import Hit, Passage, embedding_text
from verimath.retrieval.screening import screen_passage, screen_text
from verimath.retrieval.tokens import tokenize
from verimath.retrieval.vectors import HNSW_THRESHOLD, IndexKind

__all__ = [
    "Passage",
    "Hit",
    "embedding_text",
    "Corpus",
    "LoadError",
    "LoadReport",
    "load_passages",
    "Chunk",
    "chunk_text",
    "math_spans",
    "MAX_CHARS",
    "Index",
    "IndexKind",
    "SearchMode",
    "HNSW_THRESHOLD",
    "Manifest",
    "FORMAT_VERSION",
    "read_manifest",
    "size_on_disk",
    "EmbeddingCache",
    "CacheStats",
    "tokenize",
    "reciprocal_rank_fusion",
    "screen_text",
    "screen_passage",
    "default_embeddings",
    "embedding_model_name",
    "default_index",
    "cache_dir",
]
