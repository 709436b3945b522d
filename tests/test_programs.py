"""Tool-integrated reasoning: the model's SymPy programs run in a locked-down sandbox process,
their output goes back into the model's turn, and the cap and the budget hold.

The sandbox tests run real programs in real worker processes. The generation tests use the
scripted chat model (a test double that honours the backend protocol) so a model that writes
programs can be scripted; the last test runs the real demo model with programs on.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from verimath import Agent, Settings
from verimath.graphs.contracts import Message, SamplingParams
from verimath.graphs.reasoning import generate_answer
from verimath.models.scripted import ScriptedBackend
from verimath.tools.programs import check_program, find_program, run_program


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from sympy import *\nx = symbols('x')\nprint(solve(x**2 - 4, x))", "[-2, 2]"),
        ("import sympy as sp\nsp.factorint(360)", "{2: 3, 3: 2, 5: 1}"),  # last value shown
        ("from fractions import Fraction\nprint(Fraction(1, 3) + Fraction(1, 6))", "1/2"),
        ("for i in range(3):\n    print(i, i**2)", "0 0\n1 1\n2 4"),
    ],
)
def test_programs_run_and_their_output_comes_back(verifier, source, expected):
    run = verifier.run_program(source)
    assert run.ok, run.output
    assert run.output == expected


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import os\nos.system('id')", "import of 'os'"),
        ("from subprocess import run", "import of 'subprocess'"),
        ("print(open('/etc/passwd').read())", "'open'"),
        ("print(().__class__.__bases__[0].__subclasses__())", "__"),
        ("import sympy\nprint(sympy.core.cache.os.getcwd())", "'.os'"),
        ("from sympy import sympify\nsympify('1+1')", "'sympify'"),
        ("from sympy.parsing.sympy_parser import parse_expr", "sympy.parsing"),
        ("exec('print(1)')", "'exec'"),
        ("print(getattr(1, 'real'))", "'getattr'"),
    ],
)
def test_the_gate_refuses_what_reaches_outside(verifier, source, reason):
    run = verifier.run_program(source)
    assert not run.ok
    assert reason in run.output


def test_strings_never_reach_sympys_parser(verifier, tmp_path):
    """SymPy functions given a string would evaluate it as Python; in the sandbox the parser
    refuses, so this write never happens."""
    target = tmp_path / "written"
    source = f"from sympy import S\nprint(S(\"__import__('pathlib').Path('{target}').touch()\"))"
    run = verifier.run_program(source)
    assert not run.ok
    assert "PermissionError" in run.output
    assert not target.exists()


def test_sympy_still_reads_the_number_text_it_writes_itself(verifier):
    """`solve` with float coefficients rationalises them through `nsimplify`, which writes
    number text and parses it: that text, and only such text, gets through."""
    source = (
        "from sympy import symbols, solve, Eq, S\nx, y = symbols('x y')\n"
        "print(solve((Eq(x + y, 10), Eq(0.3*x + 0.7*y, 4)), (x, y)))\n"
        "print(S('1/3') + S('sqrt(2)'))"
    )
    run = verifier.run_program(source)
    assert run.ok, run.output
    solved, summed = run.output.splitlines()
    assert (solved, summed) == ("{x: 7.50000000000000, y: 2.50000000000000}", "1/3 + sqrt(2)")
    for text in ("x + 1", "pi.evalf()", "__import__('os')", "1 if 1 else 2"):
        refused = verifier.run_program(f"from sympy import S\nprint(S({text!r}))")
        assert not refused.ok and "string parser is not available" in refused.output, text


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_program_workers_inherit_no_secrets(monkeypatch):
    """The worker's own environment (read from /proc) holds none of the caller's variables
    beyond what Python needs to start, so no API key is there to leak."""
    from verimath.tools.sandbox import SandboxPool

    monkeypatch.setenv("VERIMATH_API_KEY", "secret-token")
    with SandboxPool(1, programs=True) as pool:  # reused, not single-use: still alive after
        assert pool.call("run_program", source="print(1)")["output"] == "1"
        [worker] = list(pool._all)
        environ = Path(f"/proc/{worker.process.pid}/environ").read_bytes()
    assert b"secret-token" not in environ
    assert b"VERIMATH_API_KEY" not in environ


def test_runaway_programs_are_stopped(verifier):
    looping = verifier.run_program("while True:\n    pass")
    assert not looping.ok and "stopped" in looping.output
    hungry = verifier.run_program("x = [0] * (10**10)")
    assert not hungry.ok and "MemoryError" in hungry.output
    after = verifier.run_program("print(6 * 7)")  # a fresh worker took the killed one's place
    assert after.ok and after.output == "42"


def test_no_program_sees_what_an_earlier_one_left(verifier):
    first = verifier.run_program("import sympy\nsympy.marker = 1\nprint(sympy.marker)")
    assert first.output == "1"
    second = verifier.run_program("import sympy\nprint(sympy.marker)")
    assert not second.ok and "AttributeError" in second.output


def test_programs_never_run_in_this_process():
    with pytest.raises(RuntimeError, match="only inside a sandboxed"):
        run_program("print(1)")


def test_gate_and_block_finding_are_plain_text_functions():
    assert check_program("x = 1\nprint(x)") is None
    assert "SyntaxError" in (check_program("print(1") or "")
    text = "Let me check.\n```python\nprint(2+2)\n```\n```output\n5\n```\nSo 4."
    block = find_program(text)
    assert block is not None and block.code == "print(2+2)"
    assert text[: block.end].endswith("```") and "output" not in text[: block.end]
    assert find_program(text, block.end) is None
    assert find_program("```python\nprint(1)\n") is None  # not closed yet


# --- generation with programs, on the scripted chat model ---------------------------------------

_PROGRAM = "I will compute it.\n```python\nprint(12 * 7)\n```\n"
_IMAGINED = "```output\n80\n```\nSo the answer is \\boxed{80}."


def _uses_output(messages, prefill: str) -> str:
    """A scripted model that writes a program (and imagines its output) until it sees a real
    output block in its own turn, then answers with what the program printed."""
    outputs = re.findall(r"```output\n(.*?)\n```", prefill, re.DOTALL)
    if not outputs:
        return _PROGRAM + _IMAGINED
    return f"The program printed {outputs[-1]}, so the answer is \\boxed{{{outputs[-1]}}}."


def test_the_models_turn_continues_with_the_real_output(verifier):
    backend = ScriptedBackend(_uses_output)
    streamed: list[str] = []
    generation = generate_answer(
        backend,
        [Message("user", "What is 12 times 7?")],
        SamplingParams(max_new_tokens=200),
        on_token=lambda text, channel: streamed.append(text),
        run_program=verifier.run_program,
        max_programs=2,
    )
    assert [run.output for run in generation.programs] == ["84"]
    assert generation.answer == "84"
    assert len(backend.calls) == 2
    assert backend.calls[1].prefill.endswith("```python\nprint(12 * 7)\n```\n```output\n84\n```\n")
    whole = "".join(streamed)
    assert "```output\n84\n```" in whole
    assert "80" not in whole  # the imagined output was never shown
    assert "80" not in generation.reasoning + generation.response


def test_the_cap_on_programs_holds(verifier):
    backend = ScriptedBackend(lambda messages, prefill: _PROGRAM + "\\boxed{84}")
    generation = generate_answer(
        backend,
        [Message("user", "What is 12 times 7?")],
        SamplingParams(max_new_tokens=400),
        run_program=verifier.run_program,
        max_programs=2,
    )
    assert len(generation.programs) == 2
    assert len(backend.calls) == 3  # two programs ran; the third call's program did not
    assert generation.answer == "84"


def test_without_a_runner_nothing_runs(verifier):
    backend = ScriptedBackend(_uses_output)
    generation = generate_answer(
        backend, [Message("user", "What is 12 times 7?")], SamplingParams(max_new_tokens=200)
    )
    assert generation.programs == ()
    assert generation.answer == "80"  # the imagined output stands, unchecked
    assert len(backend.calls) == 1


def test_the_graph_runs_programs_only_when_settings_allow(verifier):
    question = "What is 12 times 7?"
    with_programs = Agent(
        ScriptedBackend(_uses_output), index=False, verifier=verifier,
        settings=Settings(programs=1, samples=1, max_new_tokens=200),
    ).ask(question)  # fmt: skip
    assert with_programs.answer == "84"
    assert with_programs.status == "verified"
    [candidate] = [c for c in with_programs.candidates if c.source == "model"]
    assert [p.output for p in candidate.programs] == ["84"]
    assert candidate.to_dict()["programs"][0]["code"] == "print(12 * 7)"

    scripted = ScriptedBackend(_uses_output)
    without = Agent(
        scripted, index=False, verifier=verifier,
        settings=Settings(samples=1, max_new_tokens=200, sympy_answer=False),
    ).ask(question)  # fmt: skip
    assert without.answer == "80" and without.status == "refuted"
    assert "```python" not in scripted.calls[0].messages[0].content  # not told it may run any


def test_the_system_prompt_tells_the_model_about_programs(verifier):
    scripted = ScriptedBackend(["\\boxed{84}"])
    Agent(scripted, index=False, verifier=verifier, settings=Settings(programs=2, samples=1)).ask(
        "What is 12 times 7?"
    )
    system = scripted.calls[0].messages[0].content
    assert "```python" in system and "at most 2 programs" in system


@pytest.mark.slow
def test_the_demo_model_with_programs_on(demo_backend, verifier, small_budget):
    """The real model through the whole graph with programs allowed: whatever it writes, the
    answer carries a status and every program it wrote is recorded with its output."""
    from dataclasses import replace

    agent = Agent(
        demo_backend, index=False, verifier=verifier, settings=replace(small_budget, programs=1)
    )
    answer = agent.ask("Use SymPy to solve x**2 - 5*x + 6 = 0.")
    assert answer.status in {"verified", "refuted", "unverified"}
    for candidate in answer.candidates:
        assert len(candidate.programs) <= 1
        assert all(p.output for p in candidate.programs)


def test_the_worker_module_is_the_only_place_programs_execute():
    """`exec` appears in the program runner alone, which refuses to run outside the sandbox."""
    root = Path(__file__).resolve().parents[1]
    users = [
        path.relative_to(root).as_posix()
        for folder in ("agent", "graphs", "retrieval", "tools", "corpora")
        for path in (root / folder).rglob("*.py")
        if re.search(r"\bexec\(", path.read_text(encoding="utf-8"))
    ]
    assert users == ["tools/programs.py"]
