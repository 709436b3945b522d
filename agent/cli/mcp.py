"""`verimath mcp`: the checker and the agent as MCP tools, for Claude Desktop and other agents.

Over stdio (the default) the client starts this command and speaks on its stdin and stdout,
so stdout carries nothing but the protocol and every log line goes to stderr. Over streamable
HTTP it listens on 127.0.0.1 unless told otherwise: the tools run code on this machine's CPU
and memory, and the protocol has no credentials here.
"""

from __future__ import annotations

import logging
import sys
from enum import Enum
from typing import Annotated

import typer

from verimath.cli.options import AgentOptions, agent_options, build_agent

__all__ = ["serve_mcp", "McpTransport"]


class McpTransport(str, Enum):
    """How clients reach the server: stdio (the client starts `verimath mcp` itself) or
    streamable HTTP (one server for many clients, at http://HOST:PORT/mcp)."""

    stdio = "stdio"
    http = "http"


@agent_options
def serve_mcp(
    *,
    options: AgentOptions,
    transport: Annotated[
        McpTransport,
        typer.Option("--transport", help="stdio for a client that starts this command, or http"),
    ] = McpTransport.stdio,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (http); 0.0.0.0 for all")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on (http)")
    ] = 8000,
) -> None:
    """Serve MCP tools: check_answer, equivalent, ask and search, each returning the verdict
    with its evidence. The model loads on the first ask; checking needs none."""
    from verimath.integrations.mcp import serve

    # stderr only: over stdio, stdout is the protocol's. Ours and the SDK's at INFO.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    for name in ("verimath", "mcp"):
        logging.getLogger(name).setLevel(logging.INFO)
    with build_agent(options.config()) as agent:
        serve(agent, transport=transport.value, host=host, port=port)
