"""Keyword search over the passages: bm25s with the formula-aware tokeniser.

bm25s is used because it precomputes the BM25 score of every (term, document) pair into a
sparse matrix (so a query is a sum of a few columns, milliseconds at 100K passages), and it
saves that matrix as `.npy` arrays (written and read with `allow_pickle=False`) plus JSON
vocabulary and parameters, so the saved index stays pickle-free. Tokenising is ours (`tokens`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from verimath.retrieval.tokens import tokenize

__all__ = ["Bm25"]


class Bm25:
    """BM25 (Lucene variant, k1=1.5, b=0.75: the bm25s defaults) over a fixed list of texts."""

    def __init__(self, model: Any) -> None:
        self._model = model

    @classmethod
    def build(cls, texts: Sequence[str]) -> Bm25:
        import bm25s

        model = bm25s.BM25()
        model.index([tokenize(text) for text in texts], show_progress=False)
        return cls(model)

    def __len__(self) -> int:
        return int(self._model.scores["num_docs"])

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """Up to `k` `(position, score)` pairs, best first; passages with no query term left out."""
        import numpy as np

        ids = self._model.get_tokens_ids(tokenize(query))
        if not ids or k <= 0:
            return []
        scores = self._model.get_scores_from_ids(ids)
        k = min(k, len(scores))
        best = np.sort(np.argpartition(-scores, k - 1)[:k])  # ties: earlier passage first
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(int(i), float(scores[i])) for i in best if scores[i] > 0]

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), allow_pickle=False, show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> Bm25:
        import bm25s

        return cls(bm25s.BM25.load(str(folder), allow_pickle=False, show_progress=False))
