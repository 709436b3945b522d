"""Questions per minute of `run_batch_on_ray` with 1 and 2 agent actors on this machine, with
the scripted model (the agent's own overhead: graph, SymPy checks, selection, output) and with
the demo model, against plain `run_batch` (one process) in the same run.

Each row starts a local Ray bound to 127.0.0.1; the time counted runs from the pipeline's
start to the last answer written, so it includes each actor's start and model load.

    .venv/bin/python bench/ray_batch.py [--questions 24] [--demo-questions 8]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from verimath import Agent, Settings  # noqa: E402
from verimath.batch import run_batch  # noqa: E402
from verimath.models import ScriptedBackend  # noqa: E402
from verimath.questions import QuestionRow  # noqa: E402
from verimath.ray_batch import run_batch_on_ray  # noqa: E402

SETTINGS = Settings(samples=1, refuted_retries=0, max_new_tokens=64)


def scripted_agent() -> Agent:
    """The scripted model (a test double, named as such): replies at once."""
    return Agent(ScriptedBackend(["Adding them gives \\boxed{42}"]), index=False,
                 settings=SETTINGS)  # fmt: skip


def rows(n: int) -> list[QuestionRow]:
    return [QuestionRow(i + 1, f"What is {i} + {42 - i}?", f"q{i}", "42") for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=24)
    parser.add_argument("--demo-questions", type=int, default=8)
    args = parser.parse_args()
    demo = partial(Agent, "demo", index=False, settings=SETTINGS)
    print("| model | runner | questions | s | questions/min |\n|---|---|---|---|---|")
    for name, make, n in (("scripted", scripted_agent, args.questions),
                          ("demo", demo, args.demo_questions)):  # fmt: skip
        for runner in ("run_batch", "ray 1 actor", "ray 2 actors"):
            out = Path(tempfile.mkdtemp()) / "answers.jsonl"
            start = time.perf_counter()
            if runner == "run_batch":
                with make() as agent:
                    agent.load()
                    run_batch(agent.ask, rows(n), out)
            else:
                actors = 1 if "1" in runner else 2
                run_batch_on_ray(make, rows(n), out, address="local", actors=actors)
            seconds = time.perf_counter() - start
            print(f"| {name} | {runner} | {n} | {seconds:.1f} | {n / seconds * 60:.1f} |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
