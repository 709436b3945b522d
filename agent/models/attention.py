"""Attention over a left-padded cache on a CPU: without copying keys and values per query
head, and, one new token per row, without reading the padding.

Why: models with fewer key/value heads than query heads (SmolLM2: 3 for 9, Phi-4-mini: 8 for
24) share each key/value head among a group of query heads. transformers' SDPA attention
handles one new token per row without copying (it folds the group into the query), but for
several new tokens with a mask (a prompt read after a cached start, a batch's forced answers)
it copies every key and value once per query head of the group first (`repeat_kv`). On a CPU,
reading the forced answers of 28 rows after 1,314 cached positions spent 2.4 s of 4.6 s in
that copy. Here the group is folded into the query rows for those calls as well: each
key/value head attends for all its query heads at once, with the mask's rows repeated instead
(a few thousand values where the keys and values are millions). And one new token per row
attends over that row's own positions only (`_unpadded_step`).
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["CPU_SDPA", "use_cpu_sdpa"]

CPU_SDPA = "verimath_cpu_sdpa"


def use_cpu_sdpa(model: Any) -> None:
    """Make a model that uses transformers' SDPA attention use this module's form of it (the
    masks stay SDPA's). Other implementations are left as they are."""
    if getattr(model.config, "_attn_implementation", None) == "sdpa":
        _register()
        model.set_attn_implementation(CPU_SDPA)


@functools.cache
def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(CPU_SDPA, _cpu_sdpa)
    AttentionMaskInterface.register(CPU_SDPA, sdpa_mask)


def _cpu_sdpa(
    module: Any, query: Any, key: Any, value: Any, attention_mask: Any, **kwargs: Any
) -> tuple[Any, None]:
    """transformers' SDPA attention, except that one new token per row over a left-padded
    cache attends over each row's own positions, and several new tokens with a mask attend
    per key/value head: the query `(batch, heads, tokens, dim)` becomes `(batch, kv_heads,
    group * tokens, dim)`, query head `h` using key/value head `h // group` as in
    `repeat_kv`."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    group = getattr(module, "num_key_value_groups", 1)
    batch, heads, tokens, dim = query.shape
    plain = (
        attention_mask is None or attention_mask.shape[1] != 1
        or any(kwargs.get(name) is not None for name in ("position_bias", "softcap"))
        or kwargs.get("dropout", 0.0)
    )  # fmt: skip
    if not plain and tokens == 1:
        starts = _left_padding(attention_mask)
        if starts is not None:
            return _unpadded_step(query, key, value, starts, group, kwargs.get("scaling")), None
    if plain or group == 1 or tokens == 1:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    folded = query.reshape(batch, heads // group, group * tokens, dim)
    mask = attention_mask.repeat(1, 1, group, 1)  # row g * tokens + t is token t's row
    output = torch.nn.functional.scaled_dot_product_attention(
        folded, key, value, attn_mask=mask, scale=kwargs.get("scaling")
    )
    output = output.reshape(batch, heads, tokens, value.shape[-1])
    return output.transpose(1, 2).contiguous(), None


def _left_padding(mask: Any) -> list[int] | None:
    """Where each row's keys start, for a boolean mask `(batch, 1, 1, positions)` that hides
    only a run of positions at the start of each row (left padding); None for any other."""
    import torch

    if mask.dtype != torch.bool or mask.shape[2] != 1:
        return None
    valid = mask[:, 0, 0]
    starts = valid.shape[1] - valid.sum(dim=1)
    suffixes = torch.arange(valid.shape[1], device=valid.device)[None] >= starts[:, None]
    return starts.tolist() if torch.equal(suffixes, valid) else None


def _unpadded_step(
    query: Any, key: Any, value: Any, starts: list[int], group: int, scaling: float | None
) -> Any:
    """One new token per row, attending only over that row's own positions.
    Why: decoding a left-padded batch attends every row over the longest row's positions. For
    32 GSM8K prompts with passages (406 tokens on average, 1,207 at most) two thirds of the
    keys and values a step read were padding, and on a CPU reading them is what a decoding
    step at that width costs. Row by row, a step reads only each row's own; the same
    arithmetic as decoding that row alone."""
    import torch

    batch, heads, _, dim = query.shape
    folded = query.reshape(batch, heads // group, group, dim)
    output = query.new_empty((batch, heads // group, group, value.shape[-1]))
    for row, start in enumerate(starts):
        output[row] = torch.nn.functional.scaled_dot_product_attention(
            folded[row : row + 1], key[row : row + 1, :, start:], value[row : row + 1, :, start:],
            scale=scaling,
        )[0]  # fmt: skip
    return output.reshape(batch, heads, 1, value.shape[-1]).transpose(1, 2).contiguous()
