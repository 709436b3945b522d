"""Run-time dependencies, passed to the graph with `context=` (never module globals)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from verimath.models.base import ChatBackend
from verimath.retrieval.index import SearchMode
from verimath.retrieval.passage import Hit
from verimath.tools.verifier import Verifier

__all__ = ["AgentContext", "Settings", "Retriever", "DEFAULT_SYSTEM_PROMPT"]

DEFAULT_SYSTEM_PROMPT = (
    "You are a careful math and science assistant. Reason step by step, then give the final "
    "answer on its own line as \\boxed{...}."
)


class Retriever(Protocol):
    def search(self, query: str, k: int = 4, mode: SearchMode = "hybrid") -> Sequence[Hit]: ...


@dataclass(frozen=True, slots=True)
class Settings:
    """Budgets and policies of one agent. Defaults suit Phi-4-mini-reasoning."""

    max_new_tokens: int = 4096
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    top_k: int = 3
    # Dense, not hybrid: on whole questions (what the graph sends) dense search finds the right
    # passage more often (recall@5 0.866 vs 0.832 on 10K MATH passages, BENCHMARKS.md); hybrid
    # wins on formula-only queries, where `verimath index search` uses it by default.
    search_mode: SearchMode = "dense"
    min_relevance: float = 0.35
    max_attempts: int = 2
    max_question_chars: int = 4000
    max_answer_chars: int = 500
    forced_answer_tokens: int = 48
    # Wall-time bound of one generation call (None: only the token budget bounds it).
    generation_time_limit_s: float | None = None
    system_prompt: str = field(default=DEFAULT_SYSTEM_PROMPT)


@dataclass(frozen=True, slots=True)
class AgentContext:
    backend: ChatBackend
    verifier: Verifier
    retriever: Retriever | None = None
    settings: Settings = field(default_factory=Settings)
