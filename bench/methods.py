"""Worked methods: the agent with and without solved problems like the question shown as
examples (`Settings.examples`), on the same questions, with the measurement model.

Why: plain retrieval of facts does little for competition math; retrieving worked procedures
is reported to help ("Reasoning Memory", arXiv 2604.01348). The examples index holds the
7,500 worked solutions of MATH's train split (../shared/data/corpora/math_train/train.jsonl,
read in place; it shares no problem with MATH-500, see its README), built once into
`--out`/index with the embedding cache.

Rows (one greedy sample each, 400 new tokens; the first two have the shipped corpus on, so
they differ only in the examples):

- agent: `Agent` with `samples=1`, no examples;
- agent-examples: the same with `examples=2` (each at or above `min_relevance`);
- agent-no-retrieval: the same as agent with `index=False`: what the shipped corpus's
  passages do for math questions (the retrieval policy's other half).

Questions: the first 100 graded GSM8K and the first 50 MATH-500 test questions (the same as
bench/evidence.py). Graded by `Verifier.grade`, as `verimath eval` grades. Resumable: one
JSON line per question in `--out`/<row>.jsonl.

    MODEL=$(../shared/models/get-qwen2.5-coder-0.5b.sh)
    .venv/bin/python bench/methods.py --model "$MODEL" [--rows agent,agent-examples] [--report]
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

import evidence  # bench/evidence.py, beside this script  # noqa: E402
from subset import DATA  # noqa: E402

from verimath import Agent, Settings  # noqa: E402
from verimath.retrieval import Corpus, EmbeddingCache, Index, default_embeddings  # noqa: E402
from verimath.retrieval.default_index import cache_dir  # noqa: E402

ROWS = ("agent", "agent-examples", "agent-no-retrieval")
EXAMPLES = 2
WORKED = DATA / "corpora" / "math_train" / "train.jsonl"


def examples_index(out: Path) -> Index:
    """MATH's worked solutions as an index, built once (embeddings cached)."""
    folder, embeddings = out / "index", default_embeddings()
    if folder.is_dir():
        return Index.load(folder, embeddings)
    started = time.perf_counter()
    corpus = Corpus.from_paths([WORKED])
    cache = EmbeddingCache(cache_dir() / "embeddings.sqlite3")
    index = Index.build(corpus.passages, embeddings, cache=cache)
    index.save(folder)
    print(f"indexed {len(corpus.passages)} passages in {time.perf_counter() - started:.0f} s")
    return index


def run_row(row: str, items: list[dict], out: Path, args) -> None:  # type: ignore[no-untyped-def]
    path = out / f"{row}.jsonl"
    done = {json.loads(line)["id"] for line in path.open()} if path.exists() else set()
    todo = [item for item in items if item["id"] not in done]
    if not todo:
        return
    shown = EXAMPLES if row == "agent-examples" else 0
    settings = Settings(max_new_tokens=args.max_new_tokens, samples=1, cross_checks=0,
                        examples=shown)  # fmt: skip
    examples = examples_index(out) if shown else None
    index = False if row == "agent-no-retrieval" else None
    with Agent(
        args.model, backend="llama.cpp", index=index, examples=examples, settings=settings
    ) as agent:
        agent.load()
        verifier = agent.context.verifier

        def graded(item: dict) -> dict:
            start = time.perf_counter()
            got = agent.ask(item["question"])
            correct = bool(got.answer and verifier.grade(item["gold"], got.answer).equivalent)
            return {
                "id": item["id"], "set": item["set"], "gold": item["gold"],
                "answer": got.answer, "status": got.status, "correct": correct,
                "completion_tokens": got.usage.completion_tokens,
                "prompt_tokens": got.usage.prompt_tokens,
                "examples": [{"id": e.id, "score": e.score} for e in got.examples],
                "seconds": round(time.perf_counter() - start, 2),
            }  # fmt: skip

        evidence.append_records(row, path, evidence.map_in_threads(graded, todo, args.sequences))


def report(out: Path) -> str:
    lines = ["| row | set | n | accuracy | examples shown / q | prompt tokens / q "
             "| completion tokens / q | s / q |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for row, records in evidence.saved_rows(out, ROWS):
        seconds = evidence.row_seconds(records)
        for name in ("gsm8k", "math500"):
            rs = [r for r in records if r["set"] == name]
            if not rs:
                continue
            n = len(rs)
            lines.append(
                f"| {row} | {name} | {n} | {sum(r['correct'] for r in rs) / n:.1%} "
                f"| {sum(len(r['examples']) for r in rs) / n:.2f} "
                f"| {sum(r['prompt_tokens'] for r in rs) / n:.0f} "
                f"| {sum(r['completion_tokens'] for r in rs) / n:.0f} | {seconds:.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = evidence.model_bench_arguments(__doc__, ROWS, "build/bench-methods")
    parser.add_argument("--gsm8k", type=int, default=100)
    parser.add_argument("--math500", type=int, default=50)
    args = parser.parse_args()
    items = evidence.subset(args.gsm8k, args.math500)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report:
        for row in args.rows.split(",") if args.model else ():
            run_row(row, items, args.out, args)
    print(report(args.out))


if __name__ == "__main__":
    main()
