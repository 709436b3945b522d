"""The one batch engine: many questions through one `ask`, a few at a time, with a deadline per
question and a named error policy. `Agent.batch` and `run_batch` (hence `verimath batch` and
`verimath eval`) both run on it, so they share concurrency, timeouts and the meaning of a
failure.

Error policy, `errors=`:
- "row": every exception becomes an `error` answer, misconfiguration included. The caller gets
  one answer per question, always (`Agent.batch`, whose caller holds the whole list).
- "stop": a `VerimathError` (misconfiguration: a model that cannot be found, a bad index, a
  server that is down, a missing extra) ends the run, since every later question would fail the
  same way; any other exception is one broken question and becomes an `error` answer. No work
  is lost: no new question starts, the questions in flight finish and are handed on, then the
  error is raised (`run_batch`, which writes each answer as it comes, so a rerun resumes).

In both, a question still running after `timeout_s` becomes an `error` answer and the run goes
on; the question's thread cannot be stopped, so it is abandoned (bound generation too, with
`Settings.generation_time_limit_s`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Literal

from verimath.answer import Answer
from verimath.errors import ConfigError, VerimathError

__all__ = ["ErrorPolicy", "answer_all"]

ErrorPolicy = Literal["row", "stop"]


def answer_all(
    ask: Callable[[str], Answer],
    questions: Sequence[str],
    on_answer: Callable[[int, Answer], None],
    *,
    errors: ErrorPolicy,
    concurrency: int = 1,
    timeout_s: float | None = None,
    model_name: str = "",
) -> None:
    """Answer `questions` with `ask`, keeping `concurrency` of them in flight, and call
    `on_answer(i, answer)` for `questions[i]` as each finishes (in finishing order, on the
    calling thread, one call at a time). `errors` is the policy for exceptions (module
    docstring); `model_name` labels the `error` answers."""
    if errors not in ("row", "stop"):
        raise ConfigError(f"unknown error policy errors={errors!r}; use 'row' or 'stop'")
    width = max(1, concurrency)
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="verimath-batch")
    pending: dict[Future[Answer], tuple[int, float]] = {}
    queue = list(range(len(questions)))[::-1]
    stop: VerimathError | None = None
    try:
        while queue or pending:
            while queue and len(pending) < width and stop is None:
                i = queue.pop()
                pending[pool.submit(ask, questions[i])] = (i, time.monotonic())
            finished, _ = wait(list(pending), _wait_s(pending, timeout_s), FIRST_COMPLETED)
            for future in finished:
                i, _ = pending.pop(future)
                try:
                    answer = future.result()
                except VerimathError as exc:
                    if errors == "row":
                        answer = Answer.failed(questions[i], exc, model=model_name)
                    else:  # misconfiguration: the questions in flight finish, then it stops
                        stop, queue = stop or exc, []
                        continue
                except Exception as exc:  # one broken question is an answer, not a stop
                    answer = Answer.failed(questions[i], exc, model=model_name)
                on_answer(i, answer)
            if timeout_s is not None:
                now = time.monotonic()
                for future, (i, started) in list(pending.items()):
                    if now - started >= timeout_s:
                        del pending[future]
                        future.cancel()  # a running question cannot be stopped: abandoned
                        error = TimeoutError(f"no answer within {timeout_s:g} s")
                        on_answer(i, Answer.failed(questions[i], error, model=model_name))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if stop is not None:
        raise stop


def _wait_s(pending: dict[Future[Answer], tuple[int, float]], timeout_s: float | None) -> float:
    """How long to wait for the next question: until the first deadline, at most a second."""
    if timeout_s is None or not pending:
        return 1.0
    first = min(started for _, started in pending.values()) + timeout_s
    return min(1.0, max(0.0, first - time.monotonic()))
