"""Run-time dependencies, passed to the graph with `context=` (never module globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from verimath.graphs.contracts import ChatBackend, Retriever, Verifier
from verimath.graphs.prompts import DEFAULT_SYSTEM_PROMPT
from verimath.retrieval.index import SearchMode

__all__ = ["AgentContext", "Settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Budgets and policies of one agent. Defaults suit Phi-4-mini-reasoning."""

    max_new_tokens: int = 4096
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    top_k: int = 3
    # Dense, not hybrid: on whole questions (what the graph sends) dense search finds the right
    # passage more often (recall@5 0.866 vs 0.832 on 10K MATH passages, BENCHMARKS.md); hybrid
    # wins on formula-only queries, where `verimath index search` uses it by default.
    search_mode: SearchMode = "dense"
    min_relevance: float = 0.35
    # Grounding: the numbers a reasoning took from the passages it was shown are tied to their
    # passage; a misread one (an atomic number off by one, a constant at the wrong power of
    # ten) refutes an answer SymPy could not check, with the passage's number as evidence
    # (`tools.grounding`). False only shows passages, for measuring what grounding adds.
    grounding: bool = True
    # Worked methods: how many solved problems like the question to show as examples, from
    # the agent's examples index (`Agent(examples=...)`, e.g. MATH's worked solutions), each
    # at or above `min_relevance`. 0 turns it off; off by default until the measurement
    # model shows it helps (BENCHMARKS.md, "Worked methods").
    examples: int = 0
    # Verified self-consistency. `samples` is k, the most candidates sampled for one question.
    # Adaptive (the default) starts with one and samples another only while the best answer is
    # not verified; fixed sampling draws all k at once (batched). Candidates after the first are
    # sampled at `sample_temperature`/`sample_top_p` when `temperature` is 0 (greedy would only
    # repeat the first). Phi-4-mini-reasoning's model card samples at 0.8 / 0.95.
    samples: int = 4
    adaptive: bool = True
    selection: Literal["verified", "majority"] = "verified"
    sample_temperature: float = 0.8
    sample_top_p: float = 0.95
    # Regenerations with the verifier's evidence after a refuted candidate (on top of `samples`).
    refuted_retries: int = 1
    # When SymPy computed the answer itself (a value, all roots, a system's solutions) and no
    # candidate was verified, give SymPy's answer (the model's stay in `Answer.candidates`).
    # False keeps the model's answer with its status: for evaluating the model itself.
    sympy_answer: bool = True
    # Guardrails: questions outside math and science are answered with a flag, or refused.
    off_topic: Literal["flag", "refuse"] = "flag"
    # Stop a conversation turn whose answer is refuted for a person to approve or override
    # (needs a thread_id; see Agent.review).
    human_review: bool = False
    max_question_chars: int = 4000
    max_answer_chars: int = 500
    forced_answer_tokens: int = 48
    # Tool-integrated reasoning: the most SymPy programs the model may run per candidate, each
    # in a locked-down, single-use sandbox process (`verimath.tools.programs`); 0 turns it off.
    # Off by default: with the demo model it did not help (BENCHMARKS.md).
    programs: int = 0
    # Cross-checks: the most programs the model writes from the question alone to compute the
    # answer a second, independent way (`graphs.crosscheck`), run in the sandbox; when one
    # agrees with a solution the answer is `cross-checked`. Adaptive sampling adds a solution
    # and a program a step while they disagree. 0 turns it off. Off by default until the
    # measurement model shows they help (BENCHMARKS.md, "Cross-checks").
    cross_checks: int = 0
    # Token budget of one cross-check program.
    cross_check_tokens: int = 512
    # Wall-time bound of one generation call (None: only the token budget bounds it).
    generation_time_limit_s: float | None = None
    system_prompt: str = field(default=DEFAULT_SYSTEM_PROMPT)


@dataclass(frozen=True, slots=True)
class AgentContext:
    """What one run of the graph depends on: the agent's backend, verifier, retrievers (facts
    and worked examples) and settings, and the run's own flags. `Agent` makes one per run
    with `dataclasses.replace`:
    `stream_tokens` sends generated text as `Token` events (`Agent.stream`); `conversation`
    says the run is a turn of a saved conversation (a `thread_id`), which human review needs
    to resume it."""

    backend: ChatBackend
    verifier: Verifier
    retriever: Retriever | None = None
    # Solved problems with their worked solutions, searched for examples like the question.
    examples: Retriever | None = None
    settings: Settings = field(default_factory=Settings)
    stream_tokens: bool = False
    conversation: bool = False
