"""In-process generation with llama.cpp (llama-cpp-python): GGUF files such as
Phi-4-mini-reasoning Q4_K_M, faster on a CPU than transformers reading the same file (2.4x the
tokens per second for the demo model: bench/backends.py, BENCHMARKS.md).

`llama_cpp` is imported on first load, never at import time; it is the `[gguf]` extra. The prompt
is the GGUF's own chat template (`tokenizer.chat_template` in its metadata) rendered the way
transformers renders it, so both backends send the model the same text, and an assistant prefill
is appended to the rendered prompt, which is how a turn is continued. Decoding itself, several
sequences at once, is `BatchedDecoder`'s (llamacpp_engine.py).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from verimath.errors import ConfigError, MissingExtraError, ModelNotFoundError
from verimath.graphs.contracts import Completion, Message, OnText, SamplingParams
from verimath.models.llamacpp_engine import BatchedDecoder, DecoderStats

__all__ = ["LlamaCppBackend", "DEFAULT_N_CTX", "DEFAULT_KV_CACHE_MB", "MAX_SEQUENCES"]

# Room for a prompt with passages and Phi-4-mini-reasoning's default 4,096-token budget. The
# KV cache grows with it (about 1 GiB for Phi-4-mini at 8,192), so it is not the model's 128K.
DEFAULT_N_CTX = 8192
# Sequences decoded together, unless `sequences=` says: as many as fit in this much KV cache,
# at most MAX_SEQUENCES. Qwen2.5-0.5B gets 8 sequences of 8,192 tokens (12 KiB a token),
# Phi-4-mini-reasoning 2 (128 KiB a token).
DEFAULT_KV_CACHE_MB = 2048
MAX_SEQUENCES = 8
_GGUF_MAGIC = b"GGUF"
_INSTALL = "pip install 'verimath[gguf]'"
# Held while `_new_llama` swaps llama-cpp-python's default model parameters (process-wide).
_PARAMS_SWAP = threading.Lock()


class LlamaCppBackend:
    """A GGUF model run by llama.cpp, loaded once, on first use.

    Calls from several threads (the k samples of a question, questions answered concurrently)
    decode together, up to `sequences` at once, in one llama.cpp context (`BatchedDecoder`);
    more wait for a free sequence. A call whose prompt starts like a sequence still in the
    context (its twin sample, or the call it continues: a forced final answer, a program's
    output) reads only the rest of it.

    threads: CPU threads for llama.cpp (None keeps its choice: half the cores to decode one
    token, all of them for several). n_ctx: context length in tokens per sequence, prompt plus
    generation; a generation that reaches it ends as truncated ("length"). sequences: the most
    sequences decoded together; each holds n_ctx tokens of KV cache, allocated when the model
    loads. None: as many as fit in `kv_cache_mb`, 1 to MAX_SEQUENCES.
    """

    supports_prefill = True

    def __init__(
        self,
        path: str | Path,
        *,
        threads: int | None = None,
        n_ctx: int = DEFAULT_N_CTX,
        sequences: int | None = None,
        kv_cache_mb: int = DEFAULT_KV_CACHE_MB,
        name: str | None = None,
    ) -> None:
        if sequences is not None and sequences < 1:
            raise ConfigError(f"sequences must be at least 1, not {sequences}")
        self.path = Path(path).expanduser()
        self.threads = threads
        self.n_ctx = n_ctx
        self.sequences = sequences
        self.kv_cache_mb = kv_cache_mb
        self.name = name or f"{self.path} (llama.cpp)"
        self._llm: Any = None
        self._template: Any = None
        self._decoder: BatchedDecoder | None = None
        self._load_lock = threading.Lock()

    @property
    def stats(self) -> DecoderStats:
        """How calls were batched so far (steps, tokens, largest batch, prompt tokens reused)."""
        return self._decoder.stats if self._decoder is not None else DecoderStats()

    def load(self) -> LlamaCppBackend:
        """Read the weights now (otherwise the first `complete` does)."""
        with self._load_lock:
            if self._llm is None:
                self._llm, self._template, self._decoder = self._load()
        return self

    def _load(self) -> tuple[Any, Any, BatchedDecoder]:
        _check_gguf(self.path)
        try:
            import llama_cpp
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:
            raise MissingExtraError(
                f"model '{self.name}' runs on llama.cpp, which is not installed; {_INSTALL}"
            ) from exc
        try:
            # This Llama's own context is never decoded in (the decoder has its own): a small
            # one, for the model, its vocabulary and its metadata.
            llm = _new_llama(
                llama_cpp,
                model_path=str(self.path),
                n_ctx=256,
                n_batch=32,
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
        if self.sequences is None:
            per_sequence = kv_bytes_per_token(llama_cpp, llm.model) * self.n_ctx
            fit = self.kv_cache_mb * 2**20 // max(1, per_sequence)
            self.sequences = max(1, min(MAX_SEQUENCES, fit))
        try:
            decoder = BatchedDecoder(
                llm, sequences=self.sequences, n_ctx=self.n_ctx, threads=self.threads
            )
        except ValueError as exc:  # "Failed to create llama_context": the KV cache
            raise ConfigError(
                f"llama.cpp could not make room for {self.sequences} sequences of {self.n_ctx} "
                f"tokens for '{self.name}' ({exc}); pass fewer sequences= or a smaller n_ctx="
            ) from exc
        return llm, formatter, decoder

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
        # As llama.cpp's own chat handler does: the template already wrote any BOS it wants,
        # and its special tokens are tokens, not text.
        prompt_ids = self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        room = self.n_ctx - len(prompt_ids)
        if room < 1:
            raise ConfigError(
                f"the prompt is {len(prompt_ids)} tokens, more than the {self.n_ctx}-token "
                f"context of '{self.name}'; pass a larger n_ctx= or retrieve fewer passages"
            )
        assert self._decoder is not None  # safe: render() loaded the model
        return self._decoder.submit(prompt_ids, params, min(params.max_new_tokens, room), on_text)


def kv_bytes_per_token(llama_cpp: Any, model: Any) -> int:
    """Keys and values of one token in llama.cpp's default f16 cache, over all layers."""
    head_dim = llama_cpp.llama_model_n_embd(model) // max(1, llama_cpp.llama_model_n_head(model))
    per_layer = 2 * llama_cpp.llama_model_n_head_kv(model) * head_dim * 2
    return int(per_layer * llama_cpp.llama_model_n_layer(model))


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
