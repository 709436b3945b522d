"""Stop strings: a completion ends just before the first of them, as in the OpenAI API.

Why a class: a streamed completion must never hand on text that turns out to be the start of a
stop string, yet should hand on everything else at once. `StopText` holds back only a tail that
could still grow into a stop string, so the pieces handed on always add up to the final text.
"""

from __future__ import annotations

from collections.abc import Sequence

from verimath.graphs.contracts import OnText

__all__ = ["StopText", "cut_at_stop", "partial_suffix"]


def partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that could be the start of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


def cut_at_stop(text: str, stop: Sequence[str]) -> str | None:
    """`text` up to the earliest stop string, or None when it holds none."""
    found = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return text[: min(found)] if found else None


class StopText:
    """Collects streamed pieces; `feed` returns True once a stop string has appeared, and from
    then on the text is final. Listeners get the text before the stop string only."""

    def __init__(self, stop: Sequence[str], on_text: OnText | None = None) -> None:
        self._stop = [s for s in stop if s]
        self._on_text = on_text
        self._text = ""
        self._sent = 0
        self.stopped = False

    @property
    def text(self) -> str:
        return self._text

    def feed(self, piece: str) -> bool:
        if self.stopped:
            return True
        self._text += piece
        cut = cut_at_stop(self._text, self._stop)
        if cut is not None:
            self._text, self.stopped = cut, True
            self._send(len(cut))
            return True
        self._send(len(self._text) - self._pending_tail())
        return False

    def finish(self) -> None:
        """Generation ended without a stop string: hand on what was held back."""
        self._send(len(self._text))

    def _pending_tail(self) -> int:
        """Length of the longest end of the text that is the start of a stop string."""
        return max((partial_suffix(self._text, stop) for stop in self._stop), default=0)

    def _send(self, upto: int) -> None:
        if self._on_text is not None and upto > self._sent:
            self._on_text(self._text[self._sent : upto])
        self._sent = max(self._sent, upto)
