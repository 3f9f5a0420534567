"""The SQLite catalog beside a Milvus collection: articles, chunk texts, term counts.

Milvus holds what is searched (dense vectors and its BM25 index over normalized
tokens); this catalog holds what is shown (titles, texts, spans) and is the
single source of truth for which chunks are live. Milvus has no transaction
that spans two writes, SQLite does, so the catalog's commit is the point where
a write becomes visible: a chunk in Milvus that the catalog does not list is
never shown (see index/milvus_store.py for the write protocol).

Tables::

    meta(key, value)     version, model, dimensions, generation counters, ...
    articles             one row per article, with the generation that wrote it
    chunks               one row per live chunk: id (also its Milvus primary key),
                         article, generation, span, text, tokens
    terms(token, df)     in how many live chunks a token occurs (IDF for the answerer)
    garbage(chunk_id)    chunks replaced or removed, still to be deleted from Milvus
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from index.readers import Article
from index.search import ArticleInfo, Passage

CATALOG_NAME = "milvus-catalog.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    sources TEXT NOT NULL,
    url TEXT NOT NULL,
    published TEXT NOT NULL,
    path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    generation INTEGER NOT NULL,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL,
    generation INTEGER NOT NULL,
    position INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    tokens TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE TABLE IF NOT EXISTS terms (token TEXT PRIMARY KEY, df INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS garbage (chunk_id INTEGER PRIMARY KEY);
"""


class Catalog:
    """Short-lived SQLite connections (WAL): readers never wait for the writer."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.exists() and bool(self.meta().get("version"))

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """One connection per call: cheap, and safe from the bot's worker threads."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")  # the commit is the write's commit point
            db.executescript(_SCHEMA)
            yield db
        finally:
            db.close()

    # -- reading -----------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        with self.connect() as db:
            return dict(db.execute("SELECT key, value FROM meta"))

    def hashes(self) -> dict[str, str]:
        with self.connect() as db:
            return dict(db.execute("SELECT id, content_hash FROM articles"))

    def chunk_ids(self) -> set[int]:
        with self.connect() as db:
            return {row[0] for row in db.execute("SELECT id FROM chunks")}

    def garbage(self) -> list[int]:
        with self.connect() as db:
            return [row[0] for row in db.execute("SELECT chunk_id FROM garbage")]

    def articles(self) -> list[ArticleInfo]:
        with self.connect() as db:
            return [
                _article_info(row)
                for row in db.execute(
                    "SELECT id, title, sources, url, published, text FROM articles ORDER BY id"
                )
            ]

    def article(self, article_id: str) -> ArticleInfo | None:
        with self.connect() as db:
            row = db.execute(
                "SELECT id, title, sources, url, published, text FROM articles WHERE id = ?",
                (article_id,),
            ).fetchone()
        return _article_info(row) if row else None

    def chunk_rows(self, chunk_ids: Iterable[int]) -> dict[int, tuple]:
        """Live chunks among `chunk_ids`, with their article's title, sources, date and url;
        an id the catalog does not list (an orphan in Milvus) is simply absent."""
        ids = [int(i) for i in chunk_ids]
        if not ids:
            return {}
        with self.connect() as db:
            rows = db.execute(
                "SELECT c.id, c.article_id, c.position, c.start, c.end, c.text,"
                " a.title, a.sources, a.published, a.url FROM chunks c"
                " JOIN articles a ON a.id = c.article_id AND a.generation = c.generation"
                f" WHERE c.id IN ({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
        return {row[0]: row[1:] for row in rows}

    def document_frequency(self, token: str) -> int:
        with self.connect() as db:
            row = db.execute("SELECT df FROM terms WHERE token = ?", (token,)).fetchone()
        return int(row[0]) if row else 0

    def known_of(self, tokens: Iterable[str]) -> frozenset[str]:
        """The tokens that are terms of the index, in one connection (bot.answering asks
        about a thousand spellings of one unknown word)."""
        tokens = list(dict.fromkeys(tokens))
        found: set[str] = set()
        with self.connect() as db:
            for start in range(0, len(tokens), 500):  # under SQLite's variable limit
                batch = tokens[start : start + 500]
                marks = ",".join("?" * len(batch))
                rows = db.execute(f"SELECT token FROM terms WHERE token IN ({marks})", batch)
                found.update(token for (token,) in rows)
        return frozenset(found)

    def counts(self) -> tuple[int, int]:
        with self.connect() as db:
            (articles,) = db.execute("SELECT COUNT(*) FROM articles").fetchone()
            (chunks,) = db.execute("SELECT COUNT(*) FROM chunks").fetchone()
        return int(articles), int(chunks)

    # -- writing -----------------------------------------------------------------
    def reserve(self, generation: int, chunks: int) -> int:
        """Step 1 of a write: record the generation about to be written to Milvus (so a
        crash can be cleaned up) and reserve chunk ids that are never handed out again."""
        with self.connect() as db:
            meta = dict(db.execute("SELECT key, value FROM meta"))
            first = int(meta.get("next_chunk_id", "1"))
            db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [
                    ("pending_generation", str(generation)),
                    ("next_chunk_id", str(first + chunks)),
                ],
            )
            db.commit()
        return first

    def commit_write(
        self,
        generation: int,
        removed: list[str],
        written: list[tuple[Article, str, list[tuple[int, object, str]]]],
        meta: dict[str, str],
        now: str,
    ) -> None:
        """Step 3, the commit point: one transaction swaps the articles' rows and chunks,
        the term counts and the version; replaced chunk ids go to `garbage`."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            df: Counter[str] = Counter()
            for article_id in [*removed, *(article.id for article, _, _ in written)]:
                old = db.execute(
                    "SELECT id, tokens FROM chunks WHERE article_id = ?", (article_id,)
                ).fetchall()
                for _, tokens in old:
                    df.subtract(set(tokens.split()))
                db.executemany("INSERT OR IGNORE INTO garbage VALUES (?)", [(i,) for i, _ in old])
                db.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
                db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
            for article, digest, chunks in written:
                db.execute(
                    "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        article.id, article.title, article.text,
                        json.dumps(article.sources, ensure_ascii=False), article.url,
                        article.published, article.path, digest, generation, now,
                    ),
                )  # fmt: skip
                db.executemany(
                    "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            chunk_id, article.id, generation, c.position, c.start, c.end,
                            c.text, tokens,
                        )
                        for chunk_id, c, tokens in chunks
                    ],
                )  # fmt: skip
                for _, _, tokens in chunks:
                    df.update(set(tokens.split()))
            for token, change in df.items():
                if change:
                    db.execute(
                        "INSERT INTO terms VALUES (?, ?)"
                        " ON CONFLICT(token) DO UPDATE SET df = df + excluded.df",
                        (token, change),
                    )
            db.execute("DELETE FROM terms WHERE df <= 0")
            db.execute("DELETE FROM meta WHERE key = 'pending_generation'")
            db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [*meta.items(), ("last_generation", str(generation))],
            )
            db.commit()

    def set_meta(self, values: dict[str, str], drop: Iterable[str] = ()) -> None:
        with self.connect() as db:
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))
            db.executemany("DELETE FROM meta WHERE key = ?", [(k,) for k in drop])
            db.commit()

    def forget_garbage(self, chunk_ids: list[int]) -> None:
        with self.connect() as db:
            db.executemany("DELETE FROM garbage WHERE chunk_id = ?", [(i,) for i in chunk_ids])
            db.commit()


def _article_info(row: tuple) -> ArticleInfo:
    # ArticleInfo keeps its text in a one-item list (it is loaded lazily on the default
    # backend); handing the string over positionally made `.text` its first letter
    return ArticleInfo(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4], _text=[row[5]])


def passage_from_row(chunk_id: int, row: tuple, score: float) -> Passage:
    """A search hit as the answerer sees it, from a `Catalog.chunk_rows` row."""
    article_id, position, start, end, text, title, sources, published, url = row
    return Passage(
        chunk_id=chunk_id,
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
