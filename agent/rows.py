"""Rows of JSONL and CSV files with the file's own line numbers: the one row reader.

Corpora, question files, batch resume, eval reports, `verimath check --pairs` and an index's
passages all read rows here, so they agree on what a line number is and what a bad row says:

- A row is `(line, dict)`. `line` is 1-based and is the line a text editor shows: for CSV the
  line where the record starts (the header is line 1), so a quoted field with newlines in it
  does not shift the numbers of the rows after it.
- JSONL lines end at `\\n` only (`\\r\\n` too); Unicode line separators inside a JSON string
  (U+2028, which `ensure_ascii=False` writes as is) do not split a row. Blank lines are skipped.
- A UTF-8 byte order mark at the start of the file is ignored.
- A bad row is a `RowError` (an `InputFileError`): `answers.jsonl:7: not valid JSON (Expecting
  ',' delimiter); fix or remove that line`. By default it is raised; with `on_error` it is handed
  to the caller, who records it, and reading goes on with the next row.
- A file that cannot be read at all (missing, unreadable, a CSV file that is not UTF-8) raises
  a `RowError` whose `line` is None or the line of the first bad byte, whatever `on_error` is.
- `torn_tail="drop"` is for files this program appends to (batch answers): a last line with no
  newline after it that does not parse was cut off by a killed process mid-write; it is dropped
  without a word, every complete row before it is kept. Files people write (`"error"`, the
  default) report such a line like any other, since editors often omit the final newline.

Standard library only: every layer, down to `retrieval`, may import this module.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from verimath.errors import InputFileError

__all__ = ["RowError", "Row", "read_rows", "read_jsonl", "read_csv", "read_parquet", "SUFFIXES"]

Row = tuple[int, dict[str, Any]]
SUFFIXES = (".jsonl", ".csv")
_FIX = "fix or remove that line"
_BOM = b"\xef\xbb\xbf"


class RowError(InputFileError):
    """A row (or, with `line` None, a whole file) that cannot be read: where, why, and the fix.

    `reason` says what is wrong without the place or the fix, for callers that report a skipped
    row in their own words (`f"{e.path}:{e.line}: {e.reason}; skipped"`)."""

    def __init__(self, path: str | Path, line: int | None, reason: str, fix: str = _FIX) -> None:
        self.path, self.line, self.reason, self.fix = str(path), line, reason, fix
        super().__init__(f"{self.where}: {reason}; {fix}")

    @property
    def where(self) -> str:
        """`path:line`, or the path alone for a problem with the whole file."""
        return self.path if self.line is None else f"{self.path}:{self.line}"

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.path, self.line, self.reason, self.fix)


def read_rows(
    path: str | Path,
    *,
    on_error: Callable[[RowError], None] | None = None,
    torn_tail: Literal["error", "drop"] = "error",
) -> Iterator[Row]:
    """The rows of a `.jsonl`, `.csv` or `.parquet` file, chosen by its suffix (in any case)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".jsonl":
        return read_jsonl(path, on_error=on_error, torn_tail=torn_tail)
    if suffix == ".csv":
        return read_csv(path, on_error=on_error)
    if suffix == ".parquet":
        return read_parquet(path)
    raise RowError(path, None, f"'{suffix}' is not a row file", "use .jsonl, .csv or .parquet")


def read_jsonl(
    path: str | Path,
    *,
    on_error: Callable[[RowError], None] | None = None,
    torn_tail: Literal["error", "drop"] = "error",
) -> Iterator[Row]:
    """One JSON object a line. Each line is decoded on its own, so a line that is not UTF-8
    (or a multi-byte character cut in half by a kill) costs that line, not the file."""
    lines = _bytes(path).split(b"\n")
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            problem = RowError(
                path, number, f"not UTF-8 (byte {exc.start + 1} of the line)", "re-save it as UTF-8"
            )
        except json.JSONDecodeError as exc:
            problem = RowError(path, number, f"not valid JSON ({exc.msg})")
        else:
            if isinstance(value, dict):
                yield number, value
                continue
            problem = RowError(path, number, "not a JSON object")
        if torn_tail == "drop" and number == len(lines):  # no newline after it: cut off
            return
        _report(problem, on_error)


def read_csv(
    path: str | Path, *, on_error: Callable[[RowError], None] | None = None
) -> Iterator[Row]:
    """One record a row under a header line, keyed by the header's names. A short record's
    missing fields are None (as `csv.DictReader` gives them); a record with more fields than
    the header is a bad row, since its values cannot be told apart."""
    data = _bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RowError(
            path, line, "not UTF-8, so the file was not read", "re-save it as UTF-8"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        header = next(reader, None)
        while header == []:  # blank lines above the header
            header = next(reader, None)
        while header is not None:
            start = reader.line_num + 1
            values = next(reader, None)
            if values is None:
                return
            if not values:  # a blank line
                continue
            if len(values) > len(header):
                reason = f"{len(values)} fields under a header of {len(header)}"
                _report(
                    RowError(path, start, reason, "quote the fields that hold commas"), on_error
                )
                continue
            row: dict[str, Any] = dict.fromkeys(header)
            row.update(zip(header[: len(values)], values, strict=True))
            yield start, row
    except csv.Error as exc:
        reason = f"malformed CSV ({exc}), so the rest of the file was not read"
        _report(RowError(path, start, reason, "fix the quoting on that line"), on_error)


def read_parquet(path: str | Path) -> Iterator[Row]:
    """The rows of a Parquet file (question sets exported from a data pipeline); a row's
    number counts rows from 1, since Parquet has no lines. Needs pyarrow (Ray Data brings it),
    imported only here so the other readers stay standard library."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        fix = "pip install pyarrow (or 'verimath[ray]', which brings it)"
        raise RowError(path, None, "reading Parquet needs pyarrow", fix) from None
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        reason = f"not a readable Parquet file ({str(exc).splitlines()[0][:120]})"
        raise RowError(path, None, reason, "check the path, or export the file again") from None
    yield from enumerate(table.to_pylist(), 1)


def _bytes(path: str | Path) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = f"unreadable ({exc.strerror or type(exc).__name__})"
        raise RowError(path, None, reason, "check the path and its permissions") from None
    return data.removeprefix(_BOM)


def _report(problem: RowError, on_error: Callable[[RowError], None] | None) -> None:
    if on_error is None:
        raise problem
    on_error(problem)
