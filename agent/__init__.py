"""verimath: math and science answers from a small local reasoning model, labelled with what
a SymPy check established (`verified`, `refuted` or `unverified`).

    from verimath import Agent
    agent = Agent(model="demo")
    answer = agent.ask("What is 17 times 23?")
    print(answer.status, answer.answer)
"""

from verimath.agent import Agent, StepEvent
from verimath.answer import Answer, Citation, Usage
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

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "Answer",
    "Citation",
    "Usage",
    "StepEvent",
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
