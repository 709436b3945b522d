"""The OpenAI-compatible and LangChain backends through the real graph.

The HTTP server here is a scripted OpenAI-compatible server on loopback (a test double for
vLLM): the client code, retries and error handling under test are the real ones.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from verimath import Agent, BackendError, ConfigError, Settings
from verimath.models import LangChainBackend, Message, OpenAIBackend, SamplingParams, load_backend

SETTINGS = Settings(max_new_tokens=64)


class ScriptedOpenAIServer(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def log_message(self, *args):  # keep test output clean
        pass

    def _reply(self, body: dict, code: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._reply(
            {
                "object": "list",
                "data": [
                    {
                        "id": "phi-4-mini-reasoning",
                        "object": "model",
                        "created": 0,
                        "owned_by": "test",
                    }
                ],
            }
        )

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        message = {
            "role": "assistant",
            "content": "The answer is \\boxed{391}.",
            "reasoning_content": "17*23 = 340 + 51 = 391",
        }
        self._reply({
            "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 12, "total_tokens": 32},
        })  # fmt: skip


@pytest.fixture(scope="module")
def server_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedOpenAIServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_openai_compatible_server_through_the_graph(server_url, verifier):
    with Agent(base_url=server_url, index=False, verifier=verifier, settings=SETTINGS) as agent:
        answer = agent.ask("What is 17 times 23?")
    assert (answer.status, answer.answer) == ("verified", "391")
    assert answer.reasoning == "17*23 = 340 + 51 = 391"
    assert answer.model == f"phi-4-mini-reasoning @ {server_url}"
    sent = ScriptedOpenAIServer.requests[-1]
    assert sent["model"] == "phi-4-mini-reasoning" and sent["max_tokens"] == 64


def test_prefill_uses_continue_final_message(server_url):
    backend = OpenAIBackend(server_url, "phi-4-mini-reasoning")
    backend.complete([Message("user", "q")], SamplingParams(8), prefill="<think>so")
    sent = ScriptedOpenAIServer.requests[-1]
    assert sent["messages"][-1] == {"role": "assistant", "content": "<think>so"}
    assert sent["continue_final_message"] is True and sent["add_generation_prompt"] is False


def test_server_down_is_one_clear_error():
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m", max_retries=0, timeout_s=2)
    with pytest.raises(
        BackendError, match="cannot reach the model server.*start it or fix --base-url"
    ):
        backend.complete([Message("user", "q")], SamplingParams(8))
    with pytest.raises(ConfigError, match="http://"):
        OpenAIBackend("localhost:8000")


def test_langchain_chat_model_is_adapted(verifier):
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    chat_model = GenericFakeChatModel(
        messages=iter([AIMessage("x = 3 - 1 so \\boxed{x = 2}"), AIMessage("\\boxed{2}")])
    )
    backend = load_backend(chat_model)
    assert isinstance(backend, LangChainBackend) and backend.supports_prefill is False
    with Agent(backend, index=False, verifier=verifier, settings=SETTINGS) as agent:
        answer = agent.ask("Solve x + 1 = 3")
    assert (answer.status, answer.answer) == ("verified", "x = 2")
