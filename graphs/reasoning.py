"""Split a reasoning model's thinking trace from its answer, and make sure an answer exists.

Phi-4-mini-reasoning writes `<think> … </think>` and then the answer. A model that runs out of
tokens inside the trace has stated no answer; returning the trace as the answer would be wrong.
`generate_answer` detects that and asks for a short forced final answer instead.

With a program runner (tool-integrated reasoning), generation pauses after each complete
```python block the model writes, the program runs in the sandbox, and the model continues its
own turn with the program's output in a ```output block, up to a cap on programs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from verimath.graphs.contracts import (
    ChatBackend,
    Completion,
    FinishReason,
    Message,
    OnText,
    SamplingParams,
)
from verimath.graphs.prompts import FORCED_ANSWER_PREFIX, forced_answer_request, program_output
from verimath.graphs.stopping import partial_suffix
from verimath.tools.extract import extract_final_answer, find_boxed
from verimath.tools.programs import ProgramRun, find_program

__all__ = [
    "Generation",
    "Channel",
    "OnToken",
    "RunProgram",
    "TraceSplitter",
    "split_reasoning",
    "generate_answer",
    "FORCED_ANSWER_PREFIX",
    "THINK_OPEN",
    "THINK_CLOSE",
]

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


Channel = Literal["reasoning", "answer"]
# Receives streamed text with the channel it belongs to: the thinking trace or the response.
OnToken = Callable[[str, Channel], None]
# Runs a program the model wrote, in the sandbox (`Verifier.run_program`).
RunProgram = Callable[[str], ProgramRun]


class TraceSplitter:
    """Routes streamed text to the reasoning or the answer channel as think tags go by.

    The streaming twin of `split_reasoning`: text inside `<think> … </think>` is reasoning,
    text outside it is answer, and the tags themselves are never emitted. A tag split across
    pieces is held back until it is complete. Text before a lone closing tag (templates that
    open the trace in the prompt) was already sent as answer: pass `thinking=True` for them.
    """

    def __init__(self, on_token: OnToken, *, thinking: bool = False) -> None:
        self._on_token = on_token
        self._channel: Channel = "reasoning" if thinking else "answer"
        self._held = ""

    def feed(self, text: str) -> None:
        buffer = self._held + text
        self._held = ""
        while buffer:
            tag = THINK_CLOSE if self._channel == "reasoning" else THINK_OPEN
            at = buffer.find(tag)
            if at >= 0:
                self._emit(buffer[:at])
                self._channel = "answer" if tag == THINK_CLOSE else "reasoning"
                buffer = buffer[at + len(tag) :]
                continue
            keep = partial_suffix(buffer, tag)
            self._emit(buffer[: len(buffer) - keep])
            self._held = buffer[len(buffer) - keep :]
            return

    def switch_to_answer(self) -> None:
        """The trace is over (a forced final answer follows): flush and move on."""
        self._emit(self._held)
        self._held = ""
        self._channel = "answer"

    def _emit(self, text: str) -> None:
        if text:
            self._on_token(text, self._channel)


@dataclass(frozen=True, slots=True)
class Generation:
    """One answered generation: trace and answer kept apart, and how it ended."""

    reasoning: str
    response: str
    answer: str | None
    finish_reason: FinishReason
    forced: bool
    prompt_tokens: int
    completion_tokens: int
    # Programs the model ran while reasoning, in order (tool-integrated reasoning).
    programs: tuple[ProgramRun, ...] = ()

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


def split_reasoning(text: str) -> tuple[str, str, bool]:
    """Return (thinking trace, visible response, whether the trace was closed).

    Without think tags the whole text is the visible response. A trace opened but never
    closed means the budget ran out while thinking: everything is trace, nothing is response.
    Templates that open the trace in the prompt produce text with only the closing tag.
    """
    close = text.rfind(THINK_CLOSE)
    open_ = text.find(THINK_OPEN)
    if close == -1:
        if open_ == -1:
            return "", text.strip(), True
        return text[open_ + len(THINK_OPEN) :].strip(), "", False
    start = open_ + len(THINK_OPEN) if -1 < open_ < close else 0
    return text[start:close].strip(), text[close + len(THINK_CLOSE) :].strip(), True


def generate_answer(
    backend: ChatBackend,
    messages: Sequence[Message],
    params: SamplingParams,
    *,
    forced_answer_tokens: int = 48,
    on_token: OnToken | None = None,
    run_program: RunProgram | None = None,
    max_programs: int = 0,
) -> Generation:
    """Generate, split the trace from the response, and force a final answer if none was given.
    With `on_token`, text is streamed as it is decoded, each piece labelled with its channel.
    With `run_program` and `max_programs` > 0, the model's programs run as it writes them
    (only on backends that can continue a turn; others generate as usual)."""
    splitter = TraceSplitter(on_token) if on_token else None
    programs: tuple[ProgramRun, ...] = ()
    if run_program is not None and max_programs > 0 and backend.supports_prefill:
        first, programs = _complete_with_programs(
            backend, messages, params, splitter, run_program, max_programs
        )
    else:
        first = backend.complete(messages, params, on_text=splitter.feed if splitter else None)
    trace, response, closed = split_reasoning(first.text)
    answer = extract_final_answer(response) if response else None
    prompt_tokens, completion_tokens = first.prompt_tokens, first.completion_tokens
    forced = answer is None
    if forced:
        if splitter:
            splitter.switch_to_answer()
        answer, extra = _force_final_answer(
            backend, messages, first.text, closed, forced_answer_tokens, splitter
        )
        if answer is not None and not any(ch.isalnum() for ch in answer):
            answer = None  # "...", "?" or a lone brace is not an answer
        prompt_tokens += extra.prompt_tokens
        completion_tokens += extra.completion_tokens
    if not trace:
        # A model without think tags: its worked solution is the reasoning trace.
        trace, response = response, ""
    return Generation(
        reasoning=trace,
        response=response,
        answer=answer,
        finish_reason=first.finish_reason,
        forced=forced,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        programs=programs,
    )


def _complete_with_programs(
    backend: ChatBackend,
    messages: Sequence[Message],
    params: SamplingParams,
    splitter: TraceSplitter | None,
    run_program: RunProgram,
    max_programs: int,
) -> tuple[Completion, tuple[ProgramRun, ...]]:
    """Generate; while the model writes a complete program (and the cap allows), cut the text
    just after it, run it, append its output, and let the model continue its own turn. The
    token budget covers all the pieces together. Returns the whole turn as one completion."""
    text = ""
    runs: list[ProgramRun] = []
    prompt_tokens = completion_tokens = 0
    total = params.max_new_tokens
    while True:
        may_run = len(runs) < max_programs
        gate = _UntilProgram(splitter.feed if splitter else None) if may_run else None
        on_text = gate.feed if gate else (splitter.feed if splitter else None)
        budget = replace(params, max_new_tokens=max(1, total - completion_tokens))
        part = backend.complete(messages, budget, prefill=text, on_text=on_text)
        prompt_tokens += part.prompt_tokens
        completion_tokens += part.completion_tokens
        block = find_program(part.text) if may_run else None
        if block is None or completion_tokens >= total:
            end = part.finish_reason
            whole = Completion(text + part.text, end, prompt_tokens, completion_tokens)
            return whole, tuple(runs)
        run = run_program(block.code)
        runs.append(run)
        output = program_output(run.output)
        text += part.text[: block.end] + output
        if splitter:
            splitter.feed(output)


class _UntilProgram:
    """Streams text up to the end of the first complete program; what the model wrote after
    it (often an output it imagined) is dropped, as the real output takes its place."""

    def __init__(self, feed: OnText | None) -> None:
        self._feed = feed
        self._text = ""
        self._done = False

    def feed(self, piece: str) -> None:
        if self._done:
            return
        start = len(self._text)
        self._text += piece
        # A block completes only with its closing fence, so only a piece with a backtick can
        # complete one: other pieces skip the search (it would rescan the whole text).
        block = find_program(self._text) if "`" in piece else None
        if block is not None:
            piece, self._done = self._text[start : block.end], True
        if self._feed is not None and piece:
            self._feed(piece)


def _force_final_answer(
    backend: ChatBackend,
    messages: Sequence[Message],
    text: str,
    closed: bool,
    budget: int,
    splitter: TraceSplitter | None,
) -> tuple[str | None, Completion]:
    """A short greedy continuation that must state the answer."""
    params = SamplingParams(max_new_tokens=budget, temperature=0.0)
    on_text = splitter.feed if splitter else None
    if backend.supports_prefill:
        prefill = text + ("" if closed else f"\n{THINK_CLOSE}") + FORCED_ANSWER_PREFIX
        if splitter:
            splitter.feed(FORCED_ANSWER_PREFIX.lstrip())
        inside, box_closed, extra = _fill_box(backend, messages, prefill, budget, on_text)
        # A box the budget cut off still ends at the line break.
        answer = inside.strip() if box_closed else inside.split("\n", 1)[0].strip()
        return answer or None, extra
    request = forced_answer_request(text)
    extra = backend.complete([*messages, Message("user", request)], params, on_text=on_text)
    return extract_final_answer(extra.text), extra


def _fill_box(
    backend: ChatBackend,
    messages: Sequence[Message],
    prefill: str,
    budget: int,
    on_text: OnText | None,
) -> tuple[str, bool, Completion]:
    """The inside of the box `prefill` opens, written by the model up to the brace that closes
    it, and whether one did. Generation stops at every `}`: one that closes an inner group
    (`\\frac{1}{2}`) is appended and generation goes on; one that closes the box ends it.
    Why: the answer is a few tokens, and a batch of forced answers (or a server) would
    otherwise run on to the budget for the rows that write on after their box.
    """
    inside, prompt_tokens, used, closes = "", 0, 0, False
    finish: FinishReason = "length"
    for _ in range(budget):  # each round writes at least one token of the budget
        params = SamplingParams(max_new_tokens=budget - used, temperature=0.0, stop=("}",))
        part = backend.complete(messages, params, prefill=prefill + inside, on_text=on_text)
        prompt_tokens += part.prompt_tokens
        used += max(1, part.completion_tokens)
        inside += part.text
        finish = part.finish_reason
        # Stopped (at a `}` or the end of its turn) with every inner group closed.
        closes = finish == "stop" and find_boxed("\\boxed{" + inside + "}") == inside.strip()
        if closes and on_text is not None:
            on_text("}")
        if finish == "length" or closes or used >= budget:
            break
        inside += "}"  # it closed an inner group: keep it and go on
        if on_text is not None:
            on_text("}")
    return inside, closes, Completion(inside, finish, prompt_tokens, used)
