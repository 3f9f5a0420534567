"""Hybrid search over one index version: FAISS (dense) + BM25 segments (lexical), fused.

Each retriever gives its top CANDIDATES; their union is ordered by a learned linear
ranker (index/rerank.py, weights in index/models/fusion.json from bench/train_fusion.py)
over per-candidate features: BM25 / the best BM25, the cosine stretched between the
50th and the best, the raw cosine gap, ranks, the IDF-weighted share of the question
that the passage covers, and products with how much of the question BM25's best match
covers and how far each retriever's leader is ahead. It replaced a hand-set convex
combination (0.6 BM25 : 0.4 cosine, kept as `convex_fusion` for the bench and for the
passages' `score`), tuned on PQuAD alone, whose questions share the paragraph's words.

Article hit@1, measured (2026-11-22; `python -m bench.train_fusion --cache var/fusion`
prints the table per style, `python -m bench.retrieval` the pquad_val and news_dev rows):

    style (held-out half, by article)      learned  convex  BM25  dense
    pquad_val (2,931)                         95.8    95.4  93.6   84.5
    pquad_val, low overlap (157, natural)     66.9    65.6  50.3   64.3
    pquad_val, words dropped (2,670, synth.)  78.9    77.4  74.8   56.4
    news_dev chat questions (40)             100.0    97.5 100.0   87.5
    pquad_val, all 5,995 questions            96.2    95.9  93.9   85.2
    news_dev, all 80 answerable              80/80   79/80 79/80  70/80

The learned fusion costs ~0.5 ms per question (p50) beside ~0.1 ms for the convex one.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from index import rerank
from index.dates import expand_dates
from index.lexical import LexicalStats
from index.persian import ENCODER_SPELLING, TOKENIZATION
from index.readers import Article
from index.segments import Segment
from index.snapshot import ArticleInfo, Passage, Snapshot, first_date_mention
from index.store import UpdateReport, update_index
from index.versions import IndexMissing, ModelMismatch, named_version, read_manifest

__all__ = ["ArticleInfo", "KnowledgeBase", "LexicalStats", "Passage", "first_date_mention"]

log = logging.getLogger(__name__)

CANDIDATES = 50  # from each retriever; also the depth of the cosine's floor
LEXICAL_WEIGHT = 0.6


def gather_candidates(
    snapshot: Snapshot, embedder, query: str, timings: dict[str, float] | None = None
) -> tuple[list[tuple[int, float]], list[tuple[int, float]], dict[int, float], float]:
    """Both retrievers' top CANDIDATES, every candidate's cosine and the cosine floor
    (the last dense cosine: the depth below which a cosine says nothing)."""
    # Lexical first: a question vector started ahead (Embedder.prefetch_queries) is
    # computed on another core meanwhile. The two rankings are independent.
    lexical = snapshot.lexical_ranking(expand_dates(query), CANDIDATES, timings)
    dense = snapshot.dense_ranking(embedder, query, CANDIDATES, timings)
    cosines = dict(dense)
    missing = [chunk_id for chunk_id, _ in lexical if chunk_id not in cosines]
    if missing:  # lexical-only candidates get their cosine too
        vector = np.asarray(embedder.encode_query(query), dtype=np.float32)
        cosines.update(snapshot.cosines(vector, missing))
    floor = dense[-1][1] if len(dense) >= CANDIDATES else min(cosines.values(), default=0.0)
    return dense, lexical, cosines, floor


def convex_fusion(
    dense: list[tuple[int, float]],
    lexical: list[tuple[int, float]],
    cosines: dict[int, float],
    floor: float,
) -> list[tuple[int, float]]:
    """The hand-set fusion: 0.6 BM25 / best BM25 + 0.4 cosine stretched floor..best."""
    top = dense[0][1] if dense else 1.0
    best_lexical = lexical[0][1] if lexical else 1.0
    lexical_scores = dict(lexical)
    fused = {
        chunk_id: LEXICAL_WEIGHT * lexical_scores.get(chunk_id, 0.0) / best_lexical
        + (1 - LEXICAL_WEIGHT) * max(0.0, cosine - floor) / max(top - floor, 1e-6)
        for chunk_id, cosine in cosines.items()
    }
    return sorted(fused.items(), key=lambda item: -item[1])


class KnowledgeBase:
    """One index version at a time; `reload_if_changed()` swaps in a newer one.

    Memory stays bounded: segments are memory-mapped and texts stay in SQLite.
    """

    def __init__(self, index_dir: Path, embedder) -> None:
        self.index_dir = Path(index_dir)
        self.embedder = embedder
        self._segments: dict[str, Segment] = {}
        self._seen_current: str | None = None
        self._snapshot = self._load()

    @classmethod
    def open(cls, index_dir: Path, embedder) -> KnowledgeBase:
        """Open an index for searching and writing, creating an empty one if there is none."""
        index_dir = Path(index_dir)
        if named_version(index_dir) is None and not (index_dir / "versions").is_dir():
            update_index(index_dir, embedder, [], fresh=True)
        return cls(index_dir, embedder)

    # -- writing (the documented API; the CLI and the bot write through update_index) --
    def add(
        self, articles: Iterable[Article], progress: Callable[[int, int], None] | None = None
    ) -> UpdateReport:
        """Add or replace articles (unchanged ones are not embedded again) and reload."""
        report = update_index(self.index_dir, self.embedder, articles, progress=progress)
        self.reload_if_changed()
        return report

    def remove(self, article_ids: Iterable[str]) -> UpdateReport:
        report = update_index(self.index_dir, self.embedder, remove_ids=article_ids)
        self.reload_if_changed()
        return report

    # -- loading -----------------------------------------------------------------
    def _load(self) -> Snapshot:
        self._seen_current = named_version(self.index_dir)
        manifest = read_manifest(self.index_dir)
        if manifest.get("format_version") == 1:  # the first layout: carried over once
            update_index(self.index_dir, self.embedder, [])
            self._seen_current = named_version(self.index_dir)
            manifest = read_manifest(self.index_dir)
        if manifest["model"] != self.embedder.name:
            raise ModelMismatch(
                f"the index in {self.index_dir} was built with {manifest['model']}, "
                f"but the configured model is {self.embedder.name} (PASOKH_MODEL)"
            )
        if manifest.get("tokenization") != TOKENIZATION:
            log.warning(
                "the index in %s was tokenized by older Persian rules; `pasokh index add` "
                "(any file) or `pasokh index build` refreshes it",
                self.index_dir,
            )
        if manifest.get("encoder_spelling", 0) != ENCODER_SPELLING:
            log.warning(
                "the index in %s was embedded from an older spelling; `pasokh index add`"
                " (any file) or `pasokh index build` embeds it again",
                self.index_dir,
            )
        try:
            snapshot = Snapshot(self.index_dir, manifest, self._segments)
        except (OSError, KeyError, ValueError) as error:
            raise IndexMissing(
                f"the index version {manifest['version']} in {self.index_dir} cannot be read "
                f"({error}); run `pasokh index build`"
            ) from error
        self._segments = {s.entry["name"]: s for s in snapshot.segments}
        return snapshot

    def reload_if_changed(self) -> bool:
        """Swap to the live version if another process wrote one; in-flight searches
        finish on the snapshot they started with."""
        if named_version(self.index_dir) == self._seen_current:
            return False
        snapshot = self._load()
        if snapshot.manifest["version"] == self.version:
            return False
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
        return self._snapshot.articles()

    def article(self, article_id: str) -> ArticleInfo | None:
        return self._snapshot.article(article_id)

    def sentence_vectors(
        self, chunk_ids: Iterable[int]
    ) -> dict[int, tuple[list[tuple[int, int]], np.ndarray]]:
        """chunk id -> (sentence spans within the chunk's text, their passage vectors),
        computed at index time with `index.persian.sentence_spans` and `encode_passages`;
        chunks without stored sentences (an index written before) are left out."""
        return self._snapshot.sentence_vectors(list(chunk_ids))

    def lexical_stats(self) -> LexicalStats:
        return self._snapshot.lexical_stats

    # -- search ------------------------------------------------------------------
    def search(
        self, query: str, top_k: int = 5, timings: dict[str, float] | None = None
    ) -> list[Passage]:
        """The best passages for a question, ordered by the learned fusion (index.rerank).

        Each passage's `score` stays the hand-set fusion's (BM25 / best BM25 and the
        stretched cosine, 0.6 : 0.4): bot/ranker.py's `passage_score_rel` was trained on
        that scale, and the learned scores are spread differently (their gaps are ~10x)."""
        snapshot = self._snapshot
        lists = gather_candidates(snapshot, self.embedder, query, timings)
        t0 = time.perf_counter()
        best = rerank.rank(snapshot, query, *lists)[:top_k]
        scores = dict(convex_fusion(*lists))
        if timings is not None:
            timings["fusion_ms"] = (time.perf_counter() - t0) * 1000
        return [snapshot.passage(chunk_id, scores[chunk_id]) for chunk_id, _ in best]

    def convex_search(self, query: str, top_k: int = 5) -> list[Passage]:
        """The hand-set fusion this replaced (0.6 BM25 : 0.4 cosine), kept for the bench."""
        snapshot = self._snapshot
        best = convex_fusion(*gather_candidates(snapshot, self.embedder, query))[:top_k]
        return [snapshot.passage(chunk_id, score) for chunk_id, score in best]

    def dense_search(self, query: str, top_k: int = 5) -> list[Passage]:
        snap = self._snapshot
        return [snap.passage(c, s) for c, s in snap.dense_ranking(self.embedder, query, top_k)]

    def lexical_search(self, query: str, top_k: int = 5) -> list[Passage]:
        snap = self._snapshot
        return [snap.passage(c, s) for c, s in snap.lexical_ranking(expand_dates(query), top_k)]
