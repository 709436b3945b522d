"""Eval reports: metrics from real answer files, Markdown tables and PNG plots.

The in-process test uses the scripted test double (`ScriptedBackend`) so the expected numbers
are known; the CLI test runs the real demo model through `verimath eval` with an ablation.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from verimath import Agent
from verimath.errors import ConfigError
from verimath.evaluation import (
    _histogram_bins,
    ablated_agent,
    ablated_settings,
    parse_ablations,
    run_evaluation,
)
from verimath.graphs import Settings
from verimath.models import ScriptedBackend
from verimath.questions import QuestionRow
from verimath.retrieval import Index, Passage

PNG = b"\x89PNG\r\n\x1a\n"


def test_report_scores_variants_side_by_side(verifier, tmp_path: Path):
    rows = [
        QuestionRow(1, "What is 17 times 23?", "a", "391", {"subject": "Arithmetic", "level": 1}),
        QuestionRow(2, "What is 6 times 7?", "b", "42", {"subject": "Arithmetic", "level": 2}),
        QuestionRow(3, "Solve x^2 - 5x + 6 = 0.", "c", "2, 3", {"subject": "Algebra", "level": 2}),
    ]

    def grade(gold, answer):
        return verifier.equivalent(gold, answer).equivalent

    def agent(replies):
        settings = Settings(
            max_new_tokens=32, samples=1, refuted_retries=0, sympy_answer=False, cross_checks=0
        )
        return Agent(ScriptedBackend(replies), index=False, verifier=verifier, settings=settings)

    right = agent(lambda messages, prefill: {"17": "\\boxed{391}", "6 t": "\\boxed{42}"}.get(
        next((k for k in ("17", "6 t") if k in messages[-1].content), ""), "\\boxed{x = 2, 3}"
    ))  # fmt: skip
    wrong = agent(["\\boxed{40}"])
    variants = {"full": (right.ask, grade), "no-x": (wrong.ask, grade)}
    results = run_evaluation(variants, rows, tmp_path)

    full, worse = results
    assert (full.accuracy, worse.accuracy) == (1.0, 0.0)
    assert full.statuses == {"verified": 3} and full.verified_precision == 1.0
    assert worse.statuses == {"refuted": 3} and worse.verified_precision is None
    assert full.by_group["subject"] == {"Algebra": (1, 1), "Arithmetic": (2, 2)}
    summary = (tmp_path / "summary.md").read_text()
    assert "| full | 3 | 100.0% | 100.0% | 100.0% |" in summary
    assert "## Accuracy by subject" in summary and "| Algebra | 1/1 | 0/1 |" in summary
    for plot in ("status_accuracy.png", "accuracy_by_subject.png", "latency.png", "tokens.png"):
        assert (tmp_path / plot).read_bytes().startswith(PNG), plot
        assert f"]({plot})" in summary


def test_unknown_ablations_are_a_clear_error():
    assert parse_ablations("retrieval, sampling") == ["retrieval", "sampling"]
    with pytest.raises(ConfigError, match="unknown ablation tools; choose from retrieval, verif"):
        parse_ablations("retrieval,tools")


def test_histograms_share_bins_wide_enough_to_see_every_variant():
    """A batch's questions finish within milliseconds of each other and variants seconds apart:
    bins from each variant's own range would be too thin to draw."""
    full, lean = [69.98, 70.01, 70.02], [35.29, 35.30]
    bins = _histogram_bins([full, lean], count=20)
    assert len(bins) == 21 and bins[0] <= 35.29 and bins[-1] >= 70.02
    assert min(b - a for a, b in itertools.pairwise(bins)) >= (70.02 - 35.29) / 20 - 1e-9
    single = _histogram_bins([[4.0, 4.0]])
    assert single[0] < 4.0 < single[-1]


def test_each_ablation_takes_one_thing_away():
    full = Settings(samples=4, refuted_retries=1, cross_checks=2)
    assert ablated_settings("sampling", full) == replace(full, samples=1)
    no_checks = ablated_settings("verification", full)
    assert (no_checks.selection, no_checks.refuted_retries, no_checks.sympy_answer) == (
        "majority", 0, False,
    )  # fmt: skip
    assert no_checks.cross_checks == 0 and full.cross_checks > 0
    assert not no_checks.grounding and full.grounding
    assert ablated_settings("cross-checks", full) == replace(full, cross_checks=0)
    assert ablated_settings("grounding", full) == replace(full, grounding=False)
    assert no_checks.samples == 4 and ablated_settings("retrieval", full) == full


def test_a_variant_shares_model_and_verifier_and_closing_it_leaves_them_running():
    """The parent starts the one SymPy pool and owns it; a variant borrows it, so closing the
    variant stops nothing, and closing the parent stops it for both."""
    settings = Settings(max_new_tokens=32, samples=2, refuted_retries=0, sympy_answer=False)
    full = Agent(ScriptedBackend(["\\boxed{391}"]), index=False, settings=settings)
    lean = ablated_agent(full, "sampling")
    assert lean.backend is full.backend and lean.context.verifier is full.context.verifier
    assert (lean.settings.samples, full.settings.samples) == (1, 2)
    assert lean.variant().settings == lean.settings  # a variant of a variant: the same again
    lean.close()
    assert full.ask("What is 17 times 23?").status == "verified"  # the pool still runs
    assert lean.ask("What is 17 times 23?").status == "verified"
    full.close()
    assert "closed" in full.context.verifier.equivalent("1", "1").reason


@pytest.mark.slow
def test_variants_share_the_index_or_answer_without_it(embeddings, verifier):
    passages = [Passage("p1", "17 times 23 is 391.", "Products")]
    index = Index.build(passages, embeddings)
    settings = Settings(max_new_tokens=32, samples=1, refuted_retries=0)
    full = Agent(
        ScriptedBackend(["\\boxed{391}"]), index=index, verifier=verifier, settings=settings
    )
    assert full.variant().context.retriever is index
    assert ablated_agent(full, "verification").context.retriever is index
    no_retrieval = ablated_agent(full, "retrieval")
    assert no_retrieval.context.retriever is None and no_retrieval.settings == full.settings
    assert full.ask("What is 17 times 23?").citations
    assert not no_retrieval.ask("What is 17 times 23?").citations


@pytest.mark.slow
def test_eval_command_with_the_demo_model_and_an_ablation(shared_data, tmp_path: Path):
    report = tmp_path / "report"
    command = [
        sys.executable, "-m", "verimath", "eval", str(shared_data / "math500" / "test.jsonl"),
        "--limit", "2", "--model", "demo", "--max-new-tokens", "32",
        "--ablate", "retrieval", "-o", str(report),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert "full: 2 questions" in result.stdout and "no-retrieval: 2 questions" in result.stdout
    rows = [json.loads(line) for line in (report / "answers-full.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["metadata"].get("subject") for r in rows)
    assert all(
        not r["citations"]
        for r in map(json.loads, (report / "answers-no-retrieval.jsonl").read_text().splitlines())
    )
    summary = (report / "summary.md").read_text()
    assert "| no-retrieval | 2 |" in summary and (report / "accuracy_by_subject.png").is_file()
