"""Batched decoding in the llama.cpp backend, side by side in one run on the measurement model.

    MODEL=$(../shared/models/get-qwen2.5-coder-0.5b.sh)
    .venv/bin/python bench/llamacpp_batching.py --model "$MODEL" --out bench-results/batching \
        [--questions 16] [--max-new-tokens 256] [--threads 2] [--parts tokens,samples,questions]

Three comparisons, each on the first GSM8K test questions, the agent's system prompt, the same
token budget and the same CPU threads on both sides:

- tokens: generated tokens per second, one call at a time, the backend's `complete` against the
  bare llama-cpp-python loop (`Llama.create_completion`, greedy, the same prompt text, flash
  attention on as in the backend), calls alternating question by question; then the backend
  with 8 calls in flight (aggregate).
- samples: the wall time of k=4 samples of one question decoded together (four threads, as the
  graph's generate node starts them) against the same 4 samples one after another. The two
  orders alternate question by question, since whichever goes second finds the prompt's cells.
- questions: questions per minute of the whole agent (`run_batch`: retrieval, generation with
  forced answers, SymPy checks) at `--concurrency 8` against one at a time; greedy, one sample,
  so both sides do the same work. Each side gets a freshly loaded backend.

Each part writes `<out>/<part>.json` when it ends; a rerun skips parts already written
(delete a file to measure that part again).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from verimath import Agent
from verimath.batch import run_batch
from verimath.graphs import Settings
from verimath.graphs.prompts import DEFAULT_SYSTEM_PROMPT, render_prompt
from verimath.models import LlamaCppBackend, SamplingParams
from verimath.questions import read_questions

DATA = Path(__file__).resolve().parents[2] / "shared/data/gsm8k/test.jsonl"
WARM = SamplingParams(max_new_tokens=4)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        cpu = f"{len(names)} x {names[0].split(':', 1)[1].strip()}" if names else cpu
    return cpu


def backend(args: argparse.Namespace, sequences: int) -> LlamaCppBackend:
    threads = args.threads or None  # 0: llama.cpp's own choice, as the backend's default
    loaded = LlamaCppBackend(args.model, threads=threads, n_ctx=args.n_ctx, sequences=sequences)
    loaded.load()
    loaded.complete(render_prompt("What is 2 plus 2?", [], DEFAULT_SYSTEM_PROMPT), WARM)
    return loaded


def part_tokens(args: argparse.Namespace, questions: list[str]) -> dict[str, Any]:
    import llama_cpp

    ours = backend(args, sequences=8)
    threads = args.threads or None
    bare = llama_cpp.Llama(
        model_path=args.model, n_ctx=args.n_ctx, n_threads=threads, n_threads_batch=threads,
        flash_attn=True, verbose=False,
    )  # fmt: skip
    greedy = SamplingParams(max_new_tokens=args.max_new_tokens)
    sides = {"bare llama-cpp-python loop": [0.0, 0], "verimath, one call at a time": [0.0, 0]}
    for question in questions:
        messages = render_prompt(question, [], DEFAULT_SYSTEM_PROMPT)
        prompt = ours.render(messages)
        start = time.perf_counter()
        out = bare.create_completion(
            prompt, max_tokens=args.max_new_tokens, temperature=0.0, top_k=0, top_p=1.0,
            min_p=0.0, repeat_penalty=1.0,
        )  # fmt: skip
        sides["bare llama-cpp-python loop"][0] += time.perf_counter() - start
        sides["bare llama-cpp-python loop"][1] += out["usage"]["completion_tokens"]
        start = time.perf_counter()
        done = ours.complete(messages, greedy)
        sides["verimath, one call at a time"][0] += time.perf_counter() - start
        sides["verimath, one call at a time"][1] += done.completion_tokens
    all_messages = [render_prompt(q, [], DEFAULT_SYSTEM_PROMPT) for q in questions]
    start = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        done_all = list(pool.map(lambda m: ours.complete(m, greedy), all_messages))
    sides["verimath, 8 calls in flight"] = [
        time.perf_counter() - start,
        sum(c.completion_tokens for c in done_all),
    ]
    return {
        name: {"seconds": s, "tokens": n, "tokens_per_s": n / s} for name, (s, n) in sides.items()
    }


def part_samples(args: argparse.Namespace, questions: list[str]) -> dict[str, Any]:
    ours = backend(args, sequences=4)
    settings = Settings()
    samples = [
        SamplingParams(
            args.max_new_tokens, settings.sample_temperature, settings.sample_top_p, seed=seed
        )
        for seed in range(4)
    ]
    seconds = {"together": 0.0, "one after another": 0.0}
    tokens = {"together": 0, "one after another": 0}

    def together(messages: Any) -> list[Any]:
        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(lambda p: ours.complete(messages, p), samples))

    def in_turn(messages: Any) -> list[Any]:
        return [ours.complete(messages, p) for p in samples]

    for n, question in enumerate(questions):
        messages = render_prompt(question, [], DEFAULT_SYSTEM_PROMPT)
        order = [("together", together), ("one after another", in_turn)]
        for name, run in order if n % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            done = run(messages)
            seconds[name] += time.perf_counter() - start
            tokens[name] += sum(c.completion_tokens for c in done)
    return {
        "rows": {name: {"seconds": seconds[name], "tokens": tokens[name]} for name in seconds},
        "ratio": seconds["together"] / seconds["one after another"],
        "stats": vars(ours.stats),
    }


def part_questions(args: argparse.Namespace, rows: list[Any]) -> dict[str, Any]:
    settings = Settings(max_new_tokens=args.max_new_tokens, samples=1, temperature=0.0)
    result: dict[str, Any] = {}
    for concurrency in (1, 8):
        model = backend(args, sequences=8)
        with Agent(model=model, settings=settings) as agent, tempfile.TemporaryDirectory() as tmp:
            agent.ask("What is 2 plus 2?")  # the embeddings, the index and the SymPy workers
            start = time.perf_counter()
            summary = run_batch(
                agent.ask, rows, Path(tmp) / "answers.jsonl", concurrency=concurrency
            )
            seconds = time.perf_counter() - start
        result[f"concurrency {concurrency}"] = {
            "seconds": seconds,
            "questions_per_minute": 60 * summary.answered / seconds,
            "statuses": dict(summary.statuses),
            "largest_step": model.stats.largest,
        }
    one, eight = result["concurrency 1"], result["concurrency 8"]
    result["ratio"] = eight["questions_per_minute"] / one["questions_per_minute"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="the measurement model's .gguf file")
    parser.add_argument("--out", type=Path, required=True, help="folder for the part results")
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2, help="0: llama.cpp's own choice")
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--parts", default="tokens,samples,questions")
    args = parser.parse_args()
    rows = read_questions(DATA)[0][: args.questions]
    questions = [row.question for row in rows]
    args.out.mkdir(parents=True, exist_ok=True)
    runs = {
        "tokens": lambda: part_tokens(args, questions[:8]),
        "samples": lambda: part_samples(args, questions[:6]),
        "questions": lambda: part_questions(args, rows),
    }
    for part in args.parts.split(","):
        path = args.out / f"{part}.json"
        if path.exists():
            print(f"{part}: already measured ({path})")
            continue
        started = time.strftime("%Y-%m-%d %H:%M")
        result = runs[part]()
        record = {
            "part": part, "started": started, "machine": machine(),
            "settings": {k: str(v) for k, v in vars(args).items()}, "result": result,
        }  # fmt: skip
        path.write_text(json.dumps(record, indent=2) + "\n")
        print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
