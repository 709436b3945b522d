"""verimath's LangChain tools inside a LangGraph agent of someone else's.

The calling agent is the usual LangGraph tool loop (a model node, LangGraph's prebuilt
`ToolNode` and `tools_condition`) around a scripted chat model (named as such:
`ScriptedToolCaller`, LangChain's `GenericFakeChatModel` replying from a list) that calls
each tool with typed arguments. The tools run for real: the
sandboxed SymPy pool, the shipped FAISS index, and for `ask` a scripted verimath backend.
"""

from __future__ import annotations

import json

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from verimath import Agent, Settings
from verimath.integrations.langchain import TOOL_NAMES, verimath_tools
from verimath.models import ScriptedBackend


class ScriptedToolCaller(GenericFakeChatModel):
    """A chat model that replies from a list; binding tools leaves it as it is."""

    def bind_tools(self, tools, **kwargs):  # type: ignore[no-untyped-def, override]
        return self


def call(name: str, **args) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": f"call-{name}"}])


def run_calls(agent: Agent, *calls: AIMessage) -> list[dict | list]:
    """Each scripted tool call, run by a LangGraph tool loop; the tools' JSON replies."""
    tools = verimath_tools(agent)
    model = ScriptedToolCaller(messages=iter([*calls, AIMessage("Done.")])).bind_tools(tools)
    loop = StateGraph(MessagesState)
    loop.add_node("model", lambda state: {"messages": [model.invoke(state["messages"])]})
    loop.add_node("tools", ToolNode(tools))
    loop.add_edge(START, "model")
    loop.add_conditional_edges("model", tools_condition)
    loop.add_edge("tools", "model")
    state = loop.compile().invoke({"messages": [("user", "Check my homework.")]})
    return [json.loads(m.content) if m.status != "error" else m.content
            for m in state["messages"] if isinstance(m, ToolMessage)]  # fmt: skip


@pytest.fixture
def agent(verifier, shipped_index):
    backend = ScriptedBackend(["x + 1 = 3 gives x = 2. \\boxed{x = 2}"])
    settings = Settings(max_new_tokens=64, samples=1)
    with Agent(backend, index=shipped_index, verifier=verifier, settings=settings) as agent:
        yield agent


def test_the_tools_have_typed_arguments_and_say_what_they_do(agent):
    tools = verimath_tools(agent)
    assert tuple(t.name for t in tools) == TOOL_NAMES
    schemas = {t.name: t.args for t in tools}
    assert set(schemas["check_answer"]) == {"question", "answer"}
    assert schemas["search"]["k"]["type"] == "integer" and schemas["search"]["k"]["default"] == 3
    assert all(len(t.description) > 40 for t in tools)


def test_an_agent_of_someone_else_s_calls_each_tool_and_reads_the_evidence(agent):
    checked, refuted, same, asked, found = run_calls(
        agent,
        call("check_answer", question="Solve x + 1 = 3", answer="x = 2"),
        call("check_answer", question="Solve x + 1 = 3", answer="x = 5"),
        call("equivalent", gold="1/2", candidate="0.5"),
        call("ask", question="Solve x + 1 = 3"),
        call("search", query="molar mass of sodium", k=2),
    )
    assert checked["status"] == "verified" and checked["evidence"] == ""
    assert refuted["status"] == "refuted" and refuted["evidence"]  # says why
    assert same["equivalent"] is True
    assert (asked["status"], asked["answer"]) == ("verified", "x = 2")
    passages = found["passages"]
    assert len(passages) == 2 and any(hit["id"] == "elements/sodium" for hit in passages)


def test_a_tool_that_cannot_run_answers_with_one_line_not_a_traceback(verifier):
    with Agent(ScriptedBackend(["\\boxed{1}"]), index=False, verifier=verifier) as bare:
        (reply,) = run_calls(bare, call("search", query="speed of light"))
    assert reply == "this agent has no index (index=False); give it one to search"
