"""The one generation interface the graph uses, and its value types.

A backend turns chat messages into text. Everything above it (reasoning split, forced final
answer, verification) is backend-independent, so every backend is tested the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "Message", "SamplingParams", "Completion", "ChatBackend", "Role", "FinishReason", "OnText",
]  # fmt: skip

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length"]
# Receives each new piece of generated text as it is decoded (streaming).
OnText = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """Generation budget and sampling. temperature 0 means greedy decoding. `max_time_s` bounds
    one call's wall time; a call cut by it is reported as truncated (finish_reason "length").
    `stop`: the completion ends just before the first of these strings, which is left out of
    the text (finish_reason "stop"), as in the OpenAI API."""

    max_new_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    max_time_s: float | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Completion:
    """Raw text from one backend call (the continuation only, never the prompt)."""

    text: str
    finish_reason: FinishReason
    prompt_tokens: int = 0
    completion_tokens: int = 0


@runtime_checkable
class ChatBackend(Protocol):
    """A chat model that can continue an assistant turn.

    `prefill` is text the assistant turn already starts with; the backend returns only what
    follows it. Backends that cannot continue a turn set `supports_prefill = False`, and the
    caller asks for the final answer in a new user message instead.

    `on_text`, when given, receives the continuation piece by piece as it is decoded; the
    pieces concatenate to `Completion.text`. A backend that cannot stream calls it once.
    """

    name: str
    supports_prefill: bool

    def complete(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        *,
        prefill: str = "",
        on_text: OnText | None = None,
    ) -> Completion: ...
