"""Decode tokens/s of the transformers backend at Phi-4-mini-reasoning's exact shape, against the
memory-bandwidth ceiling.

No weights are needed: the model is a randomly initialised `Phi3ForCausalLM` with
Phi-4-mini-reasoning's configuration (3.8 B parameters: hidden 3072, MLP 8192, 32 layers,
24 heads, 8 KV heads, vocabulary 200,064, partial rotary 0.75, LongRoPE to 131,072 positions,
tied embeddings), in bfloat16, saved with a small in-code tokenizer carrying Phi-4-mini's chat
template, and loaded from that folder through verimath's own `TransformersBackend`. Random
weights decode at the speed of real ones (the same matrices are read each step); they rarely
emit end-of-sequence, so every request runs close to its token budget (the counts reported are
the real completion tokens).

Single stream: sequential greedy `complete` calls. Batched: B threads call `complete` at once
and the backend's dynamic batcher serves them as one padded `generate` (checked: the table shows
the number of generate calls). Rates are completion tokens over the seconds spent inside
`generate` (the batcher's own clock), prefill of the short prompt included.

Ceiling: one decode step reads every weight once, so a single stream can make at most
bandwidth / weight bytes steps per second (H100 SXM: 3.35 TB/s over 7.67 GB of bfloat16 weights
is about 437 tokens/s). A batch of B reads the weights once for all B rows, so its ceiling is
B times that until compute or the KV cache's reads bind; the ratio shows how far eager
`generate` is from it.

    .venv/bin/python bench/gpu_decode.py --device cuda [--new-tokens 256] [--batches 8,32,64]
        [--runs 3] [--bandwidth-tbs 3.35]
    .venv/bin/python bench/gpu_decode.py --tiny --device cpu --new-tokens 8 --batches 2,4
        # the same code path on a tiny model in seconds: a plumbing check, not a speed
"""

from __future__ import annotations

import argparse
import shlex
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verimath.models import Message, SamplingParams, TransformersBackend

# Phi-4-mini-reasoning's format: a fixed system preamble, then <|role|>content<|end|> turns.
PHI4_MINI_TEMPLATE = (
    "{{ '<|system|>Your name is Phi, an AI math expert developed by Microsoft.' }}"
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{ ' ' + message['content'] + '<|end|>' }}{% endif %}{% endfor %}"
    "{% if messages[0]['role'] != 'system' %}{{ '<|end|>' }}{% endif %}"
    "{% for message in messages %}{% if message['role'] != 'system' %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
PROMPT = "Solve 3x^2 + 4x + 5 = 1 and explain every step before the final answer."

# Phi-4-mini-reasoning's config.json, and a tiny model of the same architecture.
FULL_SHAPE = dict(
    hidden_size=3072, intermediate_size=8192, num_hidden_layers=32,
    num_attention_heads=24, num_key_value_heads=8, vocab_size=200064,
)  # fmt: skip
TINY_SHAPE = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2,
    num_attention_heads=4, num_key_value_heads=2, vocab_size=512,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Measurement:
    mode: str
    batch: int
    requests: int
    generate_calls: int
    completion_tokens: int
    seconds: float

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0


def phi4_mini_config(*, tiny: bool, eos_token_id: int) -> Any:
    """Phi-4-mini-reasoning's architecture (`tiny`: the same features, toy sizes)."""
    from transformers import Phi3Config

    shape = TINY_SHAPE if tiny else FULL_SHAPE
    head_dim = shape["hidden_size"] // shape["num_attention_heads"]
    rotary_pairs = int(head_dim * 0.75) // 2  # LongRoPE factors: one per rotated pair
    return Phi3Config(
        **shape, partial_rotary_factor=0.75, max_position_embeddings=131072,
        original_max_position_embeddings=4096, rms_norm_eps=1e-5, tie_word_embeddings=True,
        rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0,
                         "short_factor": [1.0] * rotary_pairs, "long_factor": [1.5] * rotary_pairs,
                         "partial_rotary_factor": 0.75},
        pad_token_id=eos_token_id, eos_token_id=eos_token_id, bos_token_id=eos_token_id,
    )  # fmt: skip


def build_model_folder(folder: Path, *, tiny: bool, device: str) -> int:
    """Write a random model and a small tokenizer with Phi-4-mini's template to `folder`;
    returns the parameter count (tied embeddings counted once). Ids the tokenizer lacks decode
    to nothing, so a 200,064-row vocabulary works with a 400-token tokenizer."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()  # the real config's LongRoPE fields draw the same notice
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator([PROMPT, "<think> x = \\boxed{1} </think> the answer"], trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )
    tokenizer.chat_template = PHI4_MINI_TEMPLATE
    tokenizer.save_pretrained(folder)
    config = phi4_mini_config(tiny=tiny, eos_token_id=tokenizer.eos_token_id)
    with torch.device(device):  # initialised where it will run: seconds on a GPU, not minutes
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    parameters = sum(p.numel() for p in model.parameters())
    model.save_pretrained(folder)
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return parameters


def single_stream(backend: TransformersBackend, new_tokens: int, runs: int) -> Measurement:
    """`runs` sequential greedy requests, one sequence per `generate`."""
    batcher = backend._batcher
    if batcher is None:
        raise ValueError("the backend has no batcher; build it with max_batch of 2 or more")
    batcher.max_batch = 1  # served alone, at once
    before = (batcher.stats.seconds, batcher.stats.batches)
    tokens = 0
    for _ in range(runs):
        tokens += _ask(backend, new_tokens).completion_tokens
    return Measurement(
        "single stream", 1, runs, batcher.stats.batches - before[1], tokens,
        batcher.stats.seconds - before[0],
    )  # fmt: skip


def batched(backend: TransformersBackend, batch: int, new_tokens: int) -> Measurement:
    """`batch` threads call `complete` at once; the batcher serves them as one `generate`."""
    batcher = backend._batcher
    if batcher is None:
        raise ValueError("the backend has no batcher; build it with max_batch of 2 or more")
    # The window closes when the batch is full.
    batcher.max_batch, batcher.max_wait_s, batcher.max_gather_s = batch, 30.0, 30.0
    before = (batcher.stats.seconds, batcher.stats.batches)
    start = threading.Barrier(batch)
    results: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one() -> None:
        start.wait()
        try:
            count = _ask(backend, new_tokens).completion_tokens
        except BaseException as exc:  # recorded and re-raised below, in the main thread
            with lock:
                errors.append(exc)
            return
        with lock:
            results.append(count)

    threads = [threading.Thread(target=one) for _ in range(batch)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return Measurement(
        "batched", batch, batch, batcher.stats.batches - before[1], sum(results),
        batcher.stats.seconds - before[0],
    )  # fmt: skip


def _ask(backend: TransformersBackend, new_tokens: int) -> Any:
    return backend.complete([Message("user", PROMPT)], SamplingParams(max_new_tokens=new_tokens))


def device_name(device: str) -> str:
    import platform

    import torch

    if device.startswith("cuda"):
        return str(torch.cuda.get_device_name(torch.device(device)))
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def report(
    results: Sequence[Measurement],
    *,
    parameters: int,
    bytes_per_weight: int,
    bandwidth_tbs: float,
    device: str,
    command: str,
) -> str:
    """The Markdown table: measured rate, the bandwidth ceiling and their ratio per row."""
    weight_bytes = parameters * bytes_per_weight
    ceiling = bandwidth_tbs * 1e12 / weight_bytes
    lines = [
        f"device: {device}",
        f"parameters: {parameters:,}; weights: {weight_bytes / 1e9:.4g} GB "
        f"({bytes_per_weight} bytes each)",
        f"ceiling: {bandwidth_tbs:g} TB/s / {weight_bytes / 1e9:.4g} GB = {ceiling:.0f} "
        "tokens/s per decode step (a batch of B: B times that)",
        "",
        "| mode | batch | requests | generate calls | completion tokens | seconds "
        "| tokens/s | ceiling tokens/s | share of ceiling |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        limit = ceiling * m.batch
        lines.append(
            f"| {m.mode} | {m.batch} | {m.requests} | {m.generate_calls} | {m.completion_tokens}"
            f" | {m.seconds:.2f} | {m.tokens_per_s:.1f} | {limit:.0f}"
            f" | {m.tokens_per_s / limit:.1%} |"
        )
    lines += ["", f"command: `{command}`"]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace, command: str) -> str:
    """Build, load, measure; returns the report."""
    import torch

    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here; run with --device cpu --tiny for a plumbing check")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="verimath-gpu-decode-") as tmp:
        folder = Path(tmp)
        parameters = build_model_folder(folder, tiny=args.tiny, device=device)
        # No prefix cache: every run repeats one prompt, and each must read it (prefill included).
        backend = TransformersBackend(
            folder,
            device=device,
            dtype=args.dtype,
            max_batch=max(2, *args.batches),
            prefix_cache_mb=0,
        ).load()
    bytes_per_weight = next(backend._model.parameters()).element_size()
    results = []
    single_stream(backend, min(4, args.new_tokens), 1)  # warm-up: kernels, allocator
    results.append(single_stream(backend, args.new_tokens, args.runs))
    for size in args.batches:
        batched(backend, size, min(4, args.new_tokens))  # warm-up at this shape
        results.append(batched(backend, size, args.new_tokens))
    return report(
        results, parameters=parameters, bytes_per_weight=bytes_per_weight,
        bandwidth_tbs=args.bandwidth_tbs, device=device_name(device), command=command,
    )  # fmt: skip


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma list of batch sizes") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"'{text}': batch sizes are whole numbers of 1 or more")
    return sizes


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda, cuda:1 or cpu (default cuda)")
    p.add_argument("--tiny", action="store_true", help="a tiny model of the same architecture")
    p.add_argument("--new-tokens", type=int, default=256, help="tokens per request (256)")
    p.add_argument("--runs", type=int, default=3, help="sequential single-stream requests (3)")
    p.add_argument("--batches", type=_sizes, default=[8, 32, 64], help="batch sizes (8,32,64)")
    p.add_argument(
        "--bandwidth-tbs", type=float, default=3.35, help="memory bandwidth, TB/s (H100 SXM 3.35)"
    )
    p.add_argument(
        "--dtype", default="auto", help="weights' dtype when loaded (auto: bfloat16 on a GPU)"
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return p


def main(argv: Sequence[str] | None = None) -> str:
    import sys

    arguments = list(sys.argv[1:] if argv is None else argv)
    command = shlex.join([".venv/bin/python", "bench/gpu_decode.py", *arguments])
    text = run(parser().parse_args(arguments), command)
    print(text, end="")
    return text


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"(whole run {time.perf_counter() - started:.0f} s)")
