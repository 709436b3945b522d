"""`verimath mcp` as an MCP client sees it: the real command in a subprocess, driven by the
`mcp` SDK's own client over stdio and over streamable HTTP on loopback.

Everything is real: the SymPy worker pool, the shipped index (built once by the session
fixture, in the tests' cache, which the subprocess inherits) and, for `ask`, the demo model
with a small token budget. One stdio session makes every call and records the replies; the
tests below read them, so the server starts once.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from verimath.cli.mcp import serve_mcp
from verimath.integrations.toolset import DESCRIPTIONS, TOOL_NAMES

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
ENV.pop("VERIMATH_DEBUG", None)
ENV.pop("VERIMATH_CONFIG", None)  # a config file of the person running the tests stays out
# The demo model, kept short: these tests check the plumbing, not the model's arithmetic.
MCP = [sys.executable, "-m", "verimath", "mcp", "--model", "demo", "--samples", "1",
       "--max-new-tokens", "64"]  # fmt: skip
STATUSES = {"verified", "cross-checked", "refuted", "unverified"}
NO_INDEX = "this agent has no index (index=False); give it one to search"


def structured(result: CallToolResult) -> dict[str, Any]:
    """A tool's reply as the client reads it; the text content is the same JSON."""
    assert not result.is_error, result.content
    assert result.structured_content is not None
    (text,) = result.content
    assert json.loads(text.text) == result.structured_content  # type: ignore[union-attr]
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    (text,) = result.content
    return text.text  # type: ignore[union-attr]


Session = Callable[[ClientSession], Awaitable[dict[str, Any]]]


async def with_session(read: Any, write: Any, calls: Session) -> dict[str, Any]:
    """Run `calls` on an initialized client session; transport faults (a line on stdout that
    is not protocol) are recorded under "faults"."""
    faults: list[Exception] = []

    async def keep_faults(message: Any) -> None:
        if isinstance(message, Exception):
            faults.append(message)

    async with ClientSession(read, write, message_handler=keep_faults) as session:
        info = await session.initialize()
        replies = await calls(session)
    return {"server": info.server_info.name, "faults": faults, **replies}


async def every_tool(session: ClientSession) -> dict[str, Any]:
    listed = await session.list_tools()
    call = session.call_tool
    started = time.monotonic()
    replies = {
        "tools": listed.tools,
        "verified": await call("check_answer", {"question": "Solve x + 1 = 3", "answer": "x = 2"}),
        "refuted": await call("check_answer", {"question": "Solve x + 1 = 3", "answer": "x = 5"}),
        "equivalent": await call("equivalent", {"gold": "1/2", "candidate": "0.5"}),
        "search": await call("search", {"query": "atomic number of sodium", "k": 2}),
        "too_many": await call("search", {"query": "sodium", "k": 500}),
    }
    replies["checked_in_s"] = time.monotonic() - started  # before the model is loaded
    replies["ask"] = await call("ask", {"question": "Solve 3x = 12"})
    return replies


@pytest.fixture(scope="module")
def stdio_replies(shipped_index, tmp_path_factory) -> dict[str, Any]:
    """One stdio session with `verimath mcp` that calls every tool; its replies and stderr."""
    stderr = tmp_path_factory.mktemp("mcp") / "stderr.txt"
    server = StdioServerParameters(command=MCP[0], args=MCP[1:], env=ENV)

    async def run() -> dict[str, Any]:
        with stderr.open("w") as errlog, anyio.fail_after(600):
            async with stdio_client(server, errlog=errlog) as (read, write):
                return await with_session(read, write, every_tool)

    replies = anyio.run(run)
    return {**replies, "stderr": stderr.read_text()}


def test_the_four_tools_are_listed_with_their_descriptions_and_argument_schemas(stdio_replies):
    assert stdio_replies["server"] == "verimath"
    tools = {tool.name: tool for tool in stdio_replies["tools"]}
    assert tuple(tools) == TOOL_NAMES
    assert {name: tool.description for name, tool in tools.items()} == DESCRIPTIONS
    check = tools["check_answer"].input_schema
    assert set(check["properties"]) == {"question", "answer"} == set(check["required"])
    k = tools["search"].input_schema["properties"]["k"]
    assert (k["type"], k["default"], k["minimum"], k["maximum"]) == ("integer", 3, 1, 20)
    assert all(tool.output_schema["type"] == "object" for tool in tools.values())


def test_check_answer_returns_the_verdict_with_its_evidence(stdio_replies):
    verified = structured(stdio_replies["verified"])
    assert verified["status"] == "verified" and verified["evidence"] == ""
    assert {c["name"] for c in verified["checks"]} >= {"substitution", "completeness"}
    refuted = structured(stdio_replies["refuted"])
    assert refuted["status"] == "refuted"
    assert "x = 5" in refuted["evidence"]  # says why: the residual of 5 in x + 1 = 3
    assert any(c["outcome"] == "failed" for c in refuted["checks"])


def test_equivalent_and_search_answer_before_any_model_is_loaded(stdio_replies):
    assert structured(stdio_replies["equivalent"])["equivalent"] is True
    found = structured(stdio_replies["search"])
    assert found["query"] == "atomic number of sodium" and len(found["passages"]) == 2
    assert any(hit["id"] == "elements/sodium" for hit in found["passages"])
    assert stdio_replies["checked_in_s"] < 60  # no model load behind the checks


def test_a_bad_argument_is_a_tool_error_not_a_traceback(stdio_replies):
    text = error_text(stdio_replies["too_many"])
    assert text.startswith("Error executing tool search:") and "less than or equal to 20" in text
    assert "Traceback" not in text


def test_ask_answers_with_the_demo_model_and_says_what_was_checked(stdio_replies):
    asked = structured(stdio_replies["ask"])
    assert set(asked) == {"status", "answer", "checks", "citations", "grounding", "error",
                          "evidence"}  # fmt: skip
    assert asked["error"] is None and asked["status"] in STATUSES
    assert asked["checks"], "the answer says which checks ran"
    assert asked["status"] != "verified" or asked["answer"].replace(" ", "") == "x=4"


def test_stdout_carries_only_the_protocol_and_the_log_goes_to_stderr(stdio_replies):
    assert stdio_replies["faults"] == []  # every stdout line parsed as JSON-RPC
    assert "verimath MCP server on stdio" in stdio_replies["stderr"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def http_server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """`verimath mcp --transport http` on a free loopback port, without an index (so search
    has one to miss), until the module's tests are done; its URL and its stderr file."""
    port = free_port()
    stderr = tmp_path_factory.mktemp("mcp-http") / "stderr.txt"
    command = [*MCP, "--no-retrieval", "--transport", "http", "--port", str(port)]
    with stderr.open("w") as errlog:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errlog, env=ENV)
    try:
        deadline = time.monotonic() + 180
        while "verimath MCP server on http" not in stderr.read_text():
            assert process.poll() is None, stderr.read_text()
            assert time.monotonic() < deadline, "the server did not start: " + stderr.read_text()
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/mcp", stderr
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_streamable_http_on_loopback_checks_and_says_why_it_cannot_search(http_server):
    url, stderr = http_server

    async def calls(session: ClientSession) -> dict[str, Any]:
        return {
            "tools": (await session.list_tools()).tools,
            "checked": await session.call_tool(
                "check_answer", {"question": "What is 12 times 7?", "answer": "80"}
            ),
            "search": await session.call_tool("search", {"query": "speed of light"}),
        }

    async def run() -> dict[str, Any]:
        with anyio.fail_after(120):
            async with streamable_http_client(url) as (read, write):
                return await with_session(read, write, calls)

    replies = anyio.run(run)
    assert [tool.name for tool in replies["tools"]] == list(TOOL_NAMES)
    checked = structured(replies["checked"])
    assert checked["status"] == "refuted" and "84" in checked["evidence"]
    assert error_text(replies["search"]) == f"Error executing tool search: {NO_INDEX}"
    assert f"on {url}" in stderr.read_text()  # loopback, by default


def test_http_listens_on_loopback_unless_told_otherwise():
    assert serve_mcp.__signature__.parameters["host"].default == "127.0.0.1"  # type: ignore[attr-defined]


def verimath_mcp(*args: str, before: str = "") -> subprocess.CompletedProcess[str]:
    """`verimath mcp ARGS` run to its end, after the code `before` (to take a module away)."""
    code = ["import sys", before, "from verimath.cli import main",
            f"sys.argv = ['verimath', 'mcp', *{args!r}]", "main()"]  # fmt: skip
    return subprocess.run(
        [sys.executable, "-c", "\n".join(code)],
        capture_output=True, text=True, timeout=300, env=ENV, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_a_busy_port_is_a_one_line_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = verimath_mcp("--no-retrieval", "--transport", "http", "--port", port)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: cannot listen on 127.0.0.1:{port} (Address already in use); "
                     "pass another --port or --host"]  # fmt: skip


def test_without_the_mcp_extra_the_error_names_the_pip_command():
    result = verimath_mcp(before="sys.modules['mcp'] = None  # as if the SDK were not installed")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: the MCP server needs the mcp SDK; install it with pip install 'verimath[mcp]'"
    ]
