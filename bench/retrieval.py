"""Retrieval benchmark on PQuAD validation (../shared/eval/pquad_val): prints figures.

The learned fusion (`hybrid`, index/rerank.py) against the hand-set convex fusion it
replaced, plain BM25, plain dense search and naive RRF over the same index:
article-level hit@1/3/5 and MRR (hit@1 = the first passage's article is the gold one),
index build time, warm query latency p50/p95. Also runs on news_dev (questions with
`article_id`; unanswerable ones are left out) over news_dev's own index.

    python -m bench.retrieval [--data ../shared/eval/pquad_val] [--index-dir DIR]
        [--split held-out|train] [--limit N] [--rebuild]
    python -m bench.retrieval --data ../shared/eval/news_dev --index-dir var/eval/news_dev-…
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot import app
from bot.evaluation import split_of
from index import rerank
from index.dates import expand_dates
from index.metrics import (
    first_hit_rank,
    latency_summary,
    read_jsonl,
    summarize_ranks,
    unique_in_order,
)  # fmt: skip
from index.readers import article_from_record
from index.search import KnowledgeBase, convex_fusion, gather_candidates
from index.store import current_version, update_index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "eval" / "pquad_val"))
    parser.add_argument("--index-dir", default=str(ROOT / "var" / "bench" / "pquad_val"))
    parser.add_argument("--limit", type=int, default=0, help="first N questions only")
    parser.add_argument(
        "--half", choices=["even", "odd"], help="every other question (tuning / checking halves)"
    )
    parser.add_argument(
        "--split", choices=["held-out", "train"], help="by article (bot.evaluation.split_of)"
    )
    parser.add_argument(
        "--methods", default="hybrid,convex,bm25,dense,rrf", help="comma-separated subset"
    )
    parser.add_argument("--rebuild", action="store_true", help="time a fresh build")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    data = Path(args.data)
    if not (data / "articles.jsonl").exists():
        parser.error(f"no articles.jsonl in {data}; give the pquad_val folder with --data")
    settings = app.load_settings(args.index_dir)
    embedder = app.load_embedder(settings)
    articles = [
        article_from_record(r, "articles.jsonl") for r in read_jsonl(data / "articles.jsonl")
    ]
    questions = [
        {**q, "gold_article": q.get("gold_article") or q.get("article_id")}
        for q in read_jsonl(data / "questions.jsonl")
    ]
    questions = [q for q in questions if q["gold_article"]]  # news_dev: answerable only
    if args.split:
        questions = [q for q in questions if split_of(q) == args.split]
    if args.half:
        questions = questions[0 if args.half == "even" else 1 :: 2]
    if args.limit:
        questions = questions[: args.limit]

    build = None
    if args.rebuild or current_version(settings.index_dir) is None:
        report = update_index(settings.index_dir, embedder, articles, fresh=True)
        build = {
            "seconds": round(report.seconds, 1),
            "articles": report.articles,
            "chunks": report.chunks,
        }
    kb = KnowledgeBase(settings.index_dir, embedder)

    def naive_rrf(question: str, top_k: int) -> list:
        """Reciprocal rank fusion (k=60) of the same two lists: the baseline to beat."""
        snap = kb._snapshot
        fused: dict[int, float] = {}
        for ranking in (
            snap.dense_ranking(embedder, question, 50),
            snap.lexical_ranking(expand_dates(question), 50),
        ):
            for rank, (chunk_id, _) in enumerate(ranking, start=1):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1 / (60 + rank)
        best = sorted(fused.items(), key=lambda item: -item[1])[:top_k]
        return [snap.passage(chunk_id, score) for chunk_id, score in best]

    methods = {
        "hybrid": kb.search,
        "convex": kb.convex_search,
        "bm25": kb.lexical_search,
        "dense": kb.dense_search,
        "rrf": naive_rrf,
    }
    methods = {name: methods[name] for name in args.methods.split(",")}
    for q in questions[:20]:  # warm-up: caches, lazy imports
        kb.search(q["question"], 5)
    embedder._encode_query_cached.cache_clear()
    results = {}
    for name, search in methods.items():
        ranks, latencies = [], []
        for q in questions:
            t0 = time.perf_counter()
            passages = search(q["question"], 10)
            latencies.append((time.perf_counter() - t0) * 1000)
            ranked = unique_in_order(p.article_id for p in passages)
            ranks.append(first_hit_rank([a == q["gold_article"] for a in ranked]))
        embedder._encode_query_cached.cache_clear()  # each method pays for its own embedding
        results[name] = {**summarize_ranks(ranks), **latency_summary(latencies)}

    # The fusion's own cost on the same candidate lists: the learned ranker's extra time.
    fusion = {"convex": [], "learned": []}
    for q in questions[:500]:
        lists = gather_candidates(kb._snapshot, embedder, q["question"])
        t0 = time.perf_counter()
        convex_fusion(*lists)
        t1 = time.perf_counter()
        rerank.rank(kb._snapshot, q["question"], *lists)
        fusion["convex"].append((t1 - t0) * 1000)
        fusion["learned"].append((time.perf_counter() - t1) * 1000)
    fusion = {name: latency_summary(values) for name, values in fusion.items()}

    output = {"build": build, "index": kb.manifest, "results": results, "fusion_ms": fusion}
    if args.json:
        print(json.dumps(output, ensure_ascii=False, indent=2))
        return
    if build:
        print(
            f"build: {build['articles']} articles, {build['chunks']} passages in {build['seconds']} s"
        )
    print(f"questions: {len(questions)}  model: {kb.manifest['model']}")
    print(
        f"{'method':8} {'hit@1':>6} {'hit@3':>6} {'hit@5':>6} {'MRR':>6} {'p50 ms':>7} {'p95 ms':>7}"
    )
    for name, r in results.items():
        print(
            f"{name:8} {r['hit@1']:6.1f} {r['hit@3']:6.1f} {r['hit@5']:6.1f} {r['mrr']:6.3f}"
            f" {r['p50_ms']:7.1f} {r['p95_ms']:7.1f}"
        )
    print(
        "fusion alone, ms per question p50 / p95 (first 500):"
        + "".join(f"  {n} {f['p50_ms']:.2f} / {f['p95_ms']:.2f}" for n, f in fusion.items())
    )


if __name__ == "__main__":
    main()
