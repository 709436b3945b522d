"""The llama.cpp backend on the real demo GGUF: the `ChatBackend` contract (budgets, streaming,
prefill, seeds, threads), the whole graph, and the errors a user can meet choosing it."""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from verimath import Agent, ConfigError
from verimath.agent import DEMO_SETTINGS
from verimath.cli import app
from verimath.errors import MissingExtraError, ModelNotFoundError
from verimath.graphs import Settings
from verimath.models import (
    LlamaCppBackend,
    Message,
    SamplingParams,
    demo_model_path,
    generate_answer,
    load_backend,
)

HAVE_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None
needs_llama_cpp = pytest.mark.skipif(
    not HAVE_LLAMA_CPP, reason="llama-cpp-python is not installed (pip install 'verimath[gguf]')"
)
QUESTION = [Message("user", "What is 17 times 23?")]
GREEDY = SamplingParams(max_new_tokens=24)


@pytest.fixture(scope="module")
def llama_demo() -> LlamaCppBackend:
    if not HAVE_LLAMA_CPP:
        pytest.skip("llama-cpp-python is not installed (pip install 'verimath[gguf]')")
    backend = load_backend("demo", backend="llama.cpp")
    assert isinstance(backend, LlamaCppBackend)
    return backend.load()


@pytest.mark.slow
def test_the_token_budget_ends_a_generation_as_truncated(llama_demo):
    cut = llama_demo.complete(QUESTION, SamplingParams(max_new_tokens=6))
    assert (cut.finish_reason, cut.completion_tokens) == ("length", 6)
    assert cut.prompt_tokens > 0 and cut.text
    whole = llama_demo.complete(QUESTION, SamplingParams(max_new_tokens=200))
    assert whole.finish_reason == "stop" and whole.completion_tokens < 200
    assert whole.text.startswith(cut.text)  # greedy: the cut text is the start of the whole


@pytest.mark.slow
def test_the_time_limit_ends_a_generation_as_truncated(llama_demo):
    late = llama_demo.complete(QUESTION, SamplingParams(max_new_tokens=200, max_time_s=1e-6))
    assert (late.finish_reason, late.completion_tokens) == ("length", 1)


@pytest.mark.slow
def test_streamed_pieces_concatenate_to_the_text(llama_demo):
    pieces: list[str] = []
    streamed = llama_demo.complete(QUESTION, GREEDY, on_text=pieces.append)
    assert len(pieces) > 1 and "".join(pieces) == streamed.text
    assert streamed == llama_demo.complete(QUESTION, GREEDY)  # streaming changes nothing


@pytest.mark.slow
def test_prefill_continues_the_assistant_turn_and_returns_only_the_continuation(llama_demo):
    full = llama_demo.complete(QUESTION, GREEDY).text
    prefill = full[: full.index(" ", 3)]  # the first word or two of the greedy answer
    assert llama_demo.render(QUESTION, prefill).endswith("<|im_start|>assistant\n" + prefill)
    continued = llama_demo.complete(QUESTION, SamplingParams(max_new_tokens=4), prefill=prefill)
    assert continued.text and not continued.text.startswith(prefill)
    next_word = continued.text.split()[0]
    assert full[len(prefill) :].lstrip().startswith(next_word)  # the same greedy path


@pytest.mark.slow
def test_a_seed_makes_sampling_reproducible(llama_demo):
    def sample(seed: int) -> str:
        params = SamplingParams(max_new_tokens=16, temperature=1.0, top_p=0.95, seed=seed)
        return llama_demo.complete(QUESTION, params).text

    assert sample(7) == sample(7)
    assert len({sample(seed) for seed in (1, 2, 3)}) > 1


@pytest.mark.slow
def test_two_threads_share_one_model_and_get_what_they_would_alone(llama_demo):
    questions = [[Message("user", "What is 2 plus 2?")], [Message("user", "Name a prime.")]]
    alone = [llama_demo.complete(q, GREEDY).text for q in questions]
    together: list[str | None] = [None, None]

    def ask(i: int) -> None:
        together[i] = llama_demo.complete(questions[i], GREEDY).text

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone


@pytest.mark.slow
def test_the_thinking_split_and_forced_answer_work_on_it(llama_demo):
    generation = generate_answer(
        llama_demo, QUESTION, SamplingParams(max_new_tokens=4), forced_answer_tokens=8
    )
    assert generation.truncated and generation.forced  # cut mid-sentence: answer forced
    assert generation.completion_tokens > 4


@pytest.mark.slow
@needs_llama_cpp
def test_a_question_through_the_whole_graph(verifier, shipped_index, small_budget):
    with Agent(
        model="demo",
        backend="llama.cpp",
        settings=small_budget,
        verifier=verifier,
        index=shipped_index,
    ) as agent:
        answer = agent.ask("What is 17 times 23?")
    assert answer.status in {"verified", "refuted", "unverified"}
    assert answer.model == "demo (SmolLM2-135M, llama.cpp)"
    assert answer.usage.completion_tokens > 0


def test_the_demo_keeps_its_settings_with_either_backend():
    for backend in ("transformers", "llama.cpp"):
        agent = Agent(model="demo", backend=backend, index=False)
        assert agent.settings == Settings(**DEMO_SETTINGS)
        agent.close()


@needs_llama_cpp
def test_a_prompt_longer_than_the_context_is_one_clear_error():
    small = LlamaCppBackend(demo_model_path(), n_ctx=32, threads=1)
    with pytest.raises(ConfigError, match="more than the 32-token context.*larger n_ctx"):
        small.complete([Message("user", "word " * 40)], GREEDY)


def test_a_file_that_is_not_gguf_is_one_clear_error(tmp_path: Path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ConfigError, match="is not a GGUF file"):
        LlamaCppBackend(fake).load()
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        LlamaCppBackend(tmp_path / "missing.gguf").load()


def test_without_llama_cpp_the_error_gives_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp raises ImportError
    backend = LlamaCppBackend(demo_model_path())
    with pytest.raises(MissingExtraError, match=r"pip install 'verimath\[gguf\]'"):
        backend.load()


def test_choosing_the_backend_names_what_is_wrong(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"needs a \.gguf file.*--backend transformers"):
        load_backend("microsoft/Phi-4-mini-reasoning", backend="llama.cpp")
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        load_backend(str(tmp_path / "nope.gguf"), backend="llama.cpp")
    with pytest.raises(ConfigError, match="unknown backend 'vllm'"):
        load_backend("demo", backend="vllm")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="give one of them"):
        load_backend("demo", base_url="http://localhost:8000/v1", backend="llama.cpp")
    gguf = load_backend(str(demo_model_path()), backend="llama.cpp")  # nothing loads yet
    assert isinstance(gguf, LlamaCppBackend) and gguf.name.endswith("(llama.cpp)")


@pytest.mark.parametrize("command", ["ask", "batch", "eval", "serve"])
def test_every_command_with_model_options_takes_backend(command):
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0 and "--backend" in result.output


def test_the_command_line_passes_the_backend_on():
    result = CliRunner().invoke(
        app, ["ask", "--backend", "llama.cpp", "--model", "org/model", "--no-retrieval", "1+1?"]
    )
    assert isinstance(result.exception, ConfigError)
    assert "--backend llama.cpp needs a .gguf file" in str(result.exception)


@pytest.mark.slow
def test_stop_strings_end_the_text_as_the_openai_api_does(llama_demo, check_stop_strings):
    check_stop_strings(llama_demo)
