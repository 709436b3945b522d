"""The `verimath` command as a user runs it: real processes, real output, one-line errors."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from verimath.agent import Agent
from verimath.cli import app, main
from verimath.cli.options import AgentOptions
from verimath.errors import ConfigError
from verimath.graphs import Settings

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
ENV.pop("VERIMATH_DEBUG", None)
ENV.pop("VERIMATH_CONFIG", None)  # a config file of the person running the tests stays out


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


def test_check_against_a_question_prints_the_certificate():
    result = verimath("check", "-q", "Find the derivative of $x^3 \\sin x$.", "3x^2 \\cos x")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("status: refuted")
    assert "x**3*cos(x) + 3*x**2*sin(x)" in result.stdout  # what SymPy computed
    verdict = json.loads(verimath("check", "-q", "Solve x^2 = 4", "x = \\pm 2", "--json").stdout)
    assert verdict["status"] == "verified"
    names = [c["name"] for c in verdict["checks"]]
    assert names == ["substitution", "substitution", "completeness"]


def test_wrong_usage_is_a_short_message_not_a_traceback():
    for args in (("check", "1"), ("check", "-q", "Solve x^2 = 4", "2", "3"), ("no-such-command",)):
        result = verimath(*args)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "Error:" in result.stderr and len(result.stderr.splitlines()) <= 6


def test_help_shows_the_install_hints_whole():
    """Help text is rich markup: an unescaped `[gguf]` would be taken for a tag and dropped."""
    for command in ("ask", "batch", "eval", "serve"):
        result = CliRunner(env={"COLUMNS": "400"}).invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "pip install 'verimath[gguf]'" in " ".join(result.output.split()), command


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
def test_index_build_hnsw_info_bm25_search_and_cached_rebuild(tmp_path: Path):
    docs, index = tmp_path / "docs", str(tmp_path / "idx")
    docs.mkdir()
    (docs / "counting.md").write_text(
        "# Counting\n\nChoosing $k$ of $n$ objects: $\\binom{n}{k} = \\frac{n!}{k!(n-k)!}$."
    )
    (docs / "energy.tex").write_text("\\section{Energy}\nKinetic energy is $\\frac12 m v^2$.")
    (docs / "rows.jsonl").write_text('{"id": "r1", "text": "Speed of light c"}\n{oops\n')
    result = verimath("index", "build", str(docs), "-o", index, "--hnsw")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"skipped: {docs / 'rows.jsonl'}:2: not valid JSON " + (
        "(Expecting property name enclosed in double quotes); skipped"
    )
    assert result.stdout.startswith(f"indexed 3 passages from 3 files into {index}: hnsw, 3 embed")

    info = verimath("index", "info", index)
    assert info.returncode == 0, info.stderr
    for line in [
        "embedding model: sentence-transformers/all-MiniLM-L6-v2",
        "dimension: 384",
        "passages: 3",
        "kind: hnsw (M=32, ef_construction=80, ef_search=128)",
        "format version: 2",
    ]:
        assert line in info.stdout.splitlines()
    assert "corpus sha256: " in info.stdout and "size on disk: " in info.stdout
    as_json = json.loads(verimath("index", "info", index, "--json").stdout)
    assert as_json["kind"] == "hnsw" and as_json["bytes"] > 0 and as_json["count"] == 3

    result = verimath(
        "index", "search", "--index", index, "--mode", "bm25", "--json", "\\binom{n}{k}"
    )
    hits = json.loads(result.stdout)
    assert hits[0]["id"] == "counting#1" and hits[0]["bm25"] > 0 and hits[0]["fused"] is None
    assert -1 <= hits[0]["score"] <= 1

    again = verimath("index", "build", str(docs), "-o", index, "--kind", "flat")
    assert ": flat, 0 embedded, 3 cached," in again.stdout, again.stdout


def test_index_commands_fail_in_one_line(tmp_path: Path):
    assert_one_line_error(verimath("index", "info", str(tmp_path)), "verimath index build")
    assert_one_line_error(
        verimath("index", "build", str(tmp_path), "-o", str(tmp_path / "i"), "--kind", "ivf"),
        "flat, hnsw or auto",
    )
    assert_one_line_error(
        verimath("index", "search", "--mode", "sparse", "x"), "hybrid, dense or bm25"
    )


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
    assert ":2: not valid JSON" in result.stderr and ":3:" in result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["id"] == "a" and rows[0]["gold"] == "4"
    assert rows[0]["metadata"] == {"topic": "add"} and rows[0]["status"] in {
        "verified",
        "refuted",
        "unverified",
    }
    assert rows[0]["correct"] in (True, False)
    assert "answered 1 of 1 questions" in result.stdout
    # The same command again resumes: nothing left to answer, nothing duplicated.
    again = verimath("batch", str(questions), "-o", str(out), "--model", "demo", "--no-retrieval")
    assert again.returncode == 0, again.stderr
    assert "answered 0 of 1 questions (1 already done)" in again.stdout
    assert out.read_text().count("\n") == 1


def test_a_bad_config_fails_fast_in_one_line(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[sampling]\ntemprature = 0.8\n")
    runner = CliRunner(env={"VERIMATH_CONFIG": None})
    missing = str(tmp_path / "missing.jsonl")  # the config is read first, before questions
    for args in (
        ["ask", "--config", str(bad), "1+1?"],
        ["batch", missing, "-o", str(tmp_path / "out.jsonl"), "--config", str(bad)],
        ["eval", missing, "--config", str(bad)],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1 and isinstance(result.exception, ConfigError), args
        message = str(result.exception)
        assert "\n" not in message and f"config file '{bad}'" in message
        assert "unknown key 'sampling.temprature'" in message
    # VERIMATH_CONFIG names the file when --config does not.
    result = runner.invoke(app, ["ask", "1+1?"], env={"VERIMATH_CONFIG": str(bad)})
    assert isinstance(result.exception, ConfigError) and str(bad) in str(result.exception)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--samples", "0"], "'sampling.samples' should be greater than or equal to 1, not 0"),
        (["--set", "budgets.max_new_tokens=lots"], "--set 'budgets.max_new_tokens=lots'"),
        (["--set", "temperature"], "needs SECTION.KEY=VALUE"),
        (["--thread", "t1", "--model", "demo"], "--thread needs a file"),
        (["--config", "nowhere.toml"], "'nowhere.toml' does not exist"),
    ],
)
def test_main_prints_option_errors_as_one_line(
    args: list[str], needle: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    monkeypatch.delenv("VERIMATH_DEBUG", raising=False)
    monkeypatch.delenv("VERIMATH_CONFIG", raising=False)
    monkeypatch.setenv("TQDM_DISABLE", "1")
    monkeypatch.setattr(sys, "argv", ["verimath", "ask", *args, "1+1?"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines


def test_options_given_override_set_which_overrides_the_file(tmp_path: Path):
    path = tmp_path / "verimath.toml"
    path.write_text(
        'model = "demo"\n[sampling]\nsamples = 3\ntemperature = 0.5\n[retrieval]\nenabled = false\n'
    )
    sets = ["sampling.samples=2", "sampling.temperature=0.7"]
    config = AgentOptions(config_file=path, sets=sets).config()
    assert (config.model, config.sampling.samples, config.sampling.temperature) == ("demo", 2, 0.7)
    assert config.agent_kwargs()["index"] is False
    given = dict(model="Qwen/Qwen3-0.6B", max_new_tokens=64, samples=1, index=tmp_path / "idx")
    config = AgentOptions(config_file=path, sets=sets, **given).config()
    settings = config.settings()
    assert (config.model, settings.max_new_tokens, settings.samples) == ("Qwen/Qwen3-0.6B", 64, 1)
    assert settings.temperature == 0.7  # not an option: --set stands
    assert config.agent_kwargs()["index"] == tmp_path / "idx"  # --index turns retrieval on
    no_retrieval = AgentOptions(config_file=path, index=tmp_path, retrieval=False)
    assert no_retrieval.config().agent_kwargs()["index"] is False
    assert AgentOptions().config().settings() == Settings()
    # What a command sets itself is set too, unless it is None.
    assert (
        AgentOptions().config(generation_time_limit_s=5.0).settings().generation_time_limit_s == 5
    )
    assert AgentOptions().config(generation_time_limit_s=None).settings() == Settings()


def test_every_command_that_builds_an_agent_takes_the_agent_options():
    """The options are bound once (`AgentOptions`); each command shows them in its --help, in
    the same order, with the same help text."""
    runner = CliRunner(env={"COLUMNS": "400"})
    flags = ["--config", "--set", "--model", "--base-url", "--backend", "--max-new-tokens",
             "--samples", "--index", "--retrieval"]  # fmt: skip
    for command in ("ask", "batch", "eval", "serve", "mcp"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, command
        shown = [word for word in result.output.split() if word.startswith("--")]
        assert [flag for flag in shown if flag in flags] == flags, command
        assert "A TOML config file (see examples/verimath.toml)" in result.output, command


@pytest.mark.slow
@pytest.mark.skipif(
    "thread_id" not in inspect.signature(Agent.ask).parameters,
    reason="Agent.ask(thread_id=) is not there yet",
)
def test_ask_with_a_config_file_keeps_the_thread_in_its_checkpoint(tmp_path: Path):
    (tmp_path / "verimath.toml").write_text(
        'model = "demo"\ncheckpoint = "chat.sqlite3"\n'
        "[budgets]\nmax_new_tokens = 48\n[retrieval]\nenabled = false\n"
    )
    config = str(tmp_path / "verimath.toml")
    result = verimath("ask", "--config", config, "--thread", "t1", "--json", "What is 2 plus 2?")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] in {"verified", "refuted", "unverified"}
    assert (tmp_path / "chat.sqlite3").is_file()  # relative to the config file, not the cwd
