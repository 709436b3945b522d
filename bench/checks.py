"""Question-aware checks on real questions: how often can the SymPy tool check, is it ever wrong?

For every question of the chosen sets (../shared/data), two candidates are checked:
- the dataset's gold answer: `verified` is coverage, `refuted` is a false refutation (a bug);
- a wrong answer (the gold plus one when it is a number, else the next question's gold):
  `verified` would be a false verification, the one thing the product must never do.

    .venv/bin/python bench/checks.py [--sets math500,gsm8k,aime24,amc23,math_train,math_test_rest]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from verimath.questions import read_questions
from verimath.tools import Verifier

DATA = Path(__file__).resolve().parents[2] / "shared/data"
SETS = {
    "math500": DATA / "math500/test.jsonl",
    "gsm8k": DATA / "gsm8k/test.jsonl",
    "aime24": DATA / "aime24/test.jsonl",
    "amc23": DATA / "amc23/test.jsonl",
    # 12,000 more MATH problems with gold answers, never used to develop the checks
    "math_train": DATA / "corpora/math_train/train.jsonl",
    "math_test_rest": DATA / "corpora/math_train/test_non_math500.jsonl",
}


def wrong_answer(gold: str, other: str) -> str:
    """A plausible wrong candidate: off by one for integers, else another question's answer."""
    text = gold.strip().replace(",", "")
    if re.fullmatch(r"-?\d+", text):
        return str(int(text) + 1)
    return other


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="math500,gsm8k,aime24,amc23")
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    report, mistakes = {}, []
    with Verifier(workers=2) as verifier:
        verifier.check_answer("1+1", "2")  # warm the workers
        for name in args.sets.split(","):
            rows = [q for q in read_questions(SETS[name])[0] if q.gold is not None]
            rows = rows[: args.limit] if args.limit else rows
            gold_status, wrong_status, latencies = Counter(), Counter(), []
            kinds = Counter()
            for i, row in enumerate(rows):
                other = rows[(i + 1) % len(rows)].gold or "0"
                start = time.perf_counter()
                verdict = verifier.check_answer(row.question, row.gold)
                latencies.append((time.perf_counter() - start) * 1000)
                wrong = wrong_answer(row.gold, other)
                wrong_verdict = verifier.check_answer(row.question, wrong)
                gold_status[verdict.status] += 1
                wrong_status[wrong_verdict.status] += 1
                if verdict.status == "verified":
                    kinds[verdict.checks[-1].name] += 1
                if verdict.status == "refuted" or (
                    wrong_verdict.status == "verified" and wrong.strip() != row.gold.strip()
                ):
                    mistakes.append(
                        {
                            "set": name,
                            "question": row.question[:300],
                            "gold": row.gold,
                            "gold_status": verdict.status,
                            "wrong": wrong,
                            "wrong_status": wrong_verdict.status,
                            "evidence": (verdict.evidence or wrong_verdict.evidence)[:300],
                        }
                    )
            report[name] = {
                "questions": len(rows),
                "gold": dict(gold_status),
                "wrong": dict(wrong_status),
                "verified_by_check": dict(kinds),
                "p50_ms": round(statistics.median(latencies), 1),
                "p95_ms": round(statistics.quantiles(latencies, n=100)[94], 1),
            }
    print(json.dumps(report, indent=2))
    print(f"{len(mistakes)} gold refutations or wrong verifications", file=sys.stderr)
    for mistake in mistakes:
        print(json.dumps(mistake, ensure_ascii=False), file=sys.stderr)


if __name__ == "__main__":
    main()
