"""One write to the Milvus backend, in the order that keeps it consistent.

See index/milvus_store.py for why the order is: reserve in the catalog, insert
into Milvus, commit the catalog, delete the replaced chunks from Milvus.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import index.milvus_store as store
from index.chunking import chunk_text
from index.persian import ENCODER_SPELLING, TOKENIZATION, matching_tokens
from index.readers import Article
from index.store import ModelMismatch, UpdateReport, content_hash, passage_text

if TYPE_CHECKING:
    from index.milvus_store import MilvusKnowledgeBase

log = logging.getLogger(__name__)


def write(
    kb: MilvusKnowledgeBase,
    articles: list[Article],
    remove_ids: list[str],
    fresh: bool,
    progress: Callable[[int, int], None] | None,
) -> UpdateReport:
    started = time.perf_counter()
    report = UpdateReport()
    meta = kb.catalog.meta()
    if meta.get("model") and meta["model"] != kb.embedder.name:
        raise ModelMismatch(
            f"the Milvus index in {kb.index_dir} was built with {meta['model']}, not "
            f"{kb.embedder.name}; rebuild it to switch models"
        )
    known = kb.catalog.hashes()
    latest: dict[str, Article] = {}
    for article in articles:  # a later copy of the same id wins
        latest[article.id] = article
    if meta.get("version") and meta.get("encoder_spelling", "0") != str(ENCODER_SPELLING):
        # vectors of an older encoder spelling: every article kept is embedded again
        report.reembedded = True
        gone = set(remove_ids) | (set() if not fresh else set(known) - set(latest))
        latest = {
            **{a.id: _stored_article(a) for a in kb.catalog.articles() if a.id not in gone},
            **latest,
        }
    if fresh:
        remove_ids = [*remove_ids, *(i for i in known if i not in latest)]
    removed: list[str] = []
    for article_id in dict.fromkeys(remove_ids):
        if article_id in known and article_id not in latest:
            removed.append(article_id)
        elif article_id not in known:
            report.missing.append(article_id)
    report.removed = removed
    pending = []
    for article in latest.values():
        digest = content_hash(article)
        if known.get(article.id) == digest:
            report.unchanged.append(article.id)
            if not report.reembedded:
                continue
        else:
            (report.changed if article.id in known else report.added).append(article.id)
        pending.append((article, digest))

    if meta.get("version") and not report.changed_anything and not report.reembedded:
        report.version = meta["version"]
        report.articles, report.chunks = kb.catalog.counts()
        report.seconds = time.perf_counter() - started
        return report

    chunked = _chunk(kb.embedder, pending)
    total = sum(len(chunks) for _, _, chunks in chunked)
    generation = int(meta.get("last_generation", "0")) + 1
    next_id = kb.catalog.reserve(generation, total)  # step 1
    written = []
    rows: list[dict] = []
    done = 0
    for i, (article, digest, chunks) in enumerate(chunked):  # step 2
        texts = [passage_text(article.title, c.text) for c in chunks]
        tokens = [" ".join(matching_tokens(t)) for t in texts]
        ids = list(range(next_id, next_id + len(chunks)))
        next_id += len(chunks)
        written.append((article, digest, list(zip(ids, chunks, tokens, strict=True))))
        rows.extend(
            {
                "id": chunk_id,
                "article_id": article.id,
                "generation": generation,
                "tokens": token_text,
                "text": text,
            }
            for chunk_id, token_text, text in zip(ids, tokens, texts, strict=True)
        )
        if len(rows) >= store.EMBED_BATCH or i == len(chunked) - 1:
            done += _embed_and_insert(kb, rows)
            rows = []
            if progress:
                progress(done, total)
    if store._after_milvus_insert is not None:
        store._after_milvus_insert()
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    report.version = store.new_version()
    kb.catalog.commit_write(  # step 3: the commit point
        generation,
        removed,  # (changed articles' old chunks are swapped along with them)
        written,
        {
            "version": report.version,
            "model": kb.embedder.name,
            "dimensions": str(kb.embedder.dimensions),
            "tokenization": str(TOKENIZATION),
            "encoder_spelling": str(ENCODER_SPELLING),
            "built_at": now,
            "collection": kb.collection,
        },
        now,
    )
    report.articles, report.chunks = kb.catalog.counts()
    report.seconds = time.perf_counter() - started
    return report


def _stored_article(info) -> Article:
    """An article as the catalog keeps it (its content hash is the one it was stored with)."""
    return Article(info.id, info.title, info.text, list(info.sources), info.url, info.published)


def _embed_and_insert(kb: MilvusKnowledgeBase, rows: list[dict]) -> int:
    """Embed several articles' chunks in one model call, then insert them."""
    vectors = kb.embedder.encode_passages([row.pop("text") for row in rows])
    for row, vector in zip(rows, vectors, strict=True):
        row["dense"] = vector.astype("float32").tolist()
        row["tokens"] = row["tokens"][: store.MAX_TOKENS_CHARS // 4]  # bytes, not chars
    for i in range(0, len(rows), store.INSERT_BATCH):
        kb.client.insert(kb.collection, rows[i : i + store.INSERT_BATCH])
    return len(rows)


def _chunk(embedder, pending: list[tuple[Article, str]]) -> list:
    """Chunks bounded by the model's window, counted on the text as embedded (with title)."""
    return [
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
