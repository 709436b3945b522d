"""Batch answering that survives kills: resume, retry, timeouts and per-question errors, and
the one batch engine under `run_batch` and `Agent.batch` with its error policy.

The model here is the scripted test double (`ScriptedBackend`), named as such: these tests are
about the file protocol and the runner, so they use real files, real processes and `kill -9`,
and the real verifier for grading. The demo model runs through `verimath batch` in test_cli.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from verimath import Agent
from verimath.batch import read_done, run_batch
from verimath.errors import BackendError, ConfigError, InputFileError, ModelNotFoundError
from verimath.graphs import Settings
from verimath.models import ScriptedBackend
from verimath.questions import QuestionRow, read_questions

# The model's own answers stand (SymPy's computed answers would turn every wrong sum right).
SETTINGS = Settings(max_new_tokens=64, samples=1, refuted_retries=0, sympy_answer=False)


def rows_of(*questions: str, gold: str | None = None) -> list[QuestionRow]:
    return [QuestionRow(i, q, f"q{i}", gold) for i, q in enumerate(questions, 1)]


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def scripted_agent(verifier):
    def make(replies):
        return Agent(ScriptedBackend(replies), index=False, verifier=verifier, settings=SETTINGS)

    return make


def test_every_question_becomes_one_graded_row(scripted_agent, verifier, tmp_path: Path):
    out = tmp_path / "answers.jsonl"
    rows = rows_of("What is 17 times 23?", "What is 2 plus 2?", gold="391")
    with scripted_agent(["\\boxed{391}"]) as agent:
        summary = run_batch(
            agent.ask, rows, out, grade=lambda g, a: verifier.equivalent(g, a).equivalent
        )
    records = lines(out)
    assert [r["id"] for r in records] == ["q1", "q2"]
    assert [r["status"] for r in records] == ["verified", "refuted"]
    assert [r["correct"] for r in records] == [True, True]  # both golds are "391" here
    assert summary.answered == 2 and summary.accuracy == 1.0


def test_a_rerun_resumes_after_a_torn_last_line(scripted_agent, tmp_path: Path):
    out = tmp_path / "answers.jsonl"
    rows = rows_of(*(f"What is {n} plus 1?" for n in range(6)))
    with scripted_agent(["\\boxed{1}"]) as agent:
        run_batch(agent.ask, rows[:3], out)
        with out.open("a", encoding="utf-8") as f:
            f.write('{"id": "q4", "answer": "1", "sta')  # killed in the middle of a write
        summary = run_batch(agent.ask, rows, out)
    ids = [r["id"] for r in lines(out)]
    assert sorted(ids) == [f"q{i}" for i in range(1, 7)] and len(ids) == 6
    assert summary.done_before == 3 and summary.answered == 3


def test_a_broken_question_is_an_error_row_and_retry_errors_redoes_it(scripted_agent, tmp_path):
    out = tmp_path / "answers.jsonl"
    rows = rows_of("What is 1 plus 1?", "BOOM", "What is 2 plus 2?")

    def flaky(messages, prefill):
        if "BOOM" in messages[-1].content:
            raise RuntimeError("the model crashed on this one")
        return "\\boxed{2}"

    with scripted_agent(flaky) as agent:
        run_batch(agent.ask, rows, out)
    first = {r["id"]: r for r in lines(out)}
    assert first["q2"]["status"] == "error" and "crashed" in first["q2"]["error"]
    assert first["q1"]["status"] == "verified" and first["q3"]["status"] == "refuted"

    with scripted_agent(["\\boxed{2}"]) as agent:
        assert run_batch(agent.ask, rows, out).answered == 0  # nothing to do without the flag
        summary = run_batch(agent.ask, rows, out, retry_errors=True)
    again = lines(out)
    assert summary.answered == 1 and len(again) == 3
    assert Counter(r["id"] for r in again) == Counter({"q1": 1, "q2": 1, "q3": 1})
    assert {r["id"]: r["status"] for r in again}["q2"] != "error"


def test_a_question_past_its_timeout_is_an_error_row_and_the_batch_goes_on(
    scripted_agent, tmp_path: Path
):
    out = tmp_path / "answers.jsonl"

    def slow_on_second(messages, prefill):
        if "slow" in messages[-1].content:
            time.sleep(4)
        return "\\boxed{2}"

    rows = rows_of("What is 1 plus 1?", "a slow question", "What is 3 minus 1?")
    with scripted_agent(slow_on_second) as agent:
        start = time.perf_counter()
        run_batch(agent.ask, rows, out, timeout_s=1.0, concurrency=2)
        assert time.perf_counter() - start < 4  # did not wait for the slow question
    statuses = {r["id"]: (r["status"], r.get("error") or "") for r in lines(out)}
    assert statuses["q2"][0] == "error" and "within 1 s" in statuses["q2"][1]
    assert statuses["q1"][0] == statuses["q3"][0] == "verified"


def test_bad_inputs_and_foreign_outputs_are_one_line_errors(tmp_path: Path):
    out = tmp_path / "answers.jsonl"
    with pytest.raises(InputFileError, match="unique id"):
        run_batch(lambda q: None, [QuestionRow(1, "a", "x"), QuestionRow(5, "b", "x")], out)
    notes = tmp_path / "notes.jsonl"
    notes.write_text("my own notes\nmore\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="not a verimath batch output"):
        read_done(notes)
    assert notes.read_text(encoding="utf-8") == "my own notes\nmore\n"  # nothing destroyed


RUNNER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from verimath import Agent
    from verimath.batch import run_batch
    from verimath.graphs import Settings
    from verimath.models import ScriptedBackend
    from verimath.questions import read_questions

    def reply(messages, prefill):
        time.sleep(0.002)
        return "\\\\boxed{42}"

    rows, _ = read_questions(sys.argv[1])
    settings = Settings(samples=1, refuted_retries=0)
    agent = Agent(ScriptedBackend(reply), index=False, settings=settings)
    with agent:
        run_batch(agent.ask, rows, Path(sys.argv[2]), concurrency=2)
    """
)


@pytest.mark.slow
def test_gsm8k_killed_at_random_points_resumes_with_nothing_lost_or_duplicated(
    shared_data, tmp_path: Path
):
    """The issue's acceptance run, with the scripted model: all 1,319 GSM8K questions, the
    process killed with SIGKILL three times mid-run, then finished by a rerun."""
    questions = shared_data / "gsm8k" / "test.jsonl"
    expected = [row.id for row in read_questions(questions)[0]]
    out = tmp_path / "gsm8k-answers.jsonl"
    script = tmp_path / "runner.py"
    script.write_text(RUNNER, encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, str(script), str(questions), str(out)]
    for kill_after in (40, 300, 700):
        process = subprocess.Popen(command, env=env)
        while (out.read_text().count("\n") if out.exists() else 0) < kill_after:
            assert process.poll() is None, "the runner ended before it was killed"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
    subprocess.run(command, env=env, check=True, timeout=900)
    ids = [r["id"] for r in lines(out)]
    assert len(ids) == len(expected) == 1319
    assert sorted(ids) == sorted(expected)


def test_resume_keeps_rows_with_line_separators_and_cuts_only_the_torn_tail(tmp_path: Path):
    out = tmp_path / "answers.jsonl"
    records = [
        {"id": "q1", "answer": "x\u2028y", "status": "verified"},  # written as is, not escaped
        {"id": "q2", "answer": None, "status": "error"},
    ]
    complete = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    out.write_text(complete + '{"id": "q3", "answer": "\u00e9', encoding="utf-8")
    assert read_done(out) == {"q1", "q2"}
    assert out.read_text(encoding="utf-8") == complete
    assert read_done(out) == {"q1", "q2"}  # nothing left to repair
    out.write_text(complete.rstrip("\n"), encoding="utf-8")  # cut just before the last newline
    assert read_done(out, retry_errors=True) == {"q1"}
    assert out.read_text(encoding="utf-8") == complete.split("\n")[0] + "\n"


# --- The engine's error policy: "row" (Agent.batch) and "stop" (run_batch) -------------------


def trouble(messages, prefill):
    """The scripted model's replies: 2 (after half a second for 5 minus 3); a crash on "BOOM"
    (one broken question); on "DOWN" a `BackendError`, as when its server goes down (a
    misconfiguration)."""
    question = messages[-1].content
    if "5 minus 3" in question:
        time.sleep(0.5)
    if "BOOM" in question:
        raise RuntimeError("the model crashed on this one")
    if "DOWN" in question:
        raise BackendError("the model server went down; start it again")
    return "\\boxed{2}"


def test_agent_batch_keeps_the_order_and_makes_every_failure_a_row(scripted_agent):
    questions = ["What is 5 minus 3?", "BOOM", "What is 3 minus 1?", "DOWN"]
    with scripted_agent(trouble) as agent:
        answers = agent.batch(questions, max_concurrency=4)  # the slow one finishes last
        assert [a.question for a in answers] == questions
        assert [a.status for a in answers] == ["verified", "error", "verified", "error"]
        assert answers[1].error == "RuntimeError: the model crashed on this one"
        assert answers[3].error is not None and answers[3].error.startswith("BackendError: ")
        assert agent.batch([]) == []
        with pytest.raises(BackendError, match="went down"):
            agent.batch(questions, errors="stop")
        with pytest.raises(ConfigError, match="'row' or 'stop'"):
            agent.batch(questions, errors="skip")  # type: ignore[arg-type]


def test_agent_batch_times_out_like_run_batch(scripted_agent):
    with scripted_agent(trouble) as agent:
        slow, quick = agent.batch(["What is 5 minus 3?", "What is 3 minus 1?"], timeout_s=0.1)
    assert slow.status == "error" and slow.error == "TimeoutError: no answer within 0.1 s"
    assert quick.status == "verified"


def test_run_batch_stops_at_a_misconfiguration_with_no_work_lost(scripted_agent, tmp_path):
    """The question in flight when the server goes down is written; none starts after it; the
    error is raised, not written; the rerun answers the rest."""
    out = tmp_path / "answers.jsonl"
    rows = rows_of("What is 5 minus 3?", "DOWN", "BOOM", "What is 3 minus 1?")
    with scripted_agent(trouble) as agent:
        with pytest.raises(BackendError, match="went down"):
            run_batch(agent.ask, rows, out, concurrency=2)
        assert [(r["id"], r["status"]) for r in lines(out)] == [("q1", "verified")]
        run_batch(agent.ask, rows, out, errors="row", concurrency=2)
    statuses = {r["id"]: (r["status"], r.get("error") or "") for r in lines(out)}
    assert len(lines(out)) == 4 and statuses["q4"] == ("verified", "")
    assert statuses["q2"][0] == statuses["q3"][0] == "error"  # "row": the server's error too
    assert statuses["q2"][1].startswith("BackendError") and "crashed" in statuses["q3"][1]


def test_a_model_that_cannot_be_found_stops_run_batch_and_fills_agent_batch(verifier, tmp_path):
    """A real misconfiguration: the model is loaded on the first question and is not there."""
    out = tmp_path / "answers.jsonl"
    settings = Settings(samples=1, refuted_retries=0)
    with Agent("nobody/no-such-model", index=False, verifier=verifier, settings=settings) as agent:
        with pytest.raises(ModelNotFoundError, match="--model demo"):
            run_batch(agent.ask, rows_of("What is 1 plus 1?", "What is 2 plus 2?"), out)
        assert out.read_text() == ""  # no row says "error" for what was never answered
        answers = agent.batch(["What is 1 plus 1?", "What is 2 plus 2?"])
    assert [a.status for a in answers] == ["error", "error"]
    assert all(a.error and a.error.startswith("ModelNotFoundError: ") for a in answers)
