"""The one row reader (`verimath.rows`), on real files: line numbers an editor shows, blank
lines, bad rows as one-line errors or reported ones, CSV quoting, a byte order mark, and the
torn last line that a killed batch leaves behind."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from verimath.errors import InputFileError
from verimath.rows import RowError, read_csv, read_jsonl, read_rows


def write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def test_jsonl_rows_carry_the_files_line_numbers_and_skip_blank_lines(tmp_path: Path):
    path = write(tmp_path / "q.jsonl", '{"a": 1}\n\n   \n{"a": 2}\r\n\n{"a": 3}')
    assert list(read_jsonl(path)) == [(1, {"a": 1}), (4, {"a": 2}), (6, {"a": 3})]


def test_a_unicode_line_separator_inside_a_string_does_not_split_a_row(tmp_path: Path):
    text = "x\u2028y\u0085z\x0cw"  # what json.dumps(..., ensure_ascii=False) writes as is
    path = write(tmp_path / "a.jsonl", json.dumps({"t": text}, ensure_ascii=False) + "\n{}\n")
    assert list(read_jsonl(path)) == [(1, {"t": text}), (2, {})]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"a": 1,, "b": 2}', "not valid JSON (Expecting property name enclosed in double quotes)"),
        ("not json", "not valid JSON (Expecting value)"),
        ("[1, 2]", "not a JSON object"),
        ('"text"', "not a JSON object"),
    ],
)
def test_a_bad_line_is_one_error_naming_file_line_and_fix(tmp_path: Path, line, reason):
    path = write(tmp_path / "questions.jsonl", f'{{"a": 1}}\n\n{line}\n{{"a": 2}}\n')
    with pytest.raises(InputFileError) as excinfo:
        list(read_jsonl(path))
    error = excinfo.value
    assert isinstance(error, RowError) and isinstance(error, ValueError)
    assert str(error) == f"{path}:3: {reason}; fix or remove that line"
    assert (error.path, error.line, error.reason) == (str(path), 3, reason)
    assert "\n" not in str(error)


def test_with_on_error_bad_lines_are_reported_and_reading_goes_on(tmp_path: Path):
    path = write(tmp_path / "c.jsonl", '{"a": 1}\n[1]\n{oops\n{"a": 2}\n')
    problems: list[RowError] = []
    rows = list(read_jsonl(path, on_error=problems.append))
    assert rows == [(1, {"a": 1}), (4, {"a": 2})]
    assert [(p.line, p.reason) for p in problems] == [
        (2, "not a JSON object"),
        (3, "not valid JSON (Expecting property name enclosed in double quotes)"),
    ]


def test_a_line_that_is_not_utf8_costs_that_line_only(tmp_path: Path):
    path = write(tmp_path / "l.jsonl", b'{"a": 1}\n{"a": "caf\xe9"}\n{"a": 2}\n')
    problems: list[RowError] = []
    assert list(read_jsonl(path, on_error=problems.append)) == [(1, {"a": 1}), (3, {"a": 2})]
    assert [(p.line, p.reason, p.fix) for p in problems] == [
        (2, "not UTF-8 (byte 11 of the line)", "re-save it as UTF-8")
    ]


def test_a_byte_order_mark_is_ignored(tmp_path: Path):
    jsonl = write(tmp_path / "b.jsonl", b'\xef\xbb\xbf{"a": 1}\n')
    csv = write(tmp_path / "b.csv", b"\xef\xbb\xbfquestion,gold\r\nWhat is 2+2?,4\r\n")
    assert list(read_jsonl(jsonl)) == [(1, {"a": 1})]
    assert list(read_csv(csv)) == [(2, {"question": "What is 2+2?", "gold": "4"})]


def test_csv_rows_are_numbered_by_the_line_where_they_start(tmp_path: Path):
    path = write(
        tmp_path / "q.csv",
        'id,text\n1,"first line\nsecond line\r\nthird, with a comma"\n\n2,"say ""hi"""\n3,plain\n',
    )
    assert list(read_csv(path)) == [
        (2, {"id": "1", "text": "first line\nsecond line\r\nthird, with a comma"}),
        (6, {"id": "2", "text": 'say "hi"'}),
        (7, {"id": "3", "text": "plain"}),
    ]


def test_csv_short_rows_get_none_and_long_rows_are_bad(tmp_path: Path):
    path = write(tmp_path / "q.csv", "id,text,gold\n1,a\n2,b,c,d\n3,e,f\n")
    problems: list[RowError] = []
    rows = list(read_csv(path, on_error=problems.append))
    assert rows == [
        (2, {"id": "1", "text": "a", "gold": None}),
        (4, {"id": "3", "text": "e", "gold": "f"}),
    ]
    assert [(p.line, p.reason) for p in problems] == [(3, "4 fields under a header of 3")]


def test_malformed_csv_names_the_line_of_the_record_and_stops(tmp_path: Path):
    huge = "x" * 200_000  # past the csv module's field size limit
    path = write(tmp_path / "q.csv", f'id,text\n1,ok\n2,"a\n{huge}"\n3,later\n')
    problems: list[RowError] = []
    assert list(read_csv(path, on_error=problems.append)) == [(2, {"id": "1", "text": "ok"})]
    assert len(problems) == 1 and problems[0].line == 3
    assert problems[0].reason.startswith("malformed CSV (field larger than field limit")
    assert problems[0].reason.endswith("so the rest of the file was not read")


def test_a_csv_file_not_in_utf8_is_one_error_for_the_file(tmp_path: Path):
    path = write(tmp_path / "q.csv", b"id,text\n1,ok\n2,caf\xe9\n")
    with pytest.raises(RowError, match=r"q\.csv:3: not UTF-8, so the file was not read; re-save"):
        list(read_csv(path, on_error=lambda problem: None))


def test_a_torn_last_line_is_an_error_by_default_and_dropped_for_resume(tmp_path: Path):
    torn = '{"id": "q1", "answer": "2"}\n{"id": "q2", "answer": "3"}\n{"id": "q3", "sta'
    path = write(tmp_path / "answers.jsonl", torn)
    with pytest.raises(RowError, match=r"answers\.jsonl:3: not valid JSON"):
        list(read_jsonl(path))
    rows = list(read_jsonl(path, torn_tail="drop"))
    assert [row["id"] for _, row in rows] == ["q1", "q2"]


def test_a_torn_multibyte_character_at_the_end_is_dropped_for_resume(tmp_path: Path):
    data = '{"id": "q1"}\n{"id": "q2", "answer": "é'.encode()[:-1]  # é cut in half
    path = write(tmp_path / "answers.jsonl", data)
    assert list(read_jsonl(path, torn_tail="drop")) == [(1, {"id": "q1"})]


def test_a_complete_last_line_without_newline_is_a_row(tmp_path: Path):
    path = write(tmp_path / "a.jsonl", '{"id": "q1"}\n{"id": "q2"}')
    expected = [(1, {"id": "q1"}), (2, {"id": "q2"})]
    assert list(read_jsonl(path)) == list(read_jsonl(path, torn_tail="drop")) == expected


def test_only_the_last_line_can_be_torn(tmp_path: Path):
    path = write(tmp_path / "a.jsonl", '{"id": "q1"}\n{"id": "q2", "sta\n{"id": "q3"}\n')
    with pytest.raises(RowError, match=r"a\.jsonl:2: not valid JSON"):
        list(read_jsonl(path, torn_tail="drop"))


def test_read_rows_picks_the_format_by_suffix_and_missing_files_fail_in_one_line(
    tmp_path: Path,
):
    csv = write(tmp_path / "Q.CSV", "question\nWhy?\n")
    assert list(read_rows(csv)) == [(2, {"question": "Why?"})]
    with pytest.raises(RowError, match=r"'\.txt' is not a row file; use \.jsonl, \.csv or \.pa"):
        read_rows(tmp_path / "q.txt")
    missing = tmp_path / "missing.jsonl"
    with pytest.raises(RowError) as excinfo:
        list(read_jsonl(missing, on_error=lambda problem: None))
    assert excinfo.value.line is None
    assert str(excinfo.value) == (
        f"{missing}: unreadable (No such file or directory); check the path and its permissions"
    )


def test_a_row_error_survives_pickling(tmp_path: Path):
    error = RowError(tmp_path / "a.jsonl", 7, "not a JSON object")
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.line, copy.reason) == (str(error), 7, "not a JSON object")


def test_parquet_rows_are_numbered_from_one_and_keep_their_types(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "questions.parquet"
    table = pa.table({"id": ["a", "b"], "question": ["Solve 2x = 4", "Pick one"],
                      "choices": [None, ["1", "2"]], "level": [3, 5]})  # fmt: skip
    pq.write_table(table, path)
    assert list(read_rows(path)) == [
        (1, {"id": "a", "question": "Solve 2x = 4", "choices": None, "level": 3}),
        (2, {"id": "b", "question": "Pick one", "choices": ["1", "2"], "level": 5}),
    ]
    broken = write(tmp_path / "broken.parquet", "id,question\n")
    with pytest.raises(RowError, match=r"broken\.parquet: not a readable Parquet file .*export"):
        list(read_rows(broken))
