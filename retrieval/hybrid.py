"""Reciprocal rank fusion: merge rankings by position, not by their incomparable scores.

A cosine of 0.6 and a BM25 score of 12 cannot be added, but ranks can: each list gives a
passage `1 / (k + rank)`, summed over the lists (Cormack, Clarke and Buettcher, SIGIR 2009).
k = 60 is the paper's value and the common default; it flattens the head of each list so one
list's first place does not drown a passage that both lists rank well.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["reciprocal_rank_fusion", "RRF_K"]

RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], k: int = RRF_K
) -> list[tuple[int, float]]:
    """`(item, fused score)` best first; ties keep the order of first appearance."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])
