"""In-process generation with Hugging Face transformers: an HF id, a local folder or a GGUF file.

torch and transformers are imported on first load, never at import time. The prompt is built
with the tokenizer's own chat template, so each model gets the format it was trained on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from verimath.errors import ModelNotFoundError
from verimath.graphs.contracts import Completion, FinishReason, Message, OnText, SamplingParams
from verimath.graphs.stopping import StopText, cut_at_stop
from verimath.models.attention import use_cpu_sdpa
from verimath.models.batching import DynamicBatcher
from verimath.models.kv_cache import cache_argument, cache_layers, growing_cache
from verimath.models.prefix_cache import PrefixCache, left_padded, shared_length

__all__ = [
    "TransformersBackend", "pick_device", "pick_dtype", "reads_alone", "starts_read_before",
]  # fmt: skip

_WAYS_OUT = (
    "use --model demo (offline), a local model folder or .gguf file, "
    "or populate the Hugging Face cache (huggingface-cli download {id}) before going offline"
)


def pick_device() -> str:
    """CUDA when present, then Apple's MPS, else the CPU."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str) -> Any:
    """bfloat16 where the accelerator supports it, float16 on older GPUs, float32 on the CPU."""
    import torch

    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


class TransformersBackend:
    """A causal LM loaded once, on first use. Concurrent calls are batched dynamically into
    padded `generate` calls of up to `max_batch` sequences (1: one call at a time). A prompt
    that extends an earlier call's sequence (a forced final answer, a program's output, a
    follow-up turn) reuses its keys and values, kept up to `prefix_cache_mb` (0: off).

    batch_wait_s: how long a call waits for another to join its batch (each new arrival
    extends the wait, up to 1 s in all). 0.2 s caught a burst of 32 questions, which reached
    the model up to 60 ms apart; 0 suits one interactive user, who then waits for nobody.

    threads: CPU threads for torch, a process-wide setting (None keeps torch's choice). On an
    idle 2-core machine two threads decode the demo model 1.7 times as fast as one; the demo
    takes one so that the verifier and the embeddings keep a core (BENCHMARKS.md).
    """

    supports_prefill = True

    def __init__(
        self,
        model_id: str | Path,
        *,
        gguf_file: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        threads: int | None = None,
        max_batch: int = 32,
        batch_wait_s: float = 0.2,
        prefix_cache_mb: int = 1024,
        name: str | None = None,
    ) -> None:
        self.model_id = str(model_id)
        self.gguf_file = gguf_file
        self.device = device
        self.dtype = dtype
        self.threads = threads
        self.name = name or (f"{self.model_id}/{gguf_file}" if gguf_file else self.model_id)
        self._model: Any = None
        self._tokenizer: Any = None
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()
        # Concurrent calls are batched into one generate (see batching.py); 1 turns it off.
        self._batcher = (
            DynamicBatcher(self._generate, max_batch=max_batch, max_wait_s=batch_wait_s)
            if max_batch > 1
            else None
        )
        self.prefix_cache = PrefixCache(prefix_cache_mb * 2**20)

    def load(self) -> TransformersBackend:
        """Read the weights now (otherwise the first `complete` does)."""
        with self._load_lock:
            if self._model is None:
                self._tokenizer, self._model = self._load()
        return self

    def _load(self) -> tuple[Any, Any]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        if self.threads is not None:
            torch.set_num_threads(self.threads)  # process-wide: torch has no per-model setting
        device = pick_device() if self.device == "auto" else self.device
        dtype = pick_dtype(device) if self.dtype == "auto" else getattr(torch, self.dtype)
        kwargs: dict[str, Any] = {"gguf_file": self.gguf_file} if self.gguf_file else {}
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.model_id, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(self.model_id, dtype=dtype, **kwargs)
        except OSError as exc:
            raise ModelNotFoundError(
                f"model '{self.name}' could not be loaded ({_first_line(exc)}); "
                + _WAYS_OUT.format(id=self.model_id)
            ) from exc
        # transformers types `to` through functools.wraps, which drops the binding of `self`
        model.to(device)  # type: ignore[arg-type]
        model.eval()  # safe: torch inference mode switch, not Python eval
        if device == "cpu":
            use_cpu_sdpa(model)  # measured on a CPU only (see attention.py)
        tokenizer.padding_side = "left"  # batched prompts end together; new tokens line up
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        if tokenizer.chat_template is None:
            raise ModelNotFoundError(
                f"model '{self.name}' has no chat template; use an instruction-tuned model"
            )
        return tokenizer, model

    def render(self, messages: Sequence[Message], prefill: str = "") -> str:
        """The exact prompt text: the tokenizer's chat template plus any assistant prefill."""
        self.load()
        prompt = self._tokenizer.apply_chat_template(
            [m.to_dict() for m in messages], tokenize=False, add_generation_prompt=True
        )
        return str(prompt) + prefill

    def complete(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        *,
        prefill: str = "",
        on_text: OnText | None = None,
    ) -> Completion:
        prompt = self.render(messages, prefill)
        if self._batcher is None:
            return self._generate([prompt], params, [on_text])[0]
        return self._batcher.submit(prompt, params, on_text)

    def _generate(
        self, prompts: Sequence[str], params: SamplingParams, listeners: Sequence[OnText | None]
    ) -> list[Completion]:
        """One padded `generate` call for prompts that share sampling parameters; rows with a
        listener are streamed to it as they decode."""
        import torch

        tokenizer, model = self._tokenizer, self._model
        inputs = tokenizer(
            list(prompts), return_tensors="pt", add_special_tokens=False, padding=True
        ).to(model.device)
        sampling: dict[str, Any] = {"do_sample": params.temperature > 0}
        if params.temperature > 0:
            sampling.update(temperature=params.temperature, top_p=params.top_p)
        if params.max_time_s is not None:
            sampling["max_time"] = params.max_time_s
        if params.stop:
            sampling.update(stop_strings=list(params.stop), tokenizer=tokenizer)
        # A row stopped by a stop string is filled with padding to the batch's end.
        ends = _eos_ids(model, tokenizer) | {tokenizer.pad_token_id}
        watchers = [StopText(params.stop, listener) if listener else None for listener in listeners]
        if any(watchers):
            feeds = [watcher.feed if watcher else None for watcher in watchers]
            sampling["streamer"] = _RowStreamer(tokenizer, feeds, ends)
        width = inputs["input_ids"].shape[1]  # left padding: every row's new tokens start here
        with self._generate_lock, torch.inference_mode():
            # Room for the whole prompt and every new token: decoding copies nothing.
            capacity = width + params.max_new_tokens
            reused = self._read_prompts(
                model, inputs["input_ids"], inputs["attention_mask"], capacity
            )
            sampling[cache_argument()] = growing_cache(reused, model.config)
            if params.seed is not None:
                torch.manual_seed(params.seed)
            output = model.generate(
                **inputs,
                max_new_tokens=params.max_new_tokens,
                pad_token_id=tokenizer.pad_token_id,
                return_dict_in_generate=True,
                **sampling,
            )
            layers = cache_layers(getattr(output, cache_argument(), None))
            self.prefix_cache.store(output.sequences, width, inputs["attention_mask"], layers)
        for watcher in watchers:
            if watcher:
                watcher.finish()
        completions = []
        for row, prompt_mask in zip(output.sequences, inputs["attention_mask"], strict=True):
            new_tokens = row[width:].tolist()
            end = next((j for j, t in enumerate(new_tokens) if t in ends), len(new_tokens))
            text = tokenizer.decode(new_tokens[:end], skip_special_tokens=True)
            before_stop = cut_at_stop(text, params.stop)
            finish: FinishReason
            if before_stop is not None:
                finish, used = "stop", end  # what follows a stop string is padding
            elif end < len(new_tokens):
                finish, used = "stop", end + 1  # the end-of-sequence token counts
            else:
                finish, used = "length", end  # cut by the token budget or max_time
            completions.append(
                Completion(
                    text=text if before_stop is None else before_stop,
                    finish_reason=finish,
                    prompt_tokens=int(prompt_mask.sum()),
                    completion_tokens=used,
                )
            )
        return completions

    def _read_prompts(
        self, model: Any, ids: Any, mask: Any, capacity: int = 0
    ) -> list[tuple[Any, Any]]:
        """Keys and values for the first positions of a left-padded batch, so that `generate`
        reads only the rest: the prefix cache's, or, when reading the batch padded to its
        longest prompt would read `PADDED_READ_LIMIT` times the tokens its prompts hold, every
        prompt but its last token read on its own, from the longest start it shares with a
        stored sequence or with a prompt of the batch read before it.
        Why: passages make prompts uneven (one 1,090-token prompt among 15 of about 370), and
        on a CPU a padded read of such a batch took 70 s where reading each row alone took 16.
        And prompts share starts: all the system prompt, many the same first passage. Of 32
        GSM8K prompts with passages (12,980 tokens), 7,610 are not the start of an earlier one.
        """
        width = ids.shape[1]
        offsets = (width - mask.sum(dim=1)).tolist()
        stored = self.prefix_cache.stored_lengths(ids, mask) if len(offsets) > 1 else [0]
        rows = [ids[row, o:] for row, o in enumerate(offsets)]
        earlier = starts_read_before(rows)
        if reads_alone([len(row) for row in rows], stored, [n for _, n in earlier]):
            alone: list[list[tuple[Any, Any]]] = []
            for row, (source, n) in zip(rows, earlier, strict=True):
                start = [(k[:, :n], v[:, :n]) for k, v in alone[source]] if n else None
                alone.append(self._read_alone(model, row, start))
            if any(alone):
                return left_padded(alone, width - 1, capacity)
        return self.prefix_cache.lookup(ids, mask, capacity)

    def _read_alone(
        self, model: Any, ids: Any, start: list[tuple[Any, Any]] | None = None
    ) -> list[tuple[Any, Any]]:
        """Keys and values of one unpadded prompt's every token but the last, per layer
        `(heads, tokens, dim)`: its stored prefix, or `start` (keys and values of its first
        tokens) when that is longer, then a forward pass over the rest."""
        import torch

        if len(ids) < 2:
            return []
        one = ids[None]
        prefix = self.prefix_cache.lookup(one, torch.ones_like(one))
        known = prefix[0][0].shape[2] if prefix else 0
        if start and start[0][0].shape[1] > known:
            prefix = [(keys[None], values[None]) for keys, values in start]
            known = start[0][0].shape[1]
        cache = growing_cache(prefix, model.config, in_place=False)  # one forward pass
        if known < len(ids) - 1:
            # Only the keys and values are wanted: logits for one position, not every one
            # (at the demo model's 49,152-token vocabulary the rest were a fifth of the work).
            model(
                input_ids=one[:, known:-1], use_cache=True, logits_to_keep=1,
                **{cache_argument(): cache},
            )  # fmt: skip
        return [(keys[0], values[0]) for keys, values in cache_layers(cache)]


# Batches whose padded read would be this many times their prompts' own tokens (and at least
# MIN_SAVED_READ more) read each prompt alone first; see `TransformersBackend._read_prompts`.
PADDED_READ_LIMIT = 1.5
MIN_SAVED_READ = 256


def reads_alone(
    lengths: Sequence[int], stored: Sequence[int], read_before: Sequence[int] | None = None
) -> bool:
    """Whether a batch of prompts of `lengths` tokens, of which the prefix cache holds the
    first `stored` and an earlier prompt of the batch the first `read_before`, is better read
    prompt by prompt than padded to its longest: a padded read covers every row from the
    first position that some row lacks."""
    if len(lengths) < 2:
        return False
    read_before = read_before or [0] * len(lengths)
    width = max(lengths)
    skipped = min(width - 1, *(width - n + s for n, s in zip(lengths, stored, strict=True)))
    padded_read = len(lengths) * (width - skipped)
    own_read = sum(n - max(s, b) for n, s, b in zip(lengths, stored, read_before, strict=True))
    return padded_read > PADDED_READ_LIMIT * own_read + MIN_SAVED_READ


def starts_read_before(rows: Sequence[Any]) -> list[tuple[int, int]]:
    """For each row (1-D token ids), the earlier row it shares the longest start with and how
    many tokens that is, at most what both read alone (all but their last token); (0, 0) for
    a row that shares none."""
    found = [(0, 0)]
    for i, row in enumerate(rows[1:], start=1):
        best = (0, 0)
        for j in range(i):
            limit = min(len(row), len(rows[j])) - 1
            n = min(limit, shared_length(rows[j], row)) if limit > best[1] else 0
            if n > best[1]:
                best = (j, n)
        found.append(best)
    return found


class _RowStreamer:
    """A transformers streamer for a whole batch: each row's new tokens go to that row's
    listener. (transformers' own streamers accept one sequence only.)

    `generate` calls `put` first with the prompt ids, then once per step with one new token per
    row. Text is handed on up to the last completed word, so multi-token characters and
    merging tokens are never split; a row stops streaming at its end-of-sequence token.
    """

    def __init__(
        self,
        tokenizer: Any,
        listeners: Sequence[Callable[[str], object] | None],  # what a listener returns is unused
        eos_ids: set[int],
    ) -> None:
        self._tokenizer = tokenizer
        self._listeners = list(listeners)
        self._eos_ids = eos_ids
        self._tokens: list[list[int]] = [[] for _ in listeners]
        self._sent = [0] * len(listeners)  # characters of the decoded row already handed on
        self._done = [listener is None for listener in listeners]
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        for row, token in enumerate(value.reshape(len(self._listeners), -1)[:, -1].tolist()):
            if self._done[row]:
                continue
            if token in self._eos_ids:
                self._done[row] = True
                self._flush(row, final=True)
                continue
            self._tokens[row].append(token)
            self._flush(row, final=False)

    def end(self) -> None:
        for row, done in enumerate(self._done):
            if not done:
                self._done[row] = True
                self._flush(row, final=True)

    def _flush(self, row: int, *, final: bool) -> None:
        text = self._tokenizer.decode(self._tokens[row], skip_special_tokens=True)
        cut = len(text) if final else max(text.rfind(" "), text.rfind("\n")) + 1
        if text.endswith("\ufffd") and not final:  # a character still being assembled
            cut = min(cut, len(text) - 1)
        listener = self._listeners[row]
        if listener is not None and cut > self._sent[row]:
            listener(text[self._sent[row] : cut])
            self._sent[row] = cut


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids = model.generation_config.eos_token_id
    found = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    if tokenizer.eos_token_id is not None:
        found.add(tokenizer.eos_token_id)
    return found


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
