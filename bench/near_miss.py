"""Near misses: answers that look right and are not answers the question asked for. None may verify.

From each gold answer of MATH-500 and the MATH train set (../shared/data), paired with its own
question, the script writes the forms a weak model produces and a lax checker passes:

- rounded:     the exact value rounded to 1, 2 or 3 decimal places (`0.33` for 1/3);
- truncated:   the exact value cut after 2 decimal places (`0.87` for 7/8 is not rounded);
- restated:    the question's own expression as the answer (`17 \\times 23`, `\\gcd(12, 18)`);
- unevaluated: the gold value as an operation on numbers (`17 \\cdot 23` for 391, `2^{10}`,
               `2 \\cdot \\frac{3}{8}` for 3/4);
- unsimplified: for simplify / expand / factor questions, the given expression unchanged.

Rows whose question asks for a rounding are skipped for the rounded forms (there a correctly
rounded decimal is the right answer). Each row is checked with `check_answer(question, form)`;
the verified count must be 0. The same run checks each gold answer, so the right-answer
coverage is reported beside it. The forms are made in this process from the datasets' own gold
answers (trusted files, never model output); every check runs in the sandboxed workers.

    .venv/bin/python bench/near_miss.py [--sets math500,math_train] [--limit N] [--write rows.jsonl]
    .venv/bin/python bench/near_miss.py --rows rows.jsonl     # check rows made earlier

`--rows` lets another version of the checker (an older commit) check the very same rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

import sympy
from subset import DATA  # bench/subset.py, beside this script

from verimath.questions import read_questions
from verimath.tools import Verifier
from verimath.tools.equivalence import prepare_answer
from verimath.tools.mathparse import ParseError, free_variables, parse_expression

SETS = {
    "math500": DATA / "math500" / "test.jsonl",
    "math_train": DATA / "corpora" / "math_train" / "train.jsonl",
}


def exact_value(gold: str) -> sympy.Expr | None:
    """The gold answer as one exact number, or None (an expression, a set, text)."""
    try:
        value = parse_expression(prepare_answer(gold))
    except ParseError:
        return None
    if not isinstance(value, sympy.Expr) or free_variables(value) or not value.is_number:
        return None
    return value if value.is_extended_real and value.is_finite else None


def decimal_forms(value: sympy.Expr) -> list[tuple[str, str]]:
    """(kind, text): roundings to 1-3 places and a truncation to 2, each unequal to the value."""
    if abs(value) > 10**12:  # not a number anyone writes as a decimal
        return []
    digits = Decimal(str(sympy.N(value, 40)))
    forms: list[tuple[str, str]] = []
    for places in (1, 2, 3):
        forms.append(("rounded", digits.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)))
    forms.append(("truncated", digits.quantize(Decimal("0.01"), ROUND_DOWN)))
    seen: set[Decimal] = set()
    out = []
    for kind, number in forms:
        if number in seen or sympy.Rational(str(number)) == value:
            continue
        seen.add(number)
        out.append((kind, str(number)))
    return out


def unevaluated_forms(value: sympy.Expr) -> list[str]:
    """The value written as an operation on numbers."""
    if value.is_Integer and abs(value) >= 4:
        n = int(value)
        if abs(n) > 10**12:  # factoring it could take minutes
            return [f"{n - 1} + 1"]
        factors = sympy.factorint(abs(n))
        base, power = next(iter(factors.items()))
        forms = []
        if len(factors) == 1 and power > 1 and n > 0:
            forms.append(f"{base}^{{{power}}}")
        smallest = min(factors)
        if smallest != abs(n):
            forms.append(f"{smallest} \\cdot {n // smallest}")
        forms.append(f"{n - 1} + 1")
        return forms
    if value.is_Rational and not value.is_Integer:
        return [f"2 \\cdot \\frac{{{value.p}}}{{{2 * value.q}}}"]
    return []


def near_misses(question: str, gold: str) -> list[tuple[str, str]]:
    """(kind, candidate) pairs for one row."""
    from verimath.tools.precision import rounding_asked
    from verimath.tools.question import NoTask, find_checkable, recognise

    rows: list[tuple[str, str]] = []
    value = exact_value(gold)
    if value is not None:
        if rounding_asked(question) is None:
            rows += decimal_forms(value)
        rows += [("unevaluated", form) for form in unevaluated_forms(value)]
    task = recognise(question)
    fragments = find_checkable(question)
    if not isinstance(task, NoTask) and task.kind in ("simplify", "expand", "factor"):
        rows.append(("unsimplified", task.source))
    elif len(fragments) == 1 and not isinstance(task, NoTask):
        rows.append(("restated", fragments[0]))
    return [(kind, text) for kind, text in rows if text.strip() != gold.strip()]


def make_rows(sets: str, limit: int) -> list[dict]:
    rows = []
    for name in sets.split(","):
        questions = [r for r in read_questions(SETS[name])[0] if r.gold is not None]
        for row in questions[:limit] if limit else questions:
            forms = near_misses(row.question, row.gold)
            rows += [{"set": name, "id": row.id, "kind": kind, "question": row.question,
                      "gold": row.gold, "candidate": text} for kind, text in forms]  # fmt: skip
            if not forms:  # the gold answer is still checked: coverage counts every question
                rows.append({"set": name, "id": row.id, "kind": None, "question": row.question,
                             "gold": row.gold, "candidate": None})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="math500,math_train")
    parser.add_argument("--limit", type=int, default=0, help="questions per set (0: all)")
    parser.add_argument("--write", type=Path, help="write the rows made, then check them")
    parser.add_argument("--rows", type=Path, help="check rows made earlier instead")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.rows:
        rows = [json.loads(line) for line in args.rows.read_text().splitlines()]
    else:
        rows = make_rows(args.sets, args.limit)
    if args.write:
        args.write.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    verdicts: Counter[tuple[str, str]] = Counter()
    coverage: Counter[str] = Counter()
    checkable: Counter[str] = Counter()  # near misses whose gold answer verifies
    false_verified = []
    gold_status: dict[tuple[str, str], str] = {}
    with Verifier(workers=2) as verifier:
        verifier.start()
        for row in rows:
            key = (row["set"], row["id"])
            if key not in gold_status:
                gold_status[key] = verifier.check_answer(row["question"], row["gold"]).status
                coverage[gold_status[key]] += 1
            if row["kind"] is None:
                continue
            verdict = verifier.check_answer(row["question"], row["candidate"])
            verdicts[(row["kind"], verdict.status)] += 1
            checkable[row["kind"]] += gold_status[key] == "verified"
            if verdict.status == "verified":
                false_verified.append([row[k] for k in ("set", "id", "kind", "candidate")])
    kinds = sorted({kind for kind, _ in verdicts})
    report = {
        "near_misses": sum(verdicts.values()),
        "verified": len(false_verified),
        "by_kind": {
            kind: {
                "rows": sum(n for (k, _), n in verdicts.items() if k == kind),
                "gold_verifies": checkable[kind],
                **{s: verdicts[(kind, s)] for s in ("verified", "refuted", "unverified")},
            }
            for kind in kinds
        },
        "gold": dict(coverage),
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(json.dumps(report, indent=2))
    for mistake in false_verified:
        print("VERIFIED NEAR MISS:", json.dumps(mistake, ensure_ascii=False), file=sys.stderr)
    sys.exit(1 if false_verified else 0)


if __name__ == "__main__":
    main()
