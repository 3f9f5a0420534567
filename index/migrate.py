"""Carry an index of the first layout (one SQLite copy per version) into segments.

Nothing already indexed is lost on upgrade and nothing is embedded again: the
old store kept every chunk's vector, so the live version's articles go into the
catalog and its vectors into one segment, which then becomes the live version.
"""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
import time
from pathlib import Path

import numpy as np

from index import catalog, segments
from index.chunking import Chunk
from index.lexical import LEXICAL_B, LEXICAL_K1
from index.persian import TOKENIZATION, matching_tokens
from index.readers import Article
from index.versions import new_version_name, point_current, version_dir, write_manifest

log = logging.getLogger(__name__)


def migrate_first_layout(index_dir: Path, old: dict, db: sqlite3.Connection, fmt: int) -> dict:
    """Write a new-layout version holding the old live version's articles; its manifest."""
    source = sqlite3.connect(f"file:{version_dir(index_dir, old['version']) / 'store.sqlite'}?mode=ro", uri=True)  # fmt: skip
    gen = 1
    ids, vectors, documents = [], [], []
    db.execute("BEGIN IMMEDIATE")
    try:
        articles = source.execute(
            "SELECT id, title, text, sources, url, published, path, content_hash, added_at"
            " FROM articles ORDER BY id"
        ).fetchall()
        for row in articles:
            article = Article(id=row[0], title=row[1], text=row[2], sources=json.loads(row[3]),
                              url=row[4], published=row[5], path=row[6])  # fmt: skip
            rev = catalog.insert_article(db, article, row[7], row[8], gen)
            chunks = source.execute(
                "SELECT position, start, end, text, vector FROM chunks WHERE article_id = ?"
                " ORDER BY position",
                (row[0],),
            ).fetchall()
            new = catalog.insert_chunks(db, rev, [Chunk(row[0], c[0], c[1], c[2], c[3]) for c in chunks])  # fmt: skip
            ids += new
            vectors += [np.frombuffer(c[4], dtype=np.float32) for c in chunks]
            documents += [matching_tokens(f"{row[1]}\n{c[3]}") for c in chunks]
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        source.close()
    matrix = np.stack(vectors) if vectors else np.zeros((0, old["dimensions"]), np.float32)
    entries = [segments.write_segment(index_dir, np.asarray(ids, np.int64), matrix, documents)]
    manifest = {
        **{k: old[k] for k in ("model", "dimensions")},
        "format_version": fmt,
        "tokenization": TOKENIZATION,
        "version": new_version_name(gen),
        "gen": gen,
        "articles": len(articles),
        "chunks": len(ids),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "dense": segments.describe(entries),
        "lexical": {"engine": "bm25 segments", "k1": LEXICAL_K1, "b": LEXICAL_B},
        "tombstones": 0,
        "segments": entries,
    }
    version_dir(index_dir, manifest["version"]).mkdir(parents=True)
    np.save(version_dir(index_dir, manifest["version"]) / "tombstones.npy", np.zeros(0, np.int64))
    write_manifest(index_dir, manifest)
    point_current(index_dir, manifest["version"])
    log.warning(
        "the index in %s was moved to the segment layout (%s)", index_dir, manifest["version"]
    )
    return manifest


def upgrade_sentences(db: sqlite3.Connection) -> None:
    """Rewrite the first ``sentences`` layout (a row per sentence, float32) as a row per
    chunk with int8 vectors, in one transaction; nothing is embedded again.

    Readers of either layout keep working meanwhile: ``catalog.sentences`` reads both, and
    a reader that finds neither computes the vectors at question time."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(sentences)")}
    if "position" not in columns:
        return
    from index.catalog import SENTENCES, sentence_row

    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("ALTER TABLE sentences RENAME TO sentences_first_layout")
        db.execute(SENTENCES)  # one statement; executescript would commit first
        rows = db.execute(
            "SELECT chunk_id, start, end, vector FROM sentences_first_layout"
            " ORDER BY chunk_id, position"
        )
        batch, current, spans, vectors, moved = [], None, [], [], 0
        for chunk_id, start, end, blob in itertools.chain(rows, [(None, 0, 0, None)]):
            if chunk_id != current and current is not None:
                if all(v is not None for v in vectors):
                    batch.append(sentence_row(current, spans, np.stack(vectors)))
                spans, vectors = [], []
            if chunk_id is None:
                break
            current = chunk_id
            spans.append((start, end))
            vectors.append(None if blob is None else np.frombuffer(blob, dtype=np.float32))
            if len(batch) >= 1000:
                _insert_rows(db, batch)
                moved, batch = moved + len(batch), []
        _insert_rows(db, batch)
        moved += len(batch)
        db.execute("DROP TABLE sentences_first_layout")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    log.warning("stored sentence vectors moved to one int8 row per chunk (%d chunks)", moved)


def _insert_rows(db: sqlite3.Connection, rows: list[tuple]) -> None:
    db.executemany(
        "INSERT INTO sentences (chunk_id, spans, codes, scales) VALUES (?, ?, ?, ?)", rows
    )
