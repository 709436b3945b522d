"""Accuracy of one sample vs self-consistency by majority vote vs verified selection.

One run answers a fixed subset (the first N questions of GSM8K and of MATH-500, the same for
every row) with k candidates per question (fixed sampling: the first greedy, the rest at the
sampling temperature), retrieval on, no retries and SymPy's own answers off, so every row below
is computed from the same candidates with the real selection code (`graphs.selection.select`):

- k=1: the first (greedy) candidate alone;
- k by majority vote: the most frequent answer (grouped by symbolic equivalence);
- k with verified selection: verified first, then votes (the agent's default policy);
- agent default: verified selection, and SymPy's own answer when it computed one and no
  candidate was verified (what `Agent.ask` returns with default settings).

It also reports, for each row, how many answers were labelled `verified` and how many of those
were wrong (the product promises 0), and the input guard's refusals on the whole of both sets.

    .venv/bin/python bench/self_consistency.py [--model demo] [--per-set 12] [--samples 4]
        [--max-new-tokens 256] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import time

from subset import DATA, SETS, graded_subset  # bench/subset.py, beside this script

from verimath import Agent, Settings
from verimath.graphs.guardrails import screen_question
from verimath.graphs.reasoning import Generation
from verimath.graphs.selection import Candidate, select
from verimath.questions import read_questions
from verimath.tools.verdict import Verdict


def choose(answer, policy: str) -> tuple[str | None, str]:
    """(answer, status) chosen among an Answer's model candidates under `policy`."""
    model = [c for c in answer.candidates if c.source == "model"]
    cands = [Candidate(Generation("", "", c.answer, "stop", False, 0, 0), Verdict(c.status))
             for c in model]  # fmt: skip
    groups: dict[int, list[int]] = {}
    for i, c in enumerate(model):
        if c.group is not None:
            groups.setdefault(c.group, []).append(i)
    ordered = tuple(tuple(g) for _, g in sorted(groups.items(), key=lambda kv: kv[1][0]))
    selection = select(cands, ordered, policy)  # type: ignore[arg-type]
    if selection.chosen is None:
        return None, "unverified"
    return model[selection.chosen].answer, selection.status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo", help="any model Agent accepts")
    parser.add_argument("--per-set", type=int, default=12)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    rows = graded_subset(args.per_set)
    settings = Settings(
        max_new_tokens=args.max_new_tokens, forced_answer_tokens=24, samples=args.samples,
        adaptive=False, refuted_retries=0, sympy_answer=False,
    )  # fmt: skip
    with Agent(args.model, settings=settings) as agent:
        agent.load()
        verifier = agent.context.verifier
        start = time.perf_counter()
        answers = agent.batch([r.question for _, r in rows], max_concurrency=args.concurrency)
        seconds = time.perf_counter() - start

        def right(gold: str, answer: str | None) -> bool:
            return answer is not None and verifier.grade(gold, answer).equivalent is True

        table: dict[str, list[tuple[bool, str]]] = {k: [] for k in ("k1", "maj", "ver", "agent")}
        for (_, row), answer in zip(rows, answers, strict=True):
            first = next((c for c in answer.candidates if c.source == "model"), None)
            picks = {
                "k1": (first.answer, first.status) if first else (None, "unverified"),
                "maj": choose(answer, "majority"),
                "ver": choose(answer, "verified"),
            }
            # SymPy's own answer, if it computes one from the question (any candidate will do)
            sympy = verifier.check_answer(row.question, picks["ver"][0] or "0").computed
            settled = picks["ver"][1] == "verified" or sympy is None
            picks["agent"] = picks["ver"] if settled else (sympy, "verified")
            for key, (text, status) in picks.items():
                table[key].append((right(row.gold, text), status))
        errors = sum(1 for a in answers if a.status == "error")

    n = len(rows)
    names = {
        "k1": "k=1 (greedy candidate)",
        "maj": f"k={args.samples}, majority vote",
        "ver": f"k={args.samples}, verified selection",
        "agent": f"k={args.samples}, verified selection + SymPy's own answer",
    }
    print(f"{n} questions ({args.per_set} GSM8K + {args.per_set} MATH-500), {args.model}, "
          f"{args.max_new_tokens} tokens, {seconds:.0f} s, {errors} errors")  # fmt: skip
    print("\n| selection | accuracy | verified | verified and wrong |")
    print("|---|---|---|---|")
    for key, label in names.items():
        results = table[key]
        correct = sum(ok for ok, _ in results)
        verified = [ok for ok, status in results if status == "verified"]
        print(f"| {label} | {correct}/{n} ({correct / n:.1%}) | {len(verified)} | "
              f"{sum(1 for ok in verified if not ok)} |")  # fmt: skip

    refusals = flagged = total = 0
    for name in SETS:
        found, _ = read_questions(DATA / name / "test.jsonl")
        for row in found:
            screen = screen_question(row.question, max_chars=settings.max_question_chars)
            total += 1
            refusals += screen.refusal is not None
            flagged += screen.off_topic
    print(f"\nInput guard on all {total} GSM8K + MATH-500 questions: {refusals} refused "
          f"({refusals / total:.2%}), {flagged} flagged off-topic")  # fmt: skip


if __name__ == "__main__":
    main()
