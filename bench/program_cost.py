"""What one model-written program costs, from worker start to its output.

Two numbers, both through the public `Verifier.run_program`, with the same small SymPy program:

- cold: a new `Verifier`, so the first program waits for its worker to start (interpreter,
  imports, SymPy warm-up) and then runs; this is what the first program of a run pays;
- back to back: programs one right after another. Each program's worker is used once and its
  replacement starts in the background, so a program that follows at once waits for it;
- paced: programs `--pause` seconds apart, as when the model writes between two programs; the
  replacement is ready, and this is what a later program pays in an answer.

    .venv/bin/python bench/program_cost.py [--cold 5] [--warm 20] [--pause 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

from verimath.tools import Verifier

PROGRAM = "from sympy import *\nx = symbols('x')\nprint(solve(x**2 - 4, x))"


def _timed(verifier: Verifier) -> float:
    start = time.perf_counter()
    run = verifier.run_program(PROGRAM)
    seconds = time.perf_counter() - start
    if not run.ok or run.output != "[-2, 2]":
        raise SystemExit(f"the program did not run: {run.output}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=5, help="fresh verifiers to time")
    parser.add_argument("--warm", type=int, default=20, help="programs in a row to time")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between paced programs")
    args = parser.parse_args()

    cold = []
    for _ in range(args.cold):
        with Verifier(workers=1) as verifier:
            cold.append(_timed(verifier))
    with Verifier(workers=1) as verifier:
        _timed(verifier)  # the worker starts here
        back_to_back = [_timed(verifier) for _ in range(args.warm)]
        paced = []
        for _ in range(args.warm):
            time.sleep(args.pause)
            paced.append(_timed(verifier))
    for name, times in (
        ("cold (worker start to output)", cold),
        ("back to back", back_to_back),
        (f"paced ({args.pause:g} s apart)", paced),
    ):
        print(
            f"{name}: median {statistics.median(times) * 1000:.0f} ms, "
            f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms (n={len(times)})"
        )


if __name__ == "__main__":
    main()
