"""`verimath serve`: the agent over HTTP, for programs in any language and for any OpenAI client
(`POST /v1/chat/completions` makes the agent a model whose answers say whether they were verified).

    from verimath import Agent
    from verimath.server import ServerLimits, create_app
    app = create_app(Agent(model="demo"), limits=ServerLimits(max_concurrency=2))

FastAPI and uvicorn are the `serve` extra: importing this module without them fails with the
pip command. The agent's blocking work runs in the app's own worker threads, one per allowed
concurrent question. A request keeps its slot until its thread is really done, also after a
timeout or a client that went away, so the limit bounds the work and not only the responses.

No `from __future__ import annotations` here: FastAPI reads endpoint annotations at run time,
and the request models are made per app (their length limits are part of the OpenAPI schema).
"""

import asyncio
import hmac
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, fields
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from verimath.errors import BackendError, ConfigError, MissingExtraError, VerimathError

try:
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.exceptions import HTTPException
except ImportError as exc:  # the optional extra is missing
    raise MissingExtraError(
        "the HTTP API needs FastAPI and uvicorn; install them with pip install 'verimath[serve]'"
    ) from exc

if TYPE_CHECKING:
    from verimath.agent import Agent
    from verimath.answer import Answer

__all__ = ["ServerLimits", "create_app", "serve", "API_KEY_ENV"]

# When set (and not empty) at app creation, every /v1 request needs `Authorization: Bearer KEY`.
API_KEY_ENV = "VERIMATH_API_KEY"
# Paths anyone may read, also with a key set: liveness checks and the API's own documentation.
_OPEN_PATHS = frozenset({"/healthz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# One server-sent event of a streamed chat completion (before Open API 3.2's `itemSchema`, the
# `schema` of an event stream describes each event).
_SSE_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "event": {"type": "string"},
        "data": {
            "type": "string",
            "description": "A chat.completion.chunk as JSON (the last one has the `verimath` "
            "object), an `error` object, or [DONE]",
        },
    },
}

logger = logging.getLogger("verimath.server")


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """What one server takes on; a request beyond a limit is answered at once with an error
    instead of slowing down everyone else.

    max_body_bytes: larger request bodies get 413 (1 MiB: long chat histories fit).
    max_question_chars: longer questions get 422; None uses the agent's own
        `Settings.max_question_chars` (4000 by default), so the HTTP limit and the input
        guardrail agree.
    max_concurrency: questions answered at once, each in a worker thread (one shared model).
    max_queue: requests waiting for a free worker; more than that get 503 with Retry-After.
    timeout_s: seconds from arrival to answer, waiting included, before 504.
    retry_after_s: the Retry-After header of a 503.
    """

    max_body_bytes: int = 1 << 20
    max_question_chars: int | None = None
    max_concurrency: int = 4
    max_queue: int = 32
    timeout_s: float = 600.0
    retry_after_s: int = 5

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            least = 0 if f.name == "max_queue" else 1
            if value is not None and not value >= least:  # `not >=` also catches NaN
                raise ConfigError(
                    f"server limit {f.name} must be at least {least}, not {value}; pass a "
                    "larger value"
                )


def create_app(agent: "Agent", limits: ServerLimits | None = None) -> "FastAPI":
    """The HTTP API of `agent` as an ASGI app (serve it with uvicorn or any ASGI server).

    The API key is read from $VERIMATH_API_KEY now, once: set it before creating the app."""
    from verimath import __version__

    limits = limits or ServerLimits()
    max_chars = limits.max_question_chars or agent.settings.max_question_chars
    runner = _Runner(agent, limits)
    AskRequest, ChatRequest = _request_models(max_chars)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        runner.executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="verimath",
        version=__version__,
        summary="Math and science answers, each labelled with what a SymPy check established.",
        lifespan=lifespan,
    )
    app.add_middleware(_Gatekeeper, api_key=os.environ.get(API_KEY_ENV) or None, limits=limits)
    _add_error_handlers(app)
    errors = _documented_errors()

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
                "content": {"text/event-stream": {"schema": _SSE_EVENT}},
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
        question = _last_user_text(body.messages, max_chars)  # type: ignore[attr-defined]
        reply = _Completion(agent.backend.name)
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
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pass another --port or --host"
        ) from exc
    with sock:
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


# --- request and response models ------------------------------------------------------------


def _request_models(max_chars: int) -> tuple[type[BaseModel], type[BaseModel]]:
    """The request bodies, with this app's question limit in their schema."""

    # strict: a value is taken only in the type the schema names ("12" is no integer)
    class AskRequest(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)

        question: str = Field(min_length=1, max_length=max_chars, description="The question")
        thread_id: str | None = Field(
            None,
            min_length=1,
            max_length=200,
            description="A conversation to continue (kept while the server runs, or in the "
            "checkpoint file)",
        )

    class ChatMessage(BaseModel):
        model_config = ConfigDict(extra="allow", strict=True)

        role: str = Field(description="system, user, assistant, ...")
        content: str | list[dict[str, Any]] | None = Field(
            None, description="Text, or a list of content parts (the text parts are read)"
        )

    class ChatRequest(BaseModel):
        # OpenAI clients send many parameters; unknown ones are accepted and ignored.
        model_config = ConfigDict(extra="allow", strict=True)

        messages: list[ChatMessage] = Field(
            min_length=1,
            description="The conversation; its last user message is the question "
            f"(at most {max_chars} characters)",
            json_schema_extra={
                "contains": {"required": ["role"], "properties": {"role": {"const": "user"}}}
            },
        )
        stream: bool = Field(False, description="Server-sent chat.completion.chunk events")
        model: str | None = Field(None, description="Accepted and ignored: one model serves")
        temperature: float | None = Field(None, description="Accepted and ignored")
        max_tokens: int | None = Field(None, description="Accepted and ignored")

    return AskRequest, ChatRequest


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorOut(BaseModel):
    """OpenAI's error shape, for every 4xx and 5xx."""

    error: ErrorDetail


class CheckOut(BaseModel):
    name: str
    outcome: str
    detail: str


class CitationOut(BaseModel):
    id: str
    source: str
    title: str
    text: str
    score: float


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class CandidateOut(BaseModel):
    answer: str | None
    status: str
    checks: list[CheckOut]
    group: int | None
    retry_of: int | None
    temperature: float
    truncated: bool
    reasoning: str
    source: str


class AnswerOut(BaseModel):
    """`Answer.to_dict()`."""

    question: str
    answer: str | None
    status: str
    reasoning: str
    citations: list[CitationOut]
    checks: list[CheckOut]
    guardrails: list[str]
    timings: dict[str, float]
    model: str
    usage: UsageOut
    attempts: int
    truncated: bool
    error: str | None
    confidence: float | None
    review_pending: bool
    candidates: list[CandidateOut]


class VerimathOut(BaseModel):
    """What verimath adds to an OpenAI completion: what was checked and what it rests on."""

    status: str
    answer: str | None
    confidence: float | None
    evidence: str
    checks: list[CheckOut]
    citations: list[CitationOut]
    guardrails: list[str]
    attempts: int
    truncated: bool
    review_pending: bool
    error: str | None
    timings: dict[str, float]


class ChatMessageOut(BaseModel):
    role: str
    content: str | None
    reasoning_content: str
    refusal: str | None


class ChoiceOut(BaseModel):
    index: int
    message: ChatMessageOut
    finish_reason: str
    logprobs: None = None


class ChatUsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletionOut(BaseModel):
    id: str
    object: str
    created: int
    model: str
    choices: list[ChoiceOut]
    usage: ChatUsageOut
    verimath: VerimathOut


def _documented_errors() -> dict[int | str, dict[str, Any]]:
    said = {
        400: "Malformed JSON",
        401: "Missing or wrong API key (when the server has one)",
        413: "Request body too large",
        422: "A field is missing, of the wrong type, or too long",
        502: "The model server failed",
        503: "Too many requests waiting; retry after Retry-After seconds",
        504: "No answer within the server's timeout",
    }
    return {code: {"model": ErrorOut, "description": text} for code, text in said.items()}


# --- errors -----------------------------------------------------------------------------------


class _ApiError(HTTPException):
    """A request answered with an error status; HTTPException so that FastAPI passes it on
    unchanged also when it is raised while the body is read."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, **headers: str
    ) -> None:
        super().__init__(status, message, headers=headers or None)
        self.param = param


def _error_type(status: int) -> str:
    names = {401: "authentication_error", 404: "not_found_error", 503: "overloaded_error"}
    if status in names:
        return names[status]
    if status == 504:
        return "timeout_error"
    return "server_error" if status >= 500 else "invalid_request_error"


def _error_body(status: int, message: str, param: str | None = None) -> dict[str, Any]:
    return {
        "error": {"message": message, "type": _error_type(status), "param": param, "code": None}
    }


def _error(status: int, message: str, param: str | None = None, **headers: Any) -> JSONResponse:
    return JSONResponse(_error_body(status, message, param), status, headers=headers or None)


def _add_error_handlers(app: FastAPI) -> None:
    """Every error is the JSON error shape with a message a client can act on; tracebacks stay
    in the server's log."""

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        status, detail = getattr(exc, "status_code", 500), getattr(exc, "detail", "")
        headers = getattr(exc, "headers", None) or {}
        return _error(status, str(detail), getattr(exc, "param", None), **headers)

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        problems = exc.errors() if isinstance(exc, RequestValidationError) else []
        if any(p.get("type") == "json_invalid" for p in problems):
            return _error(400, "the request body is not valid JSON; send a JSON object")
        content_type = request.headers.get("content-type", "application/json")
        if "json" not in content_type and any(p.get("loc") == ("body",) for p in problems):
            message = f"the body is {content_type}; send JSON with Content-Type: application/json"
            return _error(422, message, "body")
        where = [".".join(str(part) for part in p.get("loc", ())) for p in problems]
        message = "; ".join(
            f"{w}: {p.get('msg', 'invalid')}" for w, p in zip(where, problems, strict=True)
        )
        return _error(422, message or "invalid request", where[0] if where else None)

    async def agent_error(_: Request, exc: Exception) -> JSONResponse:
        logger.error("request failed: %s", exc)
        status = 502 if isinstance(exc, BackendError) else 500
        return _error(status, str(exc))

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("request failed unexpectedly", exc_info=exc)
        return _error(500, "internal error while answering; the server log has the details")

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(VerimathError, agent_error)
    app.add_exception_handler(Exception, unexpected)


def _last_user_text(messages: Iterable[Any], max_chars: int) -> str:
    """The question of a chat request: the text of its last user message."""
    user = [m for m in messages if m.role == "user"]
    if not user:
        raise _ApiError(
            422, "messages has no user message; ask the question as one", param="messages"
        )
    content = user[-1].content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if p.get("type") == "text"]
        content = "\n".join(p for p in parts if isinstance(p, str))
    text = content or ""
    if len(text) > max_chars:
        raise _ApiError(
            422,
            f"the question has {len(text)} characters; the server takes at most {max_chars}",
            param="messages",
        )
    return text


# --- limits ------------------------------------------------------------------------------------


class _Gatekeeper:
    """ASGI middleware that runs before any body is read: the API key (401), then the body
    size (413), so a request without the key or too large costs nothing."""

    def __init__(self, app: Any, *, api_key: str | None, limits: ServerLimits) -> None:
        self.app = app
        self.key = api_key.encode() if api_key else None
        self.max_body = limits.max_body_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if self.key is not None and scope["path"] not in _OPEN_PATHS:
            scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(token.strip(), self.key):
                message = (
                    f"missing or wrong API key; send the server's {API_KEY_ENV} in the header "
                    "'Authorization: Bearer KEY'"
                )
                response = _error(401, message, **{"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit():
            message = "the Content-Length header is not a number of bytes; send a valid one"
            await _error(400, message)(scope, receive, send)
            return
        if int(declared) > self.max_body:
            await _error(413, self._too_large_message())(scope, receive, send)
            return
        received = 0

        async def counted() -> Any:  # a body sent in chunks, without Content-Length
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise _ApiError(413, self._too_large_message())
            return message

        await self.app(scope, counted, send)

    def _too_large_message(self) -> str:
        return f"the request body is larger than {self.max_body} bytes, the server's limit"


class _Busy(Exception):
    """No free worker and a full queue."""


class _Gate:
    """Admission: `running` questions at once, up to `waiting` more in line (first come,
    first served); beyond that a request is turned away at once. Used from the event loop's
    thread only, so plain counters are safe."""

    def __init__(self, running: int, waiting: int) -> None:
        self.capacity, self.waiting = running, waiting
        self.running = 0
        self._line: deque[asyncio.Future[None]] = deque()

    @property
    def queued(self) -> int:
        return sum(not w.done() for w in self._line)

    async def enter(self, timeout_s: float) -> None:
        """Take a slot; raises `_Busy` at once when the line is full, TimeoutError when no slot
        came free in time."""
        if self.running < self.capacity and not self.queued:
            self.running += 1
            return
        if self.queued >= self.waiting:
            raise _Busy
        turn = asyncio.get_running_loop().create_future()
        self._line.append(turn)
        try:
            await asyncio.wait_for(turn, timeout_s)
        except BaseException:
            if turn.done() and not turn.cancelled():
                self.leave()  # the slot arrived as we gave up: pass it on
            elif turn in self._line:
                self._line.remove(turn)
            raise

    def leave(self) -> None:
        """Free a slot, handing it straight to the first in line."""
        while self._line:
            turn = self._line.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.running -= 1


_END = object()  # the last item of a stream's queue


class _Runner:
    """Runs the agent's blocking calls in worker threads, within the limits."""

    def __init__(self, agent: "Agent", limits: ServerLimits) -> None:
        self.agent, self.limits = agent, limits
        self.gate = _Gate(limits.max_concurrency, limits.max_queue)
        self.executor = ThreadPoolExecutor(limits.max_concurrency, "verimath-serve")
        self._abandoned: set[asyncio.Future[Any]] = set()  # work whose request timed out

    async def _start(self, work: Callable[[], Any]) -> tuple["asyncio.Future[Any]", float]:
        """Admit a request and start `work` in a worker thread: its future, and the deadline
        (loop time) of the request."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.timeout_s
        try:
            await self.gate.enter(self.limits.timeout_s)
        except _Busy:
            raise _ApiError(
                503,
                f"the server is busy ({self.limits.max_concurrency} questions running, "
                f"{self.limits.max_queue} waiting); retry in a few seconds",
                **{"Retry-After": str(self.limits.retry_after_s)},
            ) from None
        except asyncio.TimeoutError:
            raise self._timeout() from None
        future = loop.run_in_executor(self.executor, work)
        future.add_done_callback(self._finished)
        return future, deadline

    def _finished(self, future: "asyncio.Future[Any]") -> None:
        self.gate.leave()
        exc = None if future.cancelled() else future.exception()  # retrieved: no asyncio noise
        if future in self._abandoned:
            self._abandoned.discard(future)
            if exc is not None:  # nobody is waiting for it: the log is its only record
                logger.warning("a timed-out question then failed: %s: %s", type(exc).__name__, exc)

    def _timeout(self) -> _ApiError:
        return _ApiError(
            504, f"no answer within {self.limits.timeout_s:g} s, the server's timeout per request"
        )

    async def answer(self, question: str, thread_id: str | None) -> "Answer":
        future, deadline = await self._start(partial(self.agent.ask, question, thread_id=thread_id))
        remaining = deadline - asyncio.get_running_loop().time()
        try:  # shielded: the thread goes on after a timeout, and holds its slot until done
            return await asyncio.wait_for(asyncio.shield(future), max(remaining, 0.0))
        except asyncio.TimeoutError:
            self._abandoned.add(future)
            raise self._timeout() from None

    async def events(self, question: str) -> AsyncIterator[Any]:
        """Admit a streamed question now (so 503 can still be the status), then yield its
        events as the worker thread produces them, until the `Answer`."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the server's loop has closed: nobody is listening
                stop.set()

        def work() -> None:
            events = self.agent.stream(question)
            try:
                for event in events:
                    put(event)
                    if stop.is_set():  # the client went away or timed out: stop early
                        break
            finally:
                events.close()
                put(_END)

        future, deadline = await self._start(work)

        async def relay() -> AsyncIterator[Any]:
            try:
                while True:
                    remaining = max(deadline - loop.time(), 0.0)
                    try:
                        item = await asyncio.wait_for(queue.get(), remaining)
                    except asyncio.TimeoutError:
                        raise self._timeout() from None
                    if item is _END:
                        await asyncio.shield(future)  # raises what the worker raised
                        return
                    yield item
            finally:
                stop.set()
                if not future.done():
                    self._abandoned.add(future)

        return relay()


# --- OpenAI responses ---------------------------------------------------------------------------


class _Completion:
    """One chat completion in OpenAI's shapes, whole or as chunks."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model

    def whole(self, answer: "Answer") -> dict[str, Any]:
        message = {
            "role": "assistant",
            "content": answer.answer,
            "reasoning_content": answer.reasoning,
            "refusal": _refusal(answer),
        }
        return {
            **self._head("chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": _finish_reason(answer),
                    "logprobs": None,
                }
            ],
            "usage": _usage(answer),
            "verimath": _verimath(answer),
        }

    async def chunks(self, events: AsyncIterator[Any]) -> AsyncIterator[str]:
        """Server-sent events: the candidates' text and verdicts as reasoning while they come,
        then the answer once it is decided, then `[DONE]`. A failure after the stream began
        (a timeout, a broken model server) is an `error` event, as OpenAI streams it."""
        from verimath.answer import Answer

        yield self._sse(self._chunk({"role": "assistant"}))
        trace = _Trace()
        try:
            async with aclosing(events):  # a client that leaves stops the worker early
                async for event in events:
                    if isinstance(event, Answer):
                        for chunk in self._final(event):
                            yield self._sse(chunk)
                    elif (text := trace.text(event)) is not None:
                        yield self._sse(self._chunk({"reasoning_content": text}))
        except HTTPException as exc:
            yield self._sse(_error_body(exc.status_code, str(exc.detail)))
        except VerimathError as exc:
            logger.error("streamed request failed: %s", exc)
            yield self._sse(_error_body(502 if isinstance(exc, BackendError) else 500, str(exc)))
        except Exception:
            logger.exception("streamed request failed unexpectedly")
            message = "internal error while answering; the server log has the details"
            yield self._sse(_error_body(500, message))
        yield "data: [DONE]\n\n"

    def _final(self, answer: "Answer") -> list[dict[str, Any]]:
        """The decided answer (or the refusal), then the closing chunk with usage and the
        `verimath` object."""
        refusal = _refusal(answer)
        chunks = []
        if refusal is not None:
            chunks.append(self._chunk({"refusal": refusal}))
        elif answer.answer is not None:
            chunks.append(self._chunk({"content": answer.answer}))
        last = self._chunk({}, _finish_reason(answer))
        return [*chunks, {**last, "usage": _usage(answer), "verimath": _verimath(answer)}]

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return {**self._head("chat.completion.chunk"), "choices": [choice]}

    @staticmethod
    def _sse(data: dict[str, Any]) -> str:
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


class _Trace:
    """What a stream shows as `reasoning_content`: each candidate's text as it is generated
    (its thinking and its response alike: neither is the answer until verified), headed by its
    number from the second candidate on, and each verdict."""

    def __init__(self) -> None:
        self.candidate = 0

    def text(self, event: Any) -> str | None:
        from verimath.graphs.events import Checked, Token

        if isinstance(event, Token):
            header = (
                f"\n\n[candidate {event.candidate + 1}]\n"
                if event.candidate != self.candidate
                else ""
            )
            self.candidate = event.candidate
            return header + event.text
        if isinstance(event, Checked):
            evidence = f": {event.verdict.evidence}" if event.verdict.evidence else ""
            return (
                f"\n[check of candidate {event.candidate + 1}'s answer {event.answer}: "
                f"{event.verdict.status}{evidence}]\n"
            )
        return None


def _refusal(answer: "Answer") -> str | None:
    """Why a question was refused (the input guardrail's last note repeats the reason)."""
    if answer.status != "refused":
        return None
    return answer.guardrails[-1] if answer.guardrails else "the question was refused"


def _finish_reason(answer: "Answer") -> str:
    return "length" if answer.truncated and answer.answer is None else "stop"


def _usage(answer: "Answer") -> dict[str, int]:
    prompt, completion = answer.usage.prompt_tokens, answer.usage.completion_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


_VERIMATH_KEYS = (
    "status", "answer", "confidence", "checks", "citations", "guardrails", "attempts",
    "truncated", "review_pending", "error", "timings",
)  # fmt: skip


def _verimath(answer: "Answer") -> dict[str, Any]:
    data = answer.to_dict()
    return {**{key: data[key] for key in _VERIMATH_KEYS}, "evidence": answer.evidence}
