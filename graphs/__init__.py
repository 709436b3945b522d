"""The LangGraph state machine that answers one question."""

from verimath.graphs.builder import build_graph
from verimath.graphs.context import DEFAULT_SYSTEM_PROMPT, AgentContext, Retriever, Settings
from verimath.graphs.prompts import render_prompt
from verimath.graphs.state import AgentState, Status

__all__ = [
    "build_graph",
    "AgentContext",
    "AgentState",
    "Settings",
    "Retriever",
    "Status",
    "render_prompt",
    "DEFAULT_SYSTEM_PROMPT",
]
