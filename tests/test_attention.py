"""Grouped-query attention folded into the query rows gives what transformers' SDPA attention
gives after copying each key/value head per query head (`repeat_kv`)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward

from verimath.models.attention import CPU_SDPA, _cpu_sdpa


@pytest.mark.parametrize("tokens", [1, 2, 7])
def test_grouped_attention_equals_repeated_keys_and_values(tokens):
    torch.manual_seed(0)
    batch, kv_heads, group, positions, dim = 3, 3, 3, 40, 16
    module = SimpleNamespace(num_key_value_groups=group, is_causal=True, training=False)
    query = torch.randn(batch, kv_heads * group, tokens, dim)
    key, value = torch.randn(2, batch, kv_heads, positions, dim)
    # Left padding (rows start 0, 5 and 12 positions in), causal over the new tokens.
    mask = torch.ones(batch, 1, tokens, positions, dtype=torch.bool)
    for row, pad in enumerate((0, 5, 12)):
        mask[row, :, :, :pad] = False
    mask[:, :, :, positions - tokens :] &= torch.ones(tokens, tokens, dtype=torch.bool).tril()
    ours, _ = _cpu_sdpa(module, query, key, value, mask, scaling=dim**-0.5)
    reference = torch.nn.functional.scaled_dot_product_attention(
        query, repeat_kv(key, group), repeat_kv(value, group), attn_mask=mask, scale=dim**-0.5
    ).transpose(1, 2)
    stock, _ = sdpa_attention_forward(module, query, key, value, mask, scaling=dim**-0.5)
    torch.testing.assert_close(ours, reference)
    torch.testing.assert_close(ours, stock)


def test_the_demo_model_uses_it_on_a_cpu(demo_backend):
    assert demo_backend._model.config._attn_implementation == CPU_SDPA


@pytest.mark.parametrize("group", [1, 3])
def test_one_new_token_per_row_attends_over_its_own_positions_only(group):
    """Decoding: each row reads from its first unpadded position on, which gives what the
    masked attention over the whole padded width gives; any other mask takes that path."""
    torch.manual_seed(1)
    batch, kv_heads, positions, dim = 4, 2, 30, 8
    module = SimpleNamespace(num_key_value_groups=group, is_causal=True, training=False)
    query = torch.randn(batch, kv_heads * group, 1, dim)
    key, value = torch.randn(2, batch, kv_heads, positions, dim)
    key[0, :, :7] = float("nan")  # padding is never read: a NaN there would spread
    mask = torch.ones(batch, 1, 1, positions, dtype=torch.bool)
    for row, pad in enumerate((7, 0, 29, 12)):
        mask[row, ..., :pad] = False
    ours, _ = _cpu_sdpa(module, query, key, value, mask, scaling=dim**-0.5)
    assert not ours.isnan().any()
    key[0, :, :7] = 0.0
    stock, _ = sdpa_attention_forward(module, query, key, value, mask, scaling=dim**-0.5)
    torch.testing.assert_close(ours, stock)
    mask[1, ..., 3] = False  # a hole: not left padding
    holed, _ = _cpu_sdpa(module, query, key, value, mask, scaling=dim**-0.5)
    torch.testing.assert_close(holed, sdpa_attention_forward(module, query, key, value, mask)[0])
