"""Evidence levels with a real small model: bare greedy, bare majority of 4, the agent with
k=4 and no cross-checks, and the agent with program cross-checks, on the same questions.

One run answers the first N graded GSM8K questions and the first M MATH-500 questions (the
same for every row) with the measurement model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M, see
../shared/models/README.md) through the llama.cpp backend, and reports per row and set:
accuracy; the share of answers labelled verified and cross-checked; the
precision of each label (the share of answers with that label that are right); completion
tokens and seconds per question (wall time of the row divided by its questions, questions in
flight together as the batched decoder takes them).

Rows (each run is one pass over the questions, so its seconds are its own):

- bare-greedy: the model alone, one greedy answer with the prompt of the model's README;
- bare-majority4: the model alone, 4 samples at T=0.7, the most frequent answer (grouped by
  the verifier's equivalence, ties to the first);
- agent-fixed: `Agent` with 4 solutions and 2 cross-check programs drawn at once; the row "k=4,
  no cross-checks" is what the agent chooses from its solutions alone (its own `select`);
- agent-adaptive: `Agent` with its defaults (adaptive, up to 4 solutions) and `cross_checks=2`:
  a solution and a program a step until an answer is verified or cross-checked.

Every answer is graded by `Verifier.grade` against the gold, as `verimath eval` grades.
Resumable: each row appends one JSON line per question to OUT/<row>.jsonl and a rerun skips
what is there, so the run can be killed and continued (its seconds then cover the parts).

    MODEL=$(../shared/models/get-qwen2.5-coder-0.5b.sh)
    .venv/bin/python bench/evidence.py --model "$MODEL" [--gsm8k 100] [--math500 50]
        [--rows bare-greedy,...] [--out build/bench-evidence] [--report]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

from subset import DATA  # bench/subset.py, beside this script  # noqa: E402

from verimath import Agent, Settings  # noqa: E402
from verimath.graphs.contracts import Message, SamplingParams  # noqa: E402
from verimath.graphs.prompts import CROSS_CHECK_PREFILL  # noqa: E402
from verimath.graphs.reasoning import Generation  # noqa: E402
from verimath.graphs.selection import Candidate, group_answers, select  # noqa: E402
from verimath.models import load_backend  # noqa: E402
from verimath.questions import read_questions  # noqa: E402
from verimath.tools import Verifier  # noqa: E402
from verimath.tools.extract import extract_final_answer  # noqa: E402
from verimath.tools.verdict import Verdict  # noqa: E402

# The measurement model README's bare prompt and sampling.
BARE_PROMPT = "Reason step by step and put the final answer in \\boxed{}."
BARE_TEMPERATURE = 0.7
ROWS = ("bare-greedy", "bare-majority4", "agent-fixed", "agent-adaptive")
# Sequences one question keeps in flight at first, so questions in flight fill the decoder.
PER_QUESTION = {"bare-greedy": 1, "bare-majority4": 4, "agent-fixed": 4, "agent-adaptive": 2}


def subset(gsm8k: int, math500: int) -> list[dict[str, Any]]:
    """The first graded questions of each set, with a stable id."""
    out: list[dict[str, Any]] = []
    for name, count in (("gsm8k", gsm8k), ("math500", math500)):
        rows, _ = read_questions(DATA / name / "test.jsonl")
        graded = [r for r in rows if r.gold is not None][:count]
        out += [{"id": f"{name}-{i}", "set": name, "question": r.question, "gold": r.gold}
                for i, r in enumerate(graded)]  # fmt: skip
    return out


def agent_settings(row: str, max_new_tokens: int) -> Settings:
    """agent-fixed: 4 solutions and 2 cross-check programs at once, so the rows "k=4 without
    cross-checks" and "k=4 with cross-checks" are chosen from the same candidates by the
    agent's own selection code; agent-adaptive: the defaults (adaptive) with `cross_checks=2`
    (off by default)."""
    if row == "agent-fixed":
        return Settings(max_new_tokens=max_new_tokens, samples=4, adaptive=False, cross_checks=2)
    return Settings(max_new_tokens=max_new_tokens, cross_checks=2)


def majority(answers: list[str | None], verifier: Verifier) -> str | None:
    """The most frequent stated answer, grouped as the agent groups (`group_answers`, by the
    verifier's equivalence); the first group wins ties."""
    same = lambda a, b: verifier.equivalent(a, b).equivalent is True  # noqa: E731
    groups = group_answers(answers, same)
    return answers[max(groups, key=len)[0]] if groups else None


def bare_answerer(agent: Agent, samples: int, max_new_tokens: int) -> Callable[[dict], dict]:
    backend, verifier = agent.backend, agent.context.verifier

    def one(question: str, index: int) -> tuple[str | None, int]:
        temperature = 0.0 if samples == 1 else BARE_TEMPERATURE
        params = SamplingParams(max_new_tokens, temperature, 1.0 if samples == 1 else 0.95,
                                seed=None if samples == 1 else 1000 + index)  # fmt: skip
        done = backend.complete([Message("system", BARE_PROMPT), Message("user", question)], params)
        return extract_final_answer(done.text), done.completion_tokens

    def answer(item: dict) -> dict:
        with ThreadPoolExecutor(samples) as pool:
            results = list(pool.map(lambda i: one(item["question"], i), range(samples)))
        answers = [a for a, _ in results]
        chosen = answers[0] if samples == 1 else majority(answers, verifier)  # type: ignore[arg-type]
        return {"answer": chosen, "status": "unverified", "samples": answers,
                "completion_tokens": sum(t for _, t in results)}  # fmt: skip

    return answer


class CountingBackend:
    """The model's backend, counting completion tokens per question and kind (a cross-check
    program's call starts inside its code block), so rows derived from one run's candidates
    count only their own tokens. Everything else is the backend's own."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.tokens = inner, defaultdict(int)
        self.name, self.supports_prefill = inner.name, inner.supports_prefill

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def complete(self, messages, params, *, prefill="", on_text=None):  # type: ignore[no-untyped-def]
        done = self.inner.complete(messages, params, prefill=prefill, on_text=on_text)
        question = messages[-1].content.rsplit("Question: ", 1)[-1]
        kind = "program" if prefill == CROSS_CHECK_PREFILL else "solution"
        self.tokens[question, kind] += done.completion_tokens
        return done


def agent_answerer(agent: Agent, counter: CountingBackend) -> Callable[[dict], dict]:
    def answer(item: dict) -> dict:
        got = agent.ask(item["question"])
        programs = [c.programs[0].to_dict() if c.programs else None for c in got.candidates]
        return {
            "answer": got.answer, "status": got.status, "error": got.error,
            "completion_tokens": got.usage.completion_tokens,
            "tokens_by_kind": {kind: counter.tokens[item["question"], kind]
                               for kind in ("solution", "program")},
            "candidates": [{"source": c.source, "answer": c.answer, "status": c.status,
                            "group": c.group, "program": p}
                           for c, p in zip(got.candidates, programs, strict=True)],
            "cross_check": got.cross_check.to_dict() if got.cross_check else None,
        }  # fmt: skip

    return answer


def run_row(row: str, items: list[dict], out: Path, model: str, args: argparse.Namespace) -> None:
    path = out / f"{row}.jsonl"
    done = {json.loads(line)["id"] for line in path.open()} if path.exists() else set()
    todo = [item for item in items if item["id"] not in done]
    if not todo:
        return
    bare = row.startswith("bare")
    settings = None if bare else agent_settings(row, args.max_new_tokens)
    index = False if bare else None  # the bare model gets no passages
    counter = CountingBackend(load_backend(model, backend="llama.cpp"))
    with Agent(counter, index=index, settings=settings or Settings()) as agent:
        agent.load()
        verifier = agent.context.verifier
        answer = (
            bare_answerer(agent, 1 if row == "bare-greedy" else 4, args.max_new_tokens)
            if bare
            else agent_answerer(agent, counter)
        )
        width = max(1, args.sequences // PER_QUESTION[row])

        def graded(item: dict) -> dict:
            start = time.perf_counter()
            result = answer(item)
            result["seconds"] = round(time.perf_counter() - start, 2)
            result["correct"] = bool(
                result["answer"] and verifier.grade(item["gold"], result["answer"]).equivalent
            )
            return {"id": item["id"], "set": item["set"], "gold": item["gold"], **result}

        append_records(row, path, map_in_threads(graded, todo, width))


def map_in_threads(work: Callable[[dict], dict], items: list[dict], width: int) -> Iterator[dict]:
    """`work` over `items`, `width` at a time (the batched decoder takes them together), in
    order."""
    with ThreadPoolExecutor(width) as pool:
        yield from pool.map(work, items)


def append_records(row: str, path: Path, records: Iterator[dict]) -> None:
    """Append each record to the row's file as it comes, with the row's elapsed seconds, so
    a killed run loses at most the questions in flight."""
    with path.open("a") as sink:
        started = time.perf_counter()
        for record in records:
            record["row_elapsed_s"] = round(time.perf_counter() - started, 2)
            sink.write(json.dumps(record) + "\n")
            sink.flush()
            print(row, record["id"], record.get("status", "-"), record["correct"], flush=True)


def solutions_only(record: dict, verifier: Verifier) -> dict:
    """What the agent chooses from the record's solutions alone (its cross-check programs
    dropped): the agent's `select` over the groups the run found, graded again."""
    kept = [(i, c) for i, c in enumerate(record["candidates"]) if c["source"] == "model"]
    cands = [
        Candidate(Generation("", "", c["answer"], "stop", False, 0, 0), Verdict(c["status"]))
        for _, c in kept
    ]
    groups: dict[int, list[int]] = {}
    for n, (_, c) in enumerate(kept):
        if c["group"] is not None:
            groups.setdefault(c["group"], []).append(n)
    selection = select(cands, tuple(tuple(g) for g in sorted(groups.values())))
    answer = cands[selection.chosen].answer if selection.chosen is not None else None
    correct = bool(answer and verifier.grade(record["gold"], answer).equivalent)
    tokens = record["tokens_by_kind"]["solution"]
    return {**record, "answer": answer, "status": selection.status, "correct": correct,
            "completion_tokens": tokens}  # fmt: skip


def row_seconds(records: list[dict]) -> float:
    """Wall seconds per question: each run of the row (a resumed row has several; each
    starts its clock again) counts up to its last record."""
    total, last = 0.0, 0.0
    for record in records:
        if record["row_elapsed_s"] < last:
            total += last
        last = record["row_elapsed_s"]
    return (total + last) / max(1, len(records))


def saved_rows(out: Path, rows: tuple[str, ...]) -> Iterator[tuple[str, list[dict]]]:
    """(row, its records) for each row that has a file in `out`, in the order given."""
    for row in rows:
        path = out / f"{row}.jsonl"
        if path.exists():
            yield row, [json.loads(line) for line in path.open()]


def table_rows(out: Path) -> list[tuple[str, list[dict], float | None]]:
    """(row name, records, seconds per question or None when the row has no run of its own)."""
    rows: list[tuple[str, list[dict], float | None]] = []
    for row, records in saved_rows(out, ROWS):
        seconds = row_seconds(records)
        if row == "agent-fixed":
            with Verifier() as verifier:
                derived = [solutions_only(r, verifier) for r in records]
            rows.append(("agent k=4, no cross-checks (agent-fixed's solutions)", derived, None))
            rows.append(("agent k=4 + 2 programs (agent-fixed)", records, seconds))
        else:
            rows.append((row, records, seconds))
    return rows


def report(out: Path) -> str:
    lines = ["| row | set | n | accuracy | verified (precision) | cross-checked (precision) "
             "| tokens / q | s / q |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for row, records, seconds in table_rows(out):
        for name in ("gsm8k", "math500"):
            rs = [r for r in records if r["set"] == name]
            if not rs:
                continue
            n = len(rs)

            def label(status: str, rs: list[dict] = rs, n: int = n) -> str:
                got = [r for r in rs if r["status"] == status]
                if not got:
                    return "0%"
                right = sum(r["correct"] for r in got)
                return f"{len(got) / n:.0%} ({right}/{len(got)} = {right / len(got):.0%})"

            accuracy = sum(r["correct"] for r in rs) / n
            tokens = sum(r["completion_tokens"] for r in rs) / n
            shown = "shared" if seconds is None else f"{seconds:.1f}"
            lines.append(
                f"| {row} | {name} | {n} | {accuracy:.1%} | {label('verified')} "
                f"| {label('cross-checked')} | {tokens:.0f} | {shown} |"
            )
    lines += ["", "| row | set | programs | printed an answer | right (of all programs) "
              "| greedy solution right |", "|---|---|---|---|---|---|"]  # fmt: skip
    with Verifier() as verifier:
        for row, records, _ in table_rows(out):
            if not records or "candidates" not in records[0] or "no cross" in row:
                continue
            for name in ("gsm8k", "math500"):
                rs = [r for r in records if r["set"] == name]
                programs = [(r, c) for r in rs for c in r["candidates"] if c["source"] == "program"]
                if not programs:
                    continue
                answered = [(r, c) for r, c in programs if c["answer"]]
                right = sum(bool(verifier.grade(r["gold"], c["answer"]).equivalent)
                            for r, c in answered)  # fmt: skip
                first = [next(c for c in r["candidates"] if c["source"] == "model") for r in rs]
                greedy = sum(bool(c["answer"] and verifier.grade(r["gold"], c["answer"]).equivalent)
                             for r, c in zip(rs, first, strict=True))  # fmt: skip
                lines.append(
                    f"| {row} | {name} | {len(programs)} | {len(answered) / len(programs):.0%} "
                    f"| {right / len(programs):.0%} | {greedy}/{len(rs)} |"
                )
    return "\n".join(lines)


def model_bench_arguments(doc: str, rows: tuple[str, ...], out: str) -> argparse.ArgumentParser:
    """The options every measurement-model benchmark here shares."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--model", help="path of the measurement model's GGUF")
    parser.add_argument("--rows", default=",".join(rows))
    parser.add_argument("--max-new-tokens", type=int, default=400)
    parser.add_argument("--sequences", type=int, default=8, help="sequences decoded together")
    parser.add_argument("--out", type=Path, default=Path(out))
    parser.add_argument("--report", action="store_true", help="only print the tables")
    return parser


def main() -> None:
    parser = model_bench_arguments(__doc__, ROWS, "build/bench-evidence")
    parser.add_argument("--gsm8k", type=int, default=100)
    parser.add_argument("--math500", type=int, default=50)
    args = parser.parse_args()
    if not args.report and not args.model:
        parser.error("--model is needed to run rows (or pass --report)")
    items = subset(args.gsm8k, args.math500)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report:
        for row in args.rows.split(","):
            run_row(row, items, args.out, args.model, args)
    print(report(args.out))


if __name__ == "__main__":
    main()
