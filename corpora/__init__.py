"""Corpora shipped with verimath. Only paths here: nothing is read at import time."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["default_corpus_path"]


def default_corpus_path() -> Path:
    """The shipped reference corpus (JSONL: id, title, text, source, license)."""
    return Path(str(files("verimath.corpora") / "default.jsonl"))
