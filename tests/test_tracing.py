"""OpenTelemetry spans (`Agent(tracing=...)`, `verimath.tracing`), read back from the SDK's
in-memory exporter. Everything is real but the model: the graph, the SymPy sandbox, the FAISS
index over the shipped corpus; generation is a scripted backend (named as such), so the tests
know each reply and its token counts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from verimath import Agent, BackendError, Config, Settings
from verimath.models import ScriptedBackend

SETTINGS = Settings(max_new_tokens=64, samples=1, refuted_retries=1, cross_checks=0)
ROOT = "invoke_agent verimath"
QUADRATIC = "Solve x^2 - 5x + 6 = 0 using the quadratic formula."
DERIVATIVE = "Find the derivative of x^3."


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def traced(verifier, provider):
    """Agents that trace to `provider`, with a scripted backend, the suite's SymPy workers,
    and no retrieval unless an index is given."""
    made: list[Agent] = []

    def make(replies, *, index=False, settings=SETTINGS) -> tuple[Agent, ScriptedBackend]:
        backend = ScriptedBackend(replies)
        agent = Agent(backend, index=index, verifier=verifier, settings=settings, tracing=provider)
        made.append(agent)
        return agent, backend

    yield make
    for agent in made:
        agent.close()


class Trace:
    """The finished spans of one trace, with their tree."""

    def __init__(self, spans: Sequence[ReadableSpan]) -> None:
        self.spans = sorted(spans, key=lambda span: span.start_time or 0)
        self.by_id = {span.context.span_id: span for span in self.spans}
        roots = [span for span in self.spans if span.name == ROOT]
        assert len(roots) == 1, [span.name for span in self.spans]
        self.root = roots[0]

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.spans if span.name == name]

    def parent(self, span: ReadableSpan) -> ReadableSpan | None:
        return self.by_id.get(span.parent.span_id) if span.parent else None

    def children(self, span: ReadableSpan, name: str | None = None) -> list[ReadableSpan]:
        return [
            child
            for child in self.spans
            if self.parent(child) is span and (name is None or child.name == name)
        ]

    def nodes(self) -> list[str]:
        """The node spans, in the order the nodes started."""
        return [span.name for span in self.children(self.root) if "verimath.node" in attrs(span)]


def attrs(span: ReadableSpan) -> dict:
    return dict(span.attributes or {})


def traces(exporter: InMemorySpanExporter) -> list[Trace]:
    grouped: dict[int, list[ReadableSpan]] = {}
    for span in exporter.get_finished_spans():
        grouped.setdefault(span.context.trace_id, []).append(span)
    return [Trace(spans) for spans in grouped.values()]


def only_trace(exporter: InMemorySpanExporter) -> Trace:
    found = traces(exporter)
    assert len(found) == 1, f"{len(found)} traces"
    return found[0]


def test_every_node_is_a_span_under_the_run_with_what_it_did(traced, exporter, shipped_index):
    agent, _ = traced(["<think>(x-2)(x-3) = 0</think>\\boxed{x = 2, x = 3}"], index=shipped_index)
    answer = agent.ask(QUADRATIC)
    assert answer.status == "verified"
    run = only_trace(exporter)

    assert run.root.parent is None  # nothing was current around `ask`: it starts the trace
    assert run.nodes() == ["guard_input", "retrieve", "generate", "verify", "finalize"]
    assert attrs(run.root) | {"gen_ai.agent.version": "any"} == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "verimath",
        "gen_ai.agent.version": "any",
        "gen_ai.provider.name": "verimath.scripted",
        "gen_ai.request.model": "scripted",
        "gen_ai.usage.input_tokens": answer.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": answer.usage.completion_tokens,
        "verimath.status": "verified",
        "verimath.candidates": 1,
    }
    (retrieve,) = run.named("retrieve")
    cited = [citation.id for citation in answer.citations]
    assert cited and list(attrs(retrieve)["verimath.passage_ids"]) == cited
    assert attrs(retrieve)["verimath.passage_scores"] == pytest.approx(
        [citation.score for citation in answer.citations], abs=1e-4
    )
    (search,) = run.children(retrieve)
    assert search.name == "retrieval passages"
    assert attrs(search)["gen_ai.operation.name"] == "retrieval"
    assert attrs(search)["gen_ai.retrieval.top_k"] == SETTINGS.top_k
    assert list(attrs(search)["verimath.hit_ids"])[: len(cited)] == cited

    (verify,) = run.named("verify")
    assert attrs(verify)["verimath.verdicts"] == ("verified",)
    assert "passed" in attrs(verify)["verimath.check.outcomes"]
    assert attrs(verify)["verimath.next_step"] == "done"
    (check,) = run.children(verify, "execute_tool check_answer")
    assert attrs(check)["gen_ai.tool.name"] == "check_answer"
    assert attrs(check)["verimath.verdict"] == "verified"
    sympy = attrs(check)["verimath.check.names"]  # the node adds grounding's checks after
    assert sympy and attrs(verify)["verimath.check.names"][: len(sympy)] == sympy

    (finalize,) = run.named("finalize")
    assert attrs(finalize)["verimath.status"] == "verified"
    assert all(span.status.status_code is StatusCode.UNSET for span in run.spans)


def test_the_run_nests_under_the_callers_own_span(traced, provider, exporter):
    """An application's span around `ask` (an HTTP request, a job) is the run's parent."""
    agent, _ = traced(["\\boxed{391}"])
    with provider.get_tracer("app").start_as_current_span("request") as request:
        agent.ask("What is 17 times 23?")
    run = only_trace(exporter)
    assert run.parent(run.root) is not None
    assert run.root.parent.span_id == request.get_span_context().span_id


def test_generate_has_the_tokens_of_its_model_calls(traced, exporter):
    agent, backend = traced(["<think>17*23 = 391</think>The product is \\boxed{391}."])
    answer = agent.ask("What is 17 times 23?")
    run = only_trace(exporter)
    (generate,) = run.named("generate")
    (chat,) = run.children(generate)
    (call,) = backend.calls
    assert chat.name == "chat scripted"
    assert attrs(chat) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "verimath.scripted",
        "gen_ai.request.model": "scripted",
        "gen_ai.request.max_tokens": call.params.max_new_tokens,
        "gen_ai.request.temperature": call.params.temperature,
        "gen_ai.request.top_p": call.params.top_p,
        "gen_ai.request.stream": False,
        "verimath.prefilled": False,
        "gen_ai.usage.input_tokens": sum(len(m.content.split()) for m in call.messages),
        "gen_ai.usage.output_tokens": 6,  # the reply's words, as the scripted model counts
        "gen_ai.response.finish_reasons": ("stop",),
    }
    assert attrs(generate)["verimath.usage.input_tokens"] == answer.usage.prompt_tokens
    assert attrs(generate)["verimath.usage.output_tokens"] == answer.usage.completion_tokens == 6
    assert attrs(generate)["verimath.candidate.index"] == 0
    assert attrs(generate)["verimath.finish_reason"] == "stop"


def test_a_refuted_answer_and_its_retry_are_two_rounds(traced, exporter):
    agent, _ = traced(["\\boxed{3x^3}", "\\boxed{3x^2}"])
    answer = agent.ask(DERIVATIVE)
    assert (answer.status, answer.attempts) == ("verified", 2)
    run = only_trace(exporter)
    assert run.nodes() == [
        "guard_input", "generate", "verify", "generate", "verify", "finalize",
    ]  # fmt: skip
    first, second = run.named("verify")
    assert attrs(first)["verimath.verdicts"] == ("refuted",)
    assert "failed" in attrs(first)["verimath.check.outcomes"]
    assert (attrs(first)["verimath.next_step"], attrs(first)["verimath.next_step.retry_of"]) == (
        "retry",
        0,
    )
    assert attrs(second)["verimath.checked"] == (1,)  # only the new candidate is checked
    assert attrs(second)["verimath.verdicts"] == ("verified",)
    fresh, retry = run.named("generate")
    assert "verimath.candidate.retry_of" not in attrs(fresh)
    assert attrs(retry)["verimath.candidate.retry_of"] == 0
    steps = [attrs(span)["verimath.step"] for span in run.children(run.root)]
    assert steps == sorted(steps)
    assert attrs(run.named("finalize")[0])["verimath.status"] == "verified"


def test_parallel_branches_each_nest_their_own_model_call(traced, exporter):
    """The k samples of a step run on pool threads at once (a barrier makes sure they
    overlap): each model call nests under the branch that made it, never a sibling's."""
    branches = 3
    barrier, missed = threading.Barrier(branches, timeout=30), []

    def reply(messages, prefill) -> str:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            missed.append(True)
        return "\\boxed{391}"

    settings = replace(SETTINGS, samples=branches, adaptive=False)
    agent, _ = traced(reply, settings=settings)
    assert agent.ask("What is 17 times 23?").status == "verified"
    assert not missed, "the branches did not run at the same time"
    run = only_trace(exporter)
    generates = run.named("generate")
    assert len(generates) == branches
    assert all(run.parent(span) is run.root for span in generates)
    assert sorted(attrs(span)["verimath.candidate.index"] for span in generates) == [0, 1, 2]
    for span in generates:
        assert [chat.name for chat in run.children(span)] == ["chat scripted"]


def test_concurrent_questions_keep_their_spans_apart(traced, exporter):
    def reply(messages, prefill) -> str:
        return "\\boxed{391}" if "17 times 23" in messages[-1].content else "\\boxed{3x^3}"

    agent, _ = traced(reply)
    answers = agent.batch(["What is 17 times 23?", DERIVATIVE] * 2, max_concurrency=4)
    assert [a.status for a in answers] == ["verified", "refuted"] * 2
    runs = traces(exporter)
    assert len(runs) == 4
    for run in runs:
        for span in run.spans:  # every span of a trace hangs from that trace's run
            top = span
            while (up := run.parent(top)) is not None:
                top = up
            assert top is run.root
        rounds = 1 if attrs(run.root)["verimath.status"] == "verified" else 2
        assert len(run.named("generate")) == len(run.named("verify")) == rounds
    assert (
        sorted(attrs(run.root)["verimath.status"] for run in runs)
        == ["refuted"] * 2 + ["verified"] * 2
    )


def test_no_text_is_recorded(traced, exporter, shipped_index):
    reasoning = "it factors as a product of two binomials"
    agent, _ = traced([f"<think>{reasoning}</think>\\boxed{{x = 2, x = 3}}"], index=shipped_index)
    agent.ask(QUADRATIC)
    values = [
        str(value) for span in exporter.get_finished_spans() for value in attrs(span).values()
    ]
    passages = [hit.passage.text[:40] for hit in shipped_index.search(QUADRATIC, 3)]
    for text in (QUADRATIC, "5x + 6", "x = 2", reasoning, *passages):
        assert not any(text in value for value in values), text


def test_a_failing_model_marks_its_spans_as_errors(traced, exporter):
    def reply(messages, prefill) -> str:
        raise BackendError("the server at http://localhost:1 is down; start it")

    agent, _ = traced(reply)
    with pytest.raises(BackendError):
        agent.ask("What is 17 times 23?")
    run = only_trace(exporter)
    (generate,) = run.named("generate")
    (chat,) = run.children(generate)
    for span in (run.root, generate, chat):
        assert span.status.status_code is StatusCode.ERROR, span.name
        assert attrs(span)["error.type"] == "BackendError"
    assert [event.name for event in chat.events] == ["exception"]


def test_a_review_interrupts_the_run_and_the_resumed_run_is_its_own_trace(traced, exporter):
    settings = replace(SETTINGS, refuted_retries=0, human_review=True, sympy_answer=False)
    agent, _ = traced(["\\boxed{3x^3}"], settings=settings)
    assert agent.ask(DERIVATIVE, thread_id="t1").review_pending
    waiting = only_trace(exporter)
    (review,) = waiting.named("review")
    assert attrs(review)["verimath.interrupted"] is True
    assert review.status.status_code is StatusCode.UNSET  # waiting for a person is no error
    assert attrs(waiting.root)["verimath.interrupted"] is True
    assert "verimath.status" not in attrs(waiting.root)
    assert attrs(waiting.root)["gen_ai.conversation.id"] == "t1"

    exporter.clear()
    assert agent.review("t1", answer="3x^2").status == "verified"
    resumed = only_trace(exporter)
    assert resumed.nodes() == ["review", "verify", "finalize"]
    assert attrs(resumed.named("review")[0])["verimath.review.action"] == "override"
    assert attrs(resumed.root)["verimath.status"] == "verified"


def test_streaming_traces_like_ask_and_a_caller_that_leaves_cancels(traced, exporter):
    agent, _ = traced(["\\boxed{391}"])
    events = list(agent.stream("What is 17 times 23?"))
    run = only_trace(exporter)
    assert run.nodes() == ["guard_input", "generate", "verify", "finalize"]
    assert attrs(run.root)["verimath.status"] == events[-1].status == "verified"
    (chat,) = run.named("chat scripted")
    assert attrs(chat)["gen_ai.request.stream"] is True

    exporter.clear()
    stream = agent.stream("What is 17 times 23?")
    next(stream)
    stream.close()
    left = only_trace(exporter)
    assert attrs(left.root)["verimath.cancelled"] is True


def test_the_config_key_turns_tracing_on():
    assert Config().override("tracing=true").agent_kwargs()["tracing"] is True
    assert "tracing" not in Config().agent_kwargs()


def _run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_tracing_true_sends_spans_to_the_global_provider():
    """As `opentelemetry-instrument` would set it up (in a process of its own: the global
    provider can be set once)."""
    out = _run_python(
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from verimath import Agent, Settings
        from verimath.models import ScriptedBackend

        spans = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(spans))
        trace.set_tracer_provider(provider)
        settings = Settings(max_new_tokens=64, samples=1)
        with Agent(ScriptedBackend(["\\\\boxed{391}"]), index=False, settings=settings,
                   tracing=True) as agent:
            agent.ask("What is 17 times 23?")
        print(sorted(span.name for span in spans.get_finished_spans()))
        """
    )
    assert out.strip() == str(
        sorted(
            [ROOT, "guard_input", "generate", "chat scripted", "verify", "finalize"]
            + ["execute_tool check_answer"]
        )
    )


def test_without_tracing_opentelemetry_is_not_needed():
    """No cost when off: with OpenTelemetry impossible to import (as when the extra is not
    installed), an agent answers, and `verimath.tracing` was never imported; asking for
    tracing then fails with the pip command. (langsmith, which langchain-core imports,
    loads OpenTelemetry's SDK by itself when it is installed, so its absence from
    `sys.modules` could not be the test.)"""
    out = _run_python(
        """
        import sys
        sys.modules["opentelemetry"] = None  # any import of it now fails
        from verimath import Agent, MissingExtraError, Settings
        from verimath.models import ScriptedBackend

        settings = Settings(max_new_tokens=64, samples=1)
        with Agent(ScriptedBackend(["\\\\boxed{391}"]), index=False, settings=settings) as agent:
            print(agent.ask("What is 17 times 23?").status)
        print("verimath.tracing" in sys.modules)
        try:
            Agent(ScriptedBackend(["\\\\boxed{391}"]), index=False, tracing=True)
        except MissingExtraError as exc:
            print(exc)
        """
    )
    status, imported, error = out.strip().split("\n")
    assert (status, imported) == ("verified", "False")
    assert error.endswith("pip install 'verimath[otel]'")
