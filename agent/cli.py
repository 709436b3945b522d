"""The `verimath` command line. Errors become one clean line here, in one place
(set VERIMATH_DEBUG=1 to see the traceback instead)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer

from verimath.errors import InputFileError, VerimathError

if TYPE_CHECKING:
    from verimath.agent import Agent
    from verimath.config import Config

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Answer math and science questions, and say whether each answer was checked.",
)
index_app = typer.Typer(no_args_is_help=True, help="Build and search retrieval indexes.")
app.add_typer(index_app, name="index")

# The options that configure an agent default to None ("not given"), so that a config file's
# value stands unless the option is on the command line (see `_config`).
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="VERIMATH_CONFIG",
        help="A TOML config file (see examples/verimath.toml); options given here win over it",
        show_default=False,
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="SECTION.KEY=VALUE",
        help="Set any config key, e.g. sampling.temperature=0.8 (repeatable)",
        show_default=False,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="demo, an HF id, a local folder or .gguf file, or a served model "
        "(default microsoft/Phi-4-mini-reasoning)",
        show_default=False,
    ),
]
BaseUrlOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--base-url",
        help="An OpenAI-compatible server (vLLM, llama.cpp); repeat it for replicas of one model",
        show_default=False,
    ),
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="What runs a local model: transformers (default), or llama.cpp for a .gguf file "
        # `\\[`: help text is rich markup, where a bare [gguf] would be read as a tag and vanish
        "or the demo, faster on a CPU (pip install 'verimath\\[gguf]')",
        show_default=False,
    ),
]
TokensOpt = Annotated[
    int | None, typer.Option("--max-new-tokens", help="Generation budget per attempt")
]
IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="A saved index folder (default: shipped corpus)")
]
RetrievalOpt = Annotated[
    bool | None,
    typer.Option(
        "--retrieval/--no-retrieval", help="Answer with passages or without (default with)"
    ),
]
SamplesOpt = Annotated[
    int | None,
    typer.Option("--samples", help="Most candidate answers per question (sampling.samples)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON")]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", min=1, help="Questions in flight at once (one shared model)")
]


def _config(
    config_file: Path | None,
    sets: list[str] | None,
    *,
    retrieval: bool | None = None,
    index: Path | None = None,
    **options: Any,
) -> Config:
    """The run's `Config`. Precedence: options on the command line > --set > the config file
    (--config, else $VERIMATH_CONFIG) > defaults. An option left out (None) sets nothing."""
    from verimath.config import load_config

    if index is not None and retrieval is None:
        retrieval = True  # --index DIR asks for passages from DIR, whatever the file says
    options.update({"index": index, "retrieval.enabled": retrieval})
    given = {key: value for key, value in options.items() if value is not None}
    return load_config(config_file, sets=sets or (), **given)


def _agent(config: Config) -> Agent:
    """The one place the command line builds an agent."""
    from verimath.agent import Agent

    return Agent(**config.agent_kwargs())


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question")],
    config_file: ConfigOpt = None,
    sets: SetOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    backend: BackendOpt = None,
    max_new_tokens: TokensOpt = None,
    samples: SamplesOpt = None,
    index: IndexOpt = None,
    retrieval: RetrievalOpt = None,
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

    config = _config(
        config_file, sets, model=model, base_url=base_url, backend=backend,
        max_new_tokens=max_new_tokens,
        samples=samples, index=index, retrieval=retrieval,
    )  # fmt: skip
    if thread is not None and config.checkpoint is None:
        raise ConfigError(
            "--thread needs a file to keep the conversation in; add --set checkpoint=FILE, "
            'or checkpoint = "FILE" to the config file'
        )
    with _agent(config) as agent:
        if stream:
            answer = _print_stream(agent, question, thread)
        else:
            answer = agent.ask(question, thread_id=thread)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    typer.echo(f"Question: {answer.question}")
    typer.echo(f"Answer:   {answer.answer if answer.answer is not None else '(none)'}")
    typer.echo(f"Status:   {answer.status.upper()}")
    if len(answer.candidates) > 1:
        agreed = answer.confidence is not None and answer.candidates[-1].source == "model"
        agreement = f", {answer.confidence:.0%} agreed" if agreed else ""
        typer.echo(f"Candidates ({answer.attempts} from the model{agreement}):")
        for n, c in enumerate(answer.candidates, 1):
            by = "" if c.source == "model" else f" (from {c.source})"
            typer.echo(f"  {n}. {c.answer if c.answer is not None else '(none)'}: {c.status}{by}")
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
    t, u = answer.timings, answer.usage
    typer.echo(
        f"Model: {answer.model} | attempts {answer.attempts} | {t['total_ms'] / 1000:.1f} s "
        f"(generate {t['generate_ms'] / 1000:.1f} s) | {u.completion_tokens} tokens"
    )


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


@app.command()
def batch(
    input_file: Annotated[Path, typer.Argument(help="Questions: .jsonl, .csv or .txt")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Answers, one JSON line each")],
    config_file: ConfigOpt = None,
    sets: SetOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    backend: BackendOpt = None,
    max_new_tokens: TokensOpt = None,
    samples: SamplesOpt = None,
    index: IndexOpt = None,
    retrieval: RetrievalOpt = None,
    retry_errors: Annotated[
        bool, typer.Option("--retry-errors", help="Answer again the rows that ended in error")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds per question before it is an error")
    ] = None,
    concurrency: ConcurrencyOpt = 1,
) -> None:
    """Answer every question in a file. Each answer is written the moment it is done; rerun the
    same command after an interruption and it resumes where it stopped."""
    from verimath.batch import run_batch
    from verimath.questions import read_questions

    config = _config(
        config_file, sets, model=model, base_url=base_url, backend=backend,
        max_new_tokens=max_new_tokens,
        samples=samples, index=index, retrieval=retrieval,
        # bound generation too, so that an abandoned question stops soon
        generation_time_limit_s=timeout,
    )  # fmt: skip
    rows, problems = read_questions(input_file)
    for problem in problems:
        typer.echo(f"skipped: {problem}", err=True)
    with _agent(config) as agent:
        agent.load()  # fail fast on a bad model or index, before the first question
        verifier = agent.context.verifier
        with _question_progress(len(rows)) as progress:
            summary = run_batch(
                agent.ask,
                rows,
                output,
                grade=lambda gold, answer: verifier.grade(gold, answer).equivalent,
                model_name=agent.backend.name,
                retry_errors=retry_errors,
                timeout_s=timeout,
                concurrency=concurrency,
                on_row=progress,
            )
    typer.echo(f"{summary.line()}; written to {output}")


@contextmanager
def _question_progress(total: int) -> Iterator[Callable[[dict[str, Any], Any], None]]:
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


@app.command()
def check(
    gold: Annotated[str | None, typer.Argument(help="The reference answer")] = None,
    candidate: Annotated[str | None, typer.Argument(help="The answer to compare")] = None,
    pairs: Annotated[
        Path | None, typer.Option("--pairs", help="JSONL rows with gold and candidate")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write rows here")] = None,
    question: Annotated[
        str | None,
        typer.Option("--question", "-q", help="Check ANSWER against this question instead"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide whether two answers are equivalent (true, false, or null when undecidable), or
    with --question, run the SymPy tool: `verimath check -q "Solve x^2=4" "x = \\pm 2"`."""
    from verimath.tools import Verifier

    if question is not None:
        answer = candidate if candidate is not None else gold
        if answer is None or (gold is not None and candidate is not None):
            raise typer.BadParameter("with --question give exactly one ANSWER")
        with Verifier() as verifier:
            verdict = verifier.check_answer(question, answer)
        if as_json:
            typer.echo(json.dumps(verdict.to_dict(), ensure_ascii=False))
            return
        typer.echo(f"status: {verdict.status}")
        for item in verdict.checks:
            typer.echo(f"  {item.name}: {item.outcome} - {item.detail}")
        return
    if pairs is None and (gold is None or candidate is None):
        raise typer.BadParameter("give GOLD and CANDIDATE, or --pairs FILE.jsonl")
    with Verifier() as verifier:
        if pairs is None:
            result = verifier.equivalent(str(gold), str(candidate)).to_dict()
            if as_json:
                typer.echo(json.dumps(result))
            else:
                typer.echo(f"equivalent: {json.dumps(result['equivalent'])} ({result['reason']})")
            return
        _check_pairs(verifier, pairs, output)


def _check_pairs(verifier: Any, pairs: Path, output: Path | None) -> None:
    if not pairs.is_file():
        raise InputFileError(f"pairs file '{pairs}' does not exist; check the path")
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        for number, line in enumerate(pairs.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                gold, candidate = str(row["gold"]), str(row["candidate"])
            except (json.JSONDecodeError, KeyError, TypeError):
                typer.echo(
                    f"skipped: {pairs}:{number}: needs JSON with gold and candidate", err=True
                )
                continue
            result = verifier.equivalent(gold, candidate)
            row.update(equivalent=result.equivalent, reason=result.reason)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        if output:
            out.close()


@index_app.command("build")
def index_build(
    sources: Annotated[
        list[Path], typer.Argument(help="Files or folders (.md .txt .tex .pdf .jsonl .csv)")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Index folder to write")],
    kind: Annotated[
        str, typer.Option("--kind", help="flat (exact), hnsw (approximate), or auto by size")
    ] = "auto",
    hnsw: Annotated[bool, typer.Option("--hnsw", help="Shorthand for --kind hnsw")] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Embed everything; skip the embedding cache")
    ] = False,
) -> None:
    """Build a hybrid (FAISS + BM25) index over your own documents."""
    from rich.console import Console
    from rich.progress import Progress

    from verimath.errors import ConfigError
    from verimath.retrieval import Corpus, EmbeddingCache, Index, cache_dir, default_embeddings

    kind = "hnsw" if hnsw else kind
    if kind not in ("flat", "hnsw", "auto"):
        raise ConfigError(f"unknown index kind '{kind}'; use --kind flat, hnsw or auto")
    corpus = Corpus.from_paths(sources)
    for error in corpus.errors:
        typer.echo(f"skipped: {error}", err=True)
    if corpus.skipped:
        typer.echo(f"ignored {len(corpus.skipped)} files of other types", err=True)
    cache = None if no_cache else EmbeddingCache(cache_dir() / "embeddings.sqlite3")
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("embedding", total=None)
        index = Index.build(
            corpus.passages,
            default_embeddings(),
            kind=kind,  # type: ignore[arg-type]
            cache=cache,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    index.save(output)
    embedded = f"{cache.stats.misses} embedded, {cache.stats.hits} cached" if cache else "no cache"
    flagged = sum(bool(p.flags) for p in index.passages)
    typer.echo(
        f"indexed {len(index)} passages from {corpus.files} files into {output}: {index.kind}, "
        f"{embedded}, {len(corpus.errors)} skipped, {flagged} with instruction-like text removed"
    )


@index_app.command("search")
def index_search(
    query: Annotated[str, typer.Argument(help="What to look for")],
    index: IndexOpt = None,
    k: Annotated[int, typer.Option("--k", help="How many hits")] = 5,
    mode: Annotated[
        str, typer.Option("--mode", help="hybrid (dense + BM25), dense, or bm25")
    ] = "hybrid",
    as_json: JsonOpt = False,
) -> None:
    """Search an index (default: the shipped corpus) and print the hits."""
    from verimath.errors import ConfigError
    from verimath.retrieval import Index, default_embeddings, default_index, read_manifest

    if mode not in ("hybrid", "dense", "bm25"):
        raise ConfigError(f"unknown search mode '{mode}'; use hybrid, dense or bm25")
    if index:
        read_manifest(index)  # a wrong folder fails before the embedding model loads
    embeddings = default_embeddings()
    searcher = Index.load(index, embeddings) if index else default_index(embeddings)
    hits = searcher.search(query, k, mode)  # type: ignore[arg-type]
    rows = [
        {
            **h.passage.to_dict(),
            "score": round(h.score, 4),
            "fused": None if h.fused is None else round(h.fused, 5),
            "bm25": None if h.bm25 is None else round(h.bm25, 4),
        }
        for h in hits
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        section = f" [{row['section']}]" if row["section"] else ""
        typer.echo(f"{row['score']:.3f}  {row['id']}  {row['title']}{section}")


@index_app.command("info")
def index_info(
    folder: Annotated[Path, typer.Argument(help="A saved index folder")],
    as_json: JsonOpt = False,
) -> None:
    """Describe a saved index: model, dimension, count, kind, corpus hash, format, size."""
    from dataclasses import asdict

    from verimath.retrieval import read_manifest, size_on_disk

    info = {"path": str(folder), **asdict(read_manifest(folder)), "bytes": size_on_disk(folder)}
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    params = ", ".join(f"{k}={v}" for k, v in info["params"].items()) or "-"
    lines = [
        ("path", info["path"]),
        ("embedding model", info["embedding_model"]),
        ("dimension", info["dimension"]),
        ("passages", info["count"]),
        ("kind", f"{info['kind']} ({params})"),
        ("metric", info["metric"]),
        ("tokenizer", info["tokenizer"]),
        ("corpus sha256", info["corpus_sha256"]),
        ("format version", info["format_version"]),
        ("size on disk", f"{info['bytes'] / 2**20:.1f} MiB ({info['bytes']} bytes)"),
    ]
    for label, value in lines:
        typer.echo(f"{label}: {value}")


@app.command("eval")
def evaluate(
    dataset: Annotated[
        Path,
        typer.Argument(
            help="JSONL with question/problem and answer (choices for multiple choice), "
            "or a folder of such files"
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Report folder (default eval-NAME)")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="First N questions")] = None,
    ablate: Annotated[
        str | None,
        typer.Option(
            "--ablate", help="Also run without: retrieval,verification,sampling (comma list)"
        ),
    ] = None,
    config_file: ConfigOpt = None,
    sets: SetOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    backend: BackendOpt = None,
    max_new_tokens: TokensOpt = None,
    samples: SamplesOpt = None,
    index: IndexOpt = None,
    retrieval: RetrievalOpt = None,
    concurrency: ConcurrencyOpt = 1,
) -> None:
    """Answer a graded dataset (ablations side by side) and write a report with plots.
    Interrupted? Run the same command again: each variant resumes like `batch`."""

    from verimath.agent import Agent
    from verimath.evaluation import ablated_settings, parse_ablations, run_evaluation
    from verimath.questions import read_questions

    config = _config(
        config_file, sets, model=model, base_url=base_url, backend=backend,
        max_new_tokens=max_new_tokens,
        samples=samples, index=index, retrieval=retrieval,
    )  # fmt: skip
    ablations = parse_ablations(ablate)
    rows, problems = read_questions(dataset)
    rows = [r for r in rows if r.gold is not None][:limit]
    for problem in problems:
        typer.echo(f"skipped: {problem}", err=True)
    report_dir = output or Path(f"eval-{dataset.stem}")
    with _agent(config) as full:
        full.load()
        context = full.context
        verifier = context.verifier

        def grade(gold: str, answer: str) -> bool | None:
            return verifier.grade(gold, answer).equivalent

        answerers = {"full": (full.ask, grade)}
        variants = []
        for name in ablations:  # the same model, verifier and index, one thing taken away
            variant = Agent(
                full.backend,
                index=False if name == "retrieval" else (context.retriever or False),
                verifier=verifier,
                settings=ablated_settings(name, full.settings),
            )
            variants.append(variant)
            answerers[f"no-{name}"] = (variant.ask, grade)
        try:
            with _question_progress(len(rows) * len(answerers)) as progress:
                results = run_evaluation(
                    answerers, rows, report_dir, concurrency=concurrency, on_row=progress
                )
        finally:
            for variant in variants:
                variant.close()
    for m in results:
        precision = "n/a" if m.verified_precision is None else f"{m.verified_precision:.3f}"
        typer.echo(
            f"{m.variant}: {m.questions} questions, accuracy {m.accuracy:.3f}, "
            f"verified {m.statuses.get('verified', 0)} (right {precision})"
        )
    typer.echo(f"report: {report_dir / 'summary.md'}")


@app.command()
def serve(
    config_file: ConfigOpt = None,
    sets: SetOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    backend: BackendOpt = None,
    max_new_tokens: TokensOpt = None,
    samples: SamplesOpt = None,
    index: IndexOpt = None,
    retrieval: RetrievalOpt = None,
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
    config = _config(
        config_file, sets, model=model, base_url=base_url, backend=backend,
        max_new_tokens=max_new_tokens, samples=samples, index=index, retrieval=retrieval,
    )  # fmt: skip
    if config.settings().generation_time_limit_s is None:  # an abandoned question stops soon
        config = config.override(generation_time_limit_s=timeout)
    with _agent(config) as agent:
        serve_http(agent, host=host, port=port, limits=limits)


def main() -> None:
    """Console entry point: one-line errors, tracebacks only with VERIMATH_DEBUG=1."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # loading bars from libraries are noise here
    try:
        app(standalone_mode=False)
    except VerimathError as exc:
        if os.environ.get("VERIMATH_DEBUG"):
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except (typer.Abort, click.exceptions.Abort):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except (typer.exceptions.TyperException, click.ClickException) as exc:
        # typer >= 0.29 raises its own vendored click exceptions; older typer raises click's.
        exc.show()
        sys.exit(getattr(exc, "exit_code", 2))


if __name__ == "__main__":
    main()
