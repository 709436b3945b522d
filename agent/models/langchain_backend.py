"""A thin adapter for any LangChain chat model handed in (ChatHuggingFace, ChatOpenAI, …).

The core never depends on LangChain's chat wrappers (they cannot continue an assistant turn
and do not split reasoning); this adapter lets users bring one anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from verimath.errors import BackendError
from verimath.graphs.contracts import Completion, Message, OnText, SamplingParams

__all__ = ["LangChainBackend"]


class LangChainBackend:
    """Wraps a `BaseChatModel`; a forced final answer is asked for in a new user turn."""

    supports_prefill = False

    def __init__(self, chat_model: Any, *, name: str | None = None) -> None:
        self.chat_model = chat_model
        self.name = name or getattr(chat_model, "model_name", None) or type(chat_model).__name__

    def complete(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        *,
        prefill: str = "",
        on_text: OnText | None = None,
    ) -> Completion:
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
        converted = [kinds[m.role](content=m.content) for m in messages]
        stop = list(params.stop) or None
        reply = (
            self._stream(converted, on_text, stop)
            if on_text
            else self.chat_model.invoke(converted, stop=stop)
        )
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        trace = (reply.additional_kwargs or {}).get("reasoning_content")
        if trace:
            text = f"<think>{trace}</think>{text}"
        usage = getattr(reply, "usage_metadata", None) or {}
        finish = (reply.response_metadata or {}).get("finish_reason")
        return Completion(
            text=text,
            finish_reason="length" if finish == "length" else "stop",
            prompt_tokens=int(usage.get("input_tokens", 0)),
            completion_tokens=int(usage.get("output_tokens", 0)),
        )

    def _stream(self, converted: list[Any], on_text: OnText, stop: list[str] | None) -> Any:
        """Stream the reply, handing each text chunk on; the chunks add up to the full message."""
        merged = None
        for chunk in self.chat_model.stream(converted, stop=stop):
            if isinstance(chunk.content, str) and chunk.content:
                on_text(chunk.content)
            merged = chunk if merged is None else merged + chunk
        if merged is None:
            raise BackendError(f"the chat model {self.name} streamed no reply")
        return merged
