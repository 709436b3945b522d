"""The `verimath` command line. Errors become one clean line here, in one place
(set VERIMATH_DEBUG=1 to see the traceback instead)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from verimath.errors import InputFileError, VerimathError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Answer math and science questions, and say whether each answer was checked.",
)
index_app = typer.Typer(no_args_is_help=True, help="Build and search retrieval indexes.")
app.add_typer(index_app, name="index")

ModelOpt = Annotated[
    str,
    typer.Option(
        "--model", "-m", help="demo, an HF id, a local folder or .gguf file, or a served model"
    ),
]
BaseUrlOpt = Annotated[
    str | None, typer.Option("--base-url", help="An OpenAI-compatible server (vLLM, llama.cpp)")
]
TokensOpt = Annotated[
    int | None, typer.Option("--max-new-tokens", help="Generation budget per attempt")
]
IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="A saved index folder (default: shipped corpus)")
]
NoRetrievalOpt = Annotated[bool, typer.Option("--no-retrieval", help="Answer without passages")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON")]


def _agent(
    model: str,
    base_url: str | None,
    max_new_tokens: int | None,
    index: Path | None,
    no_retrieval: bool,
) -> Any:
    from verimath.agent import Agent
    from verimath.graphs import Settings

    settings = Settings(max_new_tokens=max_new_tokens) if max_new_tokens else None
    return Agent(
        model, base_url=base_url, index=False if no_retrieval else index, settings=settings
    )


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question")],
    model: ModelOpt = "microsoft/Phi-4-mini-reasoning",
    base_url: BaseUrlOpt = None,
    max_new_tokens: TokensOpt = None,
    index: IndexOpt = None,
    no_retrieval: NoRetrievalOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Answer one question, with its status, checks and citations."""
    with _agent(model, base_url, max_new_tokens, index, no_retrieval) as agent:
        answer = agent.ask(question)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    typer.echo(f"Question: {answer.question}")
    typer.echo(f"Answer:   {answer.answer if answer.answer is not None else '(none)'}")
    typer.echo(f"Status:   {answer.status.upper()}")
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


@app.command()
def batch(
    input_file: Annotated[Path, typer.Argument(help="Questions: .jsonl, .csv or .txt")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Answers, one JSON line each")],
    model: ModelOpt = "microsoft/Phi-4-mini-reasoning",
    base_url: BaseUrlOpt = None,
    max_new_tokens: TokensOpt = None,
    index: IndexOpt = None,
    no_retrieval: NoRetrievalOpt = False,
) -> None:
    """Answer every question in a file, writing each answer as soon as it is done."""
    from verimath.answer import Answer
    from verimath.questions import read_questions

    rows, problems = read_questions(input_file)
    for problem in problems:
        typer.echo(f"skipped: {problem}", err=True)
    counts: dict[str, int] = {}
    with _agent(model, base_url, max_new_tokens, index, no_retrieval) as agent:
        agent.load()  # fail fast on a bad model or index, before the first question
        with output.open("w", encoding="utf-8") as out:
            for row in rows:
                try:
                    answer = agent.ask(row.question)
                except VerimathError:
                    raise
                except Exception as exc:  # one broken question is a row, not an aborted batch
                    answer = Answer.failed(row.question, exc, model=agent.backend.name)
                record = {"id": row.id, **answer.to_dict(), "metadata": row.metadata}
                if row.gold is not None:
                    record["gold"] = row.gold
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                out.flush()
                counts[answer.status] = counts.get(answer.status, 0) + 1
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    typer.echo(f"answered {len(rows)} questions into {output}: {summary or 'nothing'}")


@app.command()
def check(
    gold: Annotated[str | None, typer.Argument(help="The reference answer")] = None,
    candidate: Annotated[str | None, typer.Argument(help="The answer to compare")] = None,
    pairs: Annotated[
        Path | None, typer.Option("--pairs", help="JSONL rows with gold and candidate")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write rows here")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide whether two answers are equivalent (true, false, or null when undecidable)."""
    from verimath.tools import Verifier

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
    sources: Annotated[list[Path], typer.Argument(help="Files or folders (.jsonl, .txt, .md)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Index folder to write")],
) -> None:
    """Build a FAISS index over your own documents."""
    from verimath.retrieval import Index, default_embeddings, load_passages

    report = load_passages(sources)
    for error in report.errors:
        typer.echo(f"skipped: {error}", err=True)
    index = Index.build(report.passages, default_embeddings())
    index.save(output)
    typer.echo(f"indexed {len(index)} passages into {output}")


@index_app.command("search")
def index_search(
    query: Annotated[str, typer.Argument(help="What to look for")],
    index: IndexOpt = None,
    k: Annotated[int, typer.Option("--k", help="How many hits")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """Search an index (default: the shipped corpus) and print the hits."""
    from verimath.retrieval import Index, default_embeddings, default_index, read_manifest

    if index:
        read_manifest(index)  # a wrong folder fails before the embedding model loads
    embeddings = default_embeddings()
    searcher = Index.load(index, embeddings) if index else default_index(embeddings)
    hits = searcher.search(query, k)
    rows = [{**h.passage.to_dict(), "score": round(h.score, 4)} for h in hits]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['score']:.3f}  {row['id']}  {row['title']}")


@app.command("eval")
def evaluate(
    dataset: Annotated[Path, typer.Argument(help="JSONL with question/problem and answer")],
    limit: Annotated[int | None, typer.Option("--limit", help="First N questions")] = None,
    model: ModelOpt = "microsoft/Phi-4-mini-reasoning",
    base_url: BaseUrlOpt = None,
    max_new_tokens: TokensOpt = None,
    no_retrieval: NoRetrievalOpt = False,
) -> None:
    """Answer a dataset and grade each answer against its gold with the equivalence checker."""
    from verimath.questions import read_questions

    rows, problems = read_questions(dataset)
    rows = [r for r in rows if r.gold is not None][:limit]
    for problem in problems:
        typer.echo(f"skipped: {problem}", err=True)
    correct = verified = verified_wrong = 0
    with _agent(model, base_url, max_new_tokens, None, no_retrieval) as agent:
        for row in rows:
            answer = agent.ask(row.question)
            ok = answer.answer is not None and (
                agent.context.verifier.equivalent(str(row.gold), answer.answer).equivalent is True
            )
            correct += ok
            verified += answer.status == "verified"
            verified_wrong += answer.status == "verified" and not ok
    n = len(rows)
    typer.echo(
        f"{dataset.name}: {n} questions, accuracy {correct / max(n, 1):.3f}, "
        f"verified {verified}, verified but wrong {verified_wrong}"
    )


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
    except click.exceptions.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
