"""OpenTelemetry spans of every run: `Agent(tracing=True)` sends them to the global tracer
provider (the one `opentelemetry-instrument` or the application's own SDK setup installs),
`Agent(tracing=provider)` to that provider. Needs `pip install 'verimath[otel]'`. An agent
without `tracing` never imports this module, so it pays nothing and needs no OpenTelemetry.

One run (one `ask`, one turn, one resumed review) is one tree of spans:

    invoke_agent verimath                  the run: a GenAI agent span
    ├── guard_input                        one span per node that ran, named after the node
    ├── retrieve
    │   └── retrieval passages             each search: a GenAI retrieval span
    ├── generate                           one per candidate; the branches run side by side
    │   └── chat {model}                   each model call: a GenAI inference span
    ├── verify
    │   └── execute_tool check_answer      each call into the SymPy sandbox: a GenAI tool span
    └── finalize

Where the GenAI semantic conventions define the operation (invoking an agent, calling a model,
executing a tool, retrieving), the span has their name and `gen_ai.*` attributes. The nodes,
which the conventions do not define, and what only verimath knows (statuses, checks, passage
ids) are `verimath.*`; token counts of a node are `verimath.usage.*`, so that a backend summing
`gen_ai.usage.*` over the `chat` spans does not count them twice. No text is recorded: not the
question, passages, prompts, answers or evidence (the conventions make content opt-in); ids,
counts, statuses, check names and outcomes are.

How: the node spans come from a LangChain callback handler in the run's config (LangGraph
reports each node's start, its update and its errors), and the GenAI spans from thin wrappers
around the run's backend, verifier and retrievers (`dataclasses.replace` of the run's
`AgentContext`), so no node knows about tracing. A node's span is the current span while the
node runs (the handler runs inline, in the node's own context), so whatever its work traces,
ours or another library's, nests under it, also in the `generate` branches on pool threads.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langgraph.errors import GraphBubbleUp

from verimath.errors import MissingExtraError
from verimath.graphs import AgentContext
from verimath.graphs.contracts import Completion, Message, OnText, SamplingParams
from verimath.graphs.contracts import Retriever as RetrieverContract
from verimath.graphs.contracts import Verifier as VerifierContract
from verimath.retrieval import Index
from verimath.retrieval.index import SearchMode
from verimath.retrieval.passage import Hit
from verimath.tools.programs import ProgramRun
from verimath.tools.verdict import Equivalence, Verdict

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
except ImportError as exc:  # the optional extra is missing
    raise MissingExtraError(
        "tracing needs the OpenTelemetry API; install it with pip install 'verimath[otel]'"
    ) from exc

__all__ = ["Tracing", "GraphSpans"]

AGENT_NAME = "verimath"
Attributes = dict[str, Any]


class Tracing:
    """One agent's tracer. Each run gets its own span handler and traced dependencies, so runs
    in parallel (`batch`, a server's threads) never share a span."""

    def __init__(self, tracer_provider: Any = None) -> None:
        from verimath import __version__

        self.tracer = trace.get_tracer(AGENT_NAME, __version__, tracer_provider=tracer_provider)
        self.version = __version__

    def run(
        self, context: AgentContext, thread_id: str | None = None
    ) -> tuple[GraphSpans, AgentContext]:
        """The callback handler for one run's config, and its context with traced backend,
        verifier and retrievers."""
        backend, tracer = context.backend, self.tracer
        provider, kind = provider_name(backend)
        root = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": AGENT_NAME,
            "gen_ai.agent.version": self.version,
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": backend.name,
            "gen_ai.conversation.id": thread_id,
        }
        retriever, examples = context.retriever, context.examples
        traced = replace(
            context,
            backend=TracedBackend(backend, tracer, provider, kind),
            verifier=TracedVerifier(context.verifier, tracer),
            retriever=None if retriever is None else TracedRetriever(retriever, "passages", tracer),
            examples=None if examples is None else TracedRetriever(examples, "examples", tracer),
        )
        return GraphSpans(tracer, _clean(root)), traced


def provider_name(backend: Any) -> tuple[str, SpanKind]:
    """`gen_ai.provider.name` for a backend, and the kind of its spans: CLIENT for a model
    behind a server, INTERNAL for one in this process (as the conventions allow). The
    conventions' well-known providers are hosted APIs; a local runtime is named by itself."""
    from verimath.models import (
        LangChainBackend,
        LlamaCppBackend,
        OpenAIBackend,
        ScriptedBackend,
        TransformersBackend,
    )

    known: list[tuple[type, str, SpanKind]] = [
        (OpenAIBackend, "openai", SpanKind.CLIENT),  # the OpenAI API, whoever serves it
        (LangChainBackend, "langchain", SpanKind.CLIENT),
        (TransformersBackend, "transformers", SpanKind.INTERNAL),
        (LlamaCppBackend, "llama.cpp", SpanKind.INTERNAL),
        (ScriptedBackend, "verimath.scripted", SpanKind.INTERNAL),
    ]
    for cls, name, kind in known:
        if isinstance(backend, cls):
            return name, kind
    return type(backend).__name__, SpanKind.INTERNAL


# ---- node spans ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Open:
    span: Span
    token: object | None  # the attached context while the node runs; None for the run's span
    node: str
    inputs: Any


class GraphSpans(BaseCallbackHandler):
    """The spans of one graph run, from LangGraph's callbacks: the run's span when the graph
    starts, and one span per node, each ended with attributes read from the update the node
    returned (`node_attributes`). Routers and channel writes inside a node are part of it.

    An interrupt (human review) ends its node's span with `verimath.interrupted`, and the run's
    too; a stream its caller stopped reading ends the run's span with `verimath.cancelled`.
    Neither is an error. An exception is recorded on the span it went through, with status
    ERROR and `error.type`."""

    # Called in the node's own thread and context, where the node's span is attached: sync
    # runs call every handler inline anyway; this keeps it so under an async runner too.
    run_inline = True

    def __init__(self, tracer: Tracer, run_attributes: Attributes) -> None:
        self._tracer = tracer
        self._run_attributes = run_attributes
        self._root: UUID | None = None
        self._open: dict[UUID, _Open] = {}
        self._interrupted = False
        self._lock = threading.Lock()

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        node = (metadata or {}).get("langgraph_node")
        with self._lock:
            if self._root is None:  # the first chain of the run is the graph itself
                self._root = run_id
                name = f"invoke_agent {AGENT_NAME}"
                span = self._tracer.start_span(name, attributes=self._run_attributes)
                self._open[run_id] = _Open(span, None, "", inputs)
                return
            if node is None or kwargs.get("name") != node:
                return
            parent = self._open.get(parent_run_id or self._root) or self._open.get(self._root)
        attributes = {
            "verimath.node": node,
            "verimath.step": (metadata or {}).get("langgraph_step"),
        }
        span = self._tracer.start_span(
            node,
            context=trace.set_span_in_context(parent.span) if parent else None,
            attributes=_clean({**attributes, **start_attributes(node, inputs)}),
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        with self._lock:
            self._open[run_id] = _Open(span, token, node, inputs)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        opened = self._close(run_id)
        if opened is None:
            return
        if opened.token is None:
            attributes = run_attributes(outputs, interrupted=self._interrupted)
        else:
            attributes = node_attributes(opened.node, opened.inputs, outputs)
        opened.span.set_attributes(_clean(attributes))
        opened.span.end()

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        opened = self._close(run_id)
        if opened is None:
            return
        span = opened.span
        if isinstance(error, GraphBubbleUp):  # an interrupt (review): the run waits, unharmed
            self._interrupted = True
            span.set_attribute("verimath.interrupted", True)
        elif isinstance(error, GeneratorExit):  # the caller stopped reading a stream
            span.set_attribute("verimath.cancelled", True)
        else:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            span.set_attribute("error.type", type(error).__qualname__)
        span.end()

    def _close(self, run_id: UUID) -> _Open | None:
        with self._lock:
            opened = self._open.pop(run_id, None)
        if opened is not None and opened.token is not None:
            otel_context.detach(opened.token)  # type: ignore[arg-type]
        return opened


def start_attributes(node: str, inputs: Any) -> Attributes:
    """What a node's span says from the start: a `generate` branch, which candidate it is."""
    if node != "generate" or not isinstance(inputs, Mapping):
        return {}
    return {
        "verimath.candidate.index": inputs.get("index"),
        "verimath.candidate.kind": inputs.get("kind") or "solution",
        "verimath.candidate.retry_of": inputs.get("retry_of"),
    }


def node_attributes(node: str, inputs: Any, update: Any) -> Attributes:
    """What a node's span says when it ends, read from the update the node returned (and for
    `verify` from the state it was given, to tell this step's candidates from earlier ones)."""
    if not isinstance(update, Mapping):
        return {}
    if node == "guard_input":
        return {
            "verimath.refused": bool(update.get("refusal")),
            "verimath.guardrails": list(update.get("guardrails") or ()),  # verimath's own notes
        }
    if node == "retrieve":
        passages, examples = update.get("passages") or [], update.get("examples") or []
        return {
            **_hits("verimath.passage", passages),
            **(_hits("verimath.example", examples) if examples else {}),
        }
    if node == "generate":
        drafts = update.get("drafts") or []
        return _generation(drafts[0].candidate) if drafts else {}
    if node == "verify":
        before = len(inputs.get("candidates") or []) if isinstance(inputs, Mapping) else 0
        return _verification(update, before)
    if node == "review":
        return {"verimath.review.action": "override" if "candidates" in update else "approve"}
    if node == "finalize":
        answered = update.get("answer") is not None
        return {"verimath.status": update.get("status"), "verimath.answered": answered}
    return {}


def run_attributes(state: Any, *, interrupted: bool) -> Attributes:
    """What the run's span says when it ends: its status and its tokens over every call."""
    if not isinstance(state, Mapping):
        return {}
    return {
        "verimath.status": None if interrupted else state.get("status"),
        "verimath.interrupted": interrupted or None,
        "verimath.candidates": len(state.get("candidates") or []),
        "gen_ai.usage.input_tokens": state.get("prompt_tokens"),
        "gen_ai.usage.output_tokens": state.get("completion_tokens"),
    }


def _hits(prefix: str, hits: Sequence[Hit]) -> Attributes:
    return {
        f"{prefix}_ids": [hit.passage.id for hit in hits],
        f"{prefix}_scores": [round(float(hit.score), 4) for hit in hits],
    }


def _generation(candidate: Any) -> Attributes:
    generation = candidate.generation
    return {
        "verimath.usage.input_tokens": generation.prompt_tokens,
        "verimath.usage.output_tokens": generation.completion_tokens,
        "verimath.finish_reason": generation.finish_reason,
        "verimath.forced": generation.forced,
        "verimath.answered": generation.answer is not None,
        "verimath.programs": len(generation.programs),
    }


def _verification(update: Mapping[str, Any], before: int) -> Attributes:
    """This step's candidates and each of their checks (aligned lists: one item per check),
    the selection, and the step planned next ("done" when the answer is settled)."""
    checked = list(enumerate(update.get("candidates") or [], start=0))[before:]
    checks = [
        (index, check)
        for index, candidate in checked
        for check in (candidate.verdict.checks if candidate.verdict else ())
    ]
    selection, step = update.get("selection"), update.get("next_step")
    attributes: Attributes = {
        "verimath.checked": [index for index, _ in checked],
        "verimath.verdicts": [candidate.status for _, candidate in checked],
        "verimath.check.candidates": [index for index, _ in checks],
        "verimath.check.names": [check.name for _, check in checks],
        "verimath.check.outcomes": [check.outcome for _, check in checks],
        "verimath.next_step": step.kind if step is not None else "done",
        "verimath.next_step.retry_of": step.retry_of if step is not None else None,
    }
    if selection is not None:
        attributes |= {
            "verimath.selection.status": selection.status,
            "verimath.selection.chosen": selection.chosen,
            "verimath.selection.votes": selection.votes,
        }
    return attributes


def _clean(attributes: Mapping[str, Any]) -> Attributes:
    """Attributes without the unknown ones: OpenTelemetry takes no None."""
    return {key: value for key, value in attributes.items() if value is not None}


# ---- GenAI operation spans -------------------------------------------------------------------


@contextlib.contextmanager
def _operation(
    tracer: Tracer, name: str, attributes: Attributes, kind: SpanKind = SpanKind.INTERNAL
) -> Iterator[Span]:
    """A span around one operation, current while it runs (so anything it traces nests under
    it); an exception is recorded, with `error.type`, and raised on."""
    with tracer.start_as_current_span(name, kind=kind, attributes=_clean(attributes)) as span:
        try:
            yield span
        except Exception as exc:
            span.set_attribute("error.type", type(exc).__qualname__)
            raise


class TracedBackend:
    """The run's backend, each call a GenAI inference span `chat {model}` with the request's
    budget and sampling, and the tokens and finish reason of the reply."""

    def __init__(self, backend: Any, tracer: Tracer, provider: str, kind: SpanKind) -> None:
        self._backend, self._tracer, self._provider, self._kind = backend, tracer, provider, kind

    @property
    def name(self) -> str:
        return str(self._backend.name)

    @name.setter
    def name(self, value: str) -> None:
        self._backend.name = value

    @property
    def supports_prefill(self) -> bool:
        return bool(self._backend.supports_prefill)

    @supports_prefill.setter
    def supports_prefill(self, value: bool) -> None:
        self._backend.supports_prefill = value

    def __getattr__(self, name: str) -> Any:  # load(), close(), ... of the backend itself
        return getattr(self._backend, name)

    def complete(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        *,
        prefill: str = "",
        on_text: OnText | None = None,
    ) -> Completion:
        request = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": self._provider,
            "gen_ai.request.model": self.name,
            "gen_ai.request.max_tokens": params.max_new_tokens,
            "gen_ai.request.temperature": params.temperature,
            "gen_ai.request.top_p": params.top_p,
            "gen_ai.request.seed": params.seed,
            "gen_ai.request.stop_sequences": list(params.stop) or None,
            "gen_ai.request.stream": on_text is not None,
            "verimath.prefilled": bool(prefill),  # continues an assistant turn (a final answer)
        }
        with _operation(self._tracer, f"chat {self.name}", request, self._kind) as span:
            completion: Completion = self._backend.complete(
                messages, params, prefill=prefill, on_text=on_text
            )
            span.set_attributes(
                {
                    "gen_ai.usage.input_tokens": completion.prompt_tokens,
                    "gen_ai.usage.output_tokens": completion.completion_tokens,
                    "gen_ai.response.finish_reasons": [completion.finish_reason],
                }
            )
        return completion


class TracedVerifier:
    """The run's verifier, each call into the SymPy sandbox a GenAI tool span
    `execute_tool {method}` with what came out: a verdict and its checks' names and outcomes,
    whether two answers are equivalent, whether a program ran."""

    def __init__(self, verifier: VerifierContract, tracer: Tracer) -> None:
        self._verifier, self._tracer = verifier, tracer

    def __getattr__(self, name: str) -> Any:  # start(), close(), ... of the verifier itself
        return getattr(self._verifier, name)

    def _tool(self, name: str) -> contextlib.AbstractContextManager[Span]:
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.type": "function",
        }
        return _operation(self._tracer, f"execute_tool {name}", attributes)

    def check_answer(self, question: str, candidate: str | None) -> Verdict:
        with self._tool("check_answer") as span:
            verdict = self._verifier.check_answer(question, candidate)
            span.set_attributes(
                {
                    "verimath.verdict": verdict.status,
                    "verimath.check.names": [check.name for check in verdict.checks],
                    "verimath.check.outcomes": [check.outcome for check in verdict.checks],
                    "verimath.computed": verdict.computed is not None,
                }
            )
            return verdict

    def computed_answer(self, question: str) -> str | None:
        with self._tool("computed_answer") as span:
            computed = self._verifier.computed_answer(question)
            span.set_attribute("verimath.computed", computed is not None)
            return computed

    def equivalent(self, gold: str, candidate: str) -> Equivalence:
        with self._tool("equivalent") as span:
            return _judged(span, self._verifier.equivalent(gold, candidate))

    def grade(self, gold: str, candidate: str) -> Equivalence:
        with self._tool("grade") as span:
            return _judged(span, self._verifier.grade(gold, candidate))

    def value_of(self, answer: str | None) -> str | None:
        with self._tool("value_of") as span:
            value = self._verifier.value_of(answer)
            span.set_attribute("verimath.computed", value is not None)
            return value

    def run_program(self, source: str) -> ProgramRun:
        with self._tool("run_program") as span:
            run = self._verifier.run_program(source)
            span.set_attribute("verimath.program.ok", run.ok)
            return run


def _judged(span: Span, judgement: Equivalence) -> Equivalence:
    if judgement.equivalent is not None:  # None: it could not be decided
        span.set_attribute("verimath.equivalent", judgement.equivalent)
    return judgement


class TracedRetriever:
    """A retriever of the run, each search a GenAI retrieval span `retrieval {source}`
    ("passages" or "examples") with the ids and cosine scores it returned."""

    def __init__(self, retriever: RetrieverContract, source: str, tracer: Tracer) -> None:
        self._retriever, self._source, self._tracer = retriever, source, tracer
        # a remote store is a client call; the FAISS index runs in this process
        self._kind = SpanKind.INTERNAL if isinstance(retriever, Index) else SpanKind.CLIENT

    def __getattr__(self, name: str) -> Any:
        return getattr(self._retriever, name)

    def search(self, query: str, k: int = 4, mode: SearchMode = "hybrid") -> Sequence[Hit]:
        request = {
            "gen_ai.operation.name": "retrieval",
            "gen_ai.data_source.id": self._source,
            "gen_ai.retrieval.top_k": k,
            "verimath.search_mode": mode,
        }
        name = f"retrieval {self._source}"
        with _operation(self._tracer, name, request, self._kind) as span:
            hits = self._retriever.search(query, k, mode=mode)
            span.set_attributes(_hits("verimath.hit", hits))
            return hits
