"""What every generator shares: the row shape, the extra it needs, and the JSONL it writes."""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from verimath.errors import MissingExtraError

__all__ = ["import_extra", "row", "write_jsonl"]

_HINT = "pip install 'verimath[corpora]'"


def import_extra(name: str) -> Any:
    """Import a package of the `[corpora]` extra, or say how to install it."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            f"generating the corpus needs {name.split('.')[0]}; run: {_HINT}"
        ) from exc


def row(slug: str, title: str, text: str, source: str, licence: str) -> dict[str, str]:
    """One corpus row, in the fields every shipped corpus file has (tests/test_corpora.py)."""
    return {"id": slug, "title": title, "text": text, "source": source, "license": licence}


def write_jsonl(rows: Sequence[dict[str, str]], path: Path) -> Path:
    """One JSON object per line, UTF-8 as written, so that a regenerated file diffs cleanly."""
    lines = [json.dumps(item, ensure_ascii=False) for item in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
