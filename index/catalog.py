"""The catalog: articles and chunks in one SQLite file, updated in place (WAL).

Every row carries the generation that added it and, once replaced or removed,
the generation that removed it. A reader pinned to generation ``g`` sees exactly
the rows alive at ``g``, so writers change the file in place while readers on an
older version keep a consistent view (multi-version rows instead of copies).
A write is one transaction; rows of a generation that never became live (the
writer crashed before CURRENT moved) are rolled back by the next writer.
Rows dead in every kept version are deleted by ``collect``.

Chunk texts are not stored twice: a chunk is a span of its article's text, read
with ``substr`` when a passage is shown. The ``sentences`` table holds
each chunk's sentence spans and their passage vectors (int8 with a scale per vector),
computed at index time so that answering never runs the model on passages.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import numpy as np

CATALOG = "catalog.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    rev INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    sources TEXT NOT NULL,
    url TEXT NOT NULL,
    published TEXT NOT NULL,
    path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    added_at TEXT NOT NULL,
    added_gen INTEGER NOT NULL,
    removed_gen INTEGER
);
CREATE INDEX IF NOT EXISTS articles_id ON articles(id, added_gen);
CREATE INDEX IF NOT EXISTS articles_removed ON articles(removed_gen);
-- a writer's start-up check for a generation that never went live (a scan cost ~1 s at 1M chunks)
CREATE INDEX IF NOT EXISTS articles_added ON articles(added_gen);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rev INTEGER NOT NULL REFERENCES articles(rev),
    position INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_rev ON chunks(rev);
"""
# One row per chunk (a rowid table: its blobs stay on the row's page). The first layout,
# one WITHOUT ROWID row per sentence with a float32 blob, put each blob on an overflow
# page of its own: ~15 KB per chunk, 1.5 GB per 100k chunks (index.migrate upgrades it).
SENTENCES = """
CREATE TABLE IF NOT EXISTS sentences (
    chunk_id INTEGER PRIMARY KEY,
    spans BLOB NOT NULL,    -- int32 (start, end) pairs, offsets in the chunk's text
    codes BLOB NOT NULL,    -- int8, one row of `dimensions` per sentence
    scales BLOB NOT NULL    -- float32, one per sentence: vector = codes * scale
);
"""

ALIVE = "a.added_gen <= :gen AND (a.removed_gen IS NULL OR a.removed_gen > :gen)"


def connect(index_dir: Path, readonly: bool = False) -> sqlite3.Connection:
    """WAL lets readers go on while the single writer commits."""
    path = Path(index_dir) / CATALOG
    if readonly:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        db.execute("PRAGMA query_only = ON")
        return db
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    # A big write leaves a WAL file as large as what it wrote (632 MB after 250k chunks,
    # measured) until it is truncated: once checkpointed, the next write cuts it to 64 MB.
    db.execute("PRAGMA journal_size_limit = 67108864")
    db.executescript(_SCHEMA)
    from index.migrate import upgrade_sentences  # before the new table is created

    upgrade_sentences(db)
    db.executescript(SENTENCES)
    return db


def roll_back_unpublished(db: sqlite3.Connection, live_gen: int) -> None:
    """Undo a generation whose writer died before it became live."""
    db.execute("BEGIN IMMEDIATE")
    stale = "SELECT rev FROM articles WHERE added_gen > ?"
    db.execute(f"DELETE FROM sentences WHERE chunk_id IN (SELECT id FROM chunks WHERE rev IN ({stale}))", (live_gen,))  # fmt: skip
    db.execute(f"DELETE FROM chunks WHERE rev IN ({stale})", (live_gen,))
    db.execute("DELETE FROM articles WHERE added_gen > ?", (live_gen,))
    db.execute("UPDATE articles SET removed_gen = NULL WHERE removed_gen > ?", (live_gen,))
    db.execute("COMMIT")


def alive_hashes(
    db: sqlite3.Connection, gen: int, ids: Iterable[str]
) -> dict[str, tuple[int, str]]:
    """id -> (rev, content hash) for the given ids alive at ``gen``."""
    out: dict[str, tuple[int, str]] = {}
    ids = list(dict.fromkeys(ids))
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        marks = ",".join("?" * len(part))
        rows = db.execute(
            f"SELECT a.id, a.rev, a.content_hash FROM articles a WHERE a.id IN ({marks})"
            " AND a.added_gen <= ? AND (a.removed_gen IS NULL OR a.removed_gen > ?)",
            (*part, gen, gen),
        )
        for article_id, rev, digest in rows:
            out[article_id] = (rev, digest)
    return out


def retire(db: sqlite3.Connection, revs: list[int], gen: int) -> list[int]:
    """Mark article revisions dead from ``gen`` on; returns their chunk ids (tombstones)."""
    dead: list[int] = []
    for i in range(0, len(revs), 500):
        part = revs[i : i + 500]
        marks = ",".join("?" * len(part))
        db.execute(f"UPDATE articles SET removed_gen = ? WHERE rev IN ({marks})", (gen, *part))
        dead += [r[0] for r in db.execute(f"SELECT id FROM chunks WHERE rev IN ({marks})", part)]
    return dead


def insert_article(db: sqlite3.Connection, article, digest: str, now: str, gen: int) -> int:
    cursor = db.execute(
        "INSERT INTO articles (id, title, text, sources, url, published, path, content_hash,"
        " added_at, added_gen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            article.id, article.title, article.text,
            json.dumps(article.sources, ensure_ascii=False), article.url,
            article.published, article.path, digest, now, gen,
        ),
    )  # fmt: skip
    return int(cursor.lastrowid)


def insert_chunks(db: sqlite3.Connection, rev: int, chunks) -> list[int]:
    """Chunk ids are never reused (AUTOINCREMENT), so a tombstone names one chunk forever."""
    ids = []
    for c in chunks:
        cursor = db.execute(
            "INSERT INTO chunks (rev, position, start, end) VALUES (?, ?, ?, ?)",
            (rev, c.position, c.start, c.end),
        )
        ids.append(int(cursor.lastrowid))
    return ids


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and one float32 scale per row (symmetric, the row's largest |x| -> 127).

    Why int8: a quarter of float32 (the sentences of a million chunks fit the disk goal);
    a unit vector's cosines move by ~1e-4 (tested), far below what changes an answer."""
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    scales = np.max(np.abs(vectors), axis=1) / 127.0
    scales[scales == 0] = 1.0
    codes = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    return codes, scales.astype(np.float32)


def dequantize(codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Float32 rows, back at unit length (what was stored was normalized): the rounding
    then moves a vector's cosine with itself by ~1e-5 instead of ~5e-4."""
    vectors = codes.astype(np.float32) * scales[:, None]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def sentence_row(chunk_id: int, spans, vectors) -> tuple:
    codes, scales = quantize(np.asarray(vectors, np.float32).reshape(len(spans), -1))
    flat = np.asarray(spans, dtype=np.int32).reshape(-1)
    return (int(chunk_id), flat.tobytes(), codes.tobytes(), scales.tobytes())


def insert_sentences(db: sqlite3.Connection, chunk_ids: list[int], spans, vectors) -> None:
    """Each chunk's sentence spans (within the chunk's text) and passage vectors (int8)."""
    db.executemany(
        "INSERT OR REPLACE INTO sentences (chunk_id, spans, codes, scales) VALUES (?, ?, ?, ?)",
        (
            sentence_row(chunk_id, found, matrix)
            for chunk_id, found, matrix in zip(chunk_ids, spans, vectors, strict=True)
        ),
    )


def sentences(db: sqlite3.Connection, chunk_ids: list[int], dimensions: int) -> dict:
    """chunk id -> (spans, float32 vectors) for the chunks that have stored sentences."""
    out: dict[int, tuple[list[tuple[int, int]], np.ndarray]] = {}
    ids = list(dict.fromkeys(int(c) for c in chunk_ids))
    if "position" in {row[1] for row in db.execute("PRAGMA table_info(sentences)")}:
        return _first_layout_sentences(db, ids, dimensions)  # upgraded by the next write
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        marks = ",".join("?" * len(part))
        for chunk_id, spans, codes, scales in db.execute(
            f"SELECT chunk_id, spans, codes, scales FROM sentences WHERE chunk_id IN ({marks})",
            part,
        ):
            pairs = np.frombuffer(spans, dtype=np.int32).reshape(-1, 2).tolist()
            matrix = np.frombuffer(codes, dtype=np.int8).reshape(len(pairs), dimensions)
            vectors = dequantize(matrix, np.frombuffer(scales, dtype=np.float32))
            out[chunk_id] = ([(s, e) for s, e in pairs], vectors)
    return out


def _first_layout_sentences(db: sqlite3.Connection, ids: list[int], dimensions: int) -> dict:
    """The first layout: one row per sentence with a float32 blob."""
    rows: dict[int, list[tuple]] = {}
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        marks = ",".join("?" * len(part))
        for row in db.execute(
            "SELECT chunk_id, start, end, vector FROM sentences"
            f" WHERE chunk_id IN ({marks}) ORDER BY chunk_id, position",
            part,
        ):
            rows.setdefault(row[0], []).append(row[1:])
    return {
        chunk_id: (
            [(s, e) for s, e, _ in found],
            np.frombuffer(b"".join(b for *_, b in found), np.float32).reshape(-1, dimensions),
        )
        for chunk_id, found in rows.items()
        if all(b is not None for *_, b in found)
    }


def counts(db: sqlite3.Connection, gen: int) -> tuple[int, int]:
    (articles,) = db.execute(
        f"SELECT COUNT(*) FROM articles a WHERE {ALIVE}", {"gen": gen}
    ).fetchone()
    (chunks,) = db.execute(
        f"SELECT COUNT(*) FROM chunks c JOIN articles a ON a.rev = c.rev WHERE {ALIVE}",
        {"gen": gen},
    ).fetchone()
    return int(articles), int(chunks)


def alive_chunks(db: sqlite3.Connection, gen: int):
    """(chunk id, title, chunk text) of every chunk alive at ``gen``, in id order."""
    return db.execute(
        "SELECT c.id, a.title, substr(a.text, c.start + 1, c.end - c.start) FROM chunks c"
        f" JOIN articles a ON a.rev = c.rev WHERE {ALIVE} ORDER BY c.id",
        {"gen": gen},
    )


def collect(db: sqlite3.Connection, oldest_kept_gen: int) -> None:
    """Delete rows that no kept version can see any more."""
    dead = "SELECT rev FROM articles WHERE removed_gen IS NOT NULL AND removed_gen <= ?"
    db.execute("BEGIN IMMEDIATE")
    db.execute(f"DELETE FROM sentences WHERE chunk_id IN (SELECT id FROM chunks WHERE rev IN ({dead}))", (oldest_kept_gen,))  # fmt: skip
    db.execute(f"DELETE FROM chunks WHERE rev IN ({dead})", (oldest_kept_gen,))
    db.execute(
        "DELETE FROM articles WHERE removed_gen IS NOT NULL AND removed_gen <= ?",
        (oldest_kept_gen,),
    )
    db.execute("COMMIT")
