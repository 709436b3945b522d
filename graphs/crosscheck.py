"""A second, independent derivation of the answer: a program the model writes from the question
alone, run in the sandbox, whose printed answer is compared with the solutions' answers.

Why: SymPy can check an answer against the question for almost no word problem (0 of the
1,319 GSM8K questions), so there `verified` is out of reach. Two derivations that reach the
same value by different means, reasoning in words and a program that computes, are evidence
the answer is right, though not a proof: when the verifier finds them equal, the answer is
`cross-checked` (`graphs.selection`), never `verified`.

The program is hostile code like any the model writes: it runs only through the verifier's
`run_program`, in a confined child process (`verimath.tools.confinement`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from verimath.graphs.contracts import ChatBackend, Message, SamplingParams
from verimath.graphs.prompts import CROSS_CHECK_PREFILL
from verimath.graphs.reasoning import Generation, RunProgram
from verimath.tools.programs import NO_OUTPUT, ProgramRun, find_program

__all__ = ["derive_by_program", "program_answer", "MAX_PROGRAM_ANSWER_CHARS"]

# A printed answer longer than this is a dump, not an answer.
MAX_PROGRAM_ANSWER_CHARS = 200
_CLOSING_FENCE = "\n```"


def program_answer(run: ProgramRun) -> str | None:
    """The answer a program printed: its last non-empty output line, or None when it did not
    run to the end, printed nothing, or printed more than an answer."""
    if not run.ok or run.output.strip() == NO_OUTPUT:
        return None
    lines = [line.strip() for line in run.output.splitlines() if line.strip()]
    if not lines or len(lines[-1]) > MAX_PROGRAM_ANSWER_CHARS:
        return None
    return lines[-1]


def derive_by_program(
    backend: ChatBackend,
    messages: Sequence[Message],
    params: SamplingParams,
    run_program: RunProgram,
) -> Generation:
    """Ask for a program (`graphs.prompts.cross_check_prompt`), run the first complete one in
    the sandbox and take its printed answer. A backend that can continue a turn starts inside
    the code block and stops at its closing fence, so no tokens go to prose. The generation's
    `reasoning` is the program text and `response` its output; no program, a failed run or no
    printed answer leave `answer` None."""
    prefill = CROSS_CHECK_PREFILL if backend.supports_prefill else ""
    stop = (_CLOSING_FENCE,) if prefill else params.stop
    done = backend.complete(messages, replace(params, stop=stop), prefill=prefill)
    text = done.text
    if prefill:
        text = prefill + text.split(_CLOSING_FENCE, 1)[0] + _CLOSING_FENCE
    block = find_program(text)
    run = run_program(block.code) if block is not None else None
    return Generation(
        reasoning=block.code if block is not None else text,
        response=run.output if run is not None else "",
        answer=program_answer(run) if run is not None else None,
        finish_reason=done.finish_reason,
        forced=False,
        prompt_tokens=done.prompt_tokens,
        completion_tokens=done.completion_tokens,
        programs=(run,) if run is not None else (),
    )
