"""verimath: math and science answers from a small local reasoning model, labelled with what
a SymPy check established (`verified`, `refuted` or `unverified`).

    from verimath import Agent
    agent = Agent(model="demo")
    answer = agent.ask("What is 17 times 23?")
    print(answer.status, answer.answer)
"""

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

__version__ = "0.1.0"

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
