"""Any OpenAI-compatible chat endpoint: vLLM, llama.cpp's server, Ollama.

Servers that parse reasoning return the trace in `reasoning_content`; it is put back between
think tags so the same splitter handles every backend. Continuing an assistant turn uses vLLM's
`continue_final_message`, which llama.cpp's server also honours for a trailing assistant message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from verimath.errors import BackendError, ConfigError
from verimath.models.base import Completion, Message, OnText, SamplingParams

__all__ = ["OpenAIBackend"]


class OpenAIBackend:
    """Chat completions over HTTP, with the client's retries and timeouts."""

    supports_prefill = True

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api_key: str | None = None,
        timeout_s: float = 600.0,
        max_retries: int = 2,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"--base-url '{base_url}' must start with http:// or https://")
        import openai

        self.base_url = base_url.rstrip("/")
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=api_key or "not-needed",
            timeout=timeout_s,
            max_retries=max_retries,
        )
        self._model = model
        self.name = f"{model or 'server default'} @ {self.base_url}"

    @property
    def model(self) -> str:
        """The served model; when none was named, the server's first (vLLM serves one)."""
        if self._model is None:
            models = self._call(lambda: self._client.models.list())
            first = next(iter(models.data), None)
            if first is None:
                raise BackendError(f"the server at {self.base_url} lists no models; pass --model")
            self._model = first.id
            self.name = f"{self._model} @ {self.base_url}"
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
        response = self._call(
            lambda: self._client.chat.completions.create(
                model=self.model,
                messages=payload,  # type: ignore[arg-type]
                max_tokens=params.max_new_tokens,
                temperature=params.temperature,
                top_p=params.top_p,
                seed=params.seed,
                extra_body=extra or None,
                **({"timeout": params.max_time_s} if params.max_time_s else {}),
            )
        )
        if not response.choices:
            raise BackendError(f"the server at {self.base_url} returned no choices")
        choice = response.choices[0]
        text = choice.message.content or ""
        trace = getattr(choice.message, "reasoning_content", None) or getattr(
            choice.message, "reasoning", None
        )
        if trace and not prefill:
            text = f"<think>{trace}</think>{text}"
        usage = response.usage
        if on_text is not None and text:
            on_text(text)  # one piece: this backend does not stream yet
        return Completion(
            text=text,
            finish_reason="length" if choice.finish_reason == "length" else "stop",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    def _call(self, request: Any) -> Any:
        import openai

        try:
            return request()
        except openai.APIConnectionError as exc:
            raise BackendError(
                f"cannot reach the model server at {self.base_url} ({type(exc).__name__}); "
                "start it or fix --base-url"
            ) from exc
        except openai.APIStatusError as exc:
            raise BackendError(
                f"the model server at {self.base_url} answered HTTP {exc.status_code}: "
                f"{str(exc.message)[:200]}"
            ) from exc
