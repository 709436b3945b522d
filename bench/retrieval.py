"""Retrieval quality and speed: verimath (dense, BM25, hybrid; flat and HNSW) vs LangChain FAISS.

    .venv/bin/pip install -e ".[bench]"
    HF_HUB_OFFLINE=1 .venv/bin/python bench/retrieval.py real [--size 10000] [--queries 500]
    HF_HUB_OFFLINE=1 .venv/bin/python bench/retrieval.py synthetic --size 100000

`real`: a labelled task from ../shared/data. The corpus is the MATH train solutions (7,500 worked
solutions chunked into 9,136 passages), topped up with chunks of the other MATH test solutions
(`test_non_math500.jsonl`) as distractors up to `--size`. A query is a train problem; the relevant
passages are the chunks of its own solution. Both systems get the same texts (`embedding_text`:
title header + chunk) and the same MiniLM vectors: verimath embeds them once (cold cache, timed),
LangChain's `FAISS.from_texts` is then served those vectors by a caching wrapper, so its build
time is its own indexing cost; a cold LangChain build would add the same embedding time.

`synthetic`: random unit vectors (384-d) straight into the FAISS indexes, flat vs HNSW vs
LangChain's store, and BM25 over real passages repeated up to the size, for build time and
query latency at sizes where there is not enough real text.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from verimath.retrieval import (
    Corpus,
    EmbeddingCache,
    Index,
    default_embeddings,
    embedding_model_name,
    embedding_text,
    math_spans,
)
from verimath.retrieval.bm25 import Bm25
from verimath.retrieval.embedding_cache import embed_texts
from verimath.retrieval.vectors import build_vectors

DATA = Path(__file__).resolve().parents[2] / "shared/data/corpora"
TRAIN = DATA / "math_train/train.jsonl"
EXTRA = DATA / "math_train/test_non_math500.jsonl"


def percentiles(ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(ms, n=100)
    return {"p50_ms": round(cuts[49], 2), "p95_ms": round(cuts[94], 2)}


def timed(fn, items) -> tuple[list[Any], list[float]]:
    results, ms = [], []
    for item in items:
        start = time.perf_counter()
        results.append(fn(item))
        ms.append((time.perf_counter() - start) * 1000)
    return results, ms


def score(rankings: list[list[str]], relevant: list[set[str]]) -> dict[str, float]:
    """success@5 (a relevant passage in the top 5; "recall@5" below) and MRR@10."""
    pairs = list(zip(rankings, relevant, strict=True))
    hit5 = sum(any(r in rel for r in ranked[:5]) for ranked, rel in pairs)
    rr = [
        next((1 / n for n, r in enumerate(ranked[:10], 1) if r in rel), 0.0)
        for ranked, rel in pairs
    ]
    return {"recall@5": round(hit5 / len(rankings), 3), "mrr@10": round(sum(rr) / len(rr), 3)}


class SameVectors(Embeddings):
    """The MiniLM embeddings for every system. Each query is embedded once, so the timed
    searches measure the index, not the model (`embed_ms` keeps the cost of the query
    embeddings, which every system pays equally). Once `serve_from` is set, documents come from
    verimath's embedding cache, so LangChain indexes exactly the vectors verimath built."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.model_name = inner, inner.model_name
        self.serve_from: EmbeddingCache | None = None
        self.queries: dict[str, list[float]] = {}
        self.embed_ms: list[float] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if self.serve_from is None:
            return self.inner.embed_documents(texts)
        model = embedding_model_name(self.inner)
        return embed_texts(texts, self.inner, model, cache=self.serve_from).tolist()

    def embed_query(self, text: str) -> list[float]:
        if text not in self.queries:
            start = time.perf_counter()
            self.queries[text] = self.inner.embed_query(text)
            self.embed_ms.append((time.perf_counter() - start) * 1000)
        return self.queries[text]


def real(size: int, queries: int, cache_path: Path | None) -> dict[str, Any]:
    from langchain_community.vectorstores import FAISS

    train = Corpus.from_paths([TRAIN]).passages
    passages = (train + Corpus.from_paths([EXTRA]).passages)[:size]
    parent = {p.id: p.metadata.get("parent", p.id) for p in passages}
    rows = [json.loads(line) for line in TRAIN.read_text().splitlines()]
    roots = set(parent.values())
    sample = random.Random(0).sample([r for r in rows if r["unique_id"] in roots], queries)
    relevant = [{i for i, root in parent.items() if root == row["unique_id"]} for row in sample]
    questions = [row["problem"] for row in sample]
    out: dict[str, Any] = {"passages": len(passages), "queries": queries, "build_s": {}}

    with tempfile.TemporaryDirectory() as tmp:
        cache = EmbeddingCache(cache_path or Path(tmp) / "embeddings.sqlite3")
        embeddings = SameVectors(default_embeddings())
        embeddings.inner.embed_query("warm up")
        indexes = {}
        for kind in ("flat", "flat", "hnsw"):
            start = time.perf_counter()
            indexes[kind] = Index.build(passages, embeddings, kind=kind, cache=cache)
            seconds = round(time.perf_counter() - start, 2)
            stats, cache.stats = cache.stats, type(cache.stats)()
            label = f"verimath {kind}, {stats.misses} embedded, {stats.hits} from cache"
            out["build_s"][label] = seconds
            if stats.misses:
                out["embedded_per_s"] = round(stats.misses / seconds, 1)
                out["build_s"]["estimate: langchain from_texts, cold"] = seconds
        texts = [embedding_text(p) for p in indexes["flat"].passages]
        ids = [p.id for p in indexes["flat"].passages]
        embeddings.serve_from = cache
        start = time.perf_counter()
        store = FAISS.from_texts(texts, embeddings, ids=ids)
        label = "langchain FAISS.from_texts, same vectors from the cache"
        out["build_s"][label] = round(time.perf_counter() - start, 2)
        cache.close()

    flat, hnsw = indexes["flat"], indexes["hnsw"]
    systems = {
        "verimath dense (flat)": lambda q: [h.passage.id for h in flat.search(q, 10, "dense")],
        "verimath dense (hnsw)": lambda q: [h.passage.id for h in hnsw.search(q, 10, "dense")],
        "verimath bm25": lambda q: [h.passage.id for h in flat.search(q, 10, "bm25")],
        "verimath hybrid (flat)": lambda q: [h.passage.id for h in flat.search(q, 10)],
        "verimath hybrid (hnsw)": lambda q: [h.passage.id for h in hnsw.search(q, 10)],
        "langchain FAISS": lambda q: [d.id for d in store.similarity_search(q, k=10)],
    }
    # The same problems again, keeping only their formulas: "$x^2+...$ $\\frac{a}{b}$".
    formulas = [" ".join(q[s:e] for s, e in math_spans(q)) for q in questions]
    kept = [n for n, f in enumerate(formulas) if len(f) >= 20]
    tasks = {
        "problem": (questions, relevant),
        "formulas only": ([formulas[n] for n in kept], [relevant[n] for n in kept]),
    }
    for task, (queries_, relevant_) in tasks.items():
        for query in queries_:
            embeddings.embed_query(query)
        rows = out.setdefault("tasks", {}).setdefault(task, {"queries": len(queries_)})
        ranked = {}
        for name, search in systems.items():
            ranked[name], ms = timed(search, queries_)
            rows[name] = {**score(ranked[name], relevant_), **percentiles(ms)}
            print(task, name, rows[name], flush=True)
        pairs = zip(ranked["verimath dense (hnsw)"], ranked["verimath dense (flat)"], strict=True)
        overlap = [len(set(a) & set(b)) / len(b) for a, b in pairs]
        rows["verimath dense (hnsw)"]["recall@10_vs_exact"] = round(statistics.mean(overlap), 3)
        rows["bm25s default tokenizer (ablation)"] = _plain_bm25(texts, ids, queries_, relevant_)
    out["query_embedding"] = percentiles(embeddings.embed_ms)
    return out


def _plain_bm25(texts, ids, questions, relevant) -> dict[str, float]:
    """bm25s with its own tokenizer (English stopwords): what the formula tokens add."""
    import bm25s

    model = bm25s.BM25()
    model.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    found, _ = model.retrieve(
        bm25s.tokenize(questions, stopwords="en", show_progress=False), k=10, show_progress=False
    )
    return score([[ids[i] for i in row] for row in found], relevant)


def synthetic(size: int, queries: int, skip: set[str], dimension: int = 384) -> dict[str, Any]:
    import faiss
    import numpy as np
    from langchain_community.vectorstores import FAISS

    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((size, dimension), dtype="float32")
    faiss.normalize_L2(matrix)
    probes = rng.standard_normal((queries, dimension), dtype="float32")
    faiss.normalize_L2(probes)
    out: dict[str, Any] = {"vectors": size, "queries": queries, "build_s": {}, "search": {}}
    exact = None
    for kind in [k for k in ("flat", "hnsw") if k not in skip]:
        start = time.perf_counter()
        index, _ = build_vectors(matrix, kind)  # type: ignore[arg-type]
        out["build_s"][f"verimath {kind}"] = round(time.perf_counter() - start, 2)
        found, ms = timed(lambda v, ix=index: ix.search(v[None, :], 5)[1][0], probes)
        row: dict[str, float] = percentiles(ms)
        if exact is None:
            exact = found
        else:
            overlap = [len(set(a) & set(b)) / 5 for a, b in zip(found, exact, strict=True)]
            row["recall@5_vs_exact"] = round(sum(overlap) / len(overlap), 3)
        out["search"][f"verimath {kind}"] = row
        print(kind, out["build_s"], row, flush=True)
        del index
    if "langchain" in skip:
        return out
    start = time.perf_counter()
    store = FAISS.from_embeddings(
        ((f"p{i}", vector) for i, vector in enumerate(matrix)), embedding=default_embeddings()
    )
    out["build_s"]["langchain FAISS.from_embeddings"] = round(time.perf_counter() - start, 2)
    _, ms = timed(lambda v: store.similarity_search_by_vector(v.tolist(), k=5), probes)
    out["search"]["langchain FAISS"] = percentiles(ms)
    store = None  # free its copy of the vectors before BM25
    if "bm25" in skip:
        return out

    texts = [embedding_text(p) for p in Corpus.from_paths([TRAIN, EXTRA]).passages]
    texts = (texts * (size // len(texts) + 1))[:size]
    start = time.perf_counter()
    bm25 = Bm25.build(texts)
    out["build_s"]["verimath bm25 (real text, repeated)"] = round(time.perf_counter() - start, 2)
    questions = [json.loads(line)["problem"] for line in TRAIN.read_text().splitlines()][:queries]
    _, ms = timed(lambda q: bm25.top(q, 50), questions)
    out["search"]["verimath bm25 top-50"] = percentiles(ms)
    print(out, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("task", choices=["real", "synthetic"])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--out", type=Path, help="also write the results here as JSON")
    parser.add_argument(
        "--skip", default="", help="synthetic: parts to leave out (flat,hnsw,langchain,bm25)"
    )
    parser.add_argument(
        "--cache", type=Path, help="embedding cache to keep between runs (default: a cold one)"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    if args.task == "real":
        result = real(args.size, args.queries, args.cache)
    else:
        result = synthetic(args.size, min(args.queries, 200), set(args.skip.split(",")))
    packages = ["faiss-cpu", "bm25s", "langchain-community", "langchain-core",
                "sentence-transformers", "torch", "numpy"]  # fmt: skip
    result["versions"] = {p: version(p) for p in packages}
    result["python"] = platform.python_version()
    result["total_s"] = round(time.perf_counter() - start, 1)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
