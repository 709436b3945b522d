"""The LangGraph state machine that answers one question."""

from verimath.graphs.builder import build_graph
from verimath.graphs.context import AgentContext, Settings
from verimath.graphs.contracts import (
    ChatBackend,
    Completion,
    Message,
    Retriever,
    SamplingParams,
    Verifier,
)
from verimath.graphs.prompts import DEFAULT_SYSTEM_PROMPT, render_prompt
from verimath.graphs.state import AgentState, Status

__all__ = [
    "build_graph",
    "AgentContext",
    "AgentState",
    "Settings",
    "ChatBackend",
    "Message",
    "SamplingParams",
    "Completion",
    "Retriever",
    "Verifier",
    "Status",
    "render_prompt",
    "DEFAULT_SYSTEM_PROMPT",
]
