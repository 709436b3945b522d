"""Prefix caching: a prompt that extends an earlier sequence starts from that sequence's keys
and values instead of reading it again.

Why: questions come back to the model with the model's own text in front. The forced final
answer continues a trace the token budget cut off, a program's output continues the turn, and a
follow-up in a conversation repeats the whole history. Reading that prefix again is the
costliest part of such a call on a CPU: about 500 prompt tokens/s for the demo model in float32,
so re-reading a 330-token prompt takes as long as writing 10 new tokens for each of 16 rows.

After each `generate` call the backend hands every row's keys and values to `store`, under the
row's token ids. `lookup` builds the cache for a new left-padded batch from the stored rows that
its prompts extend, so `generate` reads only the tokens after the shared prefix. The keys and
values at a position depend only on the tokens up to it, so reuse changes nothing but
floating-point rounding. Only caches that hold every position of every layer are stored (not
sliding windows that dropped positions). Entries are kept up to a byte budget, least recently
used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from itertools import count
from typing import Any

__all__ = ["PrefixCache", "left_padded", "shared_length"]


@dataclass(frozen=True, slots=True)
class _Entry:
    ids: Any  # 1-D LongTensor: the tokens whose keys and values `layers` holds
    layers: tuple[tuple[Any, Any], ...]  # per layer: keys and values, (heads, tokens, dim)
    nbytes: int


class PrefixCache:
    """Keys and values of finished rows, looked up by the longest shared token prefix.

    max_bytes: memory the stored rows may take (on the model's device); 0 stores nothing.
    min_tokens: a batch reuses stored rows only if that skips at least this many tokens.
    """

    def __init__(self, max_bytes: int, *, min_tokens: int = 16) -> None:
        self.max_bytes = max_bytes
        self.min_tokens = min_tokens
        self.reused_tokens = 0  # prompt tokens not read again, over the cache's life
        self._entries: OrderedDict[int, _Entry] = OrderedDict()  # oldest use first
        self._keys = count()
        self._bytes = 0
        self._lock = threading.Lock()

    def store(
        self, sequences: Any, prompt_width: int, prompt_mask: Any, layers: list[tuple[Any, Any]]
    ) -> None:
        """Keep each row of a finished `generate` call. `sequences`: its output (left-padded
        prompts of width `prompt_width`, then the new tokens); `prompt_mask`: the prompts'
        attention mask; `layers`: per layer, the keys and values it returned, which cover every
        position but the last (the last token was chosen, never read)."""
        held = sequences.shape[1] - 1
        if self.max_bytes <= 0 or not layers:
            return
        if any(k is None or k.shape[-2] < held for k, _ in layers):
            return  # a sliding window: positions are missing
        offsets = (prompt_width - prompt_mask.sum(dim=1)).tolist()
        per_token = sum((k[0, :, 0].nbytes + v[0, :, 0].nbytes) for k, v in layers)
        # The last rows that fit in the budget together: copying more would only evict them.
        chosen: list[tuple[int, int]] = []  # (row, bytes)
        total = 0
        for row in reversed(range(len(offsets))):
            nbytes = (held - offsets[row]) * per_token
            if total + nbytes > self.max_bytes:
                break
            chosen.append((row, nbytes))
            total += nbytes
        with self._lock:
            for row, nbytes in reversed(chosen):
                offset = offsets[row]
                ids = sequences[row, offset:held].clone()
                rows = tuple(
                    (k[row, :, offset:held].clone(), v[row, :, offset:held].clone())
                    for k, v in layers
                )
                self._drop_prefixes_of(ids)
                self._entries[next(self._keys)] = _Entry(ids, rows, nbytes)
                self._bytes += nbytes
            while self._bytes > self.max_bytes:
                _, oldest = self._entries.popitem(last=False)
                self._bytes -= oldest.nbytes

    def lookup(
        self, input_ids: Any, attention_mask: Any, capacity: int = 0
    ) -> list[tuple[Any, Any]]:
        """Keys and values, per layer, for the first positions of a left-padded batch, as many
        for every row (the cache of a batch is rectangular): [] when no stored row saves
        `min_tokens`. Pad positions get zeros; the mask hides them. `capacity`: see
        `left_padded`."""
        full_width = input_ids.shape[1]
        offsets = (full_width - attention_mask.sum(dim=1)).tolist()
        with self._lock:
            found = [self._longest(input_ids[row, offset:]) for row, offset in enumerate(offsets)]
            # Every row must keep at least one token to read, and no row may get positions
            # beyond its own stored prefix.
            width = min(full_width - 1, *(o + n for o, (_, n) in zip(offsets, found, strict=True)))
            reused = [max(0, width - offset) for offset in offsets]
            if sum(reused) < max(1, self.min_tokens):
                return []
            rows = [
                [(k[:, :n], v[:, :n]) for k, v in entry.layers] if entry and n else []
                for (entry, _), n in zip(found, reused, strict=True)
            ]
            self.reused_tokens += sum(reused)
            return left_padded(rows, width, capacity)

    def stored_lengths(self, input_ids: Any, attention_mask: Any) -> list[int]:
        """For each row of a left-padded batch, how many of its first tokens have stored keys
        and values (0: none); those rows count as just used."""
        full_width = input_ids.shape[1]
        offsets = (full_width - attention_mask.sum(dim=1)).tolist()
        with self._lock:
            return [self._longest(input_ids[row, offset:])[1] for row, offset in enumerate(offsets)]

    def _longest(self, ids: Any) -> tuple[_Entry | None, int]:
        """The stored row sharing the longest prefix with `ids`, and that prefix's length."""
        best_key, best_entry, best = None, None, 0
        for key, entry in self._entries.items():
            if min(len(entry.ids), len(ids)) <= best:
                continue  # cannot beat the best so far
            shared = shared_length(entry.ids, ids)
            if shared > best:
                best_key, best_entry, best = key, entry, shared
        if best_key is not None:
            self._entries.move_to_end(best_key)
        return best_entry, best

    def _drop_prefixes_of(self, ids: Any) -> None:
        """A stored row that the new row extends can never be the longer match again."""
        for key, entry in list(self._entries.items()):
            if shared_length(entry.ids, ids) == len(entry.ids):
                del self._entries[key]
                self._bytes -= entry.nbytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


def left_padded(
    rows: list[list[tuple[Any, Any]]], width: int, capacity: int = 0
) -> list[tuple[Any, Any]]:
    """One rectangular cache for a left-padded batch from each row's own keys and values
    (per layer, `(heads, tokens, dim)`; [] for a row with none), each row's placed to end at
    position `width`. Positions before a row's own are zeros: padding, hidden by the mask.
    With a `capacity` over `width`, each layer's keys and values are views of buffers of that
    many positions, which a growing cache decodes into without copying
    (`kv_cache.growing_cache`); the positions past `width` are left unwritten until then."""
    some = next(row for row in rows if row)
    size = max(width, capacity)
    layers = []
    for layer, (k0, v0) in enumerate(some):
        keys = k0.new_empty((len(rows), k0.shape[0], size, k0.shape[2]))
        values = v0.new_empty((len(rows), v0.shape[0], size, v0.shape[2]))
        for index, row in enumerate(rows):
            k, v = row[layer] if row else (k0[:, :0], v0[:, :0])
            keys[index, :, : width - k.shape[1]] = 0  # padding: written once, as zeros
            values[index, :, : width - v.shape[1]] = 0
            keys[index, :, width - k.shape[1] : width] = k
            values[index, :, width - v.shape[1] : width] = v
        layers.append(
            (keys[:, :, :width], values[:, :, :width]) if size > width else (keys, values)
        )
    return layers


def shared_length(a: Any, b: Any) -> int:
    """How many leading token ids two 1-D tensors have in common."""
    n = min(len(a), len(b))
    same = a[:n] == b[:n]
    return n if bool(same.all()) else int(same.int().argmin())
