"""Any OpenAI-compatible chat endpoint: vLLM, llama.cpp's server, Ollama; one server or several.

Servers that parse reasoning return the trace in `reasoning_content` (or `reasoning`); it is put
back between think tags so the same splitter handles every backend, streamed or not. Continuing
an assistant turn uses vLLM's `continue_final_message`, which llama.cpp's server also honours for
a trailing assistant message.

Retries are the `openai` client's own: `max_retries` times on connection errors, timeouts, 408,
409, 429 and 5xx, with exponential backoff (0.5 s doubling to 8 s, with jitter) or the server's
`Retry-After`. They happen before a response body is read, so a streamed request is retried the
same way. Several base URLs (vLLM data-parallel replicas) share the load: each request goes to the
replica with the fewest requests in flight, round robin on ties, and one that cannot be reached
after its retries is passed over for the next.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from verimath.errors import BackendError, ConfigError
from verimath.graphs.contracts import Completion, FinishReason, Message, OnText, SamplingParams
from verimath.graphs.reasoning import THINK_CLOSE, THINK_OPEN

__all__ = ["OpenAIBackend"]

_T = TypeVar("_T")


@dataclass(slots=True)
class _Replica:
    url: str
    client: Any  # openai.OpenAI
    in_flight: int = 0


class OpenAIBackend:
    """Chat completions over HTTP from one server or several replicas of one model.

    base_url: one URL or a sequence of them, each ending in `/v1` as the server serves it.
    timeout_s: the longest wait for a response, or between two streamed pieces.
    max_retries: retries per request on connection errors, timeouts, 429 and 5xx (0: none).
    """

    supports_prefill = True

    def __init__(
        self,
        base_url: str | Sequence[str],
        model: str | None = None,
        *,
        api_key: str | None = None,
        timeout_s: float = 600.0,
        max_retries: int = 2,
    ) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ConfigError("no --base-url given; pass the URL of at least one server")
        for url in urls:
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise ConfigError(f"--base-url '{url}' must start with http:// or https://")
        if max_retries < 0 or timeout_s <= 0:
            raise ConfigError("max_retries must be 0 or more and timeout_s more than 0")
        import openai

        self.base_urls = tuple(dict.fromkeys(url.rstrip("/") for url in urls))
        self.base_url = self.base_urls[0]
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._replicas = [
            _Replica(url, openai.OpenAI(
                base_url=url, api_key=api_key or "not-needed",
                timeout=timeout_s, max_retries=max_retries,
            ))
            for url in self.base_urls
        ]  # fmt: skip
        self._lock = threading.Lock()
        self._turn = 0
        self._model = model
        self.name = self._name()

    def _name(self) -> str:
        return f"{self._model or 'server default'} @ {', '.join(self.base_urls)}"

    @property
    def model(self) -> str:
        """The served model; when none was named, the server's first (vLLM serves one)."""
        if self._model is None:
            models = self._on_a_replica(lambda replica: replica.client.models.list())
            first = next(iter(models.data), None)
            if first is None:
                raise BackendError(f"the server at {self.base_url} lists no models; pass --model")
            self._model = first.id
            self.name = self._name()
        return self._model

    def complete(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        *,
        prefill: str = "",
        on_text: OnText | None = None,
    ) -> Completion:
        payload: list[dict[str, str]] = [m.to_dict() for m in messages]
        extra: dict[str, Any] = {}
        if prefill:
            payload.append({"role": "assistant", "content": prefill})
            extra = {"continue_final_message": True, "add_generation_prompt": False}
        request: dict[str, Any] = {
            "model": self.model,
            "messages": payload,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
            "stop": list(params.stop) or None,
            "extra_body": extra or None,
        }
        # A wall-time bound needs the text so far when it runs out, so it streams too.
        if on_text is None and params.max_time_s is None:
            return self._on_a_replica(lambda replica: self._whole(replica, request, prefill))
        return self._on_a_replica(
            lambda replica: self._streamed(replica, request, params, prefill, on_text)
        )

    def _whole(self, replica: _Replica, request: dict[str, Any], prefill: str) -> Completion:
        response = replica.client.chat.completions.create(**request)
        if not response.choices:
            raise BackendError(f"the server at {replica.url} returned no choices; check its log")
        choice = response.choices[0]
        finish: FinishReason = "length" if choice.finish_reason == "length" else "stop"
        pieces = _Pieces(None, prefilled=bool(prefill))
        pieces.add(_reasoning(choice.message), choice.message.content)
        usage = response.usage
        return Completion(
            text=pieces.close(truncated=finish == "length"),
            finish_reason=finish,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    def _streamed(
        self,
        replica: _Replica,
        request: dict[str, Any],
        params: SamplingParams,
        prefill: str,
        on_text: OnText | None,
    ) -> Completion:
        """Stream one request. Errors before the first piece are the client's (retried, and
        passed to `_on_a_replica`); errors after it end the call here, since pieces already
        given to `on_text` cannot be taken back by a retry."""
        import httpx
        import openai

        client = replica.client
        if params.max_time_s is not None:  # no single wait longer than the whole budget
            timeout = httpx.Timeout(self.timeout_s, read=min(self.timeout_s, params.max_time_s))
            client = client.with_options(timeout=timeout)
        started = time.monotonic()
        try:
            stream = client.chat.completions.create(
                **request, stream=True, stream_options={"include_usage": True}
            )
        except openai.APITimeoutError as exc:
            if params.max_time_s is None:
                raise  # the client timeout: reported by `_on_a_replica`
            raise BackendError(
                f"the model server at {replica.url} sent nothing within the generation time "
                f"limit of {params.max_time_s:g} s ({self._attempts}); check the server's load, "
                "or raise generation_time_limit_s"
            ) from exc
        pieces = _Pieces(on_text, prefilled=bool(prefill))
        finish: FinishReason = "stop"
        usage: Any = None
        try:
            with stream:
                for chunk in stream:
                    if params.max_time_s and time.monotonic() - started > params.max_time_s:
                        finish = "length"  # cut by the wall-time bound: truncated
                        break
                    usage = chunk.usage or usage
                    for choice in chunk.choices[:1]:
                        pieces.add(_reasoning(choice.delta), choice.delta.content)
                        if choice.finish_reason is not None:
                            finish = "length" if choice.finish_reason == "length" else "stop"
        except openai.APITimeoutError as exc:
            if params.max_time_s is None:
                raise BackendError(
                    f"the model server at {replica.url} stopped sending for {self.timeout_s:g} s "
                    "mid-answer; check the server, or raise OpenAIBackend(timeout_s=...)"
                ) from exc
            finish = "length"
        except openai.APIError as exc:
            raise BackendError(
                f"the model server at {replica.url} broke off mid-answer ({type(exc).__name__}: "
                f"{str(exc)[:200]}); check its log"
            ) from exc
        text = pieces.close(truncated=finish == "length")
        return Completion(
            text=text,
            finish_reason=finish,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else pieces.count,
        )

    def _on_a_replica(self, work: Callable[[_Replica], _T]) -> _T:
        """Run `work` on the least busy replica; fail over to the next one while replicas
        cannot be reached. Timeouts and HTTP errors are final (the server is there)."""
        import openai

        tried: list[str] = []
        while (lease := self._lease(tried)) is not None:
            with lease as replica:
                try:
                    return work(replica)
                except openai.APITimeoutError as exc:
                    raise BackendError(
                        f"the model server at {replica.url} did not answer within "
                        f"{self.timeout_s:g} s ({self._attempts}); check the server, "
                        "or raise OpenAIBackend(timeout_s=...)"
                    ) from exc
                except openai.APIConnectionError as exc:
                    tried.append(replica.url)
                    error: Exception = exc
                except openai.APIStatusError as exc:
                    raise BackendError(
                        f"the model server at {replica.url} answered HTTP {exc.status_code} "
                        f"({self._attempts}): {str(exc.message)[:200]}; check its log"
                    ) from exc
        where = "the model server at" if len(tried) == 1 else "any of the model servers at"
        raise BackendError(
            f"cannot reach {where} {', '.join(tried)} ({type(error).__name__}); "
            "start it or fix --base-url"
        ) from error

    @property
    def _attempts(self) -> str:
        return "1 attempt" if self.max_retries == 0 else f"{self.max_retries + 1} attempts"

    def _lease(self, tried: Sequence[str]) -> AbstractContextManager[_Replica] | None:
        """A context holding the replica with the fewest requests in flight among those not
        tried (round robin on ties), or None when every replica was tried."""
        with self._lock:
            count = len(self._replicas)
            order = [self._replicas[(self._turn + i) % count] for i in range(count)]
            free = [replica for replica in order if replica.url not in tried]
            if not free:
                return None
            chosen = min(free, key=lambda replica: replica.in_flight)  # first among ties
            self._turn = (self._replicas.index(chosen) + 1) % count
            chosen.in_flight += 1
        return self._holding(chosen)

    @contextmanager
    def _holding(self, replica: _Replica) -> Iterator[_Replica]:
        try:
            yield replica
        finally:
            with self._lock:
                replica.in_flight -= 1


def _reasoning(message: Any) -> str | None:
    """The trace a reasoning parser split off (vLLM: `reasoning_content`, newer: `reasoning`)."""
    return getattr(message, "reasoning_content", None) or getattr(message, "reasoning", None)


class _Pieces:
    """The text a server's reasoning parser split, put back together in order as the model wrote
    it: `<think>trace</think>answer`. A trace cut off by the budget stays open, as a model's own
    would. After a prefill the model continues text that is already open (`<think>…`, or after
    `</think>`), so no opening tag is added and none is invented at the end; a parser that saw no
    `</think>` labels the whole continuation as trace. Streamed (`on_text`) or whole, the text
    is the same; pieces are counted for servers that send no usage (about one token each)."""

    def __init__(self, on_text: OnText | None, *, prefilled: bool) -> None:
        self._on_text, self._prefilled = on_text, prefilled
        self._parts: list[str] = []
        self._in_trace = False
        self.count = 0

    def add(self, trace: str | None, content: str | None) -> None:
        if trace:
            opening = "" if self._in_trace or self._prefilled else THINK_OPEN
            self._emit(opening + trace)
            self._in_trace = True
            self.count += 1
        if content:
            self._emit(THINK_CLOSE + content if self._in_trace else content)
            self._in_trace = False
            self.count += 1

    def close(self, *, truncated: bool) -> str:
        if self._in_trace and not truncated and not self._prefilled:
            self._emit(THINK_CLOSE)
        self._in_trace = False
        return "".join(self._parts)

    def _emit(self, piece: str) -> None:
        self._parts.append(piece)
        if self._on_text is not None:
            self._on_text(piece)
