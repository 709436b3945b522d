"""The cache grown in place: what attention sees after each update is exactly what
concatenation would give, and whatever replaces its tensors (cropping, reordering rows) is
taken over."""

import torch

from verimath.models.kv_cache import cache_layers, growing_cache

LAYERS, HEADS, DIM = 2, 3, 4


def states(batch: int, tokens: int, start: float) -> torch.Tensor:
    count = batch * HEADS * tokens * DIM
    return torch.arange(start, start + count).reshape(batch, HEADS, tokens, DIM)


def test_updates_equal_concatenation_across_many_regrowths():
    cache = growing_cache([], None)
    expected: list[torch.Tensor] = []
    moved = []
    place = None
    for step, tokens in enumerate([70, 1, 1, 5, 64, 1, 200]):
        new = states(2, tokens, start=step * 10_000.0)
        keys, values = cache.update(new, -new, 0)
        expected.append(new)
        assert torch.equal(keys, torch.cat(expected, dim=-2))
        assert torch.equal(values, -keys)
        moved.append(keys.data_ptr() != place)
        place = keys.data_ptr()
    assert type(cache.layers[0]).__name__ == "GrowingLayer"
    assert cache.get_seq_length() == 342
    # Moved only when full, each time to room for twice what it holds: 140, 282, 684.
    assert moved == [True, False, False, False, True, False, True]


def test_it_starts_from_given_layers_and_hands_them_back():
    start = [(states(1, 9, 100.0 * n), states(1, 9, -100.0 * n)) for n in range(LAYERS)]
    cache = growing_cache(start, None)
    held = cache_layers(cache)
    assert len(held) == LAYERS
    assert all(
        torch.equal(k, k0) and torch.equal(v, v0)
        for (k, v), (k0, v0) in zip(held, start, strict=True)
    )
    assert cache_layers(None) == []


def test_replaced_tensors_are_taken_over():
    cache = growing_cache([], None)
    cache.update(states(3, 10, 0.0), states(3, 10, 0.0), 0)
    cache.crop(-4)  # transformers slices the keys: 6 positions left
    cache.batch_select_indices(torch.tensor([2, 0]))  # and picks rows
    kept = cache.layers[0].keys.clone()
    new = states(2, 1, 5000.0)
    keys, _ = cache.update(new, new, 0)
    assert torch.equal(keys, torch.cat([kept, new], dim=-2))
