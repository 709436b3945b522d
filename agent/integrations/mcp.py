"""verimath as an MCP server: the checker and the agent as tools for any MCP client (Claude
Desktop, a LangGraph agent through `langchain-mcp-adapters`, the SDK's own client).

    from verimath import Agent
    from verimath.integrations.mcp import create_server, serve

    with Agent(model="demo") as agent:
        serve(agent, transport="stdio")      # what `verimath mcp` does

The tools are `verimath.integrations.toolset`'s, the same ones the LangChain integration
offers: `check_answer`, `equivalent`, `ask` and `search`, each returning the verdict with its
evidence as structured content (and the same JSON as text, for clients that read only text).

The `mcp` SDK is the `mcp` extra: importing this module without it fails with the pip command.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from verimath.errors import ConfigError, MissingExtraError, VerimathError
from verimath.integrations.toolset import Toolset
from verimath.listening import listening_socket

try:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
except ImportError as exc:  # the optional extra is missing
    raise MissingExtraError(
        "the MCP server needs the mcp SDK; install it with pip install 'verimath[mcp]'"
    ) from exc

if TYPE_CHECKING:
    from verimath.agent import Agent

__all__ = ["create_server", "serve", "Transport", "LOOPBACK_HOSTS"]

Transport = Literal["stdio", "http"]
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
SERVER_NAME = "verimath"
INSTRUCTIONS = (
    "verimath checks math answers with SymPy and says what it checked. Call check_answer "
    "before trusting a final answer to a math question, equivalent to compare an answer with "
    "a reference, search for facts and constants, and ask for an answer with its checks."
)

log = logging.getLogger("verimath.mcp")


def create_server(agent: Agent) -> MCPServer[Any]:
    """An MCP server whose tools run on `agent`: its verifier pool, index and model. Nothing
    loads here; `serve` loads all but the model before taking the first request."""
    server: MCPServer[Any] = MCPServer(SERVER_NAME, version=_version(), instructions=INSTRUCTIONS)
    for function, description in Toolset(agent).tools():
        server.add_tool(_one_line_errors(function), name=function.__name__, description=description)
    return server


def serve(
    agent: Agent, *, transport: Transport = "stdio", host: str = "127.0.0.1", port: int = 8000
) -> None:
    """Serve `agent`'s tools until the client leaves (stdio) or until interrupted (http,
    streamable HTTP at http://HOST:PORT/mcp). The verifier pool and the index load first, so
    a misconfiguration fails here, in one line, and the first `check_answer` is fast; the
    model loads on the first `ask`. Over stdio, stdout carries only the protocol: whatever
    else is written there goes to stderr."""
    server = create_server(agent)
    if transport == "stdio":
        with contextlib.redirect_stdout(sys.stderr):  # a library's print must not break a frame
            _load_all_but_the_model(agent)
        log.info("verimath MCP server on stdio; the model loads on the first ask")
        server.run("stdio")
        return
    if transport != "http":
        raise ConfigError(f"unknown transport '{transport}'; use stdio or http")
    _serve_http(server, agent, host=host, port=port)


def _serve_http(server: MCPServer[Any], agent: Agent, *, host: str, port: int) -> None:
    """Streamable HTTP on a port taken before anything loads, so a busy port fails in one
    line before a slow load. On a loopback host the SDK also refuses requests whose Host or
    Origin header is not loopback (DNS rebinding protection)."""
    import uvicorn  # a dependency of the mcp SDK

    with listening_socket(host, port) as sock:
        _load_all_but_the_model(agent)
        app = server.streamable_http_app(host=host)
        shown = f"[{host}]" if ":" in host else host
        log.info(
            "verimath MCP server on http://%s:%d/mcp; the model loads on the first ask",
            shown, sock.getsockname()[1],
        )  # fmt: skip
        if host not in LOOPBACK_HOSTS:
            log.warning("listening beyond this machine: MCP clients need no credentials here")
        config = uvicorn.Config(app, log_level="warning")
        uvicorn.Server(config).run(sockets=[sock])


def _load_all_but_the_model(agent: Agent) -> None:
    """The index and the SymPy workers, now: a bad --index fails at start, not at a call."""
    context = agent.context
    start = getattr(context.verifier, "start", None)
    if callable(start):
        start()


def _one_line_errors(function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """`function` with verimath's own errors (a search without an index, a model that is not
    there) as the SDK's `ToolError`, whose message the client gets in one line. Any other
    exception stays a crash: the SDK logs it here and tells the client only its tool's name.
    The signature is `function`'s: the SDK builds the argument schema from it."""

    @functools.wraps(function)
    def tool(*args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return function(*args, **kwargs)
        except VerimathError as exc:
            raise ToolError(str(exc)) from exc

    return tool


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("verimath")
    except PackageNotFoundError:  # run from a checkout that is not installed
        return "0"
