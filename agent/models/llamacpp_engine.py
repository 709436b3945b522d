"""Continuous batching for llama.cpp: every sequence in flight decodes in the same `llama_decode`.

Why: on a CPU, decoding one token reads every weight of the model from memory; reading them once
for eight sequences costs little more than for one. The k samples of a question and questions
answered concurrently used to take turns behind a lock; here they share each forward pass.

How, through llama-cpp-python's low-level API:
- One context holds `sequences` sequences (`n_seq_max`), each with its own KV cells and its own
  `n_ctx` (`kv_unified=False`: a token attends only to its own sequence's cells, so a long
  sequence does not slow the others down).
- A worker thread owns the context. Each step it feeds every active sequence's pending tokens
  (the next sampled token, or a chunk of a prompt) into one `llama_batch`, each token tagged with
  its sequence id, decodes, and samples each sequence that asked for logits with its own sampler
  chain (its temperature, top-p and seed).
- Prompts are read once: a new request takes over the sequence that already holds the longest
  start of its tokens. A finished sequence stays in its cells until they are needed, so a
  forced final answer or a program's output continues the call before it without reading the
  prompt again. When the best match is another active sequence (the k samples of one question),
  its cells are copied (`llama_memory_seq_cp`) and only the rest is read; a sample that arrives
  while its twin is still reading the shared prompt waits for that one step.
- Stop strings, the token budget, the time limit and EOG end each sequence on its own, so the
  callers above (forced answers, program pauses) work per sequence as before.

Numerics: the logits of a token do not depend on which other sequences share its batch, except
where llama.cpp picks a different matrix kernel for several rows than for one (its repacked
Q4_K/Q4_0 kernels on AVX2): there the logits differ in low bits, as in any batched server, and a
greedy text can part ways at a near-tie. For the demo's Q4_1 file they are bit-identical
(tests/test_llamacpp_batching.py checks greedy output against llama-cpp-python's own loop).
"""

from __future__ import annotations

import codecs
import functools
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from verimath.graphs.contracts import Completion, FinishReason, OnText, SamplingParams
from verimath.graphs.stopping import StopText

__all__ = ["BatchedDecoder", "DecoderStats", "shared_prefix"]

# A request forks another active sequence's cells only for a shared start at least this long:
# the copy moves the whole sequence's KV buffer, which costs about what reading this many
# prompt tokens does on a CPU.
MIN_FORK_TOKENS = 32
# The decoder thread ends after this long without a request.
IDLE_EXIT_S = 10.0


def shared_prefix(a: list[int], b: list[int]) -> int:
    """How many tokens `a` and `b` share from the start."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


@dataclass(eq=False)
class _Request:
    tokens: list[int]
    params: SamplingParams
    room: int  # most tokens this request may generate (budget and context)
    on_text: OnText | None
    future: Future[Completion] = field(default_factory=Future)


@dataclass(eq=False)
class _Sequence:
    """One sequence id: the tokens whose keys and values its cells hold, and its request."""

    seq_id: int
    tokens: list[int] = field(default_factory=list)
    request: _Request | None = None
    pending: list[int] = field(default_factory=list)  # to feed before the next sample
    sampler: Any = None
    decoder: Any = None
    text: StopText | None = None
    generated: int = 0
    started: float = 0.0
    last_used: float = 0.0

    @property
    def active(self) -> bool:
        return self.request is not None


@dataclass
class DecoderStats:
    """What the decoder did: `steps` calls of llama_decode carried `tokens` tokens; `largest`
    is the most sequences one step sampled; `reused` prompt tokens were not read again."""

    steps: int = 0
    tokens: int = 0
    largest: int = 0
    reused: int = 0
    forks: int = 0


class BatchedDecoder:
    """Owns one llama.cpp context with `sequences` sequences and decodes them together.

    llm: a loaded `llama_cpp.Llama`, used for its model, vocabulary and tokenizer only.
    n_ctx: tokens per sequence, prompt plus generation. batch_tokens: most tokens per decode.
    """

    def __init__(
        self,
        llm: Any,
        *,
        sequences: int,
        n_ctx: int,
        threads: int | None = None,
        batch_tokens: int = 512,
    ) -> None:
        import llama_cpp
        from llama_cpp import _internals

        self._lib = llama_cpp
        self._llm = llm
        self._vocab = llama_cpp.llama_model_get_vocab(llm.model)
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx * sequences
        params.n_batch = params.n_ubatch = batch_tokens
        params.n_seq_max = sequences
        params.kv_unified = False
        params.n_threads = llm.n_threads if threads is None else threads
        params.n_threads_batch = llm.n_threads_batch if threads is None else threads
        params.no_perf = True
        # Flash attention works through each query row on its own, so a token's logits are the
        # same whether its prompt was read in one batch, in chunks or one token at a time: a
        # continuation or a forked sample gets what reading its whole prompt would give.
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        self._context = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
        self._ctx = self._context.ctx
        self._memory = self._context.memory
        self._batch = llama_cpp.llama_batch_init(batch_tokens, 0, 1)
        self.batch_tokens = batch_tokens
        self._sequences = [_Sequence(seq_id) for seq_id in range(sequences)]
        self._incoming: queue.Queue[_Request] = queue.Queue()
        self._waiting: list[_Request] = []
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.stats = DecoderStats()

    # -- callers' side ---------------------------------------------------------------------

    def submit(
        self, tokens: list[int], params: SamplingParams, room: int, on_text: OnText | None
    ) -> Completion:
        """Decode `tokens`' continuation among the others in flight; blocks until it ends."""
        request = _Request(list(tokens), params, room, on_text)
        with self._start_lock:  # held with the put, so an idle worker cannot miss it (_idle)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="verimath-llama-decoder", daemon=True
                )
                self._thread.start()
            self._incoming.put(request)
        return request.future.result()

    # -- the decoder thread ----------------------------------------------------------------

    def _work(self) -> None:
        while True:
            idle = not self._waiting and not any(s.active for s in self._sequences)
            if idle and self._idle():
                return
            try:
                self._take_incoming()
                self._admit()
                self._step()
            except Exception as exc:  # a bug or a llama.cpp failure: no caller waits forever
                self._fail_all(f"{type(exc).__name__}: {exc}")

    def _idle(self) -> bool:
        """Wait for a request; after IDLE_EXIT_S without one the thread ends (the next submit
        starts another), so a backend nobody uses can be collected with its KV cache."""
        try:
            self._waiting.append(self._incoming.get(timeout=IDLE_EXIT_S))
            return False
        except queue.Empty:
            with self._start_lock:
                if self._incoming.empty():
                    self._thread = None
                    return True
            return False

    def _take_incoming(self) -> None:
        try:
            while True:
                self._waiting.append(self._incoming.get_nowait())
        except queue.Empty:
            pass

    def _step(self) -> None:
        """One llama_decode over every active sequence, then a sample for each that is due."""
        fed = self._fill_batch()
        if not fed:
            return
        code = self._lib.llama_decode(self._ctx, self._batch)
        if code != 0:
            self._fail_all(f"llama_decode returned {code} (out of KV cells or memory)")
            return
        self.stats.steps += 1
        self.stats.tokens += self._batch.n_tokens
        self.stats.largest = max(self.stats.largest, sum(1 for _, i in fed if i >= 0))
        for sequence, index in fed:
            if index >= 0:
                self._guarded(sequence, functools.partial(self._sample, sequence, index))

    def _admit(self) -> None:
        """Give waiting requests a sequence, reusing the cells that hold most of their prompt."""
        still_waiting = []
        for request in self._waiting:
            if not self._place(request):
                still_waiting.append(request)
        self._waiting = still_waiting

    def _place(self, request: _Request) -> bool:
        tokens = request.tokens
        usable = len(tokens) - 1  # the last prompt token is always read: it gives the logits
        best, best_len, commons = None, -1, {}
        for sequence in self._sequences:
            known = sequence.tokens + (sequence.pending if sequence.active else [])
            commons[sequence.seq_id] = common = min(shared_prefix(known, tokens), usable)
            if common > best_len:
                best, best_len = sequence, common
        assert best is not None  # safe: there is at least one sequence
        if best_len >= MIN_FORK_TOKENS:
            if not best.active:  # e.g. a forced answer continuing the call before it
                self._start(best, request, best_len)
                return True
            if best_len > len(best.tokens):
                return False  # its twin is still reading the shared prompt: fork after that
            target = self._free_sequence()
            if target is None:
                return False
            self._lib.llama_memory_seq_cp(self._memory, best.seq_id, target.seq_id, -1, -1)
            self.stats.forks += 1
            self._start(target, request, best_len)
            return True
        target = self._free_sequence()
        if target is None:
            return False
        self._start(target, request, commons[target.seq_id])
        return True

    def _free_sequence(self) -> _Sequence | None:
        """The idle sequence whose cells were used longest ago."""
        idle = [s for s in self._sequences if not s.active]
        return min(idle, key=lambda s: s.last_used) if idle else None

    def _start(self, sequence: _Sequence, request: _Request, keep: int) -> None:
        """Keep the first `keep` tokens' cells, drop the rest; the rest of the prompt is pending."""
        self._lib.llama_memory_seq_rm(self._memory, sequence.seq_id, keep, -1)
        self.stats.reused += keep
        sequence.tokens = request.tokens[:keep]
        sequence.pending = request.tokens[keep:]
        sequence.request = request
        sequence.sampler = self._new_sampler(request.params)
        sequence.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        sequence.text = StopText(request.params.stop, request.on_text)
        sequence.generated = 0
        sequence.started = time.monotonic()

    def _new_sampler(self, params: SamplingParams) -> Any:
        """Sampling as SamplingParams says and nothing else (no top-k, min-p or penalties);
        temperature 0 is greedy. The same chain llama-cpp-python builds for `generate`."""
        lib = self._lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        if params.temperature == 0:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_greedy())
            return chain
        seed = lib.LLAMA_DEFAULT_SEED if params.seed is None else params.seed
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_p(params.top_p, 1))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_temp(params.temperature))
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_dist(seed))
        return chain

    def _fill_batch(self) -> list[tuple[_Sequence, int]]:
        """Put each active sequence's pending tokens in the batch: decoding sequences first (one
        token each), then prompt chunks in the room left. Returns (sequence, logits index), the
        index -1 for a prompt not yet read to its end."""
        batch, fed = self._batch, []
        batch.n_tokens = 0
        active = [s for s in self._sequences if s.active and s.pending]
        for sequence in sorted(active, key=lambda s: len(s.pending)):
            room = self.batch_tokens - batch.n_tokens
            if room <= 0:
                break
            chunk = sequence.pending[:room]
            whole = len(chunk) == len(sequence.pending)
            for offset, token in enumerate(chunk):
                j = batch.n_tokens
                batch.token[j] = token
                batch.pos[j] = len(sequence.tokens) + offset
                batch.n_seq_id[j] = 1
                batch.seq_id[j][0] = sequence.seq_id
                batch.logits[j] = whole and offset == len(chunk) - 1
                batch.n_tokens += 1
            sequence.tokens.extend(chunk)
            sequence.pending = sequence.pending[len(chunk) :]
            fed.append((sequence, batch.n_tokens - 1 if whole else -1))
        return fed

    def _sample(self, sequence: _Sequence, index: int) -> None:
        request, text = sequence.request, sequence.text
        assert request is not None and text is not None  # safe: only active sequences are fed
        lib = self._lib
        token = lib.llama_sampler_sample(sequence.sampler, self._ctx, index)
        sequence.generated += 1
        if lib.llama_vocab_is_eog(self._vocab, token):
            self._finish(sequence, "stop")
            return
        if text.feed(sequence.decoder.decode(self._llm.detokenize([token]))):
            self._finish(sequence, "stop")
            return
        limit = request.params.max_time_s
        over_time = limit is not None and time.monotonic() - sequence.started > limit
        if sequence.generated >= request.room or over_time:
            self._finish(sequence, "length")
            return
        sequence.pending = [token]

    def _finish(self, sequence: _Sequence, finish: FinishReason) -> None:
        request, text = sequence.request, sequence.text
        assert request is not None and text is not None  # safe: called for active ones only
        if not text.stopped:
            text.feed(sequence.decoder.decode(b"", final=True))  # a character cut by the budget
            text.finish()
        completion = Completion(
            text=text.text,
            finish_reason=finish,
            prompt_tokens=len(request.tokens),
            completion_tokens=sequence.generated,
        )
        self._release(sequence)
        request.future.set_result(completion)

    def _release(self, sequence: _Sequence) -> None:
        """The sequence is idle; its cells stay for a later call that starts the same way."""
        if sequence.sampler is not None:
            self._lib.llama_sampler_free(sequence.sampler)
        sequence.request, sequence.sampler, sequence.text, sequence.pending = None, None, None, []
        sequence.last_used = time.monotonic()

    def _guarded(self, sequence: _Sequence, step: Callable[[], None]) -> None:
        """A failure in one sequence (a listener that raises) ends that sequence only."""
        request = sequence.request
        try:
            step()
        except BaseException as exc:  # handed to the caller that owns the sequence
            if request is not None and sequence.request is request:
                self._release(sequence)
                self._forget(sequence)
            if request is not None and not request.future.done():
                request.future.set_exception(exc)

    def _forget(self, sequence: _Sequence) -> None:
        """Drop a sequence's cells when their content is no longer known to be right."""
        self._lib.llama_memory_seq_rm(self._memory, sequence.seq_id, -1, -1)
        sequence.tokens = []

    def _fail_all(self, why: str) -> None:
        """Every caller in flight or waiting gets the error; the cells start empty again."""
        error = RuntimeError(f"llama.cpp failed to decode: {why}")
        for sequence in self._sequences:
            request = sequence.request
            if request is not None:
                self._release(sequence)
                request.future.set_exception(error)
            self._forget(sequence)
        for request in self._waiting:
            request.future.set_exception(error)
        self._waiting = []
