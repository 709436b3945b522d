"""The four tools verimath offers other agents, written once: `check_answer`, `equivalent`,
`ask` and `search`.

`Toolset(agent)` holds them as plain methods that return JSON-able dicts; their parameters
are typed and described in the signature (pydantic `Field`s in `Annotated`), and each tool has
one description, in `DESCRIPTIONS`. `verimath.integrations.langchain` wraps them as LangChain
tools and `verimath.integrations.mcp` as MCP tools, and both frameworks read the argument
schema from the same signatures, so the two cannot drift apart.

The tools share the agent's verifier pool (SymPy in sandboxed workers: model and user text
never reach `sympify` in the caller's process), its index and its model. Checking needs no
model: only `ask` loads one, on its first call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from verimath.errors import ConfigError

if TYPE_CHECKING:
    from verimath.agent import Agent

__all__ = ["Toolset", "ToolInputError", "DESCRIPTIONS", "TOOL_NAMES"]

# What the calling model reads about each tool, in the order the tools are offered.
DESCRIPTIONS: dict[str, str] = {
    "check_answer": (
        "Check a final answer to a math question with SymPy. Returns status (verified, "
        "refuted or unverified), the checks run and the evidence of any that failed."
    ),
    "equivalent": (
        "Whether two math answers mean the same (symbolic equivalence, not string match). "
        "Returns equivalent (true, false or null when undecidable) and the reason."
    ),
    "ask": (
        "Answer a math or science question with a local model and say whether the answer "
        "was checked: status, answer, checks, evidence and the passages cited."
    ),
    "search": (
        "Search the math and science reference passages (facts, constants, formulas). "
        "Returns the passages with their ids and relevance scores."
    ),
}
TOOL_NAMES = tuple(DESCRIPTIONS)

# The parameters, described once for every framework that builds a schema from them.
Question = Annotated[str, Field(description="The math question, as asked")]
AnswerText = Annotated[
    str, Field(description="The final answer to check, e.g. 'x = 2' or '\\frac{1}{3}'")
]
Gold = Annotated[str, Field(description="The reference answer")]
Candidate = Annotated[str, Field(description="The answer to compare with it")]
AskedQuestion = Annotated[str, Field(description="A math or science question to answer and check")]
Query = Annotated[str, Field(description="What to look up: a fact, a formula, a definition")]
PassageCount = Annotated[int, Field(ge=1, le=20, description="How many passages")]

# The fields of an `Answer` that `ask` returns: what the calling model needs to judge it.
_ASK_FIELDS = ("status", "answer", "checks", "citations", "grounding", "error")


class ToolInputError(ConfigError):
    """A tool cannot do what it was asked with this agent (search without an index). The
    wrappers send its one line back to the calling model as the tool's answer."""


class Toolset:
    """The four tools bound to one agent. Each method is a tool: typed arguments in, a
    JSON-able dict with the verdict and its evidence out."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def check_answer(self, question: Question, answer: AnswerText) -> dict[str, Any]:
        verdict = self.agent.context.verifier.check_answer(question, answer)
        return {**verdict.to_dict(), "evidence": verdict.evidence}

    def equivalent(self, gold: Gold, candidate: Candidate) -> dict[str, Any]:
        return self.agent.context.verifier.equivalent(gold, candidate).to_dict()

    def ask(self, question: AskedQuestion) -> dict[str, Any]:
        answer = self.agent.ask(question)
        fields = answer.to_dict()
        return {**{key: fields[key] for key in _ASK_FIELDS}, "evidence": answer.evidence}

    def search(self, query: Query, k: PassageCount = 3) -> dict[str, Any]:
        retriever = self.agent.context.retriever
        if retriever is None:
            raise ToolInputError("this agent has no index (index=False); give it one to search")
        hits = retriever.search(query, k, mode="hybrid")
        passages = [{"id": h.passage.id, "title": h.passage.title, "text": h.passage.text,
                     "score": round(h.score, 4)} for h in hits]  # fmt: skip
        return {"query": query, "passages": passages}

    def tools(self) -> list[tuple[Callable[..., dict[str, Any]], str]]:
        """Each tool's bound method with its description, in `TOOL_NAMES` order."""
        return [(getattr(self, name), DESCRIPTIONS[name]) for name in TOOL_NAMES]
