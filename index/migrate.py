"""Carry an index of the first layout (one SQLite copy per version) into segments.

Nothing already indexed is lost on upgrade and nothing is embedded again: the
old store kept every chunk's vector, so the live version's articles go into the
catalog and its vectors into one segment, which then becomes the live version.
"""

from __future__ import annotations

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
