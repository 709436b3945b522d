"""In-process generation with llama.cpp (llama-cpp-python): GGUF files such as
Phi-4-mini-reasoning Q4_K_M, faster on a CPU than transformers reading the same file (2.4x the
tokens per second for the demo model: bench/backends.py, BENCHMARKS.md).

`llama_cpp` is imported on first load, never at import time; it is the `[gguf]` extra. The prompt
is the GGUF's own chat template (`tokenizer.chat_template` in its metadata) rendered the way
transformers renders it, so both backends send the model the same text, and an assistant prefill
is appended to the rendered prompt, which is how a turn is continued.
"""

from __future__ import annotations

import codecs
import threading
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from verimath.errors import ConfigError, MissingExtraError, ModelNotFoundError
from verimath.models.base import Completion, FinishReason, Message, OnText, SamplingParams
from verimath.models.stopping import StopText

__all__ = ["LlamaCppBackend", "DEFAULT_N_CTX"]

# Room for a prompt with passages and Phi-4-mini-reasoning's default 4,096-token budget. The
# KV cache grows with it (about 1 GiB for Phi-4-mini at 8,192), so it is not the model's 128K.
DEFAULT_N_CTX = 8192
_GGUF_MAGIC = b"GGUF"
_INSTALL = "pip install 'verimath[gguf]'"
# Held while `_new_llama` swaps llama-cpp-python's default model parameters (process-wide).
_PARAMS_SWAP = threading.Lock()


class LlamaCppBackend:
    """A GGUF model run by llama.cpp, loaded once, on first use.

    One llama.cpp context holds one sequence, so calls take turns (a lock): a `Llama` object is
    not thread-safe. Each call reads its whole prompt afresh: reusing the previous call's KV cache
    for a shared prefix evaluates the rest in other batch shapes, which changes the logits
    slightly and so greedy outputs, and a call's result would depend on the call before it.

    threads: CPU threads for llama.cpp (None keeps its choice: half the cores to generate, all
    of them to read the prompt). n_ctx: context length in tokens, prompt plus generation; a
    generation that reaches it ends as truncated ("length").
    """

    supports_prefill = True

    def __init__(
        self,
        path: str | Path,
        *,
        threads: int | None = None,
        n_ctx: int = DEFAULT_N_CTX,
        name: str | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        self.threads = threads
        self.n_ctx = n_ctx
        self.name = name or f"{self.path} (llama.cpp)"
        self._llm: Any = None
        self._template: Any = None
        self._vocab: Any = None
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()

    def load(self) -> LlamaCppBackend:
        """Read the weights now (otherwise the first `complete` does)."""
        with self._load_lock:
            if self._llm is None:
                self._llm, self._template, self._vocab = self._load()
        return self

    def _load(self) -> tuple[Any, Any, Any]:
        _check_gguf(self.path)
        try:
            import llama_cpp
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:
            raise MissingExtraError(
                f"model '{self.name}' runs on llama.cpp, which is not installed; {_INSTALL}"
            ) from exc
        try:
            llm = _new_llama(
                llama_cpp,
                model_path=str(self.path),
                n_ctx=self.n_ctx,
                n_threads=self.threads,
                n_threads_batch=self.threads,
                verbose=False,
            )
        except ValueError as exc:  # llama.cpp's "Failed to load model from file"
            raise ModelNotFoundError(
                f"llama.cpp could not load '{self.path}' ({exc}); the file may be damaged or "
                "of an architecture this llama-cpp-python does not know: download it again or "
                "upgrade llama-cpp-python"
            ) from exc
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelNotFoundError(
                f"model '{self.name}' has no chat template in its GGUF metadata; "
                "use an instruction-tuned model"
            )

        def special_text(token: int) -> str:
            return "" if token < 0 else llm.detokenize([token], special=True).decode("utf-8")

        formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=special_text(llm.token_eos()),
            bos_token=special_text(llm.token_bos()),
            add_generation_prompt=True,
        )
        return llm, formatter, llama_cpp.llama_model_get_vocab(llm.model)

    def render(self, messages: Sequence[Message], prefill: str = "") -> str:
        """The exact prompt text: the GGUF's chat template plus any assistant prefill."""
        self.load()
        rendered = self._template(messages=[m.to_dict() for m in messages]).prompt
        return str(rendered) + prefill

    def complete(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        *,
        prefill: str = "",
        on_text: OnText | None = None,
    ) -> Completion:
        prompt = self.render(messages, prefill)
        with self._generate_lock:
            return self._generate(prompt, params, on_text)

    def _generate(self, prompt: str, params: SamplingParams, on_text: OnText | None) -> Completion:
        """Sample token by token, so that the budget, the time limit and streaming are exact."""
        import llama_cpp

        started = time.monotonic()
        llm = self._llm
        # As llama.cpp's own chat handler does: the template already wrote any BOS it wants,
        # and its special tokens are tokens, not text.
        prompt_ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        room = self.n_ctx - len(prompt_ids)
        if room < 1:
            raise ConfigError(
                f"the prompt is {len(prompt_ids)} tokens, more than the {self.n_ctx}-token "
                f"context of '{self.name}'; pass a larger n_ctx= or retrieve fewer passages"
            )
        # Sampling as SamplingParams says and nothing else: llama.cpp's own top-k 40 and
        # min-p 0.05 defaults are turned off; temperature 0 is greedy.
        llm.set_seed(llama_cpp.LLAMA_DEFAULT_SEED if params.seed is None else params.seed)
        llm.reset()  # no KV cache reuse (see the class docstring)
        tokens = llm.generate(
            prompt_ids, temp=params.temperature, top_p=params.top_p, top_k=0, min_p=0.0,
            typical_p=1.0, repeat_penalty=1.0,
        )  # fmt: skip
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text = StopText(params.stop, on_text)
        finish: FinishReason = "length"
        generated = 0
        with closing(tokens):
            for token in tokens:
                generated += 1
                if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                    finish = "stop"
                    break
                if text.feed(decoder.decode(llm.detokenize([token]))):
                    finish = "stop"
                    break
                over_time = (
                    params.max_time_s is not None and time.monotonic() - started > params.max_time_s
                )
                if generated >= min(params.max_new_tokens, room) or over_time:
                    break
        if not text.stopped:
            text.feed(decoder.decode(b"", final=True))  # a character cut off by the budget
            text.finish()
        return Completion(
            text=text.text,
            finish_reason=finish,
            prompt_tokens=len(prompt_ids),
            completion_tokens=generated,
        )


def _new_llama(llama_cpp: Any, **kwargs: Any) -> Any:
    """`llama_cpp.Llama(**kwargs)`, without the AMX matrix kernels on CPUs that have them.

    ggml repacks weights into AMX tiles on such CPUs (Sapphire Rapids and later), and its AMX
    matmul segfaults on the first prompt there, taking the interpreter with it
    (ggml-org/llama.cpp#20824, closed without a fix; it crashes on this project's build
    machine with the demo's Q4_1 file).
    llama.cpp's `--no-repack` (model parameter `use_extra_bufts`) keeps the weights in plain CPU
    buffers; `Llama` does not expose it, so its default parameters are swapped for the load.
    """
    if b"AMX_INT8 = 1" not in llama_cpp.llama_print_system_info():
        return llama_cpp.Llama(**kwargs)
    low_level = llama_cpp.llama_cpp
    defaults = low_level.llama_model_default_params

    def without_repacking() -> Any:
        params = defaults()
        params.use_extra_bufts = False
        return params

    with _PARAMS_SWAP:
        low_level.llama_model_default_params = without_repacking
        try:
            return llama_cpp.Llama(**kwargs)
        finally:
            low_level.llama_model_default_params = defaults


def _check_gguf(path: Path) -> None:
    """Fail with the reason before llama.cpp does (it prints to stderr and says only 'failed')."""
    if not path.is_file():
        raise ModelNotFoundError(f"GGUF file '{path}' does not exist; check the path")
    with path.open("rb") as file:
        magic = file.read(4)
    if magic != _GGUF_MAGIC:
        raise ConfigError(
            f"'{path}' is not a GGUF file (it does not start with GGUF); the llama.cpp backend "
            "reads .gguf files only: convert the model or use --backend transformers"
        )
