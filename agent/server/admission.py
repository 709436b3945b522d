"""What a server takes on, and how work gets in: the API key and body size are checked before a
body is read (`Gatekeeper`), a question waits for one of a fixed number of worker threads or is
turned away at once (`Gate`), and its slot stays taken until its worker thread is really done,
also after a timeout or a client that went away, so the limit bounds the work and not only the
responses (`Runner`)."""

import asyncio
import hmac
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass, fields
from functools import partial
from typing import TYPE_CHECKING, Any

from verimath.errors import ConfigError
from verimath.server.error_responses import ApiError, error_response

if TYPE_CHECKING:
    from verimath.agent import Agent, Event
    from verimath.answer import Answer

__all__ = ["API_KEY_ENV", "Gatekeeper", "Runner", "ServerLimits"]

# When set (and not empty) at app creation, every /v1 request needs `Authorization: Bearer KEY`.
API_KEY_ENV = "VERIMATH_API_KEY"
# Paths anyone may read, also with a key set: liveness checks and the API's own documentation.
_OPEN_PATHS = frozenset({"/healthz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})

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


class Gatekeeper:
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
                response = error_response(401, message, **{"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit():
            message = "the Content-Length header is not a number of bytes; send a valid one"
            await error_response(400, message)(scope, receive, send)
            return
        if int(declared) > self.max_body:
            await error_response(413, self._too_large_message())(scope, receive, send)
            return
        received = 0

        async def counted() -> Any:  # a body sent in chunks, without Content-Length
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise ApiError(413, self._too_large_message())
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


class _Slot(Executor):
    """An admitted request's slot, and its one way to a worker thread: the job it starts keeps
    the slot taken until the job ends, whatever became of the request. The slot goes back on
    the event loop's thread, the only one that touches the gate."""

    def __init__(self, gate: _Gate, threads: Executor, deadline: float) -> None:
        self._gate, self._threads, self.deadline = gate, threads, deadline
        self._loop = asyncio.get_running_loop()
        self._started = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> "Future[Any]":
        if self._started:
            raise RuntimeError("an admitted request runs one job; admit another for more")
        self._started = True
        job = self._threads.submit(fn, *args, **kwargs)
        job.add_done_callback(self._free)
        return job

    def give_up(self) -> None:
        """The request ends before it started its job: free the slot now."""
        if not self._started:
            self._started = True
            self._gate.leave()

    def remaining(self) -> float:
        """Seconds left until the request's deadline."""
        return max(self.deadline - self._loop.time(), 0.0)

    def _free(self, _: "Future[Any]") -> None:
        try:
            self._loop.call_soon_threadsafe(self._gate.leave)
        except RuntimeError:  # the loop has closed, and its gate with it
            pass


_END = object()  # a stream has no more events


class Runner:
    """Runs the agent's blocking calls in the app's worker threads, one per allowed concurrent
    question, within the limits."""

    def __init__(self, agent: "Agent", limits: ServerLimits) -> None:
        self.agent, self.limits = agent, limits
        self.gate = _Gate(limits.max_concurrency, limits.max_queue)
        self.threads = ThreadPoolExecutor(limits.max_concurrency, "verimath-serve")

    async def answer(self, question: str, thread_id: str | None) -> "Answer":
        slot = await self._admit()
        work = partial(self.agent.ask, question, thread_id=thread_id)
        future = asyncio.get_running_loop().run_in_executor(slot, work)
        try:  # shielded: the thread goes on after a timeout, and holds its slot until done
            return await asyncio.wait_for(asyncio.shield(future), slot.remaining())
        except asyncio.TimeoutError:
            future.add_done_callback(_log_late_failure)
            raise self._timeout() from None

    async def events(self, question: str) -> AsyncGenerator["Event", None]:
        """Admit a streamed question and start it now, so that 503 and 504 can still be the
        status; then its events as `Agent.astream` yields them, until the `Answer`. A client
        that leaves, or the timeout, ends the run."""
        slot = await self._admit()
        stream = self.agent.astream(question, executor=slot)
        try:
            first = await self._next(stream, slot)  # the run starts in the slot's thread
        except BaseException:
            slot.give_up()  # in case the run never started
            raise

        async def relay() -> AsyncGenerator["Event", None]:
            async with aclosing(stream):
                event = first
                while event is not _END:
                    yield event
                    event = await self._next(stream, slot)

        return relay()

    async def _admit(self) -> _Slot:
        """Wait for a slot within the request's timeout; 503 at once when the line is full."""
        deadline = asyncio.get_running_loop().time() + self.limits.timeout_s
        try:
            await self.gate.enter(self.limits.timeout_s)
        except _Busy:
            raise ApiError(
                503,
                f"the server is busy ({self.limits.max_concurrency} questions running, "
                f"{self.limits.max_queue} waiting); retry in a few seconds",
                **{"Retry-After": str(self.limits.retry_after_s)},
            ) from None
        except asyncio.TimeoutError:
            raise self._timeout() from None
        return _Slot(self.gate, self.threads, deadline)

    async def _next(self, stream: AsyncGenerator["Event", None], slot: _Slot) -> Any:
        """The stream's next event (`_END` after the last) before the request's deadline."""
        try:
            return await asyncio.wait_for(anext(stream), slot.remaining())
        except StopAsyncIteration:
            return _END
        except asyncio.TimeoutError:
            raise self._timeout() from None

    def _timeout(self) -> ApiError:
        return ApiError(
            504, f"no answer within {self.limits.timeout_s:g} s, the server's timeout per request"
        )


def _log_late_failure(future: "asyncio.Future[Any]") -> None:
    """Nobody waits for a timed-out question any more: the log is its failure's only record."""
    exc = None if future.cancelled() else future.exception()
    if exc is not None:
        logger.warning("a timed-out question then failed: %s: %s", type(exc).__name__, exc)
