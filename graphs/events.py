"""What `Agent.stream` yields while a question is being answered, besides the final `Answer`.

Nodes emit these through LangGraph's custom stream (`runtime.stream_writer`); when nobody
streams, emitting costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from verimath.graphs.reasoning import Channel
from verimath.retrieval.passage import Hit
from verimath.tools.verdict import Verdict

__all__ = ["Retrieved", "Token", "Checked"]


@dataclass(frozen=True, slots=True)
class Retrieved:
    """The passages that will be quoted to the model (already filtered by relevance), and the
    solved problems shown as worked examples (`Settings.examples`)."""

    hits: tuple[Hit, ...]
    examples: tuple[Hit, ...] = ()


@dataclass(frozen=True, slots=True)
class Token:
    """A piece of generated text of candidate `candidate`: its thinking trace ("reasoning") or
    its response ("answer")."""

    text: str
    channel: Channel
    candidate: int


@dataclass(frozen=True, slots=True)
class Checked:
    """The verifier's verdict on one candidate's final answer."""

    candidate: int
    answer: str | None
    verdict: Verdict
