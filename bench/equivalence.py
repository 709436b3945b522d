"""Answer-equivalence accuracy and latency: verimath's sandboxed checker vs Math-Verify.

Both graders see the same 684 hand-labelled pairs (../shared/data/equivalence/pairs.jsonl),
each answer wrapped as \\boxed{...} for Math-Verify (its documented input form).

    .venv/bin/pip install -e ".[bench]"
    .venv/bin/python bench/equivalence.py [--pairs PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from verimath.tools import Verifier

DEFAULT_PAIRS = Path(__file__).resolve().parents[2] / "shared/data/equivalence/pairs.jsonl"


def score(rows: list[dict], verdicts: list[bool | None]) -> dict[str, float | int]:
    right = sum((v is True) == bool(r["equivalent"]) for r, v in zip(rows, verdicts, strict=True))
    return {
        "n": len(rows),
        "accuracy": round(right / len(rows), 3),
        "false_positives": sum(
            v is True and not r["equivalent"] for r, v in zip(rows, verdicts, strict=True)
        ),
        "false_negatives": sum(
            v is not True and r["equivalent"] for r, v in zip(rows, verdicts, strict=True)
        ),
        "undecided": sum(v is None for v in verdicts),
    }


def timed(fn, rows: list[dict]) -> tuple[list[bool | None], list[float]]:
    verdicts, latencies = [], []
    for row in rows:
        start = time.perf_counter()
        verdicts.append(fn(row["gold"], row["candidate"]))
        latencies.append((time.perf_counter() - start) * 1000)
    return verdicts, latencies


def percentile(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100)[int(q) - 1], 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS)
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.pairs.read_text().splitlines() if line.strip()]

    from math_verify import parse, verify

    def math_verify(gold: str, candidate: str) -> bool | None:
        try:
            return bool(verify(parse(f"\\boxed{{{gold}}}"), parse(f"\\boxed{{{candidate}}}")))
        except Exception:
            return None

    with Verifier(workers=1) as verifier:
        verifier.equivalent("1", "1")  # warm the worker: startup is not a per-check cost
        ours, ours_ms = timed(lambda g, c: verifier.equivalent(g, c).equivalent, rows)
    theirs, theirs_ms = timed(math_verify, rows)

    no_probe = [i for i, r in enumerate(rows) if not r.get("probe")]
    report = {}
    for name, verdicts, latencies in (
        ("verimath", ours, ours_ms),
        ("math-verify", theirs, theirs_ms),
    ):
        report[name] = {
            "all": score(rows, verdicts),
            "without_probe": score([rows[i] for i in no_probe], [verdicts[i] for i in no_probe]),
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
            "checks_per_s": round(len(rows) / (sum(latencies) / 1000), 1),
        }
    print(json.dumps(report, indent=2))
    misses = [
        (r["gold"], r["candidate"], r["equivalent"], v)
        for r, v in zip(rows, ours, strict=True)
        if (v is True) != bool(r["equivalent"])
    ]
    print(f"verimath misjudged {len(misses)} pairs", file=sys.stderr)
    for miss in misses:
        print(json.dumps(miss), file=sys.stderr)


if __name__ == "__main__":
    main()
