"""`Agent.astream` runs only while its caller listens: a caller that breaks out, closes the
stream or is cancelled ends the run, and no worker goes on generating for nobody. The model is
the real graph's scripted backend; its calls are what the run spent."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing

import pytest

from verimath import Agent, Answer, Settings
from verimath.graphs.contracts import Message
from verimath.models import ScriptedBackend

QUESTION = "What is 17 times 23?"
# Every answer is refuted (17 * 23 = 391) and SymPy's own answer is not given, so a run that
# is not stopped samples again and again, one call at a time: four calls in all.
SETTINGS = Settings(max_new_tokens=64, samples=4, refuted_retries=0, sympy_answer=False)
FULL_RUN_CALLS = 4


class Held:
    """A scripted model that answers wrong, and whose calls wait until the test lets them go:
    the test decides what the caller does while the model is busy."""

    def __init__(self, fail: bool = False) -> None:
        self.entered, self.release, self.fail = threading.Event(), threading.Event(), fail

    def __call__(self, messages: Sequence[Message], prefill: str) -> str:
        self.entered.set()
        if not self.release.wait(30):
            raise TimeoutError("the test never released the model")
        if self.fail:
            raise RuntimeError("the model server went away")
        return "<think>17 times 23 is 390.</think>The product is \\boxed{390}."


def run_and_leave(verifier, how: str, model: Held) -> ScriptedBackend:
    """Stream the question, leave `how` the caller leaves, then let the model go on and wait
    until the worker thread is done: the backend's record says what the run still did."""
    backend = ScriptedBackend(model)
    workers = ThreadPoolExecutor(1, thread_name_prefix="astream-test")

    async def caller(agent: Agent) -> None:
        if how == "break":  # the generator is closed when it is collected, soon after
            async for _ in agent.astream(QUESTION, executor=workers):
                break
            await asyncio.sleep(0.1)
        elif how == "aclose":
            async with aclosing(agent.astream(QUESTION, executor=workers)) as events:
                async for _ in events:
                    break
        else:  # cancelled while it waits for the busy model

            async def listen() -> None:
                async for _ in agent.astream(QUESTION, executor=workers):
                    pass

            task = asyncio.create_task(listen())
            assert await asyncio.to_thread(model.entered.wait, 10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        model.release.set()  # the caller has left: the model may finish its call
        await asyncio.to_thread(workers.shutdown, wait=True)

    with Agent(backend, index=False, verifier=verifier, settings=SETTINGS) as agent:
        asyncio.run(caller(agent))
    return backend


def test_a_caller_that_listens_to_the_end_gets_the_whole_run(verifier):
    model = Held()
    model.release.set()
    backend = ScriptedBackend(model)

    async def listen(agent: Agent) -> list[object]:
        return [event async for event in agent.astream(QUESTION)]

    with Agent(backend, index=False, verifier=verifier, settings=SETTINGS) as agent:
        events = asyncio.run(listen(agent))
    assert isinstance(events[-1], Answer) and events[-1].attempts == FULL_RUN_CALLS
    assert len(backend.calls) == FULL_RUN_CALLS


@pytest.mark.parametrize("how", ["break", "aclose", "cancel"])
def test_a_caller_that_leaves_ends_the_run(verifier, how):
    """The call in progress when the caller left completes; no other starts."""
    backend = run_and_leave(verifier, how, Held())
    if how == "cancel":  # left while the first call was running
        assert len(backend.calls) == 1
    else:  # left at the first event, before or just as generation began
        assert len(backend.calls) <= 1


def test_a_failure_after_the_caller_left_is_logged(verifier, caplog):
    with caplog.at_level(logging.WARNING, logger="verimath.agent"):
        backend = run_and_leave(verifier, "cancel", Held(fail=True))
    assert len(backend.calls) == 1
    assert "a run whose caller had left failed: " in caplog.text
    assert "the model server went away" in caplog.text
