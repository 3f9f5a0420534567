"""The index directory: versioned, atomically swapped snapshots.

Layout::

    INDEX_DIR/CURRENT                 name of the live version (replaced by rename)
    INDEX_DIR/versions/<version>/     manifest.json, store.sqlite, vectors.faiss,
                                      lexical/ (bm25s), chunk_ids.npy
    INDEX_DIR/.lock                   one writer at a time

A write copies the live SQLite store into a new version folder, applies the
change, writes FAISS and BM25 beside it, and only then points CURRENT at it.
A reader therefore never sees half an index, and a crash at any step leaves the
previous version whole. Unchanged articles (same content hash) are never
embedded again: their vectors are carried over from SQLite.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from index.chunking import chunk_text
from index.persian import TOKENIZATION, matching_tokens
from index.readers import Article

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
KEEP_OLD_VERSIONS = 2


def passage_text(title: str, text: str) -> str:
    """What is embedded and tokenized for a chunk: its article's title gives it context."""
    return f"{title}\n{text}"


# BM25 parameters tuned on pquad_val (see index/search.py): short passages want
# little length normalization.
LEXICAL_K1, LEXICAL_B = 0.9, 0.4
EMBED_BATCH = 32  # passages per model call, across articles

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    sources TEXT NOT NULL,
    url TEXT NOT NULL,
    published TEXT NOT NULL,
    path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    tokens TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
"""


class IndexProblem(Exception):
    """A problem with the index directory that the user can act on."""


class IndexMissing(IndexProblem):
    pass


class ModelMismatch(IndexProblem):
    pass


def content_hash(article: Article) -> str:
    """What decides whether an article must be embedded again."""
    payload = json.dumps(
        [article.title, article.text, article.sources, article.url, article.published],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class UpdateReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # asked to remove, not there
    version: str = ""
    articles: int = 0
    chunks: int = 0
    seconds: float = 0.0

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def current_version(index_dir: Path) -> str | None:
    try:
        return (index_dir / "CURRENT").read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def version_dir(index_dir: Path, version: str) -> Path:
    return index_dir / "versions" / version


def read_manifest(index_dir: Path) -> dict:
    version = current_version(index_dir)
    if version is None:
        raise IndexMissing(f"no index in {index_dir}; run `pasokh index build`")
    return json.loads((version_dir(index_dir, version) / "manifest.json").read_text("utf-8"))


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time across processes (the bot's uploads and `pasokh index`)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Embeds(Protocol):
    """What the writer needs from a model (see index.embedding.Embedder)."""

    name: str
    dimensions: int
    max_tokens: int

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def update_index(
    index_dir: Path,
    embedder: Embeds,
    articles: Iterable[Article] = (),
    remove_ids: Iterable[str] = (),
    fresh: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> UpdateReport:
    """Write a new version with `articles` added or replaced and `remove_ids` removed.

    `fresh` starts from an empty index (`pasokh index build`). `progress` is called
    with the number of chunks embedded so far and the number to embed.
    """
    started = time.perf_counter()
    articles = list(articles)
    report = UpdateReport()
    with writer_lock(index_dir):
        live = None if fresh else current_version(index_dir)
        if live is not None:
            manifest = json.loads(
                (version_dir(index_dir, live) / "manifest.json").read_text("utf-8")
            )
            if manifest["model"] != embedder.name:
                raise ModelMismatch(
                    f"the index in {index_dir} was built with {manifest['model']}, not "
                    f"{embedder.name}; rebuild it with `pasokh index build` to switch models"
                )
        staging = index_dir / "versions" / f".staging-{uuid.uuid4().hex[:8]}"
        staging.mkdir(parents=True)
        try:
            if live is not None:
                shutil.copy2(
                    version_dir(index_dir, live) / "store.sqlite", staging / "store.sqlite"
                )
            db = sqlite3.connect(staging / "store.sqlite")
            try:
                db.execute("PRAGMA foreign_keys = ON")
                db.executescript(_SCHEMA)
                _apply_changes(db, embedder, articles, remove_ids, report, progress)
                stale_tokens = live is not None and manifest.get("tokenization") != TOKENIZATION
                if stale_tokens:  # the Persian rules changed since: re-tokenize, no re-embedding
                    _retokenize(db)
                unchanged = live is not None and not report.changed_anything and not stale_tokens
                if not unchanged:
                    db.commit()
                    report.version = _write_search_files(db, staging, embedder, report)
            finally:
                db.close()
            if unchanged:  # the same articles again: the live version stays, untouched
                shutil.rmtree(staging)
                report.version = live
                report.articles, report.chunks = manifest["articles"], manifest["chunks"]
            else:
                final = version_dir(index_dir, report.version)
                os.rename(staging, final)
                _fsync_dir(final.parent)
                _point_current(index_dir, report.version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _prune_versions(index_dir, keep=report.version)
    report.seconds = time.perf_counter() - started
    return report


def _apply_changes(
    db: sqlite3.Connection,
    embedder: Embeds,
    articles: list[Article],
    remove_ids: Iterable[str],
    report: UpdateReport,
    progress: Callable[[int, int], None] | None,
) -> None:
    known = dict(db.execute("SELECT id, content_hash FROM articles"))
    for article_id in remove_ids:
        if article_id in known:
            db.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
            db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
            report.removed.append(article_id)
            known.pop(article_id)
        else:
            report.missing.append(article_id)
    latest: dict[str, Article] = {}
    for article in articles:  # a later copy of the same id wins
        latest[article.id] = article
    pending = []
    for article in latest.values():
        digest = content_hash(article)
        if known.get(article.id) == digest:
            report.unchanged.append(article.id)
            continue
        (report.changed if article.id in known else report.added).append(article.id)
        pending.append((article, digest))
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    chunked = [
        (
            article,
            digest,
            chunk_text(
                article.id,
                article.text,
                lambda text, title=article.title: embedder.count_tokens(passage_text(title, text)),
                max_tokens=embedder.max_tokens - 8,
            ),
        )
        for article, digest in pending
    ]
    total = sum(len(chunks) for _, _, chunks in chunked)
    batch: list[tuple[Article, str, list]] = []
    done = 0
    for i, item in enumerate(chunked):
        batch.append(item)
        if sum(len(c) for _, _, c in batch) >= EMBED_BATCH or i == len(chunked) - 1:
            done += _embed_and_store(db, embedder, batch, now)
            batch = []
            if progress:
                progress(done, total)


def _embed_and_store(
    db: sqlite3.Connection, embedder: Embeds, batch: list[tuple[Article, str, list]], now: str
) -> int:
    """Embed the chunks of several articles in one call (small articles make tiny batches)."""
    texts = [passage_text(article.title, c.text) for article, _, chunks in batch for c in chunks]
    vectors = iter(embedder.encode_passages(texts))
    for article, digest, chunks in batch:
        db.execute("DELETE FROM chunks WHERE article_id = ?", (article.id,))
        db.execute(
            "INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.id, article.title, article.text,
                json.dumps(article.sources, ensure_ascii=False), article.url,
                article.published, article.path, digest, now,
            ),
        )  # fmt: skip
        db.executemany(
            "INSERT INTO chunks (article_id, position, start, end, text, tokens, vector)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    c.article_id, c.position, c.start, c.end, c.text,
                    " ".join(matching_tokens(passage_text(article.title, c.text))),
                    next(vectors).astype(np.float32).tobytes(),
                )
                for c in chunks
            ],
        )  # fmt: skip
    return len(texts)


def _retokenize(db: sqlite3.Connection) -> None:
    rows = db.execute(
        "SELECT chunks.id, articles.title, chunks.text FROM chunks"
        " JOIN articles ON articles.id = chunks.article_id"
    ).fetchall()
    db.executemany(
        "UPDATE chunks SET tokens = ? WHERE id = ?",
        [
            (" ".join(matching_tokens(passage_text(title, text))), chunk_id)
            for chunk_id, title, text in rows
        ],
    )


def import_bm25s():
    """bm25s sets its own logger to DEBUG on import; keep it at the application's level."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.getLogger().getEffectiveLevel())
    return bm25s


def _write_search_files(
    db: sqlite3.Connection, folder: Path, embedder: Embeds, report: UpdateReport
) -> str:
    import faiss

    bm25s = import_bm25s()

    rows = db.execute("SELECT id, tokens, vector FROM chunks ORDER BY id").fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    vectors = (
        np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        if rows
        else np.zeros((0, embedder.dimensions), dtype=np.float32)
    )
    dense = faiss.IndexIDMap2(faiss.IndexFlatIP(embedder.dimensions))
    if len(rows):
        dense.add_with_ids(vectors, ids)
    faiss.write_index(dense, str(folder / "vectors.faiss"))
    np.save(folder / "chunk_ids.npy", ids)
    lexical = bm25s.BM25(k1=LEXICAL_K1, b=LEXICAL_B)
    corpus_tokens = [r[1].split() or ["<empty>"] for r in rows] or [["<empty>"]]
    lexical.index(corpus_tokens, show_progress=False)
    lexical.save(str(folder / "lexical"))
    (report.articles,) = db.execute("SELECT COUNT(*) FROM articles").fetchone()
    report.chunks = len(rows)
    built_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    version = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    manifest = {
        "format_version": FORMAT_VERSION,
        "tokenization": TOKENIZATION,
        "version": version,
        "model": embedder.name,
        "dimensions": embedder.dimensions,
        "articles": report.articles,
        "chunks": report.chunks,
        "built_at": built_at,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    return version


def _point_current(index_dir: Path, version: str) -> None:
    tmp = index_dir / f".CURRENT.{uuid.uuid4().hex[:8]}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(version + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / "CURRENT")
    _fsync_dir(index_dir)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune_versions(index_dir: Path, keep: str) -> None:
    """Keep the live version and a couple before it (a reader may still be loading one)."""
    versions = sorted(
        (p for p in (index_dir / "versions").iterdir() if p.is_dir()),
        key=lambda p: p.name,
    )
    stale = [p for p in versions if p.name != keep and not p.name.startswith(".")]
    for path in stale[:-KEEP_OLD_VERSIONS] if KEEP_OLD_VERSIONS else stale:
        shutil.rmtree(path, ignore_errors=True)
    for path in versions:  # staging folders left by a crashed writer
        if path.name.startswith(".staging-") and time.time() - path.stat().st_mtime > 3600:
            shutil.rmtree(path, ignore_errors=True)
