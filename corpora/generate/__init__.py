"""Write the generated corpus files from maintained packages, so that no value is typed by hand.

`constants.jsonl` comes from `scipy.constants` (CODATA recommended values and unit definitions);
`elements.jsonl` comes from `periodictable` (standard atomic weights, densities, covalent radii).
Each passage is a few plain sentences worded for dense retrieval, and names its source and
licence. Run `python -m corpora.generate [FOLDER]` from the repository root after upgrading
either package (`pip install -e '.[corpora]'`); the committed files are compared with a fresh run
in tests/test_corpora.py.

This is a maintainer's tool, kept beside the files it writes but left out of the wheel: the
installed package ships the data, not the means to regenerate it.
"""

from __future__ import annotations

from pathlib import Path

from .constants import constant_rows
from .elements import element_rows
from .rows import write_jsonl
from .units import unit_rows

__all__ = ["GENERATED_FILES", "generate"]

GENERATED_FILES = ("constants.jsonl", "elements.jsonl")


def generate(folder: Path) -> list[Path]:
    """Write every generated corpus file into `folder`; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_jsonl(constant_rows() + unit_rows(), folder / "constants.jsonl"),
        write_jsonl(element_rows(), folder / "elements.jsonl"),
    ]
