"""Prefix caching: the pure bookkeeping on real tensors, then the demo model reusing its own
earlier sequence for a follow-up and writing exactly what it writes without the cache."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from verimath.models import Message, SamplingParams
from verimath.models.prefix_cache import PrefixCache

LAYERS, HEADS, DIM = 2, 3, 4


def finished_call(rows: list[list[int]], new: int) -> tuple[torch.Tensor, int, torch.Tensor, list]:
    """What a `generate` call over left-padded `rows` with `new` tokens each would leave:
    output ids, prompt width, prompt mask, and keys/values whose every entry says which token
    (by id) sits at that position, so misplaced reuse shows."""
    prompt, mask = left_padded(rows)
    width = prompt.shape[1]
    generated = torch.arange(1, new + 1).repeat(len(rows), 1) + 900
    sequences = torch.cat([prompt, generated], dim=1)
    held = sequences[:, :-1].float()  # the last token is never read
    per_position = held[:, None, :, None].expand(-1, HEADS, -1, DIM)
    cache = [(per_position.clone(), -per_position.clone()) for _ in range(LAYERS)]
    return sequences, width, mask, cache


def left_padded(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, rows))
    ids = torch.tensor([[0] * (width - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
    return ids, mask


def test_each_row_gets_its_own_stored_keys_at_its_own_positions():
    cache = PrefixCache(2**20, min_tokens=1)
    first, second = list(range(10, 30)), list(range(40, 52))
    cache.store(*finished_call([first, second], new=3))
    # Follow-ups: each extends its own row (prompt + the 2 new tokens read) with a suffix.
    ids, mask = left_padded([first + [901, 902, 7, 8], second + [901, 902, 9]])
    layers = cache.lookup(ids, mask)
    assert len(layers) == LAYERS
    width = layers[0][0].shape[2]
    for row in range(2):
        keys = layers[0][0][row, 0, :, 0]
        expected = torch.where(mask[row, :width] == 1, ids[row, :width].float(), 0.0)
        assert torch.equal(keys, expected)  # stored values at the same padded positions
        assert torch.equal(layers[1][1][row, 0, :, 0], -expected)
    # Every row keeps at least its own unmatched suffix to read.
    assert width == ids.shape[1] - 2
    assert cache.reused_tokens == int(mask[:, :width].sum())


def test_a_batch_with_an_unknown_prompt_reads_everything():
    cache = PrefixCache(2**20, min_tokens=1)
    known = list(range(10, 30))
    cache.store(*finished_call([known], new=2))
    ids, mask = left_padded([known + [901, 5], list(range(100, 130))])
    assert cache.lookup(ids, mask) == []
    assert cache.reused_tokens == 0


def test_the_byte_budget_drops_the_least_recently_used_row():
    one_row = 2 * LAYERS * HEADS * DIM * 4 * 21  # float32 keys and values of 21 positions
    cache = PrefixCache(2 * one_row, min_tokens=1)
    a, b, c = (list(range(start, start + 20)) for start in (100, 200, 300))
    cache.store(*finished_call([a], new=2))
    cache.store(*finished_call([b], new=2))
    assert cache.lookup(*left_padded([a + [901, 1]])) != []  # a is now the most recent
    cache.store(*finished_call([c], new=2))
    assert cache.lookup(*left_padded([b + [901, 1]])) == []  # b went first
    assert cache.lookup(*left_padded([a + [901, 1]])) != []
    assert cache.lookup(*left_padded([c + [901, 1]])) != []


def test_a_row_that_extends_a_stored_row_replaces_it():
    cache = PrefixCache(2**20, min_tokens=1)
    start = list(range(10, 30))
    cache.store(*finished_call([start], new=2))
    cache.store(*finished_call([start + [901, 5, 6]], new=2))
    assert len(cache._entries) == 1


def test_a_cache_missing_positions_is_not_stored():
    """A sliding window drops old positions: such a cache must never be reused."""
    cache = PrefixCache(2**20, min_tokens=1)
    sequences, width, mask, layers = finished_call([list(range(10, 30))], new=2)
    window = [(k[:, :, -8:], v[:, :, -8:]) for k, v in layers]
    cache.store(sequences, width, mask, window)
    assert cache.lookup(*left_padded([list(range(10, 30)) + [901, 1]])) == []


def test_nothing_is_reused_below_the_minimum():
    cache = PrefixCache(2**20, min_tokens=50)
    short = list(range(10, 30))
    cache.store(*finished_call([short], new=2))
    assert cache.lookup(*left_padded([short + [901, 1]])) == []


@pytest.mark.slow
def test_follow_ups_reuse_their_sequences_and_write_the_same_tokens(demo_backend):
    """The forced-answer pattern: a batch of turns, then a batch continuing each of them."""
    questions = [[Message("user", f"What is {a} times {a + 4}?")] for a in (6, 7, 8)]
    params = SamplingParams(max_new_tokens=40)
    with ThreadPoolExecutor(3) as pool:
        first = list(pool.map(lambda m: demo_backend.complete(m, params), questions))

    def follow_ups() -> list[str]:
        short = SamplingParams(max_new_tokens=12)
        prefills = [f.text + "\n\n**Final Answer**\n\\boxed{" for f in first]
        with ThreadPoolExecutor(3) as pool:
            done = pool.map(
                lambda m, p: demo_backend.complete(m, short, prefill=p), questions, prefills
            )
        return [c.text for c in done]

    cache = demo_backend.prefix_cache
    before = cache.reused_tokens
    cached = follow_ups()
    reused = cache.reused_tokens - before
    prompt_tokens = sum(
        len(demo_backend._tokenizer(demo_backend.render(m))["input_ids"]) for m in questions
    )
    assert reused >= prompt_tokens  # at least every prompt, and most of the first turns
    budget, cache.max_bytes = cache.max_bytes, 0
    try:
        cache.clear()
        assert follow_ups() == cached
        assert cache.reused_tokens - before == reused  # the second round read everything
    finally:
        cache.max_bytes = budget


def test_a_batch_larger_than_the_budget_keeps_its_last_rows():
    one_row = 2 * LAYERS * HEADS * DIM * 4 * 21
    cache = PrefixCache(2 * one_row, min_tokens=1)
    rows = [list(range(start, start + 20)) for start in (100, 200, 300)]
    cache.store(*finished_call(rows, new=2))
    assert len(cache._entries) == 2 and cache._bytes <= cache.max_bytes
    assert cache.lookup(*left_padded([rows[0] + [901, 1]])) == []
    assert cache.lookup(*left_padded([rows[2] + [901, 1]])) != []


def test_a_cache_built_with_capacity_decodes_into_it_without_copying(demo_backend):
    """Rows placed in buffers with room for the new tokens: the growing cache holds those very
    buffers and writes each new position into them; without room it copies them once."""
    from verimath.models.kv_cache import cache_layers, growing_cache
    from verimath.models.prefix_cache import left_padded as padded

    config = demo_backend._model.config
    heads = config.num_key_value_heads
    dim = config.hidden_size // config.num_attention_heads
    rows = [[(torch.randn(heads, n, dim), torch.randn(heads, n, dim))] * config.num_hidden_layers
            for n in (5, 9)]  # fmt: skip
    with torch.inference_mode():  # as the backend builds them: views that keep no base
        layers = padded(rows, 9, capacity=12)
        cache = growing_cache(layers, config)
    keys, _ = cache_layers(cache)[0]
    assert keys.data_ptr() == layers[0][0].data_ptr() and keys.shape[2] == 9
    torch.testing.assert_close(keys[1], rows[1][0][0])
    assert (keys[0, :, :4] == 0).all()  # left padding
    new = torch.randn(2, heads, 1, dim)
    with torch.inference_mode():
        cache.update(new, new, 0)
    keys, _ = cache_layers(cache)[0]
    assert keys.data_ptr() == layers[0][0].data_ptr() and keys.shape[2] == 10
    torch.testing.assert_close(keys[:, :, 9:], new)
    plain = padded(rows, 9)  # no room: the cache copies into buffers of its own
    assert cache_layers(growing_cache(plain, config))[0][0].data_ptr() != plain[0][0].data_ptr()
