"""`verimath ask`, `batch` and `serve`: the commands that answer with an agent."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from verimath.cli.options import AgentOptions, ConcurrencyOpt, JsonOpt, agent_options, build_agent

if TYPE_CHECKING:
    from verimath.agent import Agent

__all__ = ["ask", "batch", "serve", "grader", "question_progress"]


@agent_options
def ask(
    question: Annotated[str, typer.Argument(help="The question")],
    *,
    options: AgentOptions,
    thread: Annotated[
        str | None,
        typer.Option("--thread", help="A conversation to continue (needs a checkpoint file)"),
    ] = None,
    stream: Annotated[
        bool, typer.Option("--stream", help="Print the model's text as it is generated")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Answer one question, with its status, checks and citations."""
    from verimath.errors import ConfigError

    config = options.config()
    if thread is not None and config.checkpoint is None:
        raise ConfigError(
            "--thread needs a file to keep the conversation in; add --set checkpoint=FILE, "
            'or checkpoint = "FILE" to the config file'
        )
    with build_agent(config) as agent:
        if stream:
            answer = _print_stream(agent, question, thread)
        else:
            answer = agent.ask(question, thread_id=thread)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    typer.echo(f"Question: {answer.question}")
    typer.echo(f"Answer:   {_shown(answer.answer, answer.answer_as_written)}")
    typer.echo(f"Status:   {answer.status.upper()}")
    if (cross := answer.cross_check) is not None:
        printed = answer.candidates[cross.program_candidate].answer
        typer.echo(
            f"Cross-check: candidate {cross.program_candidate + 1}, a program written from the "
            f"question alone, printed {printed}, the answer of candidate {cross.solution + 1} "
            "(agreement, not a proof):"
        )
        typer.echo(textwrap.indent(cross.program, "    "))
    if len(answer.candidates) > 1:
        agreed = answer.confidence is not None and answer.candidates[-1].source == "model"
        agreement = f", {answer.confidence:.0%} agreed" if agreed else ""
        typer.echo(f"Candidates ({answer.attempts} from the model{agreement}):")
        for n, c in enumerate(answer.candidates, 1):
            by = "" if c.source == "model" else f" (from {c.source})"
            typer.echo(f"  {n}. {_shown(c.answer, c.answer_as_written)}: {c.status}{by}")
            if c.status == "refuted":  # the evidence, which the answer's own checks don't show
                for check in c.checks:
                    if check.outcome == "failed":
                        typer.echo(f"       {check.name}: {check.detail}")
    for check in answer.checks:
        typer.echo(f"  check {check.name}: {check.outcome} - {check.detail}")
    for note in answer.guardrails:
        typer.echo(f"  guardrail: {note}")
    if answer.citations:
        typer.echo("Citations:")
        for n, c in enumerate(answer.citations, 1):
            typer.echo(f"  [{n}] {c.id} - {c.title} ({c.source}, score {c.score:.2f})")
    else:
        typer.echo("Citations: none relevant")
    for n, example in enumerate(answer.examples, 1):
        heading = "Worked examples shown:\n" if n == 1 else ""
        typer.echo(f"{heading}  [E{n}] {example.id} - {example.title} (score {example.score:.2f})")
    if answer.grounding:
        typer.echo("Passage values the reasoning used:")
        for use in answer.grounding:
            verdict = "copied" if use.agrees else "MISREAD"
            typer.echo(f"  {use.stated}: {verdict}, {use.passage} gives {use.passage_value}")
    t, u = answer.timings, answer.usage
    typer.echo(
        f"Model: {answer.model} | attempts {answer.attempts} | {t['total_ms'] / 1000:.1f} s "
        f"(generate {t['generate_ms'] / 1000:.1f} s) | {u.completion_tokens} tokens"
    )


def _shown(answer: str | None, as_written: str | None) -> str:
    """An answer as the CLI prints it: `4360 (written 2368 + 1920 + 72)` when it is shown as
    the value of the model's own form."""
    if answer is None:
        return "(none)"
    return f"{answer} (written {as_written})" if as_written is not None else answer


def _print_stream(agent: Any, question: str, thread: str | None) -> Any:
    """Print each candidate's text as it is generated (reasoning dimmed on terminals) and each
    verdict; returns the final Answer."""
    from verimath import Answer, Checked, Token

    current = None
    answer = None
    for event in agent.stream(question, thread_id=thread):
        if isinstance(event, Token):
            if event.candidate != current:
                current = event.candidate
                typer.secho(f"\n--- candidate {current + 1} ---", bold=True)
            typer.secho(event.text, nl=False, dim=event.channel == "reasoning")
        elif isinstance(event, Checked):
            typer.echo(f"\n[candidate {event.candidate + 1}: {event.verdict.status}]")
        elif isinstance(event, Answer):
            answer = event
    typer.echo("")
    return answer


@agent_options
def batch(
    input_file: Annotated[Path, typer.Argument(help="Questions: .jsonl, .csv or .txt")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Answers, one JSON line each")],
    *,
    options: AgentOptions,
    retry_errors: Annotated[
        bool, typer.Option("--retry-errors", help="Answer again the rows that ended in error")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds per question before it is an error")
    ] = None,
    concurrency: ConcurrencyOpt = 1,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Answer on a Ray cluster: its address (127.0.0.1:6379), 'auto' (RAY_ADDRESS "
            "or the one running here) or 'local' (start one here). Needs 'verimath[ray]'",
            show_default=False,
        ),
    ] = None,
    ray_actors: Annotated[
        int, typer.Option("--ray-actors", min=1, help="With --ray: agents answering at once")
    ] = 1,
) -> None:
    """Answer every question in a file. Each answer is written the moment it is done; rerun the
    same command after an interruption and it resumes where it stopped."""
    from verimath.batch import run_batch
    from verimath.questions import read_questions

    # bound generation too, so that an abandoned question stops soon
    config = options.config(generation_time_limit_s=timeout)
    rows, problems = read_questions(input_file)
    for problem in problems:
        typer.echo(f"skipped: {problem}", err=True)
    if ray is not None:
        from functools import partial

        from verimath.ray_batch import run_batch_on_ray

        with question_progress(len(rows)) as progress:
            summary = run_batch_on_ray(
                partial(build_agent, config), rows, output,
                address=ray, actors=ray_actors,
                concurrency=concurrency, retry_errors=retry_errors, timeout_s=timeout,
                on_row=progress,
            )  # fmt: skip
        typer.echo(f"{summary.line()}; written to {output}")
        return
    with build_agent(config) as agent:
        agent.load()  # fail fast on a bad model or index, before the first question
        with question_progress(len(rows)) as progress:
            summary = run_batch(
                agent.ask,
                rows,
                output,
                grade=grader(agent),
                model_name=agent.backend.name,
                retry_errors=retry_errors,
                timeout_s=timeout,
                concurrency=concurrency,
                on_row=progress,
                errors="stop",  # a misconfiguration is one line, not a file of error rows
            )
    typer.echo(f"{summary.line()}; written to {output}")


def grader(agent: Agent) -> Callable[[str, str], bool | None]:
    """How `batch` and `eval` grade an answer against the gold: `Verifier.grade`, by the
    agent's own verifier."""
    from verimath.tools import Verifier

    verifier = agent.context.verifier
    assert isinstance(verifier, Verifier)  # the agent's own: `build_agent` passes none
    return lambda gold, answer: verifier.grade(gold, answer).equivalent


@contextmanager
def question_progress(total: int) -> Iterator[Callable[[dict[str, Any], Any], None]]:
    """A progress bar on stderr (terminals only) with rate, ETA and running accuracy; yields
    the `on_row` callback of `run_batch`."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    columns = (
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[accuracy]}"),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task("questions", total=total, rate="", accuracy="")
        started = False

        def on_row(row: dict[str, Any], summary: Any) -> None:
            nonlocal started
            if not started and summary.done_before:
                bar.advance(task, summary.done_before)  # resumed: already answered
            started = True
            rate = summary.answered / summary.elapsed_s * 60 if summary.elapsed_s else 0.0
            accuracy = f"accuracy {summary.accuracy:.3f}" if summary.accuracy is not None else ""
            bar.update(task, advance=1, rate=f"{rate:.1f} q/min", accuracy=accuracy)

        yield on_row


@agent_options
def serve(
    *,
    options: AgentOptions,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on; 0.0.0.0 for all (set VERIMATH_API_KEY)"),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on")] = 8000,
    # The limits' defaults are ServerLimits' (tests/test_server.py checks they agree).
    max_concurrency: Annotated[
        int, typer.Option("--max-concurrency", min=1, help="Questions answered at once")
    ] = 4,
    max_queue: Annotated[
        int, typer.Option("--max-queue", min=0, help="Requests waiting beyond those; more get 503")
    ] = 32,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.001, help="Seconds per request before 504")
    ] = 600.0,
    max_body_bytes: Annotated[
        int, typer.Option("--max-body-bytes", min=1, help="Larger request bodies get 413")
    ] = 1 << 20,
    max_question_chars: Annotated[
        int | None,
        typer.Option(
            "--max-question-chars",
            min=1,
            help="Longer questions get 422 (default: the agent's max_question_chars)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the agent over HTTP: POST /v1/ask, OpenAI-compatible POST /v1/chat/completions,
    GET /healthz, docs at /docs. With VERIMATH_API_KEY set, requests need that bearer token."""
    from verimath.server import ServerLimits
    from verimath.server import serve as serve_http

    limits = ServerLimits(
        max_body_bytes=max_body_bytes, max_question_chars=max_question_chars,
        max_concurrency=max_concurrency, max_queue=max_queue, timeout_s=timeout,
    )  # fmt: skip
    config = options.config()
    if config.settings().generation_time_limit_s is None:  # an abandoned question stops soon
        config = config.override(generation_time_limit_s=timeout)
    with build_agent(config) as agent:
        serve_http(agent, host=host, port=port, limits=limits)
