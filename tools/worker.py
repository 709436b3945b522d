"""Entry point of a verification worker process: JSON lines in, JSON lines out.

Runs with an address-space limit so a runaway expression dies here, not in the caller. With
`--programs` it is a program worker instead: locked down by `programs.enter_sandbox` before it
reads anything, it runs the model's SymPy programs (and nothing else).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from typing import Any


def _limit_memory(megabytes: int) -> None:
    limit = megabytes * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass  # platforms without RLIMIT_AS still get the caller's timeout


def _handle(request: dict[str, Any], programs: bool) -> Any:
    op = request.get("op")
    args = request.get("args") or {}
    if programs:
        from verimath.tools.programs import run_program

        if op == "run_program":
            return run_program(str(args["source"])).to_dict()
        raise ValueError(f"a program worker runs programs only, not {op!r}")
    from verimath.tools import checks, equivalence

    if op == "check_answer":
        return checks.check_answer(str(args["question"]), str(args["candidate"])).to_dict()
    if op == "equivalent":
        return equivalence.equivalent(str(args["gold"]), str(args["candidate"])).to_dict()
    if op == "ping":
        return "pong"
    raise ValueError(f"unknown operation {op!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-mb", type=int, default=1024)
    parser.add_argument("--programs", action="store_true", help="run model programs only")
    parser.add_argument("--cpu-seconds", type=int, default=30)
    options = parser.parse_args()
    # Imported before the limit and the ready line: importing SymPy is the costly part, and
    # the caller's per-check timeout must not count it.
    if options.programs:
        from verimath.tools import programs

        programs.warm_up()  # once locked down, the worker can read no file to import
    else:
        from verimath.tools import checks, equivalence  # noqa: F401

    _limit_memory(options.memory_mb)
    if options.programs:
        programs.enter_sandbox(options.cpu_seconds)
    # The parser caps exact numbers near 20k digits; printing one (1/2004! has 5,700) must work.
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(25_000)
    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        try:
            reply = {"ok": True, "result": _handle(json.loads(line), options.programs)}
        except MemoryError:
            reply = {"ok": False, "error": "the check ran out of memory"}
        except RecursionError:
            reply = {"ok": False, "error": "the expression is nested too deeply"}
        except Exception as exc:  # reported to the caller, who records it as a check error
            reply = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
