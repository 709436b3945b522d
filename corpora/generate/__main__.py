"""`python -m corpora.generate [FOLDER]`, from the repository root: rewrite the generated files."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from . import GENERATED_FILES, generate

CORPORA = Path(__file__).resolve().parents[1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m corpora.generate",
        description=f"Rewrite {' and '.join(GENERATED_FILES)} from scipy and periodictable.",
    )
    parser.add_argument(
        "folder",
        nargs="?",
        type=Path,
        default=CORPORA,
        help=f"where to write the files (default: {CORPORA}, beside the committed ones)",
    )
    args = parser.parse_args(argv)
    for path in generate(args.folder):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
