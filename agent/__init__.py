"""verimath: math and science answers from a small local reasoning model, labelled with what
a SymPy check established (`verified`, `refuted` or `unverified`).

    from verimath import Agent
    agent = Agent(model="demo")
    answer = agent.ask("What is 17 times 23?")
    print(answer.status, answer.answer)

Every public name is imported on first use (PEP 562 `__getattr__` over `_EXPORTS`), so that
importing a leaf such as `verimath.tools` or `verimath.errors` does not pay for the top: the
sandbox workers that run SymPy would otherwise load langgraph and pydantic (and through them
much more) before their first check.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> the module that defines it (every name in `__all__` but `__version__`).
_EXPORTS = {
    "Agent": "verimath.agent",
    "Event": "verimath.agent",
    "StepEvent": "verimath.agent",
    "Answer": "verimath.answer",
    "CandidateAnswer": "verimath.answer",
    "Citation": "verimath.answer",
    "Usage": "verimath.answer",
    "Config": "verimath.config",
    "load_config": "verimath.config",
    "VerimathError": "verimath.errors",
    "ConfigError": "verimath.errors",
    "ModelNotFoundError": "verimath.errors",
    "BackendError": "verimath.errors",
    "IndexFormatError": "verimath.errors",
    "InputFileError": "verimath.errors",
    "MissingExtraError": "verimath.errors",
    "Settings": "verimath.graphs",
    "Checked": "verimath.graphs.events",
    "Retrieved": "verimath.graphs.events",
    "Token": "verimath.graphs.events",
    "Turn": "verimath.graphs.state",
}

__all__ = [
    "Agent",
    "Answer",
    "Citation",
    "Usage",
    "CandidateAnswer",
    "Config",
    "load_config",
    "Event",
    "StepEvent",
    "Retrieved",
    "Token",
    "Checked",
    "Turn",
    "Settings",
    "VerimathError",
    "ConfigError",
    "ModelNotFoundError",
    "BackendError",
    "IndexFormatError",
    "InputFileError",
    "MissingExtraError",
    "__version__",
]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time, `__getattr__` below
    from verimath.agent import Agent, Event, StepEvent
    from verimath.answer import Answer, CandidateAnswer, Citation, Usage
    from verimath.config import Config, load_config
    from verimath.errors import (
        BackendError,
        ConfigError,
        IndexFormatError,
        InputFileError,
        MissingExtraError,
        ModelNotFoundError,
        VerimathError,
    )
    from verimath.graphs import Settings
    from verimath.graphs.events import Checked, Retrieved, Token
    from verimath.graphs.state import Turn


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'verimath' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
