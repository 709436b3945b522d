"""The app: its routes, and `serve`, which runs it with uvicorn.

No `from __future__ import annotations` here: FastAPI reads endpoint annotations at run time.
"""

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse

from verimath.errors import MissingExtraError
from verimath.listening import listening_socket
from verimath.server.admission import API_KEY_ENV, Gatekeeper, Runner, ServerLimits
from verimath.server.error_responses import add_error_handlers
from verimath.server.openai_chat import Completion, last_user_text
from verimath.server.schema import (
    SSE_EVENT,
    AnswerOut,
    ChatCompletionOut,
    documented_errors,
    request_models,
)

if TYPE_CHECKING:
    from verimath.agent import Agent

__all__ = ["create_app", "serve"]

_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def create_app(agent: "Agent", limits: ServerLimits | None = None) -> FastAPI:
    """The HTTP API of `agent` as an ASGI app (serve it with uvicorn or any ASGI server).

    The API key is read from $VERIMATH_API_KEY now, once: set it before creating the app."""
    from verimath import __version__

    limits = limits or ServerLimits()
    max_chars = limits.max_question_chars or agent.settings.max_question_chars
    runner = Runner(agent, limits)
    AskRequest, ChatRequest = request_models(max_chars)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        runner.threads.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="verimath",
        version=__version__,
        summary="Math and science answers, each labelled with what a SymPy check established.",
        lifespan=lifespan,
    )
    app.add_middleware(Gatekeeper, api_key=os.environ.get(API_KEY_ENV) or None, limits=limits)
    add_error_handlers(app)
    errors = documented_errors()

    @app.get("/healthz", summary="Liveness, and the model that answers")
    async def healthz() -> dict[str, Any]:
        gate = runner.gate
        return {
            "ok": True,
            "model": agent.backend.name,
            "version": __version__,
            "running": gate.running,
            "queued": gate.queued,
        }

    @app.post(
        "/v1/ask",
        summary="Answer one question",
        responses={200: {"model": AnswerOut}, **errors},
    )
    async def ask(body: AskRequest) -> JSONResponse:  # type: ignore[valid-type]
        """The `Answer` as JSON: answer, status (verified, refuted, unverified, refused),
        checks, citations, reasoning, candidates, timings and token usage. With `thread_id`,
        the question continues that conversation."""
        answer = await runner.answer(body.question, body.thread_id)  # type: ignore[attr-defined]
        return JSONResponse(answer.to_dict())

    @app.get("/v1/models", summary="The one model, for OpenAI clients that list models")
    async def models() -> dict[str, Any]:
        model = {"id": agent.backend.name, "object": "model", "created": 0, "owned_by": "verimath"}
        return {"object": "list", "data": [model]}

    @app.post(
        "/v1/chat/completions",
        summary="OpenAI-compatible chat completion",
        responses={
            200: {
                "model": ChatCompletionOut,
                "content": {"text/event-stream": {"schema": SSE_EVENT}},
                "description": "A chat.completion, or with stream=true server-sent "
                "chat.completion.chunk events ending with `data: [DONE]`",
            },
            **errors,
        },
    )
    async def chat(body: ChatRequest) -> Any:  # type: ignore[valid-type]
        """The last user message is the question. `content` is the final answer, decided
        after verification; `reasoning_content` is the trace, and the `verimath` object has
        the status, checks, evidence, citations and confidence. With `stream: true`, the
        candidates' text arrives as `reasoning_content` deltas while it is generated, and the
        answer as one `content` delta once it is decided. Sampling parameters (model,
        temperature, max_tokens, ...) are accepted and ignored: the agent's settings decide."""
        question = last_user_text(body.messages, max_chars)  # type: ignore[attr-defined]
        reply = Completion(agent.backend.name)
        if body.stream:  # type: ignore[attr-defined]
            events = await runner.events(question)
            return StreamingResponse(
                reply.chunks(events), media_type="text/event-stream", headers=_SSE_HEADERS
            )
        return JSONResponse(reply.whole(await runner.answer(question, None)))

    return app


def serve(
    agent: "Agent",
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    limits: ServerLimits | None = None,
    log_level: str = "info",
) -> None:
    """Serve `agent` with uvicorn until interrupted (Ctrl+C finishes the requests in flight).
    The port is taken first and the model loaded next, so a busy port fails before a slow
    load, and the first request does not pay for it."""
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingExtraError(
            "the HTTP API needs uvicorn; install it with pip install 'verimath[serve]'"
        ) from exc
    with listening_socket(host, port) as sock:
        agent.load()
        app = create_app(agent, limits=limits)
        config = uvicorn.Config(app, host=host, port=port, log_level=log_level)
        shown = f"[{host}]" if ":" in host else host
        keyed = bool(os.environ.get(API_KEY_ENV))
        log = logging.getLogger("uvicorn.error")
        log.info(
            "verimath serving %s on http://%s:%d (API docs at /docs; %s)",
            agent.backend.name, shown, sock.getsockname()[1],
            f"bearer token from {API_KEY_ENV} required" if keyed else "no API key",
        )  # fmt: skip
        if not keyed and host not in ("127.0.0.1", "localhost", "::1"):
            log.warning("listening beyond this machine without an API key; set %s", API_KEY_ENV)
        uvicorn.Server(config).run(sockets=[sock])
