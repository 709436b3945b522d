"""The OpenAI-compatible backend against real servers on loopback.

llama-cpp-python's OpenAI-compatible server serves the demo GGUF (one process per replica,
started and stopped here). Retries, timeouts and the streaming protocol's corners are tested on
a tiny real HTTP server in a thread that answers as a server under load would (429, 503, no
answer, slow streams, reasoning deltas), and counts the attempts it saw.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, get_args

import pytest

from verimath import Agent, BackendError
from verimath.graphs.state import Status
from verimath.models import Message, OpenAIBackend, SamplingParams
from verimath.models.loading import demo_model_path

QUESTION = [Message("user", "What is 2 + 3? Answer briefly.")]
# The modules `llama-cpp-python[server]` brings; without them there is no server to start.
SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
STARTUP_S = 120.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _llama_server(log: Path) -> Iterator[str]:
    """`python -m llama_cpp.server` serving the demo GGUF on a free loopback port; its output
    goes to `log` (the access log shows which requests reached it)."""
    missing = [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(
            f"llama-cpp-python[server] is not installed (no {', '.join(missing)}); "
            "`make test` installs it"
        )
    port = _free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(demo_model_path()),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "1",
        "--n_threads_batch", "1", "--model_alias", "smollm2-135m",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"llama_cpp.server exited with {process.returncode} before serving:\n"
                    + log.read_text(errors="replace")[-3000:]
                )
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"llama_cpp.server did not serve {url}/models within {STARTUP_S:g} s:\n"
                    + log.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _requests_seen(log: Path) -> int:
    return log.read_text(errors="replace").count("POST /v1/chat/completions")


@pytest.fixture(scope="module")
def llama_logs(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("llama-server")
    return folder / "first.log", folder / "second.log"


@pytest.fixture(scope="module")
def llama_url(llama_logs) -> Iterator[str]:
    with _llama_server(llama_logs[0]) as url:
        yield url


@pytest.fixture(scope="module")
def second_llama_url(llama_url, llama_logs) -> Iterator[str]:
    with _llama_server(llama_logs[1]) as url:
        yield url


# --- llama-cpp-python's server with the demo model ---------------------------------------------


@pytest.mark.slow
def test_completion(llama_url):
    backend = OpenAIBackend(llama_url)
    completion = backend.complete(QUESTION, SamplingParams(max_new_tokens=16))
    assert completion.text.strip()
    assert completion.finish_reason in ("stop", "length")
    assert completion.prompt_tokens > 0 and 0 < completion.completion_tokens <= 16
    assert backend.name == f"{backend.model} @ {llama_url}"


@pytest.mark.slow
def test_streaming_gives_pieces_that_make_the_text(llama_url):
    pieces: list[str] = []
    completion = OpenAIBackend(llama_url).complete(
        QUESTION, SamplingParams(max_new_tokens=24), on_text=pieces.append
    )
    assert len(pieces) >= 3
    assert "".join(pieces) == completion.text and completion.text.strip()
    assert 0 < completion.completion_tokens <= 24


@pytest.mark.slow
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_small_budget_is_truncated(llama_url, stream):
    essay = [Message("user", "Write a long essay about the history of algebra.")]
    pieces: list[str] = []
    completion = OpenAIBackend(llama_url).complete(
        essay, SamplingParams(max_new_tokens=4), on_text=pieces.append if stream else None
    )
    assert completion.finish_reason == "length"
    assert 0 < completion.completion_tokens <= 4
    assert "".join(pieces) == (completion.text if stream else "")


@pytest.mark.slow
def test_one_question_through_the_graph(
    llama_url, llama_logs, small_budget, verifier, shipped_index
):
    before = _requests_seen(llama_logs[0])
    with Agent(
        model=None, base_url=llama_url, settings=small_budget, verifier=verifier,
        index=shipped_index,
    ) as agent:  # fmt: skip
        answer = agent.ask("What is 2 + 3?")
    assert answer.status in get_args(Status)
    assert answer.model.endswith(f"@ {llama_url}")
    assert answer.reasoning  # the served model's own text
    time.sleep(0.5)  # the access log line is written after the response
    assert _requests_seen(llama_logs[0]) > before


@pytest.mark.slow
def test_replicas_share_concurrent_requests(llama_url, second_llama_url, llama_logs):
    before = [_requests_seen(log) for log in llama_logs]
    backend = OpenAIBackend([llama_url, second_llama_url])
    with ThreadPoolExecutor(4) as pool:
        completions = list(
            pool.map(lambda _: backend.complete(QUESTION, SamplingParams(8)), range(4))
        )
    assert all(c.text.strip() for c in completions)
    time.sleep(0.5)  # the access log line is written after the response
    seen = [_requests_seen(log) - start for log, start in zip(llama_logs, before, strict=True)]
    assert sum(seen) == 4 and min(seen) >= 1, f"requests per replica: {seen}"


@pytest.mark.slow
def test_an_unreachable_replica_is_passed_over(llama_url):
    down = f"http://127.0.0.1:{_free_port()}/v1"
    backend = OpenAIBackend([down, llama_url], max_retries=0)
    for _ in range(2):  # whichever replica comes first, the answer comes from the live one
        assert backend.complete(QUESTION, SamplingParams(4)).text


def test_server_down_names_the_url_and_the_fix_quickly():
    down = f"http://127.0.0.1:{_free_port()}/v1"
    backend = OpenAIBackend(down, "m", max_retries=1, timeout_s=5)
    started = time.monotonic()
    with pytest.raises(BackendError) as caught:
        backend.complete(QUESTION, SamplingParams(8), on_text=lambda _: None)
    message = str(caught.value)
    assert f"cannot reach the model server at {down}" in message
    assert "start it or fix --base-url" in message and "\n" not in message
    assert time.monotonic() - started < 5

    other = f"http://127.0.0.1:{_free_port()}/v1"
    with pytest.raises(BackendError, match=f"any of the model servers at {down}, {other}"):
        OpenAIBackend([down, other], "m", max_retries=0).complete(QUESTION, SamplingParams(8))


# --- a scripted server under load: retries, timeouts, the stream protocol -----------------------


class LoadedServer(BaseHTTPRequestHandler):
    """Answers each POST with the next scripted status (then 200), counting attempts.
    `script` items: an int (that HTTP status), "hang" (never answer), or "slow" (stream one
    word every 0.2 s). A 200 is a chat completion, streamed when the request asks."""

    script: list[Any] = []
    attempts = 0
    release = threading.Event()
    lock = threading.Lock()
    reasoning = False

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.lock:
            type(self).attempts += 1
            step = self.script.pop(0) if self.script else 200
        if step == "hang":
            self.release.wait(30)
            return
        if isinstance(step, int) and step != 200:
            data = json.dumps({"error": {"message": f"scripted {step}"}}).encode()
            self.send_response(step)
            if step == 429:
                self.send_header("retry-after-ms", "20")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if body.get("stream"):
            self._stream(slow=step == "slow")
        else:
            self._whole()

    def _whole(self):
        message = {"role": "assistant", "content": "It is \\boxed{5}."}
        if self.reasoning:
            message["reasoning_content"] = "2 + 3 = 5"
        data = json.dumps({
            "id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15},
        }).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, *, slow: bool):
        deltas: list[dict[str, str]] = []
        if self.reasoning:
            deltas += [{"reasoning_content": "2 + 3"}, {"reasoning_content": " = 5"}]
        deltas += [{"content": word} for word in ("It ", "is ", "\\boxed{5}", ".")]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for delta in deltas:
            self._event({"index": 0, "delta": delta, "finish_reason": None})
            if slow:
                time.sleep(0.2)
        self._event({"index": 0, "delta": {}, "finish_reason": "stop"})
        self.wfile.write(b"data: [DONE]\n\n")  # no usage chunk: the backend counts pieces

    def _event(self, choice: dict[str, Any]) -> None:
        chunk = {
            "id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [choice],
        }  # fmt: skip
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.flush()


@pytest.fixture
def loaded_server() -> Iterator[tuple[str, type[LoadedServer]]]:
    handler = type("Handler", (LoadedServer,), {"script": [], "release": threading.Event()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    handler.release.set()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_overload_is_retried_with_backoff(loaded_server, status, stream):
    url, handler = loaded_server
    handler.script = [status, status]
    pieces: list[str] = []
    completion = OpenAIBackend(url, "m", max_retries=2).complete(
        QUESTION, SamplingParams(8), on_text=pieces.append if stream else None
    )
    assert completion.text == "It is \\boxed{5}."
    assert handler.attempts == 3


def test_retries_run_out_with_one_clear_error(loaded_server):
    url, handler = loaded_server
    handler.script = [503, 503, 503]
    with pytest.raises(BackendError, match=f"{url} answered HTTP 503 \\(2 attempts\\)"):
        OpenAIBackend(url, "m", max_retries=1).complete(QUESTION, SamplingParams(8))
    assert handler.attempts == 2


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_server_that_never_answers_times_out(loaded_server, stream):
    url, handler = loaded_server
    handler.script = ["hang"]
    backend = OpenAIBackend(url, "m", timeout_s=0.5, max_retries=0)
    started = time.monotonic()
    with pytest.raises(BackendError, match=f"{url} did not answer within 0.5 s"):
        backend.complete(QUESTION, SamplingParams(8), on_text=(lambda _: None) if stream else None)
    assert time.monotonic() - started < 3


def test_a_wall_time_bound_with_nothing_sent_is_a_timeout_error(loaded_server):
    url, handler = loaded_server
    handler.script = ["hang"]
    with pytest.raises(BackendError, match=f"{url} sent nothing within .* limit of 0.3 s"):
        OpenAIBackend(url, "m", max_retries=0).complete(QUESTION, SamplingParams(8, max_time_s=0.3))


def test_wall_time_bound_truncates_a_stream(loaded_server):
    url, handler = loaded_server
    handler.script = ["slow"]
    pieces: list[str] = []
    completion = OpenAIBackend(url, "m").complete(
        QUESTION, SamplingParams(8, max_time_s=0.3), on_text=pieces.append
    )
    assert completion.finish_reason == "length"
    assert completion.text == "".join(pieces) and completion.text.startswith("It ")
    assert "\\boxed" not in completion.text


def test_streamed_reasoning_matches_the_whole_response(loaded_server):
    url, handler = loaded_server
    handler.reasoning = True
    backend = OpenAIBackend(url, "m")
    whole = backend.complete(QUESTION, SamplingParams(8))
    pieces: list[str] = []
    streamed = backend.complete(QUESTION, SamplingParams(8), on_text=pieces.append)
    assert whole.text == streamed.text == "<think>2 + 3 = 5</think>It is \\boxed{5}."
    assert pieces[:2] == ["<think>2 + 3", " = 5"] and "".join(pieces) == streamed.text
    assert streamed.completion_tokens == len(pieces)  # no usage sent: pieces counted


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_split_trace_after_a_prefill_is_continued_as_written(loaded_server, stream):
    # A reasoning parser splits a continuation of "<think>…" at the "</think>" it generates.
    url, handler = loaded_server
    handler.reasoning = True
    pieces: list[str] = []
    completion = OpenAIBackend(url, "m").complete(
        QUESTION, SamplingParams(8), prefill="<think>So ", on_text=pieces.append if stream else None
    )
    assert completion.text == "2 + 3 = 5</think>It is \\boxed{5}."
    assert "".join(pieces) == (completion.text if stream else "")


@pytest.mark.slow
def test_stop_strings_reach_the_server(llama_url, check_stop_strings):
    check_stop_strings(OpenAIBackend(llama_url))
