"""Batched decoding in the llama.cpp backend, on the real demo GGUF: sequences in flight decode
together, the k samples of a question read their prompt once, a continuation reuses the cells of
the call it continues, and greedy output is what llama-cpp-python's own one-at-a-time loop
writes. The demo's Q4_1 kernels give bit-identical logits whatever shares the batch, so the
comparison is exact."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from verimath.models import (
    LlamaCppBackend,
    Message,
    SamplingParams,
    demo_model_path,
    generate_answer,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None,
        reason="llama-cpp-python is not installed (pip install 'verimath[gguf]')",
    ),
]
QUESTIONS = [
    "What is 17 times 23?",
    "Solve 2x + 6 = 10 for x.",
    "Name the largest planet in the solar system.",
    "What is the derivative of x^3?",
]
GREEDY = SamplingParams(max_new_tokens=40)


def ask(question: str) -> list[Message]:
    return [Message("user", question)]


def together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Start every call at once, each in its own thread, as the graph's samples are."""
    with ThreadPoolExecutor(len(calls)) as pool:
        return [future.result() for future in [pool.submit(call) for call in calls]]


@pytest.fixture(scope="module")
def batched() -> LlamaCppBackend:
    return LlamaCppBackend(demo_model_path(), n_ctx=1024, sequences=4, threads=2).load()


@pytest.fixture(scope="module")
def reference(batched: LlamaCppBackend) -> Callable[[str], str]:
    """Greedy text from llama-cpp-python's own `Llama.generate` loop: one sequence, its prompt
    read in one batch, then one token per decode (flash attention on, as the backend has it)."""
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=str(demo_model_path()), n_ctx=1024, flash_attn=True, verbose=False
    )

    def generate(question: str) -> str:
        prompt = batched.render(ask(question))
        ids = llm.tokenize(prompt.encode(), add_bos=False, special=True)
        out: list[int] = []
        llm.reset()
        for token in llm.generate(ids, temp=0.0, top_k=0, min_p=0.0, repeat_penalty=1.0):
            if llm.token_eos() == token or len(out) == GREEDY.max_new_tokens:
                break
            out.append(token)
        return llm.detokenize(out).decode("utf-8", errors="replace")

    return generate


def test_greedy_output_together_is_what_the_one_at_a_time_loop_writes(batched, reference):
    expected = [reference(q) for q in QUESTIONS]
    steps = batched.stats.steps
    done = together([lambda q=q: batched.complete(ask(q), GREEDY) for q in QUESTIONS])
    assert [c.text for c in done] == expected
    # Decoded together: fewer llama_decode calls than tokens written.
    assert batched.stats.steps - steps < sum(c.completion_tokens for c in done) / 2


def test_the_k_samples_of_a_question_read_their_shared_prompt_once(batched):
    messages = ask("Explain step by step how to add 1/2 and 1/3, then give the sum.")
    prompt_tokens = batched.complete(messages, SamplingParams(max_new_tokens=1)).prompt_tokens
    fresh = LlamaCppBackend(demo_model_path(), n_ctx=1024, sequences=4, threads=2).load()
    samples = [
        SamplingParams(max_new_tokens=24, temperature=0.8, top_p=0.95, seed=seed)
        for seed in range(4)
    ]
    texts = together([lambda p=p: fresh.complete(messages, p).text for p in samples])
    stats = fresh.stats
    # One sequence read the prompt; the other three copied its cells and read its last token.
    assert stats.forks == 3 and stats.reused == 3 * (prompt_tokens - 1)
    assert stats.largest == 4  # and all four then decoded in the same steps
    assert len(set(texts)) > 1  # each sample kept its own sampler and seed
    again = [fresh.complete(messages, p).text for p in samples]  # one at a time, same seeds
    assert again == texts


def test_a_continuation_reuses_the_cells_of_the_call_it_continues(batched, reference):
    question = ask(QUESTIONS[0])
    first = batched.complete(question, GREEDY)
    reused = batched.stats.reused
    cut = first.text[: first.text.index(" ", len(first.text) // 2)]  # before a word
    continued = batched.complete(question, GREEDY, prefill=cut)
    assert batched.stats.reused - reused >= first.prompt_tokens  # the prompt was not read again
    assert (cut + continued.text).startswith(first.text)  # the same greedy path, to the letter


def test_stop_strings_budgets_and_forced_answers_end_each_sequence_on_its_own(batched):
    whole = batched.complete(ask(QUESTIONS[0]), GREEDY).text
    stop_at = whole.strip().split()[2]  # a word the greedy text writes
    calls = [
        lambda: batched.complete(ask(QUESTIONS[0]), SamplingParams(40, stop=(stop_at,))),
        lambda: batched.complete(ask(QUESTIONS[1]), SamplingParams(max_new_tokens=5)),
        lambda: generate_answer(
            batched, ask(QUESTIONS[3]), SamplingParams(max_new_tokens=6), forced_answer_tokens=12
        ),
        lambda: batched.complete(ask(QUESTIONS[2]), GREEDY),
    ]
    stopped, short, forced, free = together(calls)
    assert stopped.finish_reason == "stop" and stop_at not in stopped.text
    assert whole.startswith(stopped.text)
    assert (short.finish_reason, short.completion_tokens) == ("length", 5)
    assert forced.forced and forced.completion_tokens > 6
    alone = generate_answer(
        batched, ask(QUESTIONS[3]), SamplingParams(max_new_tokens=6), forced_answer_tokens=12
    )
    assert forced == alone
    assert free.text == batched.complete(ask(QUESTIONS[2]), GREEDY).text


def test_more_calls_than_sequences_wait_for_a_free_one(reference):
    two = LlamaCppBackend(demo_model_path(), n_ctx=1024, sequences=2, threads=2).load()
    questions = QUESTIONS + QUESTIONS[:1]
    texts = together([lambda q=q: two.complete(ask(q), GREEDY).text for q in questions])
    assert texts == [reference(q) for q in questions]
    assert two.stats.largest == 2


def test_a_listener_that_fails_ends_its_own_call_only(batched):
    def broken(piece: str) -> None:
        raise RuntimeError("the client went away")

    calls = [
        lambda: batched.complete(ask(QUESTIONS[1]), GREEDY, on_text=broken),
        lambda: batched.complete(ask(QUESTIONS[2]), GREEDY).text,
    ]
    with ThreadPoolExecutor(2) as pool:
        failing, fine = [pool.submit(call) for call in calls]
        with pytest.raises(RuntimeError, match="client went away"):
            failing.result()
        assert fine.result() == batched.complete(ask(QUESTIONS[2]), GREEDY).text
    # The sequence it left is usable again.
    assert batched.complete(ask(QUESTIONS[1]), GREEDY).finish_reason in {"stop", "length"}


def test_sequences_below_one_is_one_clear_error():
    from verimath.errors import ConfigError

    with pytest.raises(ConfigError, match="sequences must be at least 1"):
        LlamaCppBackend(demo_model_path(), sequences=0)


def test_without_a_count_the_sequences_are_as_many_as_fit_the_kv_cache_budget():
    import llama_cpp

    from verimath.models.llamacpp_backend import kv_bytes_per_token

    roomy = LlamaCppBackend(demo_model_path(), n_ctx=1024).load()
    assert roomy.sequences == 8  # the most; 1,024 tokens of the demo's cache are ~23 MiB
    per_sequence = kv_bytes_per_token(llama_cpp, roomy._llm.model) * 1024
    budget_mb = 3 * per_sequence // 2**20 + 1
    tight = LlamaCppBackend(demo_model_path(), n_ctx=1024, kv_cache_mb=budget_mb).load()
    assert tight.sequences == 3


def test_an_idle_decoder_lets_its_thread_go_and_starts_another_when_asked(batched, monkeypatch):
    import time

    from verimath.models import llamacpp_engine

    monkeypatch.setattr(llamacpp_engine, "IDLE_EXIT_S", 0.1)
    first = batched.complete(ask(QUESTIONS[1]), GREEDY).text  # its next wait is 0.1 s long
    time.sleep(1.0)
    decoder = batched._decoder
    assert decoder is not None and decoder._thread is None
    assert batched.complete(ask(QUESTIONS[1]), GREEDY).text == first
