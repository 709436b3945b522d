"""Dynamic batching: concurrent requests share padded `generate` calls and get the same text."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from verimath.models.base import Completion, Message, SamplingParams
from verimath.models.batching import DynamicBatcher


def echo_lengths(prompts, params, listeners=()):
    """A real (if trivial) generator: each completion reports its prompt and the batch size."""
    return [Completion(f"{p}|{len(prompts)}", "stop") for p in prompts]


def test_concurrent_requests_with_equal_params_share_a_call():
    batcher = DynamicBatcher(echo_lengths, max_batch=4, max_wait_s=0.2)
    params = SamplingParams(max_new_tokens=8)
    barrier = threading.Barrier(4)

    def ask(i):
        barrier.wait()
        return batcher.submit(f"p{i}", params).text

    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(ask, range(4)))
    assert [t.split("|")[0] for t in texts] == ["p0", "p1", "p2", "p3"]  # each its own answer
    assert batcher.stats.requests == 4 and batcher.stats.batches < 4


def test_different_params_and_seeded_requests_are_not_mixed():
    batcher = DynamicBatcher(echo_lengths, max_batch=8, max_wait_s=0.2)
    plans = [SamplingParams(8), SamplingParams(16), SamplingParams(8, seed=1), SamplingParams(8)]
    barrier = threading.Barrier(len(plans))

    def ask(params):
        barrier.wait()
        return params, batcher.submit("q", params).text

    with ThreadPoolExecutor(len(plans)) as pool:
        results = list(pool.map(ask, plans))
    sizes = {(p.max_new_tokens, p.seed): int(text.split("|")[1]) for p, text in results}
    assert sizes[(16, None)] == 1 and sizes[(8, 1)] == 1  # alone: other params, or a seed
    assert batcher.stats.batches >= 3


def test_a_failing_batch_fails_every_waiting_caller_and_the_batcher_goes_on():
    def broken(prompts, params, listeners=()):
        if "bad" in prompts:
            raise RuntimeError("out of memory")
        return echo_lengths(prompts, params)

    batcher = DynamicBatcher(broken, max_wait_s=0.0)
    with pytest.raises(RuntimeError, match="out of memory"):
        batcher.submit("bad", SamplingParams())
    assert batcher.submit("good", SamplingParams()).text == "good|1"


@pytest.mark.slow
def test_batched_demo_generations_equal_one_at_a_time(demo_backend):
    """Real model, greedy: padding and batching must not change a single token."""
    params = SamplingParams(max_new_tokens=24)
    questions = [[Message("user", f"What is {a} times {a + 3}?")] for a in range(3, 9)]
    alone = [demo_backend._generate([demo_backend.render(m)], params, [None])[0] for m in questions]
    calls_before = demo_backend._batcher.stats.batches
    with ThreadPoolExecutor(len(questions)) as pool:
        together = list(pool.map(lambda m: demo_backend.complete(m, params), questions))
    assert [c.text for c in together] == [c.text for c in alone]
    assert [c.finish_reason for c in together] == [c.finish_reason for c in alone]
    assert demo_backend._batcher.stats.batches - calls_before < len(questions)
