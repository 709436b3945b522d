"""Real FAISS over real MiniLM embeddings: the shipped corpus and user corpora."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verimath.corpora import default_corpus_path
from verimath.errors import IndexFormatError, InputFileError
from verimath.retrieval import Index, default_index, load_passages


def test_shipped_corpus_is_well_formed():
    report = load_passages([default_corpus_path()])
    assert report.errors == []
    ids = [p.id for p in report.passages]
    assert len(ids) >= 50 and len(set(ids)) == len(ids)
    assert all(p.source and p.license and p.title for p in report.passages)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("How do I solve a quadratic equation?", "quadratic"),
        ("third side of a triangle from two sides and the included angle", "cosines"),
        ("pressure volume temperature of a gas", "ideal-gas"),
    ],
)
def test_shipped_index_finds_the_right_passage(shipped_index, query, expected):
    hits = shipped_index.search(query, 3)
    assert any(expected in hit.passage.id for hit in hits), [h.passage.id for h in hits]
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True) and all(-1.01 <= s <= 1.01 for s in scores)


def test_default_index_is_built_once_then_loaded(embeddings):
    first = default_index(embeddings)
    second = default_index(embeddings)
    assert first.manifest == second.manifest
    assert second.manifest.embedding_model == "sentence-transformers/all-MiniLM-L6-v2"


def test_save_and_load_round_trip(tmp_path: Path, shipped_index, embeddings):
    folder = shipped_index.save(tmp_path / "idx")
    assert sorted(p.name for p in folder.iterdir()) == [
        "index.faiss",
        "manifest.json",
        "passages.jsonl",
    ]
    loaded = Index.load(folder, embeddings)
    query = "volume of a sphere"
    assert [h.passage.id for h in loaded.search(query)] == [
        h.passage.id for h in shipped_index.search(query)
    ]


def test_manifest_mismatch_and_non_index_are_clear_errors(
    tmp_path: Path, shipped_index, embeddings
):
    folder = shipped_index.save(tmp_path / "idx")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["embedding_model"] = "someone/else"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError, match="rebuild"):
        Index.load(folder, embeddings)
    with pytest.raises(IndexFormatError, match="verimath index build"):
        Index.load(tmp_path, embeddings)


def test_user_corpus_with_bad_files_still_indexes_the_rest(tmp_path: Path, embeddings):
    (tmp_path / "notes.md").write_text(
        "# Ohm\n\nOhm's law: voltage equals current times resistance, $V = IR$."
    )
    (tmp_path / "broken.txt").write_bytes(b"\xff\xfe\x00binary")
    (tmp_path / "rows.jsonl").write_text(
        '{"id": "r1", "text": "Avogadro constant 6.022e23"}\nnot json\n'
    )
    report = load_passages([tmp_path])
    assert [p.id for p in report.passages] == ["notes#1", "r1"]
    assert len(report.errors) == 2 and any("broken.txt" in e for e in report.errors)
    index = Index.build(report.passages, embeddings)
    assert index.search("resistance and current", 1)[0].passage.id == "notes#1"
    with pytest.raises(InputFileError):
        load_passages([tmp_path / "missing"])


def test_openstax_sections_are_searchable(shared_data, embeddings):
    book = shared_data / "corpora" / "openstax" / "precalculus-2e.jsonl"
    report = load_passages([book])
    assert report.errors == [] and len(report.passages) > 30
    index = Index.build(report.passages, embeddings)
    hits = index.search("how to find the inverse of a function", 5)
    assert any("nverse" in h.passage.title for h in hits), [h.passage.title for h in hits]
