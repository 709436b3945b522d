"""The `verimath` command line. Errors become one clean line here, in one place
(set VERIMATH_DEBUG=1 to see the traceback instead).

One module per command group (`answering`: ask, batch, serve; `evaluate`; `checking`;
`indexes`; `mcp`); the options that configure an agent are defined once, in `options`.
"""

from __future__ import annotations

import os
import sys

import click
import typer

from verimath.cli.answering import ask, batch, serve
from verimath.cli.checking import check
from verimath.cli.evaluate import evaluate
from verimath.cli.indexes import index_build, index_info, index_search
from verimath.cli.mcp import serve_mcp
from verimath.errors import VerimathError

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Answer math and science questions, and say whether each answer was checked.",
)
index_app = typer.Typer(no_args_is_help=True, help="Build and search retrieval indexes.")
app.add_typer(index_app, name="index")
app.command()(ask)
app.command()(batch)
app.command()(check)
app.command("eval")(evaluate)
app.command()(serve)
app.command("mcp")(serve_mcp)
index_app.command("build")(index_build)
index_app.command("search")(index_search)
index_app.command("info")(index_info)


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
        # The vendored ClickException (which has `show`) is not public; typer raises no other.
        exc.show()  # type: ignore[union-attr]
        sys.exit(getattr(exc, "exit_code", 2))
