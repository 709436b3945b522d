"""A scripted chat backend: a test double that honours the real protocol.

Its replies go through the same reasoning split, answer extraction and verification as a real
model's, so graph routing can be tested without loading weights. It records every call, so a
test can check whether the model boundary was crossed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from verimath.graphs.contracts import Completion, Message, OnText, SamplingParams
from verimath.graphs.stopping import cut_at_stop

__all__ = ["ScriptedBackend", "ScriptedCall"]


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    messages: tuple[Message, ...]
    params: SamplingParams
    prefill: str


@dataclass
class ScriptedBackend:
    """Replies from a list (in order; the last repeats) or from a function of the messages.

    A reply ending in the marker `<truncated>` is returned with finish_reason "length", as a
    model that ran out of budget would. With `on_text` the reply is streamed word by word.
    """

    replies: Sequence[str] | Callable[[Sequence[Message], str], str]
    name: str = "scripted"
    supports_prefill: bool = True
    calls: list[ScriptedCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def complete(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        *,
        prefill: str = "",
        on_text: OnText | None = None,
    ) -> Completion:
        with self._lock:
            index = len(self.calls)
            self.calls.append(ScriptedCall(tuple(messages), params, prefill))
        if callable(self.replies):
            text = self.replies(messages, prefill)
        else:
            text = self.replies[min(index, len(self.replies) - 1)]
        truncated = text.endswith("<truncated>")
        text = text.removesuffix("<truncated>")
        before_stop = cut_at_stop(text, params.stop)
        if before_stop is not None:
            text, truncated = before_stop, False
        if on_text is not None:
            for piece in re.findall(r"\S+\s*|\s+", text):
                on_text(piece)
        return Completion(
            text=text,
            finish_reason="length" if truncated else "stop",
            prompt_tokens=sum(len(m.content.split()) for m in messages),
            completion_tokens=len(text.split()),
        )
