"""Wire the nodes: guard_input → retrieve → generate ×k ⇄ verify → (review → verify) → finalize.

`generate` is fanned out with `Send`, one branch per candidate of the planned step. verify
loops back to generate while self-consistency wants another candidate or a refuted one gets
its retry; review (human review, conversations only) interrupts, and verify checks what the
reviewer decided. `tests/data/graph.mmd` is the drawing of this graph (a snapshot test)."""

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
    # `generate` gets the DraftTask its `Send` carries, whatever `input_schema` says. Naming
    # AgentState keeps DraftTask's keys out of the graph's channels (LangGraph would add them
    # from the node's signature); its types want input and `input_schema` to be one type.
    builder.add_node("generate", nodes.generate, input_schema=AgentState)  # type: ignore[call-overload]
    builder.add_node("verify", nodes.verify)
    builder.add_node("review", nodes.review)
    builder.add_node("finalize", nodes.finalize)
    builder.add_edge(START, "guard_input")
    builder.add_conditional_edges(
        "guard_input", nodes.route_after_guard, ["retrieve", "generate", "finalize"]
    )
    builder.add_conditional_edges("retrieve", nodes.route_after_retrieve, ["generate"])
    builder.add_edge("generate", "verify")
    builder.add_conditional_edges(
        "verify", nodes.route_after_verify, ["generate", "review", "finalize"]
    )
    builder.add_edge("review", "verify")
    builder.add_edge("finalize", END)
    return builder.compile(checkpointer=checkpointer)
