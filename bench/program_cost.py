"""What one model-written program costs, from worker start to its output.

Two numbers, both through the public `Verifier.run_program`, with the same small SymPy program:

- cold: a new `Verifier`, so the first program waits for its worker to start (interpreter,
  imports, SymPy warm-up) and then runs; this is what the first program of a run pays;
- warm: programs run one after another on a verifier whose workers have started; this is what
  every later program pays.

    .venv/bin/python bench/program_cost.py [--cold 5] [--warm 20]
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
    args = parser.parse_args()

    cold = []
    for _ in range(args.cold):
        with Verifier(workers=1) as verifier:
            cold.append(_timed(verifier))
    with Verifier(workers=1) as verifier:
        _timed(verifier)  # the worker starts here
        warm = [_timed(verifier) for _ in range(args.warm)]
    for name, times in (("cold (worker start to output)", cold), ("warm (one program)", warm)):
        print(
            f"{name}: median {statistics.median(times) * 1000:.0f} ms, "
            f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms (n={len(times)})"
        )


if __name__ == "__main__":
    main()
