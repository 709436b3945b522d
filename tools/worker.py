"""Entry point of a verification worker process: JSON lines in, JSON lines out.

Runs with an address-space limit so a runaway expression dies here, not in the caller. With
`--programs` it is a program worker instead: the trusted supervisor of the model's programs. It
imports and warms SymPy, proves that the seccomp filter loads (`confinement.probe`; its ready
line says why not, if not), and then runs each program in a fresh confined child
(`confinement.run_confined`), never in itself. It never parses a program: the child does.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from typing import Any

from verimath.tools import confinement

# What a child's output may grow to before it is cut and the child killed: the runner caps its
# own output at MAX_OUTPUT_CHARS; a program writing to its descriptors directly meets this.
_MAX_CHILD_BYTES = 16_384


def _limit_memory(megabytes: int) -> None:
    limit = megabytes * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass  # platforms without RLIMIT_AS still get the caller's timeout


def _run_program(args: dict[str, Any], unavailable: str | None, cpu_seconds: int) -> Any:
    """One program in a confined child. `gate` is False only in the escape tests, which show
    that the operating system's layer holds with the full builtins."""
    from verimath.tools.programs import ProgramRun, run_program

    source, gate = str(args["source"]), bool(args.get("gate", True))
    if unavailable:
        return ProgramRun(source, f"programs cannot run here: {unavailable}", False).to_dict()
    wall_s = float(args.get("time_limit_s", 10.0))
    outcome = confinement.run_confined(
        lambda: _as_pair(run_program(source, gate=gate)),
        wall_s=wall_s,
        cpu_s=min(cpu_seconds, int(wall_s) + 1),
        max_bytes=_MAX_CHILD_BYTES,
    )
    output = outcome.output
    if outcome.unavailable:
        output = f"programs cannot run here: {output}"
    return ProgramRun(source, output, outcome.ok).to_dict()


def _as_pair(run: Any) -> tuple[bool, str]:
    return run.ok, run.output


def _handle(request: dict[str, Any], programs: bool, unavailable: str | None, cpu: int) -> Any:
    op = request.get("op")
    args = request.get("args") or {}
    if programs:
        if op == "run_program":
            return _run_program(args, unavailable, cpu)
        raise ValueError(f"a program worker runs programs only, not {op!r}")
    from verimath.tools import answer_value, checks, equivalence

    if op == "check_answer":
        return checks.check_answer(str(args["question"]), str(args["candidate"])).to_dict()
    if op == "equivalent":
        return equivalence.equivalent(str(args["gold"]), str(args["candidate"])).to_dict()
    if op == "grade":
        return checks.grade(str(args["gold"]), str(args["candidate"])).to_dict()
    if op == "value_of":
        return answer_value.value_of(str(args["answer"]))
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
    unavailable = None
    if options.programs:
        from verimath.tools import programs

        programs.warm_up()  # a confined child can open no file to import
    else:
        from verimath.tools import answer_value, checks, equivalence  # noqa: F401

    _limit_memory(options.memory_mb)
    # The parser caps exact numbers near 20k digits; printing one (1/2004! has 5,700) must work.
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(25_000)
    hello: dict[str, Any] = {"ready": True}
    if options.programs:
        unavailable = confinement.probe()
        hello["unavailable"] = unavailable
    sys.stdout.write(json.dumps(hello) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        try:
            result = _handle(json.loads(line), options.programs, unavailable, options.cpu_seconds)
            reply = {"ok": True, "result": result}
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
