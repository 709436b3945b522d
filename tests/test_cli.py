"""The `verimath` command as a user runs it: real processes, real output, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
ENV.pop("VERIMATH_DEBUG", None)


def verimath(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verimath", *args],
        capture_output=True, text=True, env=ENV, cwd=cwd, timeout=600,
    )  # fmt: skip


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.slow
def test_ask_json_with_the_demo_model():
    result = verimath(
        "ask", "--model", "demo", "--max-new-tokens", "96", "--json", "What is 17 times 23?"
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert {"question", "answer", "status", "citations", "reasoning", "timings"} <= answer.keys()
    assert answer["status"] in {"verified", "refuted", "unverified"}
    assert answer["status"] != "verified" or answer["answer"].strip() == "391"


def test_model_that_cannot_be_found_offline_names_the_ways_out():
    result = verimath("ask", "--model", "nobody/no-such-model", "--no-retrieval", "1+1?")
    assert_one_line_error(result, "--model demo", "local model folder", "Hugging Face cache")


def test_missing_files_are_one_line_errors(tmp_path: Path):
    assert_one_line_error(
        verimath("batch", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "o")), "does not exist"
    )
    assert_one_line_error(
        verimath("check", "--pairs", str(tmp_path / "nope.jsonl")), "does not exist"
    )
    assert_one_line_error(
        verimath("ask", "--model", str(tmp_path / "m.gguf"), "1+1?"), "does not exist"
    )
    assert_one_line_error(
        verimath("index", "search", "--index", str(tmp_path), "x"), "verimath index build"
    )


def test_check_prints_json_verdicts():
    result = verimath("check", "\\frac{1}{2}", "0.5", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["equivalent"] is True
    result = verimath("check", "4", "4\\sqrt{2}", "--json")
    assert json.loads(result.stdout)["equivalent"] is False


def test_check_pairs_adds_a_verdict_to_every_row(tmp_path: Path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        '{"gold": "2", "candidate": "2.0", "note": "kept"}\n'
        "not json\n"
        '{"gold": "x^2", "candidate": "x^3"}\n'
    )
    out = tmp_path / "out.jsonl"
    result = verimath("check", "--pairs", str(pairs), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "pairs.jsonl:2" in result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["equivalent"], r.get("note")) for r in rows] == [(True, "kept"), (False, None)]
    assert all(r["reason"] for r in rows)


@pytest.mark.slow
def test_index_build_and_search_on_user_documents(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "physics.md").write_text("Ohm's law relates voltage, current and resistance: $V = IR$.")
    (docs / "chem.txt").write_text("The ideal gas law is $PV = nRT$ with R = 8.314 J/(mol K).")
    (docs / "bad.txt").write_bytes(b"\xff\xfe\xfa")
    result = verimath("index", "build", str(docs), "-o", str(tmp_path / "idx"))
    assert result.returncode == 0, result.stderr
    assert "bad.txt" in result.stderr and "indexed 2 passages" in result.stdout
    result = verimath(
        "index", "search", "--index", str(tmp_path / "idx"), "--k", "1", "--json", "gas pressure"
    )
    hits = json.loads(result.stdout)
    assert [h["id"] for h in hits] == ["chem#1"] and {"text", "source", "score"} <= hits[0].keys()


@pytest.mark.slow
def test_batch_writes_one_answer_per_question_and_reports_bad_lines(tmp_path: Path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"id": "a", "question": "What is 2 plus 2?", "gold": "4", "topic": "add"}\n'
        "{oops\n"
        '{"id": "b", "question": ""}\n'
    )
    out = tmp_path / "answers.jsonl"
    result = verimath(
        "batch",
        str(questions),
        "-o",
        str(out),
        "--model",
        "demo",
        "--max-new-tokens",
        "48",
        "--no-retrieval",
    )
    assert result.returncode == 0, result.stderr
    assert "line 2" in result.stderr and ":3:" in result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["id"] == "a" and rows[0]["gold"] == "4"
    assert rows[0]["metadata"] == {"topic": "add"} and rows[0]["status"] in {
        "verified",
        "refuted",
        "unverified",
    }
