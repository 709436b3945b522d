"""Generation backends: implementations of the graph's `ChatBackend` contract.

The contract itself (`ChatBackend`, `Message`, `SamplingParams`, `Completion`) is defined in
`verimath.graphs.contracts`, the layer below, and re-exported here for users of backends.
"""

from verimath.graphs.contracts import ChatBackend, Completion, Message, SamplingParams
from verimath.graphs.reasoning import Generation, generate_answer, split_reasoning
from verimath.models.langchain_backend import LangChainBackend
from verimath.models.llamacpp_backend import LlamaCppBackend
from verimath.models.loading import (
    BACKENDS,
    DEFAULT_MODEL,
    DEMO_MODEL,
    BackendName,
    demo_model_path,
    load_backend,
)
from verimath.models.openai_backend import OpenAIBackend
from verimath.models.scripted import ScriptedBackend
from verimath.models.transformers_backend import TransformersBackend

__all__ = [
    "ChatBackend",
    "Completion",
    "Message",
    "SamplingParams",
    "Generation",
    "generate_answer",
    "split_reasoning",
    "load_backend",
    "demo_model_path",
    "DEFAULT_MODEL",
    "DEMO_MODEL",
    "BACKENDS",
    "BackendName",
    "TransformersBackend",
    "LlamaCppBackend",
    "OpenAIBackend",
    "LangChainBackend",
    "ScriptedBackend",
]
