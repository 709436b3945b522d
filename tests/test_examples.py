"""Worked methods (`Settings.examples`): solved problems like the question, found in an index
of worked solutions, are shown to the model as examples and cited apart from the passages.

The index is a real FAISS index built from the first rows of MATH's worked solutions
(../shared/data/corpora/math_train, read in place); the verifier is the real sandboxed pool;
the model is a scripted backend (named as such: `ScriptedBackend`) whose prompts are read.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from verimath import Agent, Settings
from verimath.config import Config
from verimath.models import ScriptedBackend
from verimath.retrieval import Corpus, Index

QUESTION = (
    "After traveling 40 miles by taxi, Bob is charged a fare of $100. Assuming the taxi fare is "
    "directly proportional to distance traveled, how much would Bob be charged (in dollars) if "
    "he had traveled 60 miles?"
)
TAXI_ID = "train/algebra/12.json"  # "After traveling 50 miles by taxi, Ann is charged ..."


@pytest.fixture(scope="module")
def examples_index(shared_data, embeddings, tmp_path_factory) -> Index:
    rows = shared_data / "corpora" / "math_train" / "train.jsonl"
    with rows.open() as lines:
        first = list(itertools.islice(lines, 40))
    assert any("taxi" in line for line in first)
    subset = tmp_path_factory.mktemp("methods") / "train-first-40.jsonl"
    subset.write_text("".join(first))
    return Index.build(Corpus.from_paths([subset]).passages, embeddings)


def ask(examples_index, verifier, examples: int):
    backend = ScriptedBackend(["150 dollars. \\boxed{150}"])
    settings = Settings(max_new_tokens=64, samples=1, examples=examples)
    with Agent(
        backend, index=False, examples=examples_index, verifier=verifier, settings=settings
    ) as agent:
        return agent.ask(QUESTION), backend.calls[0].messages[-1].content


def test_a_solved_problem_like_the_question_is_shown_as_a_worked_example(examples_index, verifier):
    answer, prompt = ask(examples_index, verifier, examples=2)
    assert 1 <= len(answer.examples) <= 2
    best = answer.examples[0]
    assert best.id == TAXI_ID and "\\frac{120}{50}" in best.text
    assert f'<example id="{TAXI_ID}">' in prompt
    assert "Problem: After traveling 50 miles by taxi, Ann is charged" in prompt
    assert prompt.index("<example") < prompt.index(f"Question: {QUESTION}")
    assert answer.citations == ()  # examples are cited apart from fact passages
    assert (answer.answer, answer.status) == ("150", "unverified")


def test_facts_and_examples_come_from_their_own_index_and_are_cited_apart(
    examples_index, shipped_index, verifier
):
    backend = ScriptedBackend(["\\boxed{150}"])
    settings = Settings(max_new_tokens=64, samples=1, examples=2, min_relevance=0.2)
    with Agent(
        backend, index=shipped_index, examples=examples_index, verifier=verifier, settings=settings
    ) as agent:
        answer = agent.ask(QUESTION)
    prompt = backend.calls[0].messages[-1].content
    assert answer.citations and answer.examples
    assert not any(c.id.startswith("train/") for c in answer.citations)
    assert all(e.id.startswith("train/") for e in answer.examples)
    assert prompt.index("<example") < prompt.index("<passage") < prompt.index("Question:")


def test_with_examples_off_the_index_is_not_searched_and_nothing_is_shown(examples_index, verifier):
    answer, prompt = ask(examples_index, verifier, examples=0)
    assert answer.examples == () and "<example" not in prompt


def test_the_config_file_names_the_examples_index_relative_to_itself(tmp_path: Path):
    config_file = tmp_path / "verimath.toml"
    config_file.write_text('[retrieval]\nexamples_index = "methods"\nexamples = 2\n')
    config = Config.from_toml(config_file)
    assert config.agent_kwargs()["examples"] == tmp_path / "methods"
    assert config.settings().examples == 2


def test_json_answers_carry_the_examples(examples_index, verifier):
    answer, _ = ask(examples_index, verifier, examples=1)
    data = json.loads(json.dumps(answer.to_dict()))
    assert [e["id"] for e in data["examples"]] == [answer.examples[0].id]
