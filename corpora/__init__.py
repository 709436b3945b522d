"""Corpora shipped with verimath. Only paths here: nothing is read at import time.

- `default.jsonl`: reference passages written for verimath (CC0-1.0).
- `constants.jsonl`, `elements.jsonl`: facts generated from scipy.constants and periodictable by
  `python -m corpora.generate` from a checkout (corpora/generate/, a maintainer's tool that the
  wheel leaves out); each row names its source and licence.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["default_corpus_files", "default_corpus_path"]


def _folder() -> Path:
    return Path(str(files("verimath.corpora")))


def default_corpus_path() -> Path:
    """The hand-written reference corpus (JSONL: id, title, text, source, license)."""
    return _folder() / "default.jsonl"


def default_corpus_files() -> list[Path]:
    """Every shipped corpus file (JSONL, this folder and below), in a stable order."""
    return sorted(_folder().rglob("*.jsonl"))
