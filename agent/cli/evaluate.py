"""`verimath eval`: a graded dataset, ablations side by side, and a report with plots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from verimath.cli.answering import grader, question_progress
from verimath.cli.options import AgentOptions, ConcurrencyOpt, agent_options, build_agent

__all__ = ["evaluate"]


@agent_options
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
            "--ablate",
            help="Also run without: retrieval,verification,sampling,cross-checks,grounding "
            "(comma list)",
        ),
    ] = None,
    *,
    options: AgentOptions,
    concurrency: ConcurrencyOpt = 1,
) -> None:
    """Answer a graded dataset (ablations side by side) and write a report with plots.
    Interrupted? Run the same command again: each variant resumes like `batch`."""
    from verimath.evaluation import ablated_agent, parse_ablations, run_evaluation
    from verimath.questions import read_questions

    config = options.config()
    ablations = parse_ablations(ablate)
    rows, problems = read_questions(dataset)
    rows = [r for r in rows if r.gold is not None][:limit]
    for problem in problems:
        typer.echo(f"skipped: {problem}", err=True)
    report_dir = output or Path(f"eval-{dataset.stem}")
    with build_agent(config) as full:
        full.load()
        grade = grader(full)
        # the same model, verifier and index, one thing taken away; closing them closes nothing
        variants = {f"no-{name}": ablated_agent(full, name) for name in ablations}
        answerers = {"full": (full.ask, grade)}
        answerers.update({name: (variant.ask, grade) for name, variant in variants.items()})
        with question_progress(len(rows) * len(answerers)) as progress:
            results = run_evaluation(
                answerers, rows, report_dir, concurrency=concurrency, on_row=progress
            )
    for m in results:
        precision = "n/a" if m.verified_precision is None else f"{m.verified_precision:.3f}"
        crossed = m.cross_checked_precision
        crossed_right = "n/a" if crossed is None else f"{crossed:.3f}"
        typer.echo(
            f"{m.variant}: {m.questions} questions, accuracy {m.accuracy:.3f}, "
            f"verified {m.statuses.get('verified', 0)} (right {precision}), "
            f"cross-checked {m.statuses.get('cross-checked', 0)} (right {crossed_right})"
        )
    typer.echo(f"report: {report_dir / 'summary.md'}")
