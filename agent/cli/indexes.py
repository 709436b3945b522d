"""`verimath index build | search | info`: retrieval indexes over your own documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from verimath.cli.options import IndexOpt, JsonOpt

__all__ = ["index_build", "index_search", "index_info"]


def index_build(
    sources: Annotated[
        list[Path], typer.Argument(help="Files or folders (.md .txt .tex .pdf .jsonl .csv)")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Index folder to write")],
    kind: Annotated[
        str, typer.Option("--kind", help="flat (exact), hnsw (approximate), or auto by size")
    ] = "auto",
    hnsw: Annotated[bool, typer.Option("--hnsw", help="Shorthand for --kind hnsw")] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Embed everything; skip the embedding cache")
    ] = False,
) -> None:
    """Build a hybrid (FAISS + BM25) index over your own documents."""
    from rich.console import Console
    from rich.progress import Progress

    from verimath.errors import ConfigError
    from verimath.retrieval import Corpus, EmbeddingCache, Index, cache_dir, default_embeddings

    kind = "hnsw" if hnsw else kind
    if kind not in ("flat", "hnsw", "auto"):
        raise ConfigError(f"unknown index kind '{kind}'; use --kind flat, hnsw or auto")
    corpus = Corpus.from_paths(sources)
    for error in corpus.errors:
        typer.echo(f"skipped: {error}", err=True)
    if corpus.skipped:
        typer.echo(f"ignored {len(corpus.skipped)} files of other types", err=True)
    cache = None if no_cache else EmbeddingCache(cache_dir() / "embeddings.sqlite3")
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("embedding", total=None)
        index = Index.build(
            corpus.passages,
            default_embeddings(),
            kind=kind,  # type: ignore[arg-type]
            cache=cache,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    index.save(output)
    embedded = f"{cache.stats.misses} embedded, {cache.stats.hits} cached" if cache else "no cache"
    flagged = sum(bool(p.flags) for p in index.passages)
    typer.echo(
        f"indexed {len(index)} passages from {corpus.files} files into {output}: {index.kind}, "
        f"{embedded}, {len(corpus.errors)} skipped, {flagged} with instruction-like text removed"
    )


def index_search(
    query: Annotated[str, typer.Argument(help="What to look for")],
    index: IndexOpt = None,
    k: Annotated[int, typer.Option("--k", help="How many hits")] = 5,
    mode: Annotated[
        str, typer.Option("--mode", help="hybrid (dense + BM25), dense, or bm25")
    ] = "hybrid",
    as_json: JsonOpt = False,
) -> None:
    """Search an index (default: the shipped corpus) and print the hits."""
    from verimath.errors import ConfigError
    from verimath.retrieval import Index, default_embeddings, default_index, read_manifest

    if mode not in ("hybrid", "dense", "bm25"):
        raise ConfigError(f"unknown search mode '{mode}'; use hybrid, dense or bm25")
    if index:
        read_manifest(index)  # a wrong folder fails before the embedding model loads
    embeddings = default_embeddings()
    searcher = Index.load(index, embeddings) if index else default_index(embeddings)
    hits = searcher.search(query, k, mode)  # type: ignore[arg-type]
    rows = [
        {
            **h.passage.to_dict(),
            "score": round(h.score, 4),
            "fused": None if h.fused is None else round(h.fused, 5),
            "bm25": None if h.bm25 is None else round(h.bm25, 4),
        }
        for h in hits
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        section = f" [{row['section']}]" if row["section"] else ""
        typer.echo(f"{row['score']:.3f}  {row['id']}  {row['title']}{section}")


def index_info(
    folder: Annotated[Path, typer.Argument(help="A saved index folder")],
    as_json: JsonOpt = False,
) -> None:
    """Describe a saved index: model, dimension, count, kind, corpus hash, format, size."""
    from dataclasses import asdict

    from verimath.retrieval import read_manifest, size_on_disk

    info = {"path": str(folder), **asdict(read_manifest(folder)), "bytes": size_on_disk(folder)}
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    params = ", ".join(f"{k}={v}" for k, v in info["params"].items()) or "-"
    lines = [
        ("path", info["path"]),
        ("embedding model", info["embedding_model"]),
        ("dimension", info["dimension"]),
        ("passages", info["count"]),
        ("kind", f"{info['kind']} ({params})"),
        ("metric", info["metric"]),
        ("tokenizer", info["tokenizer"]),
        ("corpus sha256", info["corpus_sha256"]),
        ("format version", info["format_version"]),
        ("size on disk", f"{info['bytes'] / 2**20:.1f} MiB ({info['bytes']} bytes)"),
    ]
    for label, value in lines:
        typer.echo(f"{label}: {value}")
