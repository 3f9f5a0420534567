"""Retrieval on PQuAD validation through Milvus (Lite) beside the embedded FAISS path.

Indexes ../shared/eval/pquad_val into both backends with the same passage vectors
(each passage is embedded once and shared), then prints article hit@1/3/5, MRR and
warm query latency p50/p95 (question embedding included) for:
  faiss          index.search.KnowledgeBase.search (the default backend)
  milvus         index.milvus_store.MilvusKnowledgeBase.search (hybrid_search + fusion)
  milvus-native  hybrid_search with Milvus's own WeightedRanker normalization (arctan)
Goal (issue 8): milvus hit@1 within 0.5 points of faiss.

    python -m bench.retrieval_milvus [--data ../shared/eval/pquad_val] [--articles N] [--stride N] [--limit N]
        [--rebuild] [--faiss-index DIR]

Why it was slow (profiled 2026-11-22, machine busy): the FAISS side embedded all of
pquad_val with the real model again (chunks and their sentences, ~10+ min under load)
although a prebuilt evaluation index holds the same vectors; and Milvus Lite answers
each search in its own server process, ~40-100 ms per query that grows with the result
limit (limit 1: ~2 ms, 50: ~38 ms, 100: ~150 ms at 106 passages; the time is inside
gRPC's blocking call, so not ours), times three methods and ~6k questions.
`--faiss-index` (default: the newest var/eval/pquad_val-*) reuses that index for the
FAISS side and gives Milvus the very vectors it stores (float16, read back as float32),
so neither backend calls the model for passages.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

from bot.app import load_settings
from index.dates import expand_dates
from index.embedding import Embedder
from index.metrics import (
    first_hit_rank,
    latency_summary,
    read_jsonl,
    summarize_ranks,
    unique_in_order,
)  # fmt: skip
from index.milvus_store import CANDIDATES, LEXICAL_WEIGHT, MilvusKnowledgeBase
from index.persian import matching_tokens
from index.readers import article_from_record
from index.search import KnowledgeBase
from index.store import current_version, passage_text, update_index


class SharedPassageVectors:
    """The real model, with passage vectors remembered so the second backend reuses them."""

    def __init__(self, embedder: Embedder) -> None:
        self.inner = embedder
        self.name, self.dimensions = embedder.name, embedder.dimensions
        self.max_tokens = embedder.max_tokens
        self.count_tokens, self.encode_query = embedder.count_tokens, embedder.encode_query
        self.memory: dict[str, np.ndarray] = {}

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.memory]
        for text, vector in zip(todo, self.inner.encode_passages(todo), strict=True):
            self.memory[text] = vector
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([self.memory[t] for t in texts])


def seed_from_index(embedder: SharedPassageVectors, index_dir: Path) -> int:
    """Remember the passage vectors a built index stores, keyed by the text embedded
    (title + chunk), so a Milvus build over the same articles skips the model."""
    import sqlite3

    con = sqlite3.connect(f"file:{index_dir / 'catalog.sqlite'}?mode=ro", uri=True)
    rows = con.execute(
        "SELECT c.id, a.title, a.text, c.start, c.end FROM chunks c"
        " JOIN articles a ON a.rev = c.rev WHERE a.removed_gen IS NULL"
    ).fetchall()
    con.close()
    texts = {cid: passage_text(title, text[start:end]) for cid, title, text, start, end in rows}
    for folder in (index_dir / "segments").iterdir():
        if not (folder / "ids.npy").exists():
            continue
        ids = np.load(folder / "ids.npy")
        if (folder / "vectors.npy").exists():
            vectors = np.load(folder / "vectors.npy").astype(np.float32)
        else:  # a large segment keeps its vectors in its IVF lists only (index/faiss_index.py)
            import faiss

            dense = faiss.read_index(str(folder / "dense.faiss"))
            vectors = dense.reconstruct_n(0, dense.ntotal)
        for cid, vector in zip(ids.tolist(), vectors, strict=True):
            if cid in texts:
                embedder.memory[texts[cid]] = vector
    return len(embedder.memory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "eval" / "pquad_val"))
    parser.add_argument("--work-dir", default=str(ROOT / "var" / "bench" / "pquad_val_milvus"))
    parser.add_argument("--limit", type=int, default=0, help="first N questions only")
    parser.add_argument("--stride", type=int, default=1, help="every Nth question only")
    parser.add_argument(
        "--articles", type=int, default=0, help="first N articles and their questions only"
    )
    parser.add_argument("--rebuild", action="store_true", help="time fresh builds")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--faiss-index", default="", help="a built index of --data (default: var/eval/pquad_val-*)"
    )
    args = parser.parse_args()

    data = Path(args.data)
    if not (data / "articles.jsonl").exists():
        parser.error(f"no articles.jsonl in {data}; give the pquad_val folder with --data")
    work = Path(args.work_dir)
    faiss_dir, milvus_dir = work / "faiss", work / "milvus"
    if args.rebuild:
        shutil.rmtree(work, ignore_errors=True)
    if args.faiss_index:
        faiss_dir = Path(args.faiss_index)
    elif not args.articles and data.name == "pquad_val":
        built = sorted((ROOT / "var" / "eval").glob("pquad_val-*"), key=lambda p: p.stat().st_mtime)
        faiss_dir = built[-1] if built else faiss_dir
    settings = load_settings(faiss_dir)
    embedder = SharedPassageVectors(Embedder(settings.model, settings.cache_dir))
    articles = [
        article_from_record(r, "articles.jsonl") for r in read_jsonl(data / "articles.jsonl")
    ]
    questions = read_jsonl(data / "questions.jsonl")
    if args.articles:
        articles = articles[: args.articles]
        kept = {a.id for a in articles}
        questions = [q for q in questions if q["gold_article"] in kept]
    questions = questions[:: max(args.stride, 1)]
    if args.limit:
        questions = questions[: args.limit]

    build = {}
    if current_version(faiss_dir) is not None:
        print(
            f"FAISS side: {faiss_dir}; {seed_from_index(embedder, faiss_dir)} passage vectors reused"
        )
    else:
        report = update_index(faiss_dir, embedder, articles, fresh=True)
        build["faiss"] = {"seconds": round(report.seconds, 1), "chunks": report.chunks}
    mkb = MilvusKnowledgeBase.open(milvus_dir / "milvus.db", embedder, create=True)
    if not mkb.version:
        report = mkb.add(articles)
        build["milvus"] = {"seconds": round(report.seconds, 1), "chunks": report.chunks}
    fkb = KnowledgeBase(faiss_dir, embedder)

    def native(question: str, top_k: int) -> list[str]:
        """Milvus alone: its WeightedRanker with arctan score normalization."""
        from pymilvus import AnnSearchRequest, WeightedRanker

        vector = embedder.encode_query(question).tolist()
        tokens = " ".join(matching_tokens(expand_dates(question), question=True))
        requests = [AnnSearchRequest([vector], "dense", {"metric_type": "IP"}, CANDIDATES)]
        if tokens:
            requests.append(AnnSearchRequest([tokens], "sparse", {"metric_type": "BM25"}, 50))
        ranker = WeightedRanker(1 - LEXICAL_WEIGHT, LEXICAL_WEIGHT, norm_score=True)
        hits = mkb.client.hybrid_search(
            mkb.collection, requests, ranker, limit=top_k, output_fields=["article_id"]
        )[0]
        return [h["entity"]["article_id"] for h in hits]

    tops: dict[str, list[tuple]] = {"faiss": [], "milvus": []}

    def backend(kb, name: str):
        def search(question: str, top_k: int) -> list[str]:
            passages = kb.search(question, top_k)
            tops[name].append((passages[0].article_id, passages[0].start) if passages else ())
            return [p.article_id for p in passages]

        return search

    methods = {
        "faiss": backend(fkb, "faiss"),
        "milvus": backend(mkb, "milvus"),
        "milvus-native": native,
    }
    for q in questions[:20]:  # warm-up: caches, lazy imports
        fkb.search(q["question"], 5)
        mkb.search(q["question"], 5)
        native(q["question"], 5)
    results = {}
    for name, search in methods.items():
        embedder.inner._encode_query_cached.cache_clear()  # each method pays its embedding
        ranks, latencies = [], []
        for q in questions:
            t0 = time.perf_counter()
            ranked = unique_in_order(search(q["question"], 10))
            latencies.append((time.perf_counter() - t0) * 1000)
            ranks.append(first_hit_rank([a == q["gold_article"] for a in ranked]))
        results[name] = {**summarize_ranks(ranks), **latency_summary(latencies)}
    # the same top passage: the same article and span
    agree = sum(a == b for a, b in zip(tops["faiss"], tops["milvus"], strict=True))
    mkb.close()

    output = {"build": build, "questions": len(questions), "results": results}
    output["same_top_passage"] = round(100 * agree / max(len(questions), 1), 1)
    if args.json:
        print(json.dumps(output, ensure_ascii=False, indent=2))
        return
    for backend, b in build.items():
        print(f"build {backend}: {b['chunks']} passages in {b['seconds']} s")
    print(f"questions: {len(questions)}  model: {embedder.name}")
    print(
        f"{'method':14} {'hit@1':>6} {'hit@3':>6} {'hit@5':>6} {'MRR':>6} {'p50 ms':>7} {'p95 ms':>7}"
    )
    for name, r in results.items():
        print(
            f"{name:14} {r['hit@1']:6.1f} {r['hit@3']:6.1f} {r['hit@5']:6.1f} {r['mrr']:6.3f}"
            f" {r['p50_ms']:7.1f} {r['p95_ms']:7.1f}"
        )
    print(f"same top passage, faiss vs milvus: {output['same_top_passage']} %")


if __name__ == "__main__":
    main()
