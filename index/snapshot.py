"""One index version as a reader sees it, with bounded memory.

Segments are memory-mapped and shared with the previous snapshot (they are
immutable), so picking up a new version loads only what is new. Texts and
article fields stay in SQLite and are read when a passage is shown; only the
rows of this version's generation are visible.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from index import catalog, faiss_index
from index.dates import date_mentions
from index.lexical import Lexical
from index.persian import matching_tokens
from index.segments import Segment
from index.versions import version_dir


@lru_cache(maxsize=4096)
def first_date_mention(text: str) -> str:
    return next(iter(date_mentions(text)), "")


def _mask(size: int, positions: np.ndarray) -> np.ndarray | None:
    """Tombstoned positions of one segment as a boolean mask (None when there are none)."""
    if not len(positions):
        return None
    mask = np.zeros(size, dtype=bool)
    mask[positions] = True
    return mask


@dataclass(frozen=True)
class ArticleInfo:
    """An article's fields; its text is read from the catalog the first time it is used."""

    id: str
    title: str
    sources: tuple[str, ...]
    url: str
    published: str
    _text: list = field(default_factory=list, repr=False, compare=False)
    _load: object = field(default=None, repr=False, compare=False)

    @property
    def text(self) -> str:
        if not self._text:
            self._text.append(self._load(self.id) if self._load else "")
        return self._text[0]

    @property
    def source(self) -> str:
        return "، ".join(self.sources)

    @property
    def date(self) -> str:
        """The publication date, else the first date the text names ("۱۵ مارس (۲۴ اسفند)")."""
        return self.published or first_date_mention(self.text)


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
    url: str = ""

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "article_id": self.article_id,
            "title": self.title,
            "source": self.source,
            "published": self.published,
            "url": self.url,
            "score": round(self.score, 6),
            "start": self.start,
            "end": self.end,
        }


class Snapshot:
    """Everything a search needs from one version; segments come from ``cache``."""

    def __init__(self, index_dir: Path, manifest: dict, cache: dict[str, Segment]) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        self.gen = int(manifest["gen"])
        self.segments = [
            cache.get(e["name"]) or Segment(index_dir, e) for e in manifest["segments"]
        ]
        dead_file = version_dir(index_dir, manifest["version"]) / "tombstones.npy"
        tombstones = np.load(dead_file) if dead_file.exists() else np.zeros(0, np.int64)
        self.dead = [s.positions(tombstones) for s in self.segments]
        self.dead_masks = [
            _mask(len(s.ids), d) for s, d in zip(self.segments, self.dead, strict=True)
        ]
        self.lexical = Lexical([s.postings for s in self.segments], int(manifest["chunks"]))
        self.lexical_stats = self.lexical.stats
        self._db = catalog.connect(index_dir, readonly=True)
        self._db_lock = threading.Lock()

    def _query(self, sql: str, params) -> list[tuple]:
        with self._db_lock:
            return self._db.execute(sql, params).fetchall()

    # -- catalog -----------------------------------------------------------------
    def _article_text(self, article_id: str) -> str:
        rows = self._query(
            f"SELECT a.text FROM articles a WHERE a.id = :id AND {catalog.ALIVE}",
            {"id": article_id, "gen": self.gen},
        )
        return rows[0][0] if rows else ""

    def _info(self, row: tuple) -> ArticleInfo:
        return ArticleInfo(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4], _load=self._article_text)  # fmt: skip

    def articles(self) -> list[ArticleInfo]:
        rows = self._query(
            f"SELECT a.id, a.title, a.sources, a.url, a.published FROM articles a WHERE {catalog.ALIVE} ORDER BY a.id",
            {"gen": self.gen},
        )  # fmt: skip
        return [self._info(row) for row in rows]

    def article(self, article_id: str) -> ArticleInfo | None:
        rows = self._query(
            f"SELECT a.id, a.title, a.sources, a.url, a.published FROM articles a WHERE a.id = :id AND {catalog.ALIVE}",
            {"id": article_id, "gen": self.gen},
        )  # fmt: skip
        return self._info(rows[0]) if rows else None

    def passage(self, chunk_id: int, score: float) -> Passage:
        (row,) = self._query(
            "SELECT a.id, a.title, a.sources, a.published, a.url, c.start, c.end, c.position,"
            " substr(a.text, c.start + 1, c.end - c.start) FROM chunks c JOIN articles a"
            " ON a.rev = c.rev WHERE c.id = ?",
            (int(chunk_id),),
        )
        article_id, title, sources, published, url, start, end, position, text = row
        return Passage(
            chunk_id=int(chunk_id),
            article_id=article_id,
            title=title,
            source="، ".join(json.loads(sources)),
            published=published,
            text=text,
            start=start,
            end=end,
            position=position,
            score=float(score),
            url=url,
        )

    def sentence_vectors(self, chunk_ids) -> dict[int, tuple[list[tuple[int, int]], np.ndarray]]:
        """Stored sentence spans and vectors of these chunks (chunks indexed before the
        sentences were stored have none: the caller computes theirs)."""
        with self._db_lock:
            try:
                return catalog.sentences(self._db, chunk_ids, int(self.manifest["dimensions"]))
            except sqlite3.OperationalError:  # a catalog without the sentences table
                return {}

    # -- retrieval ---------------------------------------------------------------
    def dense_ranking(
        self, embedder, query: str, k: int, timings: dict[str, float] | None = None
    ) -> list[tuple[int, float]]:
        if not any(len(s.ids) for s in self.segments):
            return []
        t0 = time.perf_counter()
        vector = np.asarray(embedder.encode_query(query), dtype=np.float32).reshape(1, -1)
        t1 = time.perf_counter()
        found: list[tuple[int, float]] = []
        for seg, dead in zip(self.segments, self.dead, strict=True):
            scores, positions = faiss_index.search(
                seg.dense, seg.entry["dense"], seg.vectors, vector, k, dead
            )
            found += [
                (int(seg.ids[p]), float(s))
                for p, s in zip(positions[0], scores[0], strict=True)
                if p >= 0
            ]
        if timings is not None:
            timings["embed_ms"] = (t1 - t0) * 1000
            timings["dense_ms"] = (time.perf_counter() - t1) * 1000
        return sorted(found, key=lambda item: -item[1])[:k]

    def cosine(self, embedder, query: str, chunk_id: int) -> float:
        vector = np.asarray(embedder.encode_query(query), dtype=np.float32)
        return self.cosines(vector, [chunk_id])[int(chunk_id)]

    def cosines(self, vector: np.ndarray, chunk_ids: list[int]) -> dict[int, float]:
        """Exact cosines of chunks with the query vector, from the segments' vectors."""
        out = {int(c): 0.0 for c in chunk_ids}
        wanted = np.asarray(sorted(out), dtype=np.int64)
        for seg in self.segments:
            positions = seg.positions(wanted)
            if len(positions):
                scores = (np.asarray(seg.vectors[positions], dtype=np.float32) * vector).sum(1)
                out.update(zip(seg.ids[positions].tolist(), scores.tolist(), strict=True))
        return out

    def lexical_ranking(
        self, query: str, k: int, timings: dict[str, float] | None = None
    ) -> list[tuple[int, float]]:
        t0 = time.perf_counter()
        tokens = [t for t in matching_tokens(query, question=True) if self.lexical.knows(t)]
        found: list[tuple[int, float]] = []
        floor = -np.inf  # the k-th best score so far: later segments prune below it
        for i in sorted(range(len(self.segments)), key=lambda i: -len(self.segments[i].ids)):
            if not tokens:
                break
            seg, dead = self.segments[i], self.dead_masks[i]
            positions, scores = self.lexical.top(i, tokens, k, dead, floor)
            found += zip(seg.ids[positions].tolist(), scores.tolist(), strict=True)
            if len(found) >= k:
                floor = sorted((s for _, s in found), reverse=True)[k - 1]
        if timings is not None:
            timings["lexical_ms"] = (time.perf_counter() - t0) * 1000
        return sorted(found, key=lambda item: (-item[1], item[0]))[:k]

    def close(self) -> None:
        with self._db_lock:
            self._db.close()
