"""Dynamic batching: concurrent requests share padded `generate` calls and get the same text."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from verimath.graphs.contracts import Completion, Message, SamplingParams
from verimath.models.batching import DynamicBatcher
from verimath.models.transformers_backend import reads_alone, starts_read_before


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


@pytest.mark.parametrize("wait, calls", [(0.6, 1), (0.01, 3)])
def test_requests_arriving_apart_share_a_call_only_within_the_wait(wait, calls):
    """`max_wait_s` (the backend's `batch_wait_s`): how long the batcher waits for one more."""
    batcher = DynamicBatcher(echo_lengths, max_batch=8, max_wait_s=wait, max_gather_s=2.0)
    params = SamplingParams(max_new_tokens=8)

    def ask(i):
        time.sleep(0.25 * i)  # three requests, 250 ms apart
        return batcher.submit(f"p{i}", params).text

    with ThreadPoolExecutor(3) as pool:
        texts = list(pool.map(ask, range(3)))
    assert [t.split("|")[0] for t in texts] == ["p0", "p1", "p2"]
    assert batcher.stats.batches == calls


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


def test_uneven_batches_are_read_prompt_by_prompt():
    """The decision alone (pure): what a padded read would cost against each prompt's own."""
    retrieval_batch = [1090] + [370] * 15  # one long passage among short ones, nothing stored
    assert reads_alone(retrieval_batch, [0] * 16)
    assert not reads_alone([210, 190, 230, 200], [0] * 4)  # even prompts: one padded read
    assert not reads_alone([1090], [0])
    # Forced answers: each row extends its own stored trace by a few tokens.
    assert not reads_alone([900, 400, 650], [890, 391, 641])
    # One row not stored would make the padded read start at its first token.
    assert reads_alone([900, 400, 650], [890, 0, 641])
    # Prompts that begin as an earlier one in the batch does are read from there.
    assert not reads_alone([700, 420, 400], [0] * 3)
    assert reads_alone([700, 420, 400], [0] * 3, [0, 380, 390])


def test_each_prompt_starts_from_the_longest_start_read_before_it():
    rows = [
        torch.tensor(r) for r in ([1, 2, 3, 4, 5], [1, 2, 3, 9], [1, 2, 3, 4, 7, 8], [6], [1, 2])
    ]
    # Row 2 shares 4 tokens with row 0, 3 with row 1; row 3 none; row 4 keeps its last token.
    assert starts_read_before(rows) == [(0, 0), (0, 3), (0, 4), (0, 0), (0, 1)]


@pytest.mark.slow
def test_prompts_read_alone_give_the_tokens_of_one_at_a_time(demo_backend):
    """Real model, greedy: a batch uneven enough to be read prompt by prompt, then decoded
    together, writes exactly what each prompt writes on its own."""
    notes = " ".join(
        f"Note {n}: the sum of the first {n} odd numbers is {n * n}." for n in range(40)
    )
    questions = [
        [Message("user", f"{notes}\nWhat is the sum of the first 7 odd numbers?")],
        [Message("user", "What is 6 times 7?")],
        [Message("user", "Name a prime number.")],
    ]
    prompts = [demo_backend.render(m) for m in questions]
    lengths = [len(demo_backend._tokenizer(p)["input_ids"]) for p in prompts]
    assert reads_alone(lengths, [0] * len(lengths)), lengths
    params = SamplingParams(max_new_tokens=16)
    cache = demo_backend.prefix_cache
    budget, cache.max_bytes = cache.max_bytes, 0  # nothing stored: every prompt read in full
    read: list[int] = []  # tokens of each forward pass over a prompt (decoding steps read 1)
    hook = demo_backend._model.register_forward_pre_hook(
        lambda module, args, kwargs: read.append(kwargs["input_ids"].shape[1]), with_kwargs=True
    )
    try:
        cache.clear()
        alone = [demo_backend._generate([p], params, [None])[0] for p in prompts]
        read.clear()
        together = demo_backend._generate(prompts, params, [None] * len(prompts))
    finally:
        cache.max_bytes = budget
        hook.remove()
    assert together == alone
    # Each prompt is read from the longest start it shares with one read before it (here the
    # chat template's system prompt, at least), up to its last token, which `generate` reads
    # with the batch; the first prompt is read whole.
    ids = [demo_backend._tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]

    def shared(a: list[int], b: list[int]) -> int:
        return next(
            (n for n, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
        )

    before = [0] + [
        max(min(shared(ids[i], ids[j]), len(ids[i]) - 1, len(ids[j]) - 1) for j in range(i))
        for i in range(1, len(ids))
    ]
    assert min(before[1:]) >= 16  # the system prompt, read once
    assert read[: len(prompts)] == [len(i) - 1 - b for i, b in zip(ids, before, strict=True)]


@pytest.mark.slow
def test_the_cache_grown_in_place_writes_what_transformers_own_cache_writes(demo_backend):
    """Our `generate` calls (cache grown in place) against a plain `model.generate` (the
    default cache, grown by concatenation) on the same left-padded batch: same tokens."""
    questions = [[Message("user", f"List {n} even numbers.")] for n in (3, 5, 11)]
    prompts = [demo_backend.render(m) for m in questions]
    params = SamplingParams(max_new_tokens=20)
    demo_backend.prefix_cache.clear()
    ours = demo_backend._generate(prompts, params, [None] * len(prompts))
    tokenizer, model = demo_backend._tokenizer, demo_backend._model
    inputs = tokenizer(prompts, return_tensors="pt", add_special_tokens=False, padding=True)
    with torch.inference_mode():
        plain = model.generate(
            **inputs, max_new_tokens=20, do_sample=False, pad_token_id=tokenizer.pad_token_id
        )
    texts = tokenizer.batch_decode(
        plain[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True
    )
    assert [c.text for c in ours] == texts
