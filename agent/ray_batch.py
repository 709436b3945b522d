"""Answer a question file on a Ray cluster: a Ray Data pipeline over agent actors, written to
the same resumable JSONL as `verimath batch`.

    from functools import partial
    from verimath import Agent
    from verimath.ray_batch import run_batch_on_ray

    summary = run_batch_on_ray(partial(Agent, "demo"), "questions.jsonl", "answers.jsonl",
                               address="127.0.0.1:6379", actors=2)

Why this shape:
- **Actors, not tasks.** Loading a model, an index and a pool of SymPy workers takes seconds to
  minutes, so each actor (Ray Data's `ActorPoolStrategy`) builds one agent once, with
  `make_agent`, and answers many questions with it. The model is in the actor's process, or a
  client of vLLM endpoints when `make_agent` builds an agent with `base_url=`.
- **One writer.** The driver is the only process that writes the output: it takes each answer
  as the pipeline streams it out (one question a block, so a row leaves as soon as it is
  answered), appends it as one flushed line and skips an id it already wrote. A killed actor is
  restarted by Ray and its question answered again; nothing it did reaches the file twice.
  A killed driver loses only the questions in flight, and rerunning the same command resumes:
  the ids already in the output are filtered out before the pipeline starts (`read_done`).
- **The file is read on the driver**, by the reader `verimath batch` uses (JSONL, CSV, Parquet
  or TXT), so both give a row the same id, skip the same bad rows and refuse the same duplicate
  ids before any actor starts. Question files are small next to the work of answering them.
- Ray is imported only here (the `[ray]` extra) and its usage statistics are off unless the
  caller turned them on (`RAY_USAGE_STATS_ENABLED`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verimath.batch import BatchSummary, answer_record, append_record, resume
from verimath.engine import answer_all
from verimath.errors import ConfigError, VerimathError
from verimath.questions import QuestionRow, read_questions

if TYPE_CHECKING:
    from verimath.agent import Agent

__all__ = ["run_batch_on_ray", "AgentActor"]

_HINT = "pip install 'verimath[ray]'"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_MAX_BLOCKS = 10_000  # past this a block holds several questions, written when all are done


class AgentActor:
    """One agent per actor; Ray Data calls it with a block of questions (one by default), as
    JSON lines of `QuestionRow` fields, and gets back their output lines."""

    def __init__(self, make_agent: Callable[[], Agent], timeout_s: float | None = None) -> None:
        self.timeout_s = timeout_s
        self.failed: VerimathError | None = None
        try:
            self.agent = make_agent()
            self.agent.load()  # a bad model or index shows now, not halfway through a question
        except VerimathError as exc:
            # Raised again with the first question: an error in a task reaches the driver as
            # itself, one in an actor's constructor only as text in Ray's ActorDiedError.
            self.failed = exc

    def __call__(self, block: dict[str, Any]) -> dict[str, list[str]]:
        if self.failed is not None:
            raise self.failed
        rows = [QuestionRow(**json.loads(text)) for text in block["row"]]
        lines: list[str] = [""] * len(rows)
        verifier = self.agent.context.verifier

        def write(i: int, answer: Any) -> None:
            record = answer_record(rows[i], answer, lambda g, a: verifier.grade(g, a).equivalent)
            lines[i] = json.dumps(record, ensure_ascii=False)

        answer_all(
            self.agent.ask, [row.question for row in rows], write, errors="stop",
            timeout_s=self.timeout_s, model_name=self.agent.backend.name,
        )  # fmt: skip
        return {"record": lines}


def run_batch_on_ray(
    make_agent: Callable[[], Agent],
    questions: str | Path | Sequence[QuestionRow],
    output: str | Path,
    *,
    address: str | None = None,
    actors: int = 1,
    concurrency: int = 1,
    cpus_per_actor: float = 1,
    gpus_per_actor: float = 0,
    retry_errors: bool = False,
    timeout_s: float | None = None,
    on_row: Callable[[dict[str, Any], BatchSummary], None] | None = None,
) -> BatchSummary:
    """Answer `questions` (a question file, or rows) on Ray, appending one JSON line per
    question to `output` as each is answered; rerun to resume.

    make_agent: builds the agent in each actor (pickled and sent there, so a module-level
    function or a `functools.partial` of `Agent`; not an agent already built).
    address: the cluster (`"127.0.0.1:6379"`; `"auto"`: `RAY_ADDRESS`, or the cluster running
    on this machine); `"local"` starts a Ray on this machine, bound to 127.0.0.1, for this run;
    None is `RAY_ADDRESS`'s cluster if it is set, otherwise "local".
    actors: agents answering at once; concurrency: questions in flight in each (threads sharing
    its model, as `verimath batch --concurrency`).
    cpus_per_actor, gpus_per_actor: what Ray reserves for each actor.
    A misconfiguration in the actors (a model that cannot be loaded) is raised here as itself,
    after the answers already received are written.
    """
    if actors < 1 or concurrency < 1:
        raise ConfigError(f"actors={actors}, concurrency={concurrency}; both must be 1 or more")
    rows = list(questions) if not isinstance(questions, str | Path) else _read(questions)
    output = Path(output)
    todo, summary = resume(rows, output, retry_errors=retry_errors)
    if not todo:
        return summary
    ray, data = _import_ray(address)
    started_here = not ray.is_initialized()
    if started_here:
        _init(ray, address)
    settings = data.DataContext.get_current()
    settings.enable_progress_bars = False  # the command line draws its own
    settings.print_on_execution_start = False
    settings.raise_original_map_exception = True  # an actor's VerimathError, not a wrapper
    start = time.perf_counter()
    quiet = _QuietRayLogs()
    try:
        items = [{"row": json.dumps(dataclasses.asdict(row))} for row in todo]
        # a block a question (up to _MAX_BLOCKS), so each answer streams out when it is done
        blocks = min(len(items), _MAX_BLOCKS)
        answered = data.from_items(items, override_num_blocks=blocks).map_batches(
            AgentActor,
            fn_constructor_args=(make_agent, timeout_s),
            batch_size=1,
            compute=data.ActorPoolStrategy(
                size=actors,
                max_concurrent_calls_per_actor=concurrency,
                enable_true_multi_threading=concurrency > 1,
            ),
            num_cpus=cpus_per_actor,
            num_gpus=gpus_per_actor,
        )
        written: set[str] = set()
        with output.open("a", encoding="utf-8") as out:
            for item in _streamed(answered):
                record = json.loads(item["record"])
                if record["id"] in written:  # a retried block's second copy
                    continue
                append_record(out, record)
                written.add(record["id"])
                summary.count(record)
                summary.elapsed_s = time.perf_counter() - start
                if on_row is not None:
                    on_row(record, summary)
    finally:
        if started_here:
            ray.shutdown()
        quiet.restore()
    summary.elapsed_s = time.perf_counter() - start
    return summary


def _streamed(dataset: Any) -> Any:
    """The pipeline's output rows as they come; an actor's misconfiguration is re-raised as
    itself, without Ray's remote traceback around it."""
    try:
        yield from dataset.iter_rows()
    except Exception as exc:
        cause = _verimath_cause(exc)
        if cause is None:
            raise
        raise cause from None


def _verimath_cause(exc: BaseException) -> VerimathError | None:
    """The `VerimathError` an actor raised, as its one line: Ray hands it over as itself
    (`raise_original_map_exception`) or inside a RayTaskError's `cause`, and appends its own
    advice on retrying a block to the message, which is not the problem."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        cause = getattr(current, "cause", None)
        found = next(
            (e for e in (cause, current)
             if isinstance(e, VerimathError) and type(e).__module__.startswith("verimath")),
            None,
        )  # fmt: skip
        if found is not None:
            found.args = (str(found).split("\n", 1)[0],)
            return found
        current = cause if isinstance(cause, BaseException) else current.__cause__
    return None


class _QuietRayLogs:
    """Ray's own log lines on the driver, held back for the run: a failure is raised here as
    itself (one line on the command line), and Ray logs it with its stack traces, several
    times over. Ray keeps all of it in its session logs (/tmp/ray/session_latest/logs)."""

    NAMES = ("ray", "ray.data")

    def __init__(self) -> None:
        self.levels = {name: logging.getLogger(name).level for name in self.NAMES}
        for name in self.NAMES:
            logging.getLogger(name).setLevel(logging.CRITICAL)

    def restore(self) -> None:
        for name, level in self.levels.items():
            logging.getLogger(name).setLevel(level)


def _read(path: str | Path) -> list[QuestionRow]:
    """The file's rows; its bad rows are logged and skipped, as `verimath batch` does."""
    rows, problems = read_questions(path)
    for problem in problems:
        logging.getLogger(__name__).warning("skipped: %s", problem)
    return rows


def _import_ray(address: str | None) -> tuple[Any, Any]:
    """Ray, set up before its first import (its constants read the environment then): usage
    statistics off, and for a cluster on this machine (`local`, or a loopback address) Ray's
    single-machine mode, whose servers listen on 127.0.0.1 only, not on every interface."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage reports phoned home
    target = address or os.environ.get("RAY_ADDRESS") or "local"
    if target == "local" or target.rsplit(":", 1)[0].strip("[]") in _LOOPBACK:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
        import ray.data
    except ImportError:
        raise ConfigError(f"batch on Ray needs Ray Data; {_HINT}") from None
    return ray, ray.data


def _init(ray: Any, address: str | None) -> None:
    """Connect to `address`, or start a local Ray bound to loopback. Actor output stays in
    Ray's session logs (/tmp/ray/session_latest/logs); the driver prints the summary."""
    local = address == "local" or (address is None and not os.environ.get("RAY_ADDRESS"))
    options: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False}
    if local:
        address, options["_node_ip_address"] = "local", "127.0.0.1"
    else:
        _check_listening(address or os.environ.get("RAY_ADDRESS") or "auto")
    try:
        ray.init(address=address, logging_level=logging.WARNING, **options)
    except (ConnectionError, ray.exceptions.AuthenticationError) as exc:
        raise ConfigError(
            f"the Ray cluster at {address or os.environ.get('RAY_ADDRESS')} did not take this "
            f"driver ({str(exc).splitlines()[0][:120]}); if it uses token authentication, set "
            "RAY_AUTH_MODE=token and its RAY_AUTH_TOKEN here too"
        ) from None


def _check_listening(address: str) -> None:
    """Fail at once when nothing listens at a `host:port` address: Ray itself would keep
    trying to reach it for minutes."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", or a ray:// client address: Ray resolves those
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise ConfigError(
            f"no Ray cluster answers at {address} ({exc.strerror or type(exc).__name__}); "
            "start one there with `ray start --head --port PORT`, or use --ray local"
        ) from None
