"""The verification API the graph and users call, from any thread.

All parsing and SymPy work happens in the sandbox pool; this process only moves strings and
verdicts. A check that times out or crashes is recorded as an `error` check and leaves the
answer `unverified`: a failure to check never counts as a pass.
"""

from __future__ import annotations

import threading

from verimath.tools.programs import MAX_PROGRAM_CHARS, ProgramRun
from verimath.tools.sandbox import SandboxFailure, SandboxPool, SandboxTimeout
from verimath.tools.verdict import Check, Equivalence, Verdict

__all__ = ["Verifier"]

MAX_TEXT_CHARS = 20_000
# A program worker stops its program at the time limit itself; the host waits this much longer
# before it gives up on the worker.
_SUPERVISOR_MARGIN_S = 5.0


class Verifier:
    """Owns a reusable pool of sandboxed workers; `close()` (or `with`) stops them."""

    def __init__(self, *, workers: int = 2, timeout_s: float = 10.0, memory_mb: int = 1024):
        self.pool = SandboxPool(workers, timeout_s=timeout_s, memory_mb=memory_mb)
        self._workers, self._timeout_s, self._memory_mb = workers, timeout_s, memory_mb
        self._programs: SandboxPool | None = None
        self._programs_lock = threading.Lock()

    def start(self) -> Verifier:
        """Start the checking workers now rather than on the first checks."""
        self.pool.start()
        return self

    def run_program(self, source: str) -> ProgramRun:
        """Run a program the model wrote in a confined child of a program worker (see
        `verimath.tools.programs` and `verimath.tools.confinement`) and return its output. A
        program that is refused, raises, runs out of memory or time comes back with `ok=False`
        and the reason as its output; where the kernel cannot confine programs, every program
        comes back so, with "programs cannot run here: <why>"."""
        if len(source) > MAX_PROGRAM_CHARS:
            return ProgramRun(source, f"the program is over {MAX_PROGRAM_CHARS} characters", False)
        with self._programs_lock:
            if self._programs is None:  # started on first use: most agents never run programs
                # Single use: each program runs in a fresh confined child, and its worker is
                # then replaced (in the background), so no later program (another user's,
                # on a server) finds an earlier one's text in the memory it was forked from.
                self._programs = SandboxPool(
                    self._workers, timeout_s=self._timeout_s + _SUPERVISOR_MARGIN_S,
                    memory_mb=self._memory_mb, programs=True, single_use=True,
                )  # fmt: skip
            pool = self._programs
        try:
            result = pool.call("run_program", source=source, time_limit_s=self._timeout_s)
        except SandboxTimeout:
            return ProgramRun(
                source, f"the program ran past {self._timeout_s:g} s and was stopped", False
            )
        except SandboxFailure as exc:
            return ProgramRun(source, f"the program was stopped ({exc})", False)
        return ProgramRun(str(result["code"]), str(result["output"]), bool(result["ok"]))

    def check_answer(self, question: str, candidate: str | None) -> Verdict:
        """Check a candidate answer against what SymPy can establish from the question."""
        if candidate is None or not candidate.strip():
            return Verdict("unverified", (Check("answer", "not_applicable", "no final answer"),))
        if len(question) > MAX_TEXT_CHARS or len(candidate) > MAX_TEXT_CHARS:
            return Verdict("unverified", (Check("answer", "error", "text too long to check"),))
        try:
            return Verdict.from_dict(
                self.pool.call("check_answer", question=question, candidate=candidate)
            )
        except (SandboxTimeout, SandboxFailure) as exc:
            return Verdict("unverified", (Check("sympy", "error", str(exc)),))

    def computed_answer(self, question: str) -> str | None:
        """SymPy's own answer to the question (a value, every root, a system's solutions), or
        None when it cannot compute one exactly. Checking any stand-in candidate computes it:
        `Verdict.computed` does not depend on the candidate."""
        return self.check_answer(question, "?").computed

    def value_of(self, answer: str | None) -> str | None:
        """The exact value of an answer written as an operation left to carry out
        (`2368 + 1920 + 72` is `4360`, see `verimath.tools.answer_value`), or None when it has
        none: already evaluated, not one number, inexact, too long to read. It is shown and
        grouped beside the answer, never checked in its place. A value that cannot be worked
        out in time is None too: the answer is then shown as written, which is never wrong."""
        if answer is None or not answer.strip() or len(answer) > MAX_TEXT_CHARS:
            return None
        try:
            value = self.pool.call("value_of", answer=answer)
        except (SandboxTimeout, SandboxFailure):
            return None
        return value if isinstance(value, str) else None

    def equivalent(self, gold: str, candidate: str) -> Equivalence:
        """Whether two answers mean the same (None: undecided, with the reason)."""
        return self._compare("equivalent", gold, candidate)

    def grade(self, gold: str, candidate: str) -> Equivalence:
        """Whether an answer is right against a gold answer, graded by the rules `verified`
        follows (`checks.grade`): `verimath eval` and `batch` grade with this, so an answer
        counted verified is never graded wrong."""
        return self._compare("grade", gold, candidate)

    def _compare(self, op: str, gold: str, candidate: str) -> Equivalence:
        if len(gold) > MAX_TEXT_CHARS or len(candidate) > MAX_TEXT_CHARS:
            return Equivalence(None, "text too long to compare")
        try:
            result = self.pool.call(op, gold=gold, candidate=candidate)
        except (SandboxTimeout, SandboxFailure) as exc:
            return Equivalence(None, str(exc))
        return Equivalence(result["equivalent"], result["reason"])

    def close(self) -> None:
        self.pool.close()
        if self._programs is not None:
            self._programs.close()

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
