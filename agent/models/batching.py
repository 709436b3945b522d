"""Dynamic batching: concurrent generation requests share one batched forward pass.

Why: questions answered concurrently (`Agent.batch`, `verimath batch --concurrency N`) would
otherwise queue behind one lock and decode one sequence at a time, leaving the matrix units idle.
A single worker thread takes the first waiting request, then gathers others with the same
sampling parameters (up to `max_batch`) for as long as they keep arriving, `max_wait_s` apart at
most (a burst of 32 questions started together, each retrieving its passages first, reached
the model over 330 ms, up to 60 ms apart, on a 2-core CPU), and never longer than
`max_gather_s` in all; then it runs them as one padded batch. A lone request pays
`max_wait_s` extra (0.2 s, against seconds of generation). Requests with a seed are never
batched: a seed promises one sequence's random stream. Each request may carry its own
`on_text` listener, so a streamed question can share a batch with others.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from verimath.graphs.contracts import Completion, OnText, SamplingParams

__all__ = ["DynamicBatcher", "BatchStats"]


@dataclass(frozen=True, slots=True)
class _Request:
    prompt: str
    params: SamplingParams
    on_text: OnText | None = None
    future: Future[Completion] = field(default_factory=Future)


@dataclass
class BatchStats:
    """How requests were grouped: `batches` generate calls served `requests` requests in
    `seconds` of wall time (calls run one at a time, so this is time spent generating)."""

    requests: int = 0
    batches: int = 0
    largest: int = 0
    seconds: float = 0.0


Run = Callable[[Sequence[str], SamplingParams, Sequence[OnText | None]], list[Completion]]


class DynamicBatcher:
    """Groups concurrent `submit` calls into calls of `run(prompts, params, listeners)`."""

    def __init__(
        self,
        run: Run,
        *,
        max_batch: int = 8,
        max_wait_s: float = 0.2,
        max_gather_s: float = 1.0,
    ) -> None:
        self._run = run
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.max_gather_s = max(max_gather_s, max_wait_s)
        self.stats = BatchStats()
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._held: list[_Request] = []  # taken from the queue, waiting for a compatible batch
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(
        self, prompt: str, params: SamplingParams, on_text: OnText | None = None
    ) -> Completion:
        """Blocks until this prompt's completion is ready; errors propagate to every caller."""
        request = _Request(prompt, params, on_text)
        self._ensure_worker()
        self._queue.put(request)
        return request.future.result()

    def _ensure_worker(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="verimath-batcher", daemon=True
                )
                self._thread.start()

    def _work(self) -> None:
        while True:
            first = self._held.pop(0) if self._held else self._queue.get()
            group = [first]
            if first.params.seed is None:
                self._gather(group)
            self._serve(group)

    def _gather(self, group: list[_Request]) -> None:
        """Add compatible requests (same params) until full or none came for `max_wait_s`."""
        keep = []
        for request in self._held:
            if len(group) < self.max_batch and request.params == group[0].params:
                group.append(request)
            else:
                keep.append(request)
        self._held = keep
        now = time.monotonic()
        deadline, last_call = now + self.max_wait_s, now + self.max_gather_s
        while len(group) < self.max_batch:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                request = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if request.params == group[0].params and request.params.seed is None:
                group.append(request)
                deadline = min(time.monotonic() + self.max_wait_s, last_call)
            else:
                self._held.append(request)

    def _serve(self, group: list[_Request]) -> None:
        self.stats.requests += len(group)
        self.stats.batches += 1
        self.stats.largest = max(self.stats.largest, len(group))
        start = time.perf_counter()
        try:
            completions = self._run(
                [r.prompt for r in group], group[0].params, [r.on_text for r in group]
            )
        except BaseException as exc:  # every waiting caller gets the failure
            for request in group:
                request.future.set_exception(exc)
            return
        finally:
            self.stats.seconds += time.perf_counter() - start
        for request, completion in zip(group, completions, strict=True):
            request.future.set_result(completion)
