"""verimath as LangChain tools, for a LangGraph or LangChain agent of your own.

    from verimath import Agent
    from verimath.integrations.langchain import verimath_tools

    with Agent(model="demo") as agent:
        tools = verimath_tools(agent)        # check_answer, equivalent, ask, search
        model = my_chat_model.bind_tools(tools)

Why tools and not a chain: the caller's own model decides when a checker is worth calling, and
every tool returns the verdict with its evidence as JSON, so that model can read why. The
tools are `verimath.integrations.toolset`'s, the same ones `verimath mcp` serves; they share
the agent's verifier pool, its index and its model, and closing the agent closes what they use.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException

from verimath.agent import Agent
from verimath.integrations.toolset import TOOL_NAMES, ToolInputError, Toolset

__all__ = ["verimath_tools", "TOOL_NAMES"]


def verimath_tools(agent: Agent) -> list[BaseTool]:
    """The four tools, bound to `agent`: `check_answer` (SymPy's verdict on an answer to a
    question), `equivalent` (whether two answers mean the same), `ask` (the agent's checked
    answer) and `search` (passages of its index). Each returns a JSON object."""
    return [
        StructuredTool.from_function(
            _as_json(function), name=function.__name__, description=description,
            handle_tool_error=True,  # a ToolException's one line goes back to the model
        )
        for function, description in Toolset(agent).tools()
    ]  # fmt: skip


def _as_json(function: Callable[..., dict[str, Any]]) -> Callable[..., str]:
    """`function` returning its dict as JSON text, and a `ToolInputError` as the tool's
    one-line error. The signature is `function`'s, so LangChain builds the same argument
    schema from it as the MCP server does."""

    @functools.wraps(function)
    def tool(*args: Any, **kwargs: Any) -> str:
        try:
            return json.dumps(function(*args, **kwargs), ensure_ascii=False)
        except ToolInputError as exc:
            raise ToolException(str(exc)) from exc

    return tool
