"""`Config`: TOML files, `--set` pairs and keyword overrides, checked against `Settings`."""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from verimath.agent import DEMO_MAX_NEW_TOKENS, Agent
from verimath.config import Config, load_config
from verimath.errors import ConfigError
from verimath.graphs import Settings
from verimath.models import DEFAULT_MODEL

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "verimath.toml"
SECTIONS = ("prompt", "sampling", "budgets", "guardrails", "retrieval")
# Section keys that are not Settings fields.
OWN_KEYS = {"retrieval": {"index", "enabled", "examples_index"}}


def section_keys() -> dict[str, set[str]]:
    return {name: set(Config.model_fields[name].annotation.model_fields) for name in SECTIONS}


def write(tmp_path: Path, text: str, name: str = "verimath.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def one_line_error(excinfo: pytest.ExceptionInfo[ConfigError], *needles: str) -> str:
    message = str(excinfo.value)
    assert "\n" not in message, message
    for needle in needles:
        assert needle in message, message
    return message


def test_every_settings_field_has_exactly_one_place_in_the_file():
    placed = [
        key for name, keys in section_keys().items() for key in keys - OWN_KEYS.get(name, set())
    ]
    assert sorted(placed) == sorted(f.name for f in dataclasses.fields(Settings))
    top = set(Config.model_fields) - set(SECTIONS)
    assert top == {"model", "base_url", "backend", "checkpoint", "tracing"}
    every = [*top, *(key for keys in section_keys().values() for key in keys)]
    assert len(every) == len(set(every)), "a key name is in two places; override(name=) needs one"


def test_defaults_are_settings_defaults():
    config = Config()
    assert config.settings() == Settings()
    assert config.agent_kwargs() == {
        "model": DEFAULT_MODEL,
        "base_url": None,
        "index": None,
        "examples": None,
        "settings": Settings(),
    }
    assert config.sampling.samples == Settings().samples  # the same values, read from Settings


def test_the_demo_model_keeps_its_short_budget_unless_one_is_given(tmp_path: Path):
    assert Config(model="demo").settings().max_new_tokens == DEMO_MAX_NEW_TOKENS
    demo = Config.from_toml(write(tmp_path, 'model = "demo"\n[sampling]\nsamples = 2\n'))
    assert demo.settings().max_new_tokens == DEMO_MAX_NEW_TOKENS
    # Given, even equal to the general default, it stands: the user asked for it.
    assert demo.override(max_new_tokens=4096).settings().max_new_tokens == 4096
    chosen = write(tmp_path, 'model = "demo"\n[budgets]\nmax_new_tokens = 4096\n', "b.toml")
    assert Config.from_toml(chosen).settings().max_new_tokens == 4096
    assert Config().override(model="demo").settings().max_new_tokens == DEMO_MAX_NEW_TOKENS


def test_a_file_sets_its_keys_and_leaves_the_rest(tmp_path: Path):
    path = write(
        tmp_path,
        """
        model = "Qwen/Qwen3-0.6B"
        base_url = "http://localhost:8000/v1"
        checkpoint = "chats/conversations.sqlite3"
        [prompt]
        system_prompt = '''Answer as \\boxed{...}.'''
        [sampling]
        temperature = 1          # an integer is a fine float
        seed = 7
        selection = "majority"
        [budgets]
        generation_time_limit_s = 30
        [guardrails]
        off_topic = "refuse"
        [retrieval]
        index = "~/idx"
        top_k = 5
        """.replace("\n        ", "\n"),
    )
    config = Config.from_toml(path)
    settings = config.settings()
    assert settings == dataclasses.replace(
        Settings(),
        system_prompt="Answer as \\boxed{...}.",
        temperature=1.0,
        seed=7,
        selection="majority",
        generation_time_limit_s=30.0,
        off_topic="refuse",
        top_k=5,
    )
    kwargs = config.agent_kwargs()
    assert kwargs["model"] == "Qwen/Qwen3-0.6B" and kwargs["base_url"].endswith("/v1")
    assert kwargs["checkpoint"] == tmp_path / "chats" / "conversations.sqlite3"  # file-relative
    assert kwargs["index"] == Path("~/idx").expanduser()


def test_retrieval_can_be_switched_off():
    assert Config().override("retrieval.enabled=false").agent_kwargs()["index"] is False
    off = Config().override("retrieval.index=idx", enabled=False)
    assert off.agent_kwargs()["index"] is False and off.retrieval.index == Path("idx")


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("[sampling]\ntemprature = 0.8\n", ["'sampling.temprature'", "'sampling.temperature'?"]),
        ("[sampling]\nmax_new_tokens = 9\n", ["belongs in [budgets]", "[sampling] takes temp"]),
        ("modle = 'demo'\n", ["unknown key 'modle'", "did you mean 'model'", "[retrieval]"]),
        ("[budgets]\nmax_new_tokens = '512'\n", ["'budgets.max_new_tokens'", "integer, not"]),
        (
            "[budgets]\nmax_new_tokens = 0\n",
            ["than 0, not 0", f"(default {Settings().max_new_tokens})"],
        ),
        ("[guardrails]\noff_topic = 'ban'\n", ["'guardrails.off_topic'", "'flag' or 'refuse'"]),
        ("[retrieval]\nenabled = 1\n", ["'retrieval.enabled' should be a valid boolean"]),
        ("sampling = 3\n", ["'sampling' must be a table: write [sampling]"]),
        ("[sampling]\nmodel = 'demo'\n", ["'sampling.model'", "top-level key"]),
        ("[budget]\nx = 1\n", ["unknown key 'budget'", "did you mean '[budgets]'?"]),
    ],
)
def test_a_bad_key_or_value_is_one_line_naming_file_and_key(
    tmp_path: Path, text: str, needles: list[str]
):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as excinfo:
        Config.from_toml(path)
    one_line_error(excinfo, f"config file '{path}'", *needles)


def test_unreadable_files_are_one_line_errors(tmp_path: Path):
    with pytest.raises(ConfigError) as excinfo:
        Config.from_toml(tmp_path / "nope.toml")
    one_line_error(excinfo, "nope.toml' does not exist", "--config or VERIMATH_CONFIG")
    with pytest.raises(ConfigError) as excinfo:
        Config.from_toml(write(tmp_path, 'model = "demo"\n[sampling\n'))
    one_line_error(excinfo, "is not valid TOML", "line 2", "fix the syntax")
    with pytest.raises(ConfigError) as excinfo:
        Config.from_toml(write(tmp_path, "[sampling]\ntemperature = 0,8\n", "c.toml"))
    one_line_error(excinfo, "c.toml' is not valid TOML", "line 2")
    (tmp_path / "latin1.toml").write_bytes(b'model = "d\xe9mo"\n')
    with pytest.raises(ConfigError) as excinfo:
        Config.from_toml(tmp_path / "latin1.toml")
    one_line_error(excinfo, "latin1.toml' cannot be read", "UTF-8")


def test_override_returns_a_new_config_and_validates():
    config = Config()
    changed = config.override(
        "sampling.temperature=0.8",  # TOML scalars: a float,
        "guardrails.human_review=true",  # a boolean,
        "model=demo",  # and a bare word is a string
        "retrieval.index='my index'",
        samples=2,
        **{"budgets.max_new_tokens": 64},
    )
    assert config == Config(), "frozen: the original is unchanged"
    settings = changed.settings()
    assert (settings.temperature, settings.human_review, settings.samples) == (0.8, True, 2)
    assert settings.max_new_tokens == 64 and changed.model == "demo"
    assert changed.retrieval.index == Path("my index")
    assert config.override(sampling={"seed": 3}).override(sampling={"top_p": 0.5}).settings() == (
        dataclasses.replace(Settings(), seed=3, top_p=0.5)
    )
    with pytest.raises(ConfigError) as excinfo:
        config.override(samples=0)
    one_line_error(excinfo, "'sampling.samples' should be greater than or equal to 1, not 0")
    with pytest.raises(ConfigError) as excinfo:
        config.override(temprature=0.8)
    one_line_error(excinfo, "unknown key 'temprature'", "did you mean 'sampling.temperature'")
    with pytest.raises(ValidationError, match="frozen"):
        config.model = "demo"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("pair", "needles"),
    [
        ("sampling.temperature", ["needs SECTION.KEY=VALUE"]),
        ("sampling.temperature=hot", ["--set 'sampling.temperature=hot'", "valid number"]),
        ("sampling.temprature=0.8", ["unknown key 'sampling.temprature'"]),
        ("model.name=x", ["'model' is a key, not a section", "model=VALUE"]),
        ("a.b.c=1", ["keys are KEY or SECTION.KEY"]),
    ],
)
def test_set_pairs_fail_in_one_line_naming_the_pair(pair: str, needles: list[str]):
    with pytest.raises(ConfigError) as excinfo:
        Config().override(pair)
    one_line_error(excinfo, *needles)


def test_precedence_code_over_set_over_file_over_defaults(tmp_path: Path):
    path = write(
        tmp_path,
        'model = "demo"\n[sampling]\ntemperature = 0.5\nsamples = 3\n'
        "[budgets]\nmax_new_tokens = 80\n",
    )
    config = load_config(
        path, sets=["sampling.temperature=0.7", "sampling.samples=2"], samples=1
    ).settings()
    assert config.max_new_tokens == 80  # file over defaults
    assert config.temperature == 0.7  # --set over file
    assert config.samples == 1  # code over --set
    assert config.top_p == Settings().top_p  # untouched: default
    assert load_config().settings() == Settings()


def test_the_example_file_loads_documents_every_key_and_its_defaults():
    config = Config.from_toml(EXAMPLE)
    assert config.model == "demo"
    text = EXAMPLE.read_text(encoding="utf-8")
    tables = re.split(r"(?m)^\[(\w+)\]\n", text)
    blocks = {"": tables[0], **dict(zip(tables[1::2], tables[2::2], strict=True))}
    assert set(blocks) == {"", *SECTIONS}
    keys = {"": set(Config.model_fields) - set(SECTIONS), **section_keys()}
    defaults = {"": Config(), **{name: getattr(Config(), name) for name in SECTIONS}}
    for section, block in blocks.items():
        shown = dict(re.findall(r"(?m)^#? ?(\w+) = (.+?)(?:  #.*)?$", block))
        assert set(shown) == keys[section], f"[{section}] in the example"
        for key, value in shown.items():
            default = getattr(defaults[section], key)
            commented = re.search(rf"(?m)^# {key} = ", block)
            if commented and default is not None and key != "system_prompt":
                assert tomllib.loads(f"v = {value}")["v"] == default, f"{section}.{key}"


def test_agent_accepts_the_kwargs():
    config = Config().override(model="demo", enabled=False, samples=1)
    with Agent(**config.agent_kwargs()) as agent:
        assert agent.settings == config.settings()
        assert agent.settings.max_new_tokens == DEMO_MAX_NEW_TOKENS


@pytest.mark.skipif(
    "checkpoint" not in inspect.signature(Agent).parameters,
    reason="Agent(checkpoint=) is not there yet",
)
def test_agent_accepts_a_checkpoint(tmp_path: Path):
    config = Config().override(model="demo", enabled=False, checkpoint=tmp_path / "c.sqlite3")
    assert config.agent_kwargs()["checkpoint"] == tmp_path / "c.sqlite3"
    Agent(**config.agent_kwargs()).close()
