"""What the graph needs from the layers around it: a chat model, a retriever and a verifier.

The graph is written against these contracts only. Implementations live above it
(`verimath.models`: transformers, llama.cpp, OpenAI-compatible servers, a scripted model) or
below it (`verimath.retrieval.Index`, `verimath.tools.Verifier`), so a backend is swapped
without touching a node, and every backend is tested the same way.

A backend turns chat messages into text. Everything above it (reasoning split, forced final
answer, verification) is backend-independent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from verimath.retrieval.index import SearchMode
from verimath.retrieval.passage import Hit
from verimath.tools.programs import ProgramRun
from verimath.tools.verdict import Equivalence, Verdict

__all__ = [
    "Message", "SamplingParams", "Completion", "ChatBackend", "Role", "FinishReason", "OnText",
    "Retriever", "Verifier",
]  # fmt: skip

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length"]
# Receives each new piece of generated text as it is decoded (streaming).
OnText = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """Generation budget and sampling. temperature 0 means greedy decoding. `max_time_s` bounds
    one call's wall time; a call cut by it is reported as truncated (finish_reason "length").
    `stop`: the completion ends just before the first of these strings, which is left out of
    the text (finish_reason "stop"), as in the OpenAI API."""

    max_new_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    max_time_s: float | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Completion:
    """Raw text from one backend call (the continuation only, never the prompt)."""

    text: str
    finish_reason: FinishReason
    prompt_tokens: int = 0
    completion_tokens: int = 0


@runtime_checkable
class ChatBackend(Protocol):
    """A chat model that can continue an assistant turn.

    `prefill` is text the assistant turn already starts with; the backend returns only what
    follows it. Backends that cannot continue a turn set `supports_prefill = False`, and the
    caller asks for the final answer in a new user message instead.

    `on_text`, when given, receives the continuation piece by piece as it is decoded; the
    pieces concatenate to `Completion.text`. A backend that cannot stream calls it once.
    """

    name: str
    supports_prefill: bool

    def complete(
        self,
        messages: Sequence[Message],
        params: SamplingParams,
        *,
        prefill: str = "",
        on_text: OnText | None = None,
    ) -> Completion: ...


class Retriever(Protocol):
    """Finds passages for a question (`verimath.retrieval.Index`, or a user's own store)."""

    def search(self, query: str, k: int = 4, mode: SearchMode = "hybrid") -> Sequence[Hit]: ...


@runtime_checkable
class Verifier(Protocol):
    """The checks the graph asks for (`verimath.tools.Verifier` runs them in a sandbox).

    `check_answer` checks a candidate against the question; `computed_answer` is SymPy's own
    answer when the question is one it can solve; `equivalent` compares two answers (to group
    candidates); `grade` judges an answer against a reference by the rules `verified` follows
    (to cross-check a solution against a program's answer); `value_of` is the exact value of
    an answer written as an operation left to carry out (None when it has none), shown and
    grouped beside it but never checked in its place; `run_program` runs a program the model
    wrote. A failure to check is a verdict that
    verifies nothing, never an exception that passes."""

    def check_answer(self, question: str, candidate: str | None) -> Verdict: ...

    def computed_answer(self, question: str) -> str | None: ...

    def equivalent(self, gold: str, candidate: str) -> Equivalence: ...

    def grade(self, gold: str, candidate: str) -> Equivalence: ...

    def value_of(self, answer: str | None) -> str | None: ...

    def run_program(self, source: str) -> ProgramRun: ...
