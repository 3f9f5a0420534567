"""Hybrid search over one loaded index version: FAISS (dense) + bm25s (lexical), fused.

Fusion is a convex combination of normalized scores, not reciprocal rank fusion:
BM25 is divided by the query's best BM25 score, the cosine is stretched between
the 50th and the best cosine of the query, and the two are mixed 0.6 : 0.4.
Measured by bench/retrieval.py on ../shared/eval/pquad_val (5,995 questions;
weights and BM25 parameters tuned on the even half, `--half odd` checks the
other), article hit@1: BM25 alone 93.9, dense alone 85.2, reciprocal rank
fusion (k=60) 91.0, this fusion 95.9 (96.0 on the odd half). Ranks throw away
how far ahead the leader is; a BM25 match on a rare name is worth more than a rank.
"""

from __future__ import annotations

import copy
import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.dates import date_mentions, expand_dates
from index.persian import TOKENIZATION, matching_tokens
from index.store import IndexMissing, ModelMismatch, current_version, import_bm25s, version_dir

log = logging.getLogger(__name__)

CANDIDATES = 50  # from each retriever; also the depth of the cosine's floor
LEXICAL_WEIGHT = 0.6


@dataclass(frozen=True)
class ArticleInfo:
    id: str
    title: str
    sources: tuple[str, ...]
    url: str
    published: str
    text: str

    @property
    def source(self) -> str:
        return "، ".join(self.sources)

    @property
    def date(self) -> str:
        """The publication date, else the first date the text names ("۱۵ مارس (۲۴ اسفند)")."""
        return self.published or first_date_mention(self.text)


@lru_cache(maxsize=4096)
def first_date_mention(text: str) -> str:
    return next(iter(date_mentions(text)), "")


@dataclass
class Passage:
    chunk_id: int
    article_id: str
    title: str
    source: str
    published: str
    text: str
    start: int
    end: int
    position: int
    score: float

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "article_id": self.article_id,
            "title": self.title,
            "source": self.source,
            "published": self.published,
            "score": round(self.score, 6),
            "start": self.start,
            "end": self.end,
        }


class KnowledgeBase:
    """One immutable index version, fully in memory; `reload()` swaps in a newer one."""

    def __init__(self, index_dir: Path, embedder) -> None:
        self.index_dir = Path(index_dir)
        self.embedder = embedder
        self._snapshot = self._load()

    # -- loading -----------------------------------------------------------------
    def _load(self) -> _Snapshot:
        version = current_version(self.index_dir)
        if version is None:
            raise IndexMissing(f"no index in {self.index_dir}; run `pasokh index build`")
        snapshot = _Snapshot(version_dir(self.index_dir, version))
        if snapshot.manifest["model"] != self.embedder.name:
            raise ModelMismatch(
                f"the index in {self.index_dir} was built with {snapshot.manifest['model']}, "
                f"but the configured model is {self.embedder.name} (PASOKH_MODEL)"
            )
        if snapshot.manifest.get("tokenization") != TOKENIZATION:
            log.warning(
                "the index in %s was tokenized by older Persian rules; `pasokh index add` "
                "(any file) or `pasokh index build` refreshes it",
                self.index_dir,
            )
        return snapshot

    def reload_if_changed(self) -> bool:
        """Swap to the live version if another process wrote one; in-flight searches
        finish on the snapshot they started with."""
        if current_version(self.index_dir) == self.version:
            return False
        snapshot = self._load()
        self._snapshot = snapshot  # one assignment: a search holds the snapshot it began with
        log.info("index reloaded: version %s", snapshot.manifest["version"])
        return True

    def pinned(self) -> KnowledgeBase:
        """A view held on the current version, so that every lookup made for one answer
        sees the same index even if a reload swaps in a new one meanwhile."""
        return copy.copy(self)

    @property
    def manifest(self) -> dict:
        return self._snapshot.manifest

    @property
    def version(self) -> str:
        return self._snapshot.manifest["version"]

    def articles(self) -> list[ArticleInfo]:
        return list(self._snapshot.articles.values())

    def article(self, article_id: str) -> ArticleInfo | None:
        return self._snapshot.articles.get(article_id)

    def lexical_stats(self) -> LexicalStats:
        return self._snapshot.lexical_stats

    # -- search ------------------------------------------------------------------
    def search(
        self, query: str, top_k: int = 5, timings: dict[str, float] | None = None
    ) -> list[Passage]:
        snapshot = self._snapshot
        dense = snapshot.dense_ranking(self.embedder, query, CANDIDATES, timings)
        lexical = snapshot.lexical_ranking(expand_dates(query), CANDIDATES, timings)
        cosines = dict(dense)
        for chunk_id, _ in lexical:  # lexical-only candidates get their cosine too
            if chunk_id not in cosines:
                cosines[chunk_id] = snapshot.cosine(self.embedder, query, chunk_id)
        floor = dense[-1][1] if len(dense) >= CANDIDATES else min(cosines.values(), default=0.0)
        top = dense[0][1] if dense else 1.0
        best_lexical = lexical[0][1] if lexical else 1.0
        lexical_scores = dict(lexical)
        fused = {
            chunk_id: LEXICAL_WEIGHT * lexical_scores.get(chunk_id, 0.0) / best_lexical
            + (1 - LEXICAL_WEIGHT) * max(0.0, cosine - floor) / max(top - floor, 1e-6)
            for chunk_id, cosine in cosines.items()
        }
        best = sorted(fused.items(), key=lambda item: -item[1])[:top_k]
        return [snapshot.passage(chunk_id, score) for chunk_id, score in best]

    def dense_search(self, query: str, top_k: int = 5) -> list[Passage]:
        snap = self._snapshot
        return [snap.passage(c, s) for c, s in snap.dense_ranking(self.embedder, query, top_k)]

    def lexical_search(self, query: str, top_k: int = 5) -> list[Passage]:
        snap = self._snapshot
        return [snap.passage(c, s) for c, s in snap.lexical_ranking(expand_dates(query), top_k)]


class LexicalStats:
    """Document frequencies from the BM25 index, for weighting a question's words."""

    def __init__(self, vocab: dict[str, int], indptr: np.ndarray, documents: int) -> None:
        self._vocab = vocab
        self._indptr = indptr
        self.documents = documents

    def document_frequency(self, token: str) -> int:
        i = self._vocab.get(token)
        return 0 if i is None else int(self._indptr[i + 1] - self._indptr[i])


class _Snapshot:
    """Everything of one version folder, read once."""

    def __init__(self, folder: Path) -> None:
        import faiss

        bm25s = import_bm25s()

        self.folder = folder
        self.manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        self.dense = faiss.read_index(str(folder / "vectors.faiss"))
        self.lexical = bm25s.BM25.load(str(folder / "lexical"))
        self.lexical_vocab: dict[str, int] = self.lexical.vocab_dict
        self.chunk_ids = np.load(folder / "chunk_ids.npy")
        self.lexical_stats = LexicalStats(
            self.lexical_vocab, self.lexical.scores["indptr"], len(self.chunk_ids)
        )
        db = sqlite3.connect(f"file:{folder / 'store.sqlite'}?mode=ro", uri=True)
        try:
            self.articles = {
                row[0]: ArticleInfo(
                    row[0], row[1], tuple(json.loads(row[2])), row[3], row[4], row[5]
                )
                for row in db.execute(
                    "SELECT id, title, sources, url, published, text FROM articles ORDER BY id"
                )
            }
            self.chunks = {
                row[0]: row[1:]
                for row in db.execute(
                    "SELECT id, article_id, position, start, end, text FROM chunks"
                )
            }
        finally:
            db.close()

    def passage(self, chunk_id: int, score: float) -> Passage:
        article_id, position, start, end, text = self.chunks[chunk_id]
        article = self.articles[article_id]
        return Passage(
            chunk_id=chunk_id,
            article_id=article_id,
            title=article.title,
            source=article.source,
            published=article.published,
            text=text,
            start=start,
            end=end,
            position=position,
            score=float(score),
        )

    def dense_ranking(
        self, embedder, query: str, k: int, timings: dict[str, float] | None = None
    ) -> list[tuple[int, float]]:
        if self.dense.ntotal == 0:
            return []
        t0 = time.perf_counter()
        vector = embedder.encode_query(query)
        t1 = time.perf_counter()
        scores, ids = self.dense.search(vector.reshape(1, -1), min(k, self.dense.ntotal))
        if timings is not None:
            timings["embed_ms"] = (t1 - t0) * 1000
            timings["dense_ms"] = (time.perf_counter() - t1) * 1000
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def cosine(self, embedder, query: str, chunk_id: int) -> float:
        return float(self.dense.reconstruct(int(chunk_id)) @ embedder.encode_query(query))

    def lexical_ranking(
        self, query: str, k: int, timings: dict[str, float] | None = None
    ) -> list[tuple[int, float]]:
        t0 = time.perf_counter()
        tokens = [t for t in matching_tokens(query, question=True) if t in self.lexical_vocab]
        if not tokens or len(self.chunk_ids) == 0:
            return []
        scores = self.lexical.get_scores(tokens)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        result = [(int(self.chunk_ids[i]), float(scores[i])) for i in top if scores[i] > 0]
        if timings is not None:
            timings["lexical_ms"] = (time.perf_counter() - t0) * 1000
        return result
