"""SQLite FTS5 against Pasokh's BM25 segments, on the same tokens (pquad_val).

    python bench/lexical_engines.py [--index-dir var/bench/pquad_val] [--data ../shared/eval/pquad_val]

Needs the index that bench/retrieval.py builds. FTS5 is fed the same normalized
tokens (unicode61 tokenizer over space-joined tokens, no stemming of its own)
and ranks by its built-in bm25(), whose k1=1.2 and b=0.75 cannot be changed;
the segments use the tuned k1=0.9, b=0.4. Prints article hit@1 / hit@5 of
lexical search alone and latency for both.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import catalog
from index.dates import expand_dates
from index.metrics import latency_summary, read_jsonl
from index.persian import matching_tokens
from index.search import KnowledgeBase
from index.store import passage_text, read_manifest


class NoModel:
    """Lexical search needs no vectors; the index only checks the model's name."""

    def __init__(self, name: str) -> None:
        self.name = name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", default=str(ROOT / "var" / "bench" / "pquad_val"))
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "eval" / "pquad_val"))
    args = parser.parse_args()
    index_dir = Path(args.index_dir)
    manifest = read_manifest(index_dir)
    kb = KnowledgeBase(index_dir, NoModel(manifest["model"]))
    db = catalog.connect(index_dir, readonly=True)
    fts = sqlite3.connect(":memory:")
    fts.execute(
        "CREATE VIRTUAL TABLE t USING fts5(tokens, tokenize='unicode61 remove_diacritics 0')"
    )
    article_of = {}
    for chunk_id, title, text in catalog.alive_chunks(db, manifest["gen"]):
        tokens = " ".join(matching_tokens(passage_text(title, text)))
        fts.execute("INSERT INTO t(rowid, tokens) VALUES (?, ?)", (chunk_id, tokens))
    for chunk_id, article_id in db.execute("SELECT c.id, a.id FROM chunks c JOIN articles a ON a.rev = c.rev"):  # fmt: skip
        article_of[chunk_id] = article_id
    questions = read_jsonl(Path(args.data) / "questions.jsonl")

    def fts_search(question: str) -> list[str]:
        tokens = matching_tokens(expand_dates(question), question=True)
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in tokens)
        if not match:
            return []
        rows = fts.execute(
            "SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 10", (match,)
        ).fetchall()
        return [article_of[r[0]] for r in rows]

    def segment_search(question: str) -> list[str]:
        return [p.article_id for p in kb.lexical_search(question, 10)]

    for name, search in (("fts5 bm25", fts_search), ("segments bm25", segment_search)):
        hits1 = hits5 = 0
        latencies = []
        for q in questions:
            t0 = time.perf_counter()
            ranked = list(dict.fromkeys(search(q["question"])))
            latencies.append((time.perf_counter() - t0) * 1000)
            hits1 += ranked[:1] == [q["gold_article"]]
            hits5 += q["gold_article"] in ranked[:5]
        lat = latency_summary(latencies)
        print(
            f"{name:14} hit@1 {100 * hits1 / len(questions):5.1f}  hit@5 {100 * hits5 / len(questions):5.1f}"
            f"  p50 {lat['p50_ms']:.1f} ms  p95 {lat['p95_ms']:.1f} ms  ({len(questions)} questions)"
        )


if __name__ == "__main__":
    main()
