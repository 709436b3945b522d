"""`Config`: one typed configuration for an agent, from a TOML file, `--set` pairs and code.

    config = load_config("verimath.toml", sets=["sampling.temperature=0.8"], samples=2)
    agent = Agent(**config.agent_kwargs())

Precedence, lowest first: `Settings` defaults < the file < `--set SECTION.KEY=VALUE` pairs <
keyword overrides (command-line options, code). `Settings` stays the single source of truth for
the budgets and policies: each section below only says which of its fields it holds (one line
per field, with the bounds outside which a value cannot work); types and defaults come from
`Settings` itself. Keys left out keep their defaults.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import sys
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from verimath.errors import ConfigError
from verimath.graphs import Settings
from verimath.models import DEFAULT_MODEL, DEMO_MODEL, BackendName

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Config", "load_config"]

# Where each `Settings` field lives in the file, and the bounds a value must keep (pydantic
# `Field` constraints). A new `Settings` field needs one line here; tests/test_config.py fails
# until every field has exactly one place.
_PLACES: dict[str, dict[str, dict[str, Any]]] = {
    "prompt": {
        "system_prompt": {},
    },
    "sampling": {
        "temperature": {"ge": 0},
        "top_p": {"gt": 0, "le": 1},
        "seed": {},
        "samples": {"ge": 1},
        "adaptive": {},
        "selection": {},
        "sample_temperature": {"ge": 0},
        "sample_top_p": {"gt": 0, "le": 1},
    },
    "budgets": {
        "max_new_tokens": {"gt": 0},
        "forced_answer_tokens": {"gt": 0},
        "refuted_retries": {"ge": 0},
        "programs": {"ge": 0},
        "cross_checks": {"ge": 0},
        "cross_check_tokens": {"gt": 0},
        "generation_time_limit_s": {"gt": 0},
    },
    "guardrails": {
        "off_topic": {},
        "human_review": {},
        "sympy_answer": {},
        "max_question_chars": {"gt": 0},
        "max_answer_chars": {"gt": 0},
    },
    "retrieval": {
        "top_k": {"ge": 1},
        "search_mode": {},
        "min_relevance": {},
        "grounding": {},
        "examples": {"ge": 0},
    },
}


class _Section(BaseModel):
    # Strict: a TOML string is not a number and 1 is not true; ints are still accepted as floats.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _section(name: str, doc: str, **extra: Any) -> type[_Section]:
    """A section model whose fields are the `Settings` fields placed in it (same types, same
    defaults), plus `extra` fields of its own."""
    hints = typing.get_type_hints(Settings)
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    specs: dict[str, Any] = dict(extra)
    for key, bounds in _PLACES[name].items():
        if key not in fields:
            raise TypeError(f"config section [{name}] places '{key}', which Settings lacks")
        field = fields[key]
        if field.default_factory is not dataclasses.MISSING:
            specs[key] = (hints[key], Field(default_factory=field.default_factory, **bounds))
        else:
            default = ... if field.default is dataclasses.MISSING else field.default
            specs[key] = (hints[key], Field(default, **bounds))
    return create_model(name.title(), __base__=_Section, __doc__=doc, __module__=__name__, **specs)


Prompt = _section("prompt", "What the model is told before every question.")
Sampling = _section("sampling", "How candidate answers are drawn.")
Budgets = _section("budgets", "Tokens, time and retries one question may use.")
Guardrails = _section("guardrails", "Input limits and what happens to off-topic questions.")
Retrieval = _section(
    "retrieval",
    "Which passages ground the prompt.",
    index=(Path | None, Field(None, strict=False)),
    enabled=(bool, True),
    examples_index=(Path | None, Field(None, strict=False)),
)
_SECTIONS: dict[str, type[_Section]] = {
    "prompt": Prompt,
    "sampling": Sampling,
    "budgets": Budgets,
    "guardrails": Guardrails,
    "retrieval": Retrieval,
}
_PATH_KEYS = (
    ("checkpoint",),
    ("retrieval", "index"),
    ("retrieval", "examples_index"),
)  # relative to the file they are in


class Config(BaseModel):
    """Everything that configures an `Agent`: what to run (top-level keys) and how it behaves
    (the sections, which hold the `Settings` fields). Frozen; `override` returns a new one."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    model: str = DEFAULT_MODEL
    base_url: str | list[str] | None = None  # several: replicas of one model
    backend: BackendName = "transformers"  # what runs a local model; "llama.cpp" for GGUF files
    # `default=` by keyword: type checkers read only that as a field's default
    checkpoint: Path | None = Field(default=None, strict=False)
    # OpenTelemetry spans of every run, to the global tracer provider (`Agent(tracing=True)`).
    tracing: bool = False
    prompt: Prompt = Field(default_factory=Prompt)  # type: ignore[valid-type]
    sampling: Sampling = Field(default_factory=Sampling)  # type: ignore[valid-type]
    budgets: Budgets = Field(default_factory=Budgets)  # type: ignore[valid-type]
    guardrails: Guardrails = Field(default_factory=Guardrails)  # type: ignore[valid-type]
    retrieval: Retrieval = Field(default_factory=Retrieval)  # type: ignore[valid-type]

    @classmethod
    def from_toml(cls, path: str | Path) -> Config:
        """Read a TOML file. Relative paths in it are relative to the file. Any problem is a
        one-line `ConfigError` naming the file, the key and the fix."""
        path = Path(path)
        where = f"config file '{path}'"
        if not path.is_file():
            raise ConfigError(
                f"{where} does not exist; check the path given with --config or VERIMATH_CONFIG"
            )
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where} cannot be read ({exc}); save it as UTF-8 text") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{where} is not valid TOML: {exc}; fix the syntax there") from exc
        for *sections, key in _PATH_KEYS:
            table = data
            for section in sections:
                table = table.get(section, {}) if isinstance(table, dict) else {}
            if isinstance(table, dict) and isinstance(table.get(key), str):
                table[key] = str(path.parent / Path(table[key]).expanduser())
        return _validated(data, f"{where}: ")

    def override(self, *pairs: str, **values: Any) -> Config:
        """A new config with `pairs` ("sampling.temperature=0.8", values read as TOML scalars,
        the form of `--set`) applied, then `values` (by key name: `temperature=0.8`,
        `model="demo"`, `index=None`; or dotted: `**{"sampling.temperature": 0.8}`)."""
        config = self
        for pair in pairs:  # one at a time, so that an error names its pair
            data = config.model_dump(exclude_unset=True)
            key, value = _parse_pair(pair)
            _put(data, key, value, f"--set '{pair}': ")
            config = _validated(data, f"--set '{pair}': ")
        if values:
            data = config.model_dump(exclude_unset=True)
            for key, value in values.items():
                _put(data, _LEAVES.get(key, key), value, "")
            config = _validated(data, "")
        return config

    def settings(self) -> Settings:
        """The `Settings` these sections describe. With the demo model, what was not given
        takes the demo's smaller defaults, as `Agent(model="demo")` uses (`DEMO_SETTINGS`)."""
        from verimath.agent import DEMO_SETTINGS  # late: agent imports config

        values: dict[str, Any] = {}
        given: set[str] = set()
        for name in _PLACES:
            section = getattr(self, name)
            values.update({key: getattr(section, key) for key in _PLACES[name]})
            given |= section.model_fields_set
        if self.model == DEMO_MODEL:
            values.update({k: v for k, v in DEMO_SETTINGS.items() if k not in given})
        return Settings(**values)

    def agent_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `Agent(**kwargs)`; `checkpoint`, `backend` and `tracing` only
        when set."""
        retrieval: Any = self.retrieval  # made by create_model: its fields are not static
        kwargs: dict[str, Any] = {
            "model": self.model,
            "base_url": self.base_url,
            "index": retrieval.index if retrieval.enabled else False,
            "examples": retrieval.examples_index,
            "settings": self.settings(),
        }
        if self.checkpoint is not None:
            kwargs["checkpoint"] = self.checkpoint
        if self.backend != "transformers":
            kwargs["backend"] = self.backend
        if self.tracing:
            kwargs["tracing"] = True
        return kwargs


def load_config(
    path: str | Path | None = None, *, sets: Sequence[str] = (), **overrides: Any
) -> Config:
    """Defaults < the file at `path` (none: defaults only) < `sets` < `overrides`."""
    config = Config() if path is None else Config.from_toml(path)
    return config.override(*sets, **overrides)


# Every key by its own name ("temperature" -> "sampling.temperature"); names are unique.
_LEAVES: dict[str, str] = {
    **{name: name for name in Config.model_fields if name not in _SECTIONS},
    **{key: f"{name}.{key}" for name, section in _SECTIONS.items() for key in section.model_fields},
}


def _parse_pair(pair: str) -> tuple[str, Any]:
    key, sep, text = pair.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set '{pair}' needs SECTION.KEY=VALUE, e.g. sampling.temperature=0.8")
    text = text.strip()
    try:
        return key, tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return key, text  # a bare word such as `demo` or `majority` is a string


def _put(data: dict[str, Any], dotted: str, value: Any, where: str) -> None:
    parts = dotted.split(".")
    if len(parts) > 2:
        raise ConfigError(f"{where}'{dotted}' is too deep; keys are KEY or SECTION.KEY")
    if len(parts) == 1:
        head = parts[0]
        if head in _SECTIONS and isinstance(value, Mapping):
            data.setdefault(head, {}).update(value)  # a section given as a table merges
        else:
            data[head] = value
        return
    section, key = parts
    if section in _LEAVES:
        raise ConfigError(f"{where}'{section}' is a key, not a section; write {section}=VALUE")
    data.setdefault(section, {})[key] = value


def _validated(data: dict[str, Any], where: str) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise ConfigError(f"{where}{_explain(errors[0])}{more}") from None


def _explain(error: Any) -> str:
    """One pydantic error as a sentence that names the key and the fix."""
    loc = [str(part) for part in error["loc"]]
    dotted = ".".join(loc)
    if error["type"] == "extra_forbidden":
        section = loc[0] if len(loc) > 1 else None
        if section in _SECTIONS:
            valid = ", ".join(_SECTIONS[section].model_fields)
            return f"unknown key '{dotted}'{_hint(loc[-1], top=False)}; [{section}] takes {valid}"
        tops = ", ".join(k for k in Config.model_fields if k not in _SECTIONS)
        sections = ", ".join(f"[{s}]" for s in _SECTIONS)
        return (
            f"unknown key '{dotted}'{_hint(loc[-1], top=True)}; valid top-level keys are {tops}, "
            f"and the sections {sections}"
        )
    if len(loc) == 1 and loc[0] in _SECTIONS:
        return f"'{dotted}' must be a table: write [{dotted}] with its keys below it"
    message, value = error["msg"], _toml(error.get("input"))
    if message.startswith("Input should"):
        return f"'{dotted}' should{message[len('Input should') :]}, not {value}{_default(loc)}"
    return f"'{dotted}' = {value}: {message}{_default(loc)}"


def _hint(key: str, *, top: bool) -> str:
    if key in _LEAVES:  # a real key in the wrong place
        section, _, _ = _LEAVES[key].rpartition(".")
        return f" (it belongs in [{section}])" if section else " (it is a top-level key)"
    names = {**_LEAVES, **{s: f"[{s}]" for s in _SECTIONS}} if top else _LEAVES
    close = difflib.get_close_matches(key, list(names), n=1)
    return f" (did you mean '{names[close[0]]}'?)" if close else ""


def _default(loc: list[str]) -> str:
    section = loc[0] if len(loc) == 2 and loc[0] in _SECTIONS else None
    field = (_SECTIONS[section] if section else Config).model_fields.get(loc[-1])
    if field is None or field.default is None or field.default_factory is not None:
        return ""
    shown = _toml(field.default)
    return f" (default {shown})" if len(shown) <= 40 else ""


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    return repr(value) if not isinstance(value, dict | list) else json.dumps(value, default=str)
