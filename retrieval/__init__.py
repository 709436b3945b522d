"""Retrieval: passages, corpus loading, embeddings and the FAISS index."""

from verimath.retrieval.corpus import LoadReport, load_passages
from verimath.retrieval.default_index import cache_dir, default_index
from verimath.retrieval.embeddings import default_embeddings, embedding_model_name
from verimath.retrieval.index import Index, Manifest, read_manifest
from verimath.retrieval.passage import Hit, Passage

__all__ = [
    "Passage",
    "Hit",
    "Index",
    "Manifest",
    "read_manifest",
    "LoadReport",
    "load_passages",
    "default_embeddings",
    "embedding_model_name",
    "default_index",
    "cache_dir",
]
