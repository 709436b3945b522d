"""verimath as LangChain tools, for a LangGraph or LangChain agent of your own.

    from verimath import Agent
    from verimath.integrations.langchain import verimath_tools

    with Agent(model="demo") as agent:
        tools = verimath_tools(agent)        # check_answer, equivalent, ask, search
        model = my_chat_model.bind_tools(tools)

Why tools and not a chain: the caller's own model decides when a checker is worth calling, and
every tool returns the verdict with its evidence as JSON, so that model can read why. The
tools share the agent's verifier pool (SymPy in sandboxed workers: model and user text never
reach `sympify` in the caller's process), its index and its model; closing the agent closes
what they use.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field

from verimath.agent import Agent

__all__ = ["verimath_tools", "TOOL_NAMES"]

TOOL_NAMES = ("check_answer", "equivalent", "ask", "search")


class CheckAnswerArgs(BaseModel):
    question: str = Field(description="The math question, as asked")
    answer: str = Field(description="The final answer to check, e.g. 'x = 2' or '\\frac{1}{3}'")


class EquivalentArgs(BaseModel):
    gold: str = Field(description="The reference answer")
    candidate: str = Field(description="The answer to compare with it")


class AskArgs(BaseModel):
    question: str = Field(description="A math or science question to answer and check")


class SearchArgs(BaseModel):
    query: str = Field(description="What to look up: a fact, a formula, a definition")
    k: int = Field(default=3, ge=1, le=20, description="How many passages")


def verimath_tools(agent: Agent) -> list[BaseTool]:
    """The four tools, bound to `agent`: `check_answer` (SymPy's verdict on an answer to a
    question), `equivalent` (whether two answers mean the same), `ask` (the agent's checked
    answer) and `search` (passages of its index). Each returns a JSON object."""

    def check_answer(question: str, answer: str) -> str:
        verdict = agent.context.verifier.check_answer(question, answer)
        return _json({**verdict.to_dict(), "evidence": verdict.evidence})

    def equivalent(gold: str, candidate: str) -> str:
        return _json(agent.context.verifier.equivalent(gold, candidate).to_dict())

    def ask(question: str) -> str:
        got = agent.ask(question)
        keys = ("status", "answer", "checks", "citations", "grounding", "error")
        return _json({**{k: got.to_dict()[k] for k in keys}, "evidence": got.evidence})

    def search(query: str, k: int = 3) -> str:
        retriever = agent.context.retriever
        if retriever is None:
            raise ToolException("this agent has no index (index=False); give it one to search")
        hits = retriever.search(query, k, mode="hybrid")
        return _json([{"id": h.passage.id, "title": h.passage.title, "text": h.passage.text,
                       "score": round(h.score, 4)} for h in hits])  # fmt: skip

    described = (
        (check_answer, CheckAnswerArgs,
         "Check a final answer to a math question with SymPy. Returns status (verified, "
         "refuted or unverified), the checks run and the evidence of any that failed."),
        (equivalent, EquivalentArgs,
         "Whether two math answers mean the same (symbolic equivalence, not string match). "
         "Returns equivalent (true, false or null when undecidable) and the reason."),
        (ask, AskArgs,
         "Answer a math or science question with a local model and say whether the answer "
         "was checked: status, answer, checks, evidence and the passages cited."),
        (search, SearchArgs,
         "Search the math and science reference passages (facts, constants, formulas). "
         "Returns the passages with their ids and relevance scores."),
    )  # fmt: skip
    return [
        StructuredTool.from_function(
            func, name=func.__name__, description=text, args_schema=schema,
            handle_tool_error=True,  # a ToolException's one line goes back to the model
        )
        for func, schema, text in described
    ]  # fmt: skip


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
