"""Wire the nodes: guard_input → retrieve → generate ⇄ verify → (review) → finalize.

verify loops back to generate while self-consistency wants another candidate or a refuted one
gets its retry; review (human review, conversations only) interrupts before finalize."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from verimath.graphs import nodes
from verimath.graphs.context import AgentContext
from verimath.graphs.state import AgentState

__all__ = ["build_graph"]


def build_graph(*, checkpointer: Any = None) -> Any:
    """The compiled graph. Dependencies come per run through `context=AgentContext(...)`."""
    builder = StateGraph(AgentState, context_schema=AgentContext)
    builder.add_node("guard_input", nodes.guard_input)
    builder.add_node("retrieve", nodes.retrieve)
    builder.add_node("generate", nodes.generate)
    builder.add_node("verify", nodes.verify)
    builder.add_node("review", nodes.review)
    builder.add_node("finalize", nodes.finalize)
    builder.add_edge(START, "guard_input")
    builder.add_conditional_edges("guard_input", nodes.route_after_guard)
    builder.add_edge("retrieve", "generate")
    builder.add_edge("generate", "verify")
    builder.add_conditional_edges("verify", nodes.route_after_verify)
    builder.add_edge("review", "finalize")
    builder.add_edge("finalize", END)
    return builder.compile(checkpointer=checkpointer)
