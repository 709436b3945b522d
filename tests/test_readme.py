"""The README's Python examples run, so a change that breaks one fails the suite.

The blocks run in order in one namespace, as one Python session in one temporary folder: the
README reads that way (the streaming block uses the `agent` made in "Use", and the
configuration block reads the `verimath.toml` of `examples/` that the text around it names),
so one block cannot be run alone with `-k`. Everything is real and offline: `Agent(model=
"demo")` gets the demo model, the shipped index and SymPy's worker pool; the OpenAI-client block
talks to `verimath serve`'s app on a loopback port. What is shared with the rest of the suite is
the loading: "demo" is the session's loaded demo model, the embeddings and the SymPy workers are
the session's. And the demo model writes at most 64 tokens a call (`ShortAnswers`): the examples
test the API, not the model (about 80 s for all of them on 2 cores instead of about 4 minutes).
No socket in this process may connect anywhere but loopback.

A block that cannot run here says why in the README, on the line before it:
`<!-- not run: needs a GPU -->`. Such blocks are reported as skips with that reason; a marker
without a reason fails.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from loopback import serving

import verimath.agent as agent_module
from verimath import Agent
from verimath.models import DEMO_MODEL, Completion, SamplingParams, load_backend
from verimath.server import API_KEY_ENV, create_app

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
# The server the OpenAI-client block talks to, as `verimath serve --model demo --port 8080`
# (the README's command) would run it; the test serves it on a free port instead.
README_SERVER = "http://localhost:8080"

# A fence opens with 3+ backticks and an info string without backticks (CommonMark), so prose
# such as "```` ```python ```` block" is not one; it closes with at least as many backticks.
_OPEN = re.compile(r"^(`{3,})\s*([^`\s]*)[^`]*$")
_NOT_RUN = re.compile(r"^<!--\s*not run\b:?\s*(.*?)\s*-->$")


@dataclass(frozen=True, slots=True)
class Block:
    line: int  # the README line of the opening fence
    code: str
    not_run: str | None  # the reason a `<!-- not run: ... -->` marker gives, "" for none

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"


def python_blocks(text: str) -> list[Block]:
    """Every ```python (or py) block, with the `not run` marker on the line before it, if any."""
    lines = text.split("\n")
    blocks, number = [], 0
    while number < len(lines):
        fence = _OPEN.match(lines[number])
        number += 1
        if fence is None:
            continue
        start, ticks = number, fence.group(1)
        while number < len(lines) and not re.fullmatch(rf"{ticks}`*\s*", lines[number]):
            number += 1
        if fence.group(2).lower() in {"python", "py", "python3"}:
            before = next((line.strip() for line in reversed(lines[: start - 1]) if line), "")
            marker = _NOT_RUN.match(before)
            code = "\n".join(lines[start:number]) + "\n"
            blocks.append(Block(start, code, marker.group(1) if marker else None))
        number += 1  # past the closing fence
    return blocks


README_TEXT = README.read_text(encoding="utf-8")
BLOCKS = python_blocks(README_TEXT)


def test_blocks_are_read_as_markdown_fences_with_their_markers():
    text = (
        "Prose about a ```` ```python ```` block is no block.\n"
        "```python\nx = 1\n```\n"
        "<!-- not run: needs a GPU -->\n\n```python\nimport vllm\n```\n"
        "```bash\nmake test\n```\n"
        "<!-- not run -->\n````py\n```python\ninside = True\n```\n````\n"
    )
    assert python_blocks(text) == [
        Block(2, "x = 1\n", None),
        Block(7, "import vllm\n", "needs a GPU"),
        Block(14, "```python\ninside = True\n```\n", ""),
    ]


def test_the_readme_has_python_examples_and_every_unrun_one_says_why():
    assert BLOCKS, "no ```python block found in README.md: has the fence syntax changed?"
    openings = [n for n, line in enumerate(README_TEXT.split("\n"), 1) if line == "```python"]
    assert openings == [block.line for block in BLOCKS], "a ```python block was not read"
    unexplained = [block.id for block in BLOCKS if block.not_run == ""]
    assert not unexplained, (
        f"{', '.join(unexplained)}: a `<!-- not run -->` marker needs its reason, "
        "as in `<!-- not run: needs a GPU -->`"
    )


@dataclass
class ShortAnswers:
    """The demo model writing at most `max_new_tokens` a call: the examples test what the API
    does, not the demo model's arithmetic (as conftest's `small_budget` does for the suite).
    Everything else, the prompt, the text and its streaming included, is the model's own."""

    model: Any
    max_new_tokens: int = 64

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def supports_prefill(self) -> bool:
        return self.model.supports_prefill

    def complete(self, messages: Any, params: SamplingParams, **options: Any) -> Completion:
        budget = min(params.max_new_tokens, self.max_new_tokens)
        return self.model.complete(messages, replace(params, max_new_tokens=budget), **options)


@dataclass
class Borrowed:
    """The suite's SymPy worker pool, lent to an agent that would start its own: the agent
    checks with it, and its `close()` leaves the pool running for the rest of the suite."""

    pool: Any

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)

    def close(self) -> None:
        pass


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:  # a host name other than localhost
        return False


def _loopback_only(connect: Any) -> Any:
    def guarded(sock: socket.socket, address: Any, *args: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise OSError(f"a README example tried to reach {address}; only loopback is allowed")
        return connect(sock, address, *args)

    return guarded


@pytest.fixture(scope="module")
def session(
    tmp_path_factory, demo_backend, embeddings, shipped_index, verifier
) -> Iterator[dict[str, Any]]:
    """The namespace the blocks share, and the process set up as a reader's would be: the
    working folder a temporary one holding `verimath.toml`, no API key, loopback only. An
    `Agent` made in a block gets the suite's loaded model, embeddings and SymPy workers."""
    del shipped_index  # built (and cached on disk) here, so the examples only load it
    folder = tmp_path_factory.mktemp("readme")
    shutil.copy(REPO / "examples" / "verimath.toml", folder / "verimath.toml")

    demo = ShortAnswers(demo_backend)

    def shared_backend(model: Any = None, **options: Any) -> Any:
        if model == DEMO_MODEL and not options.get("base_url"):
            if options.get("backend", "transformers") == "transformers":
                return demo
        return load_backend(model, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv(API_KEY_ENV, raising=False)
        patch.setattr(agent_module, "load_backend", shared_backend)
        patch.setattr(agent_module, "default_embeddings", lambda: embeddings)
        patch.setattr(agent_module, "Verifier", lambda **_: Borrowed(verifier))
        patch.setattr(socket.socket, "connect", _loopback_only(socket.socket.connect))
        patch.setattr(socket.socket, "connect_ex", _loopback_only(socket.socket.connect_ex))
        yield {"__name__": "__readme__"}


@pytest.fixture(scope="module")
def readme_server(session) -> Iterator[str]:
    """`verimath serve --model demo`: the real app over `Agent(model="demo")`, on uvicorn on a
    free loopback port, in a thread."""
    with Agent(model="demo") as agent, serving(create_app(agent)) as base:
        yield base


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[block.id for block in BLOCKS])
def test_readme_example_runs(block: Block, session: dict[str, Any], request) -> None:
    if block.not_run is not None:
        pytest.skip(f"{block.id} not run: {block.not_run or '(no reason given)'}")
    code = block.code
    if README_SERVER in code:
        code = code.replace(README_SERVER, request.getfixturevalue("readme_server"))
    # Compiled at its own lines of README.md, so a traceback points into the README.
    source = "\n" * block.line + code
    exec(compile(source, str(README), "exec"), session)  # noqa: S102
