"""Questions per minute: `verimath batch` (dynamic batching) vs the model card's generate loop.

Both sides use the same model (the demo GGUF through transformers), the same prompt (the
agent's system prompt and question) and the same token budget, greedy, on the first N GSM8K
questions. With `--retrieval` verimath searches the shipped corpus as it answers, and the
loop's prompts hold the very passages that search finds (found before its clock starts), so
prompts are as uneven in length as retrieval makes them. The loop is the model card's sample
code: chat template, `model.generate` per question. verimath runs the whole graph (guard,
generation with a forced answer when the budget runs out, SymPy verification, final answer)
through `run_batch` with `concurrency` questions in flight, so concurrent generations are
batched into one `generate` and the forced answers reuse their traces' keys and values
(prefix caching).

    .venv/bin/python bench/throughput.py [--questions 32] [--max-new-tokens 96] [--concurrency 32]
        [--retrieval]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from verimath import Agent
from verimath.batch import run_batch
from verimath.graphs import Settings
from verimath.graphs.prompts import DEFAULT_SYSTEM_PROMPT, render_prompt
from verimath.models import load_backend
from verimath.questions import read_questions
from verimath.tools.languages import read_as_english

DATA = Path(__file__).resolve().parents[2] / "shared/data/gsm8k/test.jsonl"


def model_card_loop(backend, questions: list[str], passages: list, max_new_tokens: int) -> float:
    """The model card's sample code, once per question; returns seconds."""
    tokenizer, model = backend._tokenizer, backend._model
    start = time.perf_counter()
    for question, found in zip(questions, passages, strict=True):
        messages = [m.to_dict() for m in render_prompt(question, found, DEFAULT_SYSTEM_PROMPT)]
        inputs = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
        )
        outputs = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        tokenizer.batch_decode(outputs[:, inputs["input_ids"].shape[-1] :])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--retrieval", action="store_true", help="passages in both prompts")
    args = parser.parse_args()
    rows = read_questions(DATA)[0][: args.questions]
    backend = load_backend("demo")
    backend.load()

    settings = Settings(max_new_tokens=args.max_new_tokens, samples=1, refuted_retries=0)
    with Agent(backend, index=None if args.retrieval else False, settings=settings) as agent:
        agent.load()
        passages = [retrieved(agent, r.question) for r in rows]
        loop_s = model_card_loop(backend, [r.question for r in rows], passages, args.max_new_tokens)
        before = backend._batcher.stats.seconds
        with tempfile.TemporaryDirectory() as tmp:
            summary = run_batch(
                agent.ask, rows, Path(tmp) / "out.jsonl", concurrency=args.concurrency
            )
        generating = backend._batcher.stats.seconds - before
    stats = backend._batcher.stats
    prompts = [
        backend.render(render_prompt(r.question, found, DEFAULT_SYSTEM_PROMPT))
        for r, found in zip(rows, passages, strict=True)
    ]
    lengths = [len(backend._tokenizer(prompt)["input_ids"]) for prompt in prompts]
    report = {
        "questions": len(rows),
        "retrieval": args.retrieval,
        "prompt_tokens_mean_max": [round(statistics.mean(lengths)), max(lengths)],
        "max_new_tokens": args.max_new_tokens,
        "model_card_loop": {
            "seconds": round(loop_s, 1),
            "q_per_min": round(len(rows) / loop_s * 60, 1),
        },
        "verimath_batch": {
            "seconds": round(summary.elapsed_s, 1),
            "q_per_min": round(len(rows) / summary.elapsed_s * 60, 1),
            "concurrency": args.concurrency,
            "generate_calls": stats.batches,
            "largest_batch": stats.largest,
            "prompt_tokens_reused": backend.prefix_cache.reused_tokens,
            "share_outside_generation": round(1 - generating / summary.elapsed_s, 3),
            "statuses": dict(summary.statuses),
        },
        "speedup": round(loop_s / summary.elapsed_s, 2),
    }
    print(json.dumps(report, indent=2))


def retrieved(agent: Agent, question: str) -> list:
    """The passages the agent's retrieve node puts in the prompt for this question."""
    retriever, settings = agent.context.retriever, agent.context.settings
    if retriever is None:
        return []
    hits = retriever.search(read_as_english(question), settings.top_k, mode=settings.search_mode)
    return [hit for hit in hits if hit.score >= settings.min_relevance]


if __name__ == "__main__":
    main()
