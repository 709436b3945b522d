"""The options of the `verimath` command line, each defined once.

The nine that configure an agent are the fields of `AgentOptions`; `agent_options` gives them to
a command: its `options: AgentOptions` parameter shows as those nine in the command's --help, in
its place, and arrives as one `AgentOptions`. They default to None ("not given"), so that a
config file's value stands unless the option is on the command line (`AgentOptions.config`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_type_hints

import typer

if TYPE_CHECKING:
    from verimath.agent import Agent
    from verimath.config import Config

__all__ = [
    "AgentOptions", "agent_options", "build_agent", "IndexOpt", "JsonOpt", "ConcurrencyOpt",
]  # fmt: skip

R = TypeVar("R")

IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="A saved index folder (default: shipped corpus)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON")]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", min=1, help="Questions in flight at once (one shared model)")
]


@dataclass(frozen=True, slots=True)
class AgentOptions:
    """The options that configure an agent, as given on the command line (None: not given).
    Each field's annotation is its command-line option; the order is the order in --help."""

    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar="VERIMATH_CONFIG",
            help="A TOML config file (see examples/verimath.toml); options given here win over it",
            show_default=False,
        ),
    ] = None
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="SECTION.KEY=VALUE",
            help="Set any config key, e.g. sampling.temperature=0.8 (repeatable)",
            show_default=False,
        ),
    ] = None
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="demo, an HF id, a local folder or .gguf file, or a served model "
            "(default microsoft/Phi-4-mini-reasoning)",
            show_default=False,
        ),
    ] = None
    base_url: Annotated[
        list[str] | None,
        typer.Option(
            "--base-url",
            help="An OpenAI-compatible server (vLLM, llama.cpp); repeat it for replicas of one "
            "model",
            show_default=False,
        ),
    ] = None
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="What runs a local model: transformers (default), or llama.cpp for a .gguf file "
            # `\\[`: help text is rich markup, where a bare [gguf] would be read as a tag and vanish
            "or the demo, faster on a CPU (pip install 'verimath\\[gguf]')",
            show_default=False,
        ),
    ] = None
    max_new_tokens: Annotated[
        int | None, typer.Option("--max-new-tokens", help="Generation budget per attempt")
    ] = None
    samples: Annotated[
        int | None,
        typer.Option("--samples", help="Most candidate answers per question (sampling.samples)"),
    ] = None
    index: IndexOpt = None
    retrieval: Annotated[
        bool | None,
        typer.Option(
            "--retrieval/--no-retrieval", help="Answer with passages or without (default with)"
        ),
    ] = None

    def config(self, **more: Any) -> Config:
        """The run's `Config`, with `more` config keys a command sets itself (None: not set).
        Precedence: options on the command line > --set > the config file (--config, else
        $VERIMATH_CONFIG) > defaults. An option left out (None) sets nothing."""
        from verimath.config import load_config

        retrieval = self.retrieval
        if self.index is not None and retrieval is None:
            retrieval = True  # --index DIR asks for passages from DIR, whatever the file says
        options = {
            "model": self.model, "base_url": self.base_url, "backend": self.backend,
            "max_new_tokens": self.max_new_tokens, "samples": self.samples,
            "index": self.index, "retrieval.enabled": retrieval, **more,
        }  # fmt: skip
        given = {key: value for key, value in options.items() if value is not None}
        return load_config(self.config_file, sets=self.sets or (), **given)


def agent_options(command: Callable[..., R]) -> Callable[..., R]:
    """Give `command` the agent options: its keyword-only parameter `options: AgentOptions`
    becomes the fields of `AgentOptions` as options (in its place, so --help keeps its
    order), and the command is called with them gathered into one `AgentOptions`."""
    names = [f.name for f in fields(AgentOptions)]
    hints = get_type_hints(AgentOptions, include_extras=True)
    signature = inspect.signature(command, eval_str=True)
    if "options" not in signature.parameters:
        raise TypeError(f"{command.__name__} has no parameter `options: AgentOptions`")
    parameters = []
    for parameter in signature.parameters.values():
        if parameter.name != "options":
            parameters.append(parameter)
            continue
        parameters += [
            inspect.Parameter(name, parameter.kind, default=None, annotation=hints[name])
            for name in names
        ]

    @functools.wraps(command)
    def bound(*args: Any, **kwargs: Any) -> R:
        options = AgentOptions(**{name: kwargs.pop(name, None) for name in names})
        return command(*args, options=options, **kwargs)

    bound.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    bound.__annotations__ = {p.name: p.annotation for p in parameters}
    return bound


def build_agent(config: Config) -> Agent:
    """The one place the command line builds an agent."""
    from verimath.agent import Agent

    return Agent(**config.agent_kwargs())
