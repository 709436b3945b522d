"""Tool-integrated reasoning on or off: does letting the model run SymPy programs help?

One invocation answers a fixed subset (the first N GSM8K and the first N MATH-500 questions,
the same for both rows) twice with the same model, one candidate each (greedy), retrieval on, no
retries and SymPy's own answers off, so the rows differ only in `Settings.programs`:

- programs 0: the model is not told it may run programs (the default);
- programs P: the system prompt says it may, and each ```python block it writes runs in the
  sandbox with its output put back into its turn.

Reported per row: accuracy (graded by the verification engine against the gold answer), answers
labelled verified and how many of those were wrong, candidates that wrote a program, programs
run and how many ran without error, mean seconds per question.

    .venv/bin/python bench/programs.py [--model demo] [--per-set 10] [--programs 2]
        [--max-new-tokens 256] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import time

from subset import graded_subset  # bench/subset.py, beside this script

from verimath import Agent, Settings
from verimath.tools import Verifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo", help="any model Agent accepts")
    parser.add_argument("--per-set", type=int, default=10)
    parser.add_argument("--programs", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    rows = [row for _, row in graded_subset(args.per_set)]
    questions = [r.question for r in rows]

    print(f"{len(rows)} questions ({args.per_set} GSM8K + {args.per_set} MATH-500), "
          f"{args.model}, {args.max_new_tokens} tokens, one greedy candidate each\n")  # fmt: skip
    print("| programs | accuracy | verified | verified and wrong | wrote a program | "
          "programs run (ok) | s / question |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    with Verifier(workers=2) as verifier:
        backend = None
        for programs in (0, args.programs):
            settings = Settings(
                max_new_tokens=args.max_new_tokens, forced_answer_tokens=24, samples=1,
                refuted_retries=0, sympy_answer=False, programs=programs,
            )  # fmt: skip
            agent = Agent(backend or args.model, settings=settings, verifier=verifier)
            backend = agent.backend  # the second row reuses the loaded model
            agent.load()
            start = time.perf_counter()
            answers = agent.batch(questions, max_concurrency=args.concurrency)
            seconds = time.perf_counter() - start
            correct = verified = wrong_verified = wrote = ran = ran_ok = 0
            for row, answer in zip(rows, answers, strict=True):
                right = answer.answer is not None and bool(
                    verifier.grade(str(row.gold), answer.answer).equivalent
                )
                correct += right
                verified += answer.status == "verified"
                wrong_verified += answer.status == "verified" and not right
                runs = [p for c in answer.candidates for p in c.programs]
                wrote += bool(runs)
                ran += len(runs)
                ran_ok += sum(p.ok for p in runs)
            n = len(rows)
            print(f"| {programs} | {correct}/{n} ({correct / n:.1%}) | {verified} | "
                  f"{wrong_verified} | {wrote}/{n} | {ran} ({ran_ok}) | "
                  f"{seconds / n:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
