"""`verimath check`: compare two answers, check an answer against its question, or a file of
pairs, with the SymPy verifier alone (no model)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from verimath.cli.options import JsonOpt
from verimath.errors import InputFileError

__all__ = ["check"]


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
    from verimath.rows import RowError, read_jsonl

    if not pairs.is_file():
        raise InputFileError(f"pairs file '{pairs}' does not exist; check the path")

    def skip(problem: RowError) -> None:
        typer.echo(f"skipped: {problem.where}: {problem.reason}", err=True)

    out = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        for number, row in read_jsonl(pairs, on_error=skip):
            if "gold" not in row or "candidate" not in row:
                skip(RowError(pairs, number, "needs a gold and a candidate"))
                continue
            gold, candidate = str(row["gold"]), str(row["candidate"])
            result = verifier.equivalent(gold, candidate)
            row.update(equivalent=result.equivalent, reason=result.reason)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        if output:
            out.close()
