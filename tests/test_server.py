"""`verimath serve`: the HTTP API on a real uvicorn server on loopback, driven by httpx, the
real OpenAI client and a schemathesis fuzz of its own OpenAPI schema. Answers are really
verified (the SymPy worker pool), from a scripted model or from the real demo model."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence

import httpx
import openai
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from loopback import serving

from verimath import Agent, Answer, CandidateAnswer, Citation, Settings, Usage
from verimath.cli import serve as serve_command
from verimath.graphs.contracts import Message
from verimath.models import ScriptedBackend
from verimath.server import API_KEY_ENV, ServerLimits, create_app
from verimath.server.openai_chat import Completion
from verimath.server.schema import AnswerOut, ChatCompletionOut
from verimath.tools.programs import ProgramRun
from verimath.tools.verdict import Check

SETTINGS = Settings(max_new_tokens=64, samples=1, refuted_retries=0, cross_checks=0)
LIMITS = ServerLimits(max_body_bytes=16_384, max_concurrency=4, max_queue=16, timeout_s=60)
ENV = {key: value for key, value in os.environ.items() if key != "VERIMATH_DEBUG"}
QUESTION = re.compile(r"What is (\d+) times (\d+)\?")


class Multiplier:
    """A scripted model that multiplies: it reads "What is A times B?" from the prompt and
    thinks, then answers A*B. It records how many calls ran at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = self.peak = 0

    def __call__(self, messages: Sequence[Message], prefill: str) -> str:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(0.002)  # long enough for requests to overlap
            match = QUESTION.search(messages[-1].content)
            if match is None:
                return "I can only multiply. \\boxed{0}"
            a, b = map(int, match.groups())
            return f"<think>{a} times {b} is {a * b}.</think>The product is \\boxed{{{a * b}}}."
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture(scope="module")
def multiplier() -> Multiplier:
    return Multiplier()


@pytest.fixture(scope="module")
def scripted_agent(verifier, multiplier):
    backend = ScriptedBackend(multiplier, name="scripted-multiplier")
    with Agent(backend, index=False, verifier=verifier, settings=SETTINGS) as agent:
        yield agent


@pytest.fixture(scope="module")
def url(scripted_agent) -> Iterator[str]:
    """The API of the scripted agent, without an API key."""
    with pytest.MonkeyPatch.context() as env:
        env.delenv(API_KEY_ENV, raising=False)
        app = create_app(scripted_agent, limits=LIMITS)
    with serving(app) as base:
        yield base


def assert_error(response: httpx.Response, status: int, kind: str, *words: str) -> dict:
    """An error in OpenAI's shape, with a message and no traceback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["type"] == kind and error["message"]
    for word in words:
        assert word in error["message"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return error


def test_load_every_request_answered_once_and_verified(url, scripted_agent, multiplier):
    """200 distinct questions, 8 at a time: no errors, each answered exactly once with its own
    product, verified by SymPy, and never more than `max_concurrency` model calls at once."""
    questions = {f"What is {n + 2} times {n + 13}?": str((n + 2) * (n + 13)) for n in range(200)}
    calls_before = len(scripted_agent.backend.calls)

    async def load() -> list[httpx.Response]:
        slots = asyncio.Semaphore(8)
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:

            async def one(question: str) -> httpx.Response:
                async with slots:
                    return await client.post("/v1/ask", json={"question": question})

            return await asyncio.gather(*(one(q) for q in questions))

    started = time.perf_counter()
    responses = asyncio.run(load())
    elapsed = time.perf_counter() - started
    errors = [r for r in responses if r.status_code != 200]
    assert not errors, errors[0].text
    answers = [r.json() for r in responses]
    assert sorted(a["question"] for a in answers) == sorted(questions)
    assert all(a["answer"] == questions[a["question"]] for a in answers)
    assert {a["status"] for a in answers} == {"verified"}
    assert len(scripted_agent.backend.calls) - calls_before == len(questions)  # once each
    assert multiplier.peak <= LIMITS.max_concurrency
    print(
        f"\n200 requests, 8 concurrent: {elapsed:.1f} s, {200 / elapsed:.0f} req/s, 0 errors, "
        f"at most {multiplier.peak} model calls at once"
    )


def test_health_and_docs_are_served(url):
    health = httpx.get(f"{url}/healthz").json()
    assert health["ok"] is True and health["model"] == "scripted-multiplier"
    spec = httpx.get(f"{url}/openapi.json").json()
    assert spec == SPEC  # the schema that test_api_keeps_to_its_openapi_schema fuzzes
    assert {"/v1/ask", "/v1/chat/completions", "/healthz"} <= spec["paths"].keys()
    assert spec["components"]["schemas"]["AskRequest"]["additionalProperties"] is False
    assert httpx.get(f"{url}/docs").status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "status", "kind", "words"),
    [
        ("/v1/ask", b'{"question": "What is 2 times', 400, "invalid_request_error", ["JSON"]),
        ("/v1/ask", b"not json at all", 400, "invalid_request_error", ["JSON"]),
        ("/v1/ask", {"question": 17}, 422, "invalid_request_error", ["question", "string"]),
        ("/v1/ask", {"question": ["a"]}, 422, "invalid_request_error", ["question"]),
        ("/v1/ask", {}, 422, "invalid_request_error", ["question", "required"]),
        ("/v1/ask", {"thread_id": "t"}, 422, "invalid_request_error", ["question"]),
        ("/v1/ask", {"question": "1+1?", "extra": 1}, 422, "invalid_request_error", ["extra"]),
        ("/v1/ask", [1, 2], 422, "invalid_request_error", []),
        ("/v1/ask", {"question": "x" * 4001}, 422, "invalid_request_error", ["4000"]),
        ("/v1/chat/completions", {}, 422, "invalid_request_error", ["messages"]),
        ("/v1/chat/completions", {"messages": "hi"}, 422, "invalid_request_error", ["messages"]),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "system", "content": "Be brief."}]},
            422,
            "invalid_request_error",
            ["user message"],
        ),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "9" * 4001}]},
            422,
            "invalid_request_error",
            ["4001 characters", "4000"],
        ),
        ("/v1/nowhere", {"question": "1+1?"}, 404, "not_found_error", []),
    ],
)
def test_bad_requests_get_a_json_error_without_a_traceback(url, path, body, status, kind, words):
    if isinstance(body, bytes):
        response = httpx.post(
            url + path, content=body, headers={"content-type": "application/json"}
        )
    else:
        response = httpx.post(url + path, json=body)
    assert_error(response, status, kind, *words)


def test_oversized_bodies_are_refused_before_they_are_read(url):
    big = {"question": "What is 2 times 3?", "pad": "x" * LIMITS.max_body_bytes}
    assert_error(httpx.post(f"{url}/v1/ask", json=big), 413, "invalid_request_error", "bytes")

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"question": "'
        for _ in range(LIMITS.max_body_bytes // 1024 + 1):
            yield b"9" * 1024
        yield b'"}'

    response = httpx.post(
        f"{url}/v1/ask", content=chunked(), headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "invalid_request_error", str(LIMITS.max_body_bytes))


def test_wrong_method_and_content_type(url):
    assert_error(httpx.get(f"{url}/v1/ask"), 405, "invalid_request_error")
    response = httpx.post(f"{url}/v1/ask", data={"question": "What is 2 times 3?"})
    assert_error(response, 422, "invalid_request_error", "application/json")


@pytest.fixture
def keyed_url(scripted_agent, monkeypatch) -> Iterator[str]:
    """The scripted agent's API with an API key, read from the environment at app creation."""
    monkeypatch.setenv(API_KEY_ENV, "s3cret-key")
    app = create_app(scripted_agent, limits=LIMITS)
    monkeypatch.delenv(API_KEY_ENV)  # read once: later changes do not matter
    with serving(app) as base:
        yield base


def test_api_key_is_required_when_set(keyed_url):
    ask = {"question": "What is 3 times 4?"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-key"}):
        response = httpx.post(f"{keyed_url}/v1/ask", json=ask, headers=headers)
        assert_error(response, 401, "authentication_error", "API key")
        assert response.headers["www-authenticate"] == "Bearer"
    # the key is checked before the body is even read
    response = httpx.post(f"{keyed_url}/v1/ask", content=b"{oops", headers={})
    assert_error(response, 401, "authentication_error")
    good = {"Authorization": "Bearer s3cret-key"}
    answer = httpx.post(f"{keyed_url}/v1/ask", json=ask, headers=good).json()
    assert (answer["answer"], answer["status"]) == ("12", "verified")
    assert httpx.get(f"{keyed_url}/healthz").json()["ok"] is True  # open for liveness checks

    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{keyed_url}/v1", api_key="wrong").models.list()
    client = openai.OpenAI(base_url=f"{keyed_url}/v1", api_key="s3cret-key")
    assert [m.id for m in client.models.list()] == ["scripted-multiplier"]


def test_openai_client_gets_the_verified_answer(url):
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    completion = client.chat.completions.create(
        model="whatever-the-client-says",
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What is 6 times 7?"},
            {"role": "assistant", "content": "42"},
            {"role": "user", "content": [{"type": "text", "text": "What is 17 times 23?"}]},
        ],
        temperature=0.7,
        max_tokens=32,
        top_p=0.9,
        user="someone",
    )
    asked = httpx.post(f"{url}/v1/ask", json={"question": "What is 17 times 23?"}).json()
    assert completion.object == "chat.completion"
    assert completion.model == "scripted-multiplier"
    message = completion.choices[0].message
    assert message.content == asked["answer"] == "391"
    assert message.reasoning_content == asked["reasoning"] == "17 times 23 is 391."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    extension = completion.model_extra["verimath"]
    assert extension["status"] == "verified" and extension["confidence"] == 1.0
    assert extension["checks"][0]["outcome"] == "passed" and extension["evidence"] == ""
    assert extension["citations"] == []


def test_openai_client_streams_reasoning_first_then_the_decided_answer(url):
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    stream = client.chat.completions.create(
        model="verimath",
        messages=[{"role": "user", "content": "What is 12 times 34?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    reasoning = [
        i
        for i, c in enumerate(chunks)
        if c.choices and getattr(c.choices[0].delta, "reasoning_content", None)
    ]
    content = [i for i, c in enumerate(chunks) if c.choices and c.choices[0].delta.content]
    assert reasoning and len(content) == 1 and max(reasoning) < content[0]
    trace = "".join(chunks[i].choices[0].delta.reasoning_content for i in reasoning)
    assert "12 times 34 is 408." in trace and "verified" in trace  # text, then its verdict
    assert chunks[content[0]].choices[0].delta.content == "408"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["verimath"]["status"] == "verified"
    assert last.usage is not None and last.usage.completion_tokens > 0


def test_stream_is_server_sent_events_ending_with_done(url):
    body = {"messages": [{"role": "user", "content": "What is 5 times 5?"}], "stream": True}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"


class Stuck:
    """A scripted model that waits until released: requests pile up behind it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()

    def __call__(self, messages: Sequence[Message], prefill: str) -> str:
        self.entered.set()
        self.release.wait(30)
        return "\\boxed{6}"


def test_full_queue_gets_503_and_slow_answers_504(verifier):
    """One worker, one place in line: a third request is turned away with Retry-After; the
    two admitted time out with 504, and the worker keeps its slot until its thread is done."""
    model = Stuck()
    backend = ScriptedBackend(model, name="scripted-stuck")
    limits = ServerLimits(max_concurrency=1, max_queue=1, timeout_s=2.5, retry_after_s=7)
    ask = {"question": "What is 2 times 3?"}
    with (
        Agent(backend, index=False, verifier=verifier, settings=SETTINGS) as agent,
        serving(create_app(agent, limits=limits)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        responses: list[httpx.Response] = []
        threads = [
            threading.Thread(target=lambda: responses.append(client.post("/v1/ask", json=ask)))
            for _ in range(2)
        ]
        threads[0].start()
        assert model.entered.wait(10)
        threads[1].start()
        for _ in range(200):
            if client.get("/healthz").json()["queued"] == 1:
                break
            time.sleep(0.01)
        turned_away = client.post("/v1/ask", json=ask)
        assert_error(turned_away, 503, "overloaded_error", "busy")
        assert turned_away.headers["retry-after"] == "7"
        for thread in threads:
            thread.join(10)
        for response in responses:
            assert_error(response, 504, "timeout_error", "2.5 s")
        assert client.get("/healthz").json()["running"] == 1  # the thread still works
        model.release.set()
        for _ in range(500):
            if client.get("/healthz").json()["running"] == 0:
                break
            time.sleep(0.01)
        answer = client.post("/v1/ask", json=ask).json()  # the slot is free again
        assert (answer["answer"], answer["status"]) == ("6", "verified")


def test_a_stream_that_times_out_ends_with_an_error_event(verifier):
    """Once streaming has begun the status is sent; a timeout is an OpenAI-style error event,
    which the OpenAI client raises."""
    model = Stuck()
    backend = ScriptedBackend(model, name="scripted-stuck")
    body = {"messages": [{"role": "user", "content": "What is 2 times 3?"}], "stream": True}
    with (
        Agent(backend, index=False, verifier=verifier, settings=SETTINGS) as agent,
        serving(create_app(agent, limits=ServerLimits(timeout_s=1.0))) as base,
    ):
        try:
            with httpx.stream("POST", f"{base}/v1/chat/completions", json=body) as response:
                events = [line for line in response.iter_lines() if line]
            client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
            with pytest.raises(openai.APIError, match="no answer within 1 s"):
                list(
                    client.chat.completions.create(
                        model="m", messages=body["messages"], stream=True
                    )
                )
        finally:
            model.release.set()
    assert response.status_code == 200 and events[-1] == "data: [DONE]"
    error = json.loads(events[-2].removeprefix("data: "))["error"]
    assert error["type"] == "timeout_error" and "Traceback" not in error["message"]


def test_a_client_that_leaves_a_stream_ends_its_run(verifier):
    """The client reads the first event and hangs up while the model works: the call in
    progress completes, no other starts (four would, every answer being refuted), and the
    slot comes free."""
    model = Stuck()  # answers 6, which 2 times 4 is not
    backend = ScriptedBackend(model, name="scripted-stuck")
    settings = Settings(max_new_tokens=64, samples=4, refuted_retries=0, sympy_answer=False)
    body = {"messages": [{"role": "user", "content": "What is 2 times 4?"}], "stream": True}
    with (
        Agent(backend, index=False, verifier=verifier, settings=settings) as agent,
        serving(create_app(agent, limits=ServerLimits(max_concurrency=1))) as base,
    ):
        try:
            with httpx.stream("POST", f"{base}/v1/chat/completions", json=body) as response:
                first = next(response.iter_lines())
                assert model.entered.wait(10)
            time.sleep(2.0)  # for the server to see the client go (generous: a loaded CI)
        finally:
            model.release.set()
        for _ in range(1000):
            if httpx.get(f"{base}/healthz").json()["running"] == 0:
                break
            time.sleep(0.01)
        else:
            pytest.fail("the slot of the abandoned stream never came free")
    assert first.startswith("data: ") and '"role": "assistant"' in first
    assert len(backend.calls) == 1


@pytest.mark.slow
def test_one_question_through_the_real_demo_model(demo_backend, small_budget, verifier):
    with (
        Agent(demo_backend, index=False, verifier=verifier, settings=small_budget) as agent,
        serving(create_app(agent)) as base,
    ):
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
        chunks = list(
            client.chat.completions.create(
                model="demo",
                messages=[{"role": "user", "content": "What is 17 times 23?"}],
                stream=True,
            )
        )
    assert chunks[0].model == demo_backend.name
    trace = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks)
    assert trace.strip()  # the model's own tokens, as generated
    extension = chunks[-1].model_extra["verimath"]
    assert extension["status"] in {"verified", "refuted", "unverified"}
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert content == (extension["answer"] or "")
    assert extension["status"] != "verified" or content == "391"


# The schema under test, made at collection by the same code, settings and limits as the served
# app (test_health_and_docs_are_served checks that they agree): schemathesis' from_fixture loader
# fails on pytest 9 (it reads the removed `Node._nodeid`).
SPEC = create_app(
    Agent(ScriptedBackend(["\\boxed{0}"]), index=False, settings=SETTINGS), limits=LIMITS
).openapi()
# A body over the byte limit gets 413 whatever its content, and no JSON schema can say so; 413
# joins the statuses that schemathesis' defaults accept for valid and for invalid requests.
CHECKS = {
    "positive_data_acceptance": ["2xx", "3xx", "401", "403", "404", "409", "413", "429", "5xx"],
    "negative_data_rejection": [
        "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx",
    ],
}  # fmt: skip
schema = schemathesis.openapi.from_dict(
    SPEC,
    config=schemathesis.Config.from_dict(
        {"checks": {name: {"expected-statuses": codes} for name, codes in CHECKS.items()}}
    ),
)


def test_the_answer_schema_is_derived_from_the_answer_dataclasses():
    """/v1/ask's schema names exactly the fields of `Answer` and of the values it holds, all
    sent, no others: a field added to `Answer` is in the API by itself."""
    components = SPEC["components"]["schemas"]
    for cls in (Answer, CandidateAnswer, Citation, Check, Usage, ProgramRun):
        names = [f.name for f in dataclasses.fields(cls)]
        schema = components[f"{cls.__name__}Out"]
        assert list(schema["properties"]) == names and schema["required"] == names, cls
        assert schema["additionalProperties"] is False
    assert "programs" in components["CandidateAnswerOut"]["properties"]
    ok = SPEC["paths"]["/v1/ask"]["post"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"] == {"$ref": "#/components/schemas/AnswerOut"}
    extension = components["VerimathOut"]["properties"]
    answer_schema = components["AnswerOut"]["properties"]
    assert {k: v for k, v in extension.items() if k != "evidence"} == {
        k: answer_schema[k] for k in extension if k != "evidence"
    }


def test_what_the_server_sends_is_what_its_schema_says():
    """Every field filled in, a program run included: the JSON of /v1/ask and of a chat
    completion is valid under the derived models, which keep all of it."""
    check = Check("substitution", "failed", "2*4 = 8, not 6")
    candidate = CandidateAnswer(
        "6", "refuted", (check,), 0, None, 0.7, False, "2 times 4 is 6.",
        programs=(ProgramRun("print(2 * 4)", "8", True),),
    )  # fmt: skip
    answer = Answer(
        "What is 2 times 4?", "8", "verified", "2 times 4 is 8.",
        citations=(Citation("p1", "facts", "Products", "2 times 4 is 8.", 0.9),),
        checks=(check,), guardrails=("note",), timings={"total_ms": 1.5}, model="m",
        usage=Usage(5, 7), attempts=2, candidates=(candidate,), confidence=0.5,
    )  # fmt: skip
    sent = json.loads(json.dumps(answer.to_dict()))
    assert AnswerOut.model_validate(sent).model_dump(mode="json") == sent
    completion = json.loads(json.dumps(Completion("m").whole(answer)))
    assert ChatCompletionOut.model_validate(completion).model_dump(mode="json") == completion


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_keeps_to_its_openapi_schema(case, url):
    """Generated requests, valid and invalid: never a 5xx, and every response (status, content
    type, body) as the schema says."""
    case.call_and_validate(base_url=url, timeout=30)


def test_serve_command_limit_defaults_are_server_limits():
    defaults = {name: p.default for name, p in inspect.signature(serve_command).parameters.items()}
    limits = ServerLimits()
    assert defaults["timeout"] == limits.timeout_s
    for name in ("max_concurrency", "max_queue", "max_body_bytes", "max_question_chars"):
        assert defaults[name] == getattr(limits, name), name


def test_busy_port_is_a_one_line_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = subprocess.run(
            [sys.executable, "-m", "verimath", "serve", "--model", "demo", "--no-retrieval",
             "--port", port],
            capture_output=True, text=True, timeout=120, env=ENV,
        )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot listen on 127.0.0.1:"), lines
    assert "--port" in lines[0]


def test_without_the_serve_extra_the_error_names_the_pip_command():
    code = (
        "import sys; sys.modules['fastapi'] = None  # as if FastAPI were not installed\n"
        "from verimath.cli import main; sys.argv = ['verimath', 'serve', '--model', 'demo']; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=ENV
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: the HTTP API needs FastAPI and uvicorn; install them with "
        "pip install 'verimath[serve]'"
    ]
