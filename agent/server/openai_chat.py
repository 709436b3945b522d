"""The agent as an OpenAI chat model: the question read from a chat request, and the `Answer`
written as a `chat.completion`, or streamed as `chat.completion.chunk` server-sent events.

`content` is the final answer, decided after verification; `reasoning_content` is the trace;
the `verimath` object carries the status, checks, evidence and citations."""

import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from contextlib import aclosing
from typing import Any

from starlette.exceptions import HTTPException

from verimath.answer import Answer
from verimath.errors import VerimathError
from verimath.graphs.events import Checked, Token
from verimath.server.error_responses import ApiError, error_body, status_of
from verimath.server.schema import VERIMATH_KEYS

__all__ = ["Completion", "last_user_text"]

logger = logging.getLogger("verimath.server")


def last_user_text(messages: Iterable[Any], max_chars: int) -> str:
    """The question of a chat request: the text of its last user message."""
    user = [m for m in messages if m.role == "user"]
    if not user:
        raise ApiError(
            422, "messages has no user message; ask the question as one", param="messages"
        )
    content = user[-1].content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if p.get("type") == "text"]
        content = "\n".join(p for p in parts if isinstance(p, str))
    text = content or ""
    if len(text) > max_chars:
        raise ApiError(
            422,
            f"the question has {len(text)} characters; the server takes at most {max_chars}",
            param="messages",
        )
    return text


class Completion:
    """One chat completion in OpenAI's shapes, whole or as chunks."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model

    def whole(self, answer: Answer) -> dict[str, Any]:
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

    async def chunks(self, events: AsyncGenerator[Any, None]) -> AsyncIterator[str]:
        """Server-sent events: the candidates' text and verdicts as reasoning while they come,
        then the answer once it is decided, then `[DONE]`. A failure after the stream began
        (a timeout, a broken model server) is an `error` event, as OpenAI streams it."""
        yield self._sse(self._chunk({"role": "assistant"}))
        trace = _Trace()
        try:
            async with aclosing(events):  # a client that leaves stops the run
                async for event in events:
                    if isinstance(event, Answer):
                        for chunk in self._final(event):
                            yield self._sse(chunk)
                    elif (text := trace.text(event)) is not None:
                        yield self._sse(self._chunk({"reasoning_content": text}))
        except HTTPException as exc:
            yield self._sse(error_body(exc.status_code, str(exc.detail)))
        except VerimathError as exc:
            logger.error("streamed request failed: %s", exc)
            yield self._sse(error_body(status_of(exc), str(exc)))
        except Exception:
            logger.exception("streamed request failed unexpectedly")
            message = "internal error while answering; the server log has the details"
            yield self._sse(error_body(500, message))
        yield "data: [DONE]\n\n"

    def _final(self, answer: Answer) -> list[dict[str, Any]]:
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


def _refusal(answer: Answer) -> str | None:
    """Why a question was refused (the input guardrail's last note repeats the reason)."""
    if answer.status != "refused":
        return None
    return answer.guardrails[-1] if answer.guardrails else "the question was refused"


def _finish_reason(answer: Answer) -> str:
    return "length" if answer.truncated and answer.answer is None else "stop"


def _usage(answer: Answer) -> dict[str, int]:
    prompt, completion = answer.usage.prompt_tokens, answer.usage.completion_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _verimath(answer: Answer) -> dict[str, Any]:
    data = answer.to_dict()
    return {**{key: data[key] for key in VERIMATH_KEYS}, "evidence": answer.evidence}
