"""Writing the index: a write costs what changed, not what exists.

Layout::

    INDEX_DIR/CURRENT                  name of the live version (replaced by rename)
    INDEX_DIR/catalog.sqlite           articles and chunks, updated in place (WAL)
    INDEX_DIR/segments/<name>/         immutable dense + lexical slices (index.segments)
    INDEX_DIR/versions/<version>/      manifest.json (segments, counts, FAISS types)
                                       and tombstones.npy (deleted chunk ids)
    INDEX_DIR/.lock                    one writer at a time (bounded wait)

Order of a write: embed outside any transaction; one catalog transaction adds
the new generation's rows and marks replaced ones dead; a new segment is
written and fsynced; the manifest is written; CURRENT moves (the commit
point). A crash before that leaves the previous version whole; the next writer
rolls the orphaned rows back. Readers see only rows of their generation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from index import catalog, segments
from index.chunking import chunk_text
from index.lexical import LEXICAL_B, LEXICAL_K1
from index.migrate import migrate_first_layout
from index.persian import ENCODER_SPELLING, TOKENIZATION, matching_tokens, sentence_spans
from index.readers import Article
from index.versions import (
    LOCK_TIMEOUT_S,
    IndexBusy,
    IndexMissing,
    IndexProblem,
    ModelMismatch,
    current_version,
    live_manifest,
    new_version_name,
    point_current,
    prune_versions,
    read_manifest,
    version_dir,
    write_manifest,
    writer_lock,
)

__all__ = [
    "IndexBusy",
    "IndexMissing",
    "IndexProblem",
    "ModelMismatch",
    "UpdateReport",
    "content_hash",
    "current_version",
    "passage_text",
    "read_manifest",
    "update_index",
    "version_dir",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
EMBED_BATCH = 32  # passages per model call, across articles


def passage_text(title: str, text: str) -> str:
    """What is embedded and tokenized for a chunk: its article's title gives it context."""
    return f"{title}\n{text}"


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
    reembedded: bool = False  # every article embedded again: the encoder's spelling changed

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed)


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
    lock_timeout: float = LOCK_TIMEOUT_S,
) -> UpdateReport:
    """Write a new version with `articles` added or replaced and `remove_ids` removed.

    `fresh` starts from an empty index (`pasokh index build`). `progress` is called
    with the number of chunks embedded so far and the number to embed. Waits at most
    `lock_timeout` seconds for another writer, then raises IndexBusy.
    """
    started = time.perf_counter()
    index_dir = Path(index_dir)
    latest: dict[str, Article] = {}
    for article in articles:  # a later copy of the same id wins
        latest[article.id] = article
    remove_ids = list(dict.fromkeys(remove_ids))
    report = UpdateReport()
    with writer_lock(index_dir, lock_timeout):
        live = live_manifest(index_dir)
        if live is not None and live.get("format_version") != FORMAT_VERSION and fresh:
            live = None  # a rebuild replaces an index of the older layout
        if live is not None and not fresh and live["model"] != embedder.name:
            raise ModelMismatch(
                f"the index in {index_dir} was built with {live['model']}, not "
                f"{embedder.name}; rebuild it with `pasokh index build` to switch models"
            )
        db = catalog.connect(index_dir)
        try:
            if live is not None and live.get("format_version") == 1:
                live = migrate_first_layout(index_dir, live, db, FORMAT_VERSION)
            elif live is not None and live.get("format_version") != FORMAT_VERSION:
                raise IndexProblem(f"the index in {index_dir} has an unknown layout; rebuild it")
            live_gen = live["gen"] if live else 0
            catalog.roll_back_unpublished(db, live_gen)
            if live is not None and not fresh and _stale_vectors(live):
                # vectors of an older encoder spelling: every article is embedded again
                # (those asked to be removed are not)
                log.info("re-embedding %s: its vectors predate the encoder's spelling", index_dir)
                alive = _alive_articles(db, live_gen)
                for article_id in remove_ids:
                    if article_id not in latest and alive.pop(article_id, None) is not None:
                        report.removed.append(article_id)
                    elif article_id not in latest:
                        report.missing.append(article_id)
                latest, remove_ids = {**alive, **latest}, []
                fresh = report.reembedded = True
            _write(index_dir, db, embedder, live, fresh, latest, remove_ids, report, progress)
        finally:
            db.close()
    report.seconds = time.perf_counter() - started
    return report


def _stale_vectors(live: dict) -> bool:
    """The live version's vectors were computed from another encoder spelling
    (index.persian.encoder_spelling); a version that records none predates it."""
    return live.get("encoder_spelling", 0) != ENCODER_SPELLING


def _alive_articles(db, gen: int) -> dict[str, Article]:
    """Every article alive at `gen`, as read from the catalog."""
    rows = db.execute(
        "SELECT a.id, a.title, a.text, a.sources, a.url, a.published, a.path FROM articles a"
        f" WHERE {catalog.ALIVE} ORDER BY a.rev",
        {"gen": gen},
    )
    return {
        row[0]: Article(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6])
        for row in rows
    }


def _write(index_dir, db, embedder, live, fresh, latest, remove_ids, report, progress) -> None:
    live_gen = live["gen"] if live else 0
    gen = live_gen + 1
    if fresh:  # a rebuild embeds every article; a re-embedding still tells what changed
        old = {row[0]: (row[1], row[2] if report.reembedded else "") for row in db.execute(
            f"SELECT a.id, a.rev, a.content_hash FROM articles a WHERE {catalog.ALIVE}",
            {"gen": live_gen})}  # fmt: skip
    else:
        old = catalog.alive_hashes(db, live_gen, [*remove_ids, *latest])
    retire: list[int] = []
    for article_id in remove_ids:
        if article_id in old and article_id not in latest:
            report.removed.append(article_id)
            retire.append(old.pop(article_id)[0])
        elif article_id not in latest:
            report.missing.append(article_id)
    pending = []
    for article in latest.values():
        rev, digest = old.pop(article.id, (None, ""))
        new_digest = content_hash(article)
        if rev is not None and digest == new_digest:
            report.unchanged.append(article.id)
            if not report.reembedded:
                continue
        else:
            (report.changed if rev is not None else report.added).append(article.id)
        if rev is not None:
            retire.append(rev)
        pending.append((article, new_digest))
    if fresh:
        retire += [rev for rev, _ in old.values()]
    stale_tokens = live is not None and live.get("tokenization") != TOKENIZATION
    if live is not None and not fresh and not report.changed_anything and not stale_tokens:
        report.version = live["version"]  # the same articles again: the live version stays
        report.articles, report.chunks = live["articles"], live["chunks"]
        return
    chunked, vectors, spans, sentence_vectors = _chunk_and_embed(embedder, pending, progress)
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    db.execute("BEGIN IMMEDIATE")
    try:
        dead = catalog.retire(db, retire, gen)
        new_ids: list[int] = []
        for article, digest, chunks in chunked:
            rev = catalog.insert_article(db, article, digest, now, gen)
            new_ids += catalog.insert_chunks(db, rev, chunks)
        catalog.insert_sentences(db, new_ids, spans, sentence_vectors)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    documents = [
        matching_tokens(passage_text(article.title, c.text))
        for article, _, chunks in chunked
        for c in chunks
    ]
    entries, tombstones = _next_segments(index_dir, live, fresh, dead, new_ids, vectors, documents)
    if stale_tokens:  # the Persian rules changed since: re-tokenize, no re-embedding
        entries, tombstones = _retokenized(index_dir, db, gen, entries, tombstones), np.zeros(0)
    articles_n, chunks_n = (
        catalog.counts(db, gen)
        if fresh or stale_tokens or not live
        else (
            live["articles"] + len(report.added) - len(report.removed),
            live["chunks"] + len(new_ids) - len(dead),
        )
    )
    version = new_version_name(gen)
    manifest = {
        "format_version": FORMAT_VERSION,
        "tokenization": TOKENIZATION,
        "encoder_spelling": ENCODER_SPELLING,
        "version": version,
        "gen": gen,
        "model": embedder.name,
        "dimensions": embedder.dimensions,
        "articles": articles_n,
        "chunks": chunks_n,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "dense": segments.describe(entries),
        "lexical": {"engine": "bm25 segments", "k1": LEXICAL_K1, "b": LEXICAL_B},
        "tombstones": len(tombstones),
        "segments": entries,
    }
    version_dir(index_dir, version).mkdir(parents=True)
    np.save(version_dir(index_dir, version) / "tombstones.npy", np.asarray(tombstones, np.int64))
    write_manifest(index_dir, manifest)
    point_current(index_dir, version)
    report.version, report.articles, report.chunks = version, articles_n, chunks_n
    kept = prune_versions(index_dir, keep=version)
    segments.collect(index_dir, kept)
    catalog.collect(db, min(m.get("gen", 0) for m in kept))


def _chunk_and_embed(embedder, pending, progress):
    """Chunks, their vectors, and each chunk's sentence spans with their vectors.

    Why sentences here: the answerer picks sentences by their passage-side vectors;
    computed once now, a question never runs the model on passages. With a model whose
    vector is a mean of token states (the default e5), a sentence's vector is pooled from
    its chunk's own forward pass (`Embedder.encode_passages_with_spans`), so the sentences
    cost no second pass; with any other model they are embedded alone, beside the chunks,
    in the same length-sorted batches."""
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
    chunks = [c for _, _, cs in chunked for c in cs]
    texts = [passage_text(a.title, c.text) for a, _, cs in chunked for c in cs]
    spans = [sentence_spans(c.text) for c in chunks]
    if getattr(embedder, "pools_token_means", False):
        vectors, sentence_vectors = _embed_pooled(embedder, chunked, texts, spans, progress)
        return chunked, vectors, spans, sentence_vectors
    texts += [
        c.text[start:end] for c, found in zip(chunks, spans, strict=True) for start, end in found
    ]
    all_vectors = _embed_sorted(embedder, texts, progress)
    vectors = all_vectors[: len(chunks)]
    sentence_vectors = []
    offset = len(chunks)
    for found in spans:
        sentence_vectors.append(all_vectors[offset : offset + len(found)])
        offset += len(found)
    return chunked, vectors, spans, sentence_vectors


def _embed_pooled(embedder, chunked, texts, spans, progress):
    """Chunk vectors and their sentences' pooled vectors, in length order (batches pad
    little). A sentence's span moves by the title and its newline (`passage_text`)."""
    shifts = [len(a.title) + 1 for a, _, cs in chunked for _ in cs]
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    vectors = np.zeros((len(texts), embedder.dimensions), dtype=np.float32)
    sentence_vectors: list[np.ndarray] = [np.zeros((0, embedder.dimensions), np.float32)] * len(
        texts
    )
    for start in range(0, len(order), EMBED_BATCH):
        part = order[start : start + EMBED_BATCH]
        found, pooled = embedder.encode_passages_with_spans(
            [texts[i] for i in part],
            [[(s + shifts[i], e + shifts[i]) for s, e in spans[i]] for i in part],
        )
        vectors[part] = found
        for i, matrix in zip(part, pooled, strict=True):
            sentence_vectors[i] = matrix
        if progress:
            progress(min(start + EMBED_BATCH, len(order)), len(order))
    return vectors, sentence_vectors


def _embed_sorted(embedder, texts: list[str], progress) -> np.ndarray:
    """Vectors of `texts` in their order: each distinct text once (the sentence two
    overlapping chunks share), embedded in length order (batches pad little)."""
    distinct = list(dict.fromkeys(texts))
    order = sorted(range(len(distinct)), key=lambda i: -len(distinct[i]))
    vectors = np.zeros((len(distinct), embedder.dimensions), dtype=np.float32)
    for start in range(0, len(order), EMBED_BATCH):
        part = order[start : start + EMBED_BATCH]
        vectors[part] = np.asarray(
            embedder.encode_passages([distinct[i] for i in part]), np.float32
        )
        if progress:
            progress(min(start + EMBED_BATCH, len(order)), len(order))
    row = {text: i for i, text in enumerate(distinct)}
    return vectors[[row[t] for t in texts]] if texts else vectors


def _next_segments(index_dir, live, fresh, dead, new_ids, vectors, documents):
    """The new version's segment list and tombstones, merged when the plan says so."""
    entries = [] if fresh or live is None else list(live["segments"])
    tombstones = np.zeros(0, dtype=np.int64)
    if live is not None and not fresh:
        old = version_dir(index_dir, live["version"]) / "tombstones.npy"
        tombstones = np.load(old) if old.exists() else tombstones
    tombstones = np.union1d(tombstones, np.asarray(dead, dtype=np.int64))
    if new_ids:
        entries.append(segments.write_segment(index_dir, np.asarray(new_ids), vectors, documents))
    if fresh:
        return entries, np.zeros(0, dtype=np.int64)
    loaded = [segments.Segment(index_dir, e) for e in entries]
    dead_pos = [s.positions(tombstones) for s in loaded]
    chosen = segments.plan_merge(entries, [len(d) for d in dead_pos])
    if chosen:
        merged = segments.merge(
            index_dir, [loaded[i] for i in chosen], [dead_pos[i] for i in chosen]
        )
        entries = [e for i, e in enumerate(entries) if i not in chosen] + [merged]
        gone = np.concatenate([np.asarray(loaded[i].ids)[dead_pos[i]] for i in chosen])
        tombstones = np.setdiff1d(tombstones, gone)
    return entries, tombstones


def _retokenized(index_dir, db, gen, entries, tombstones) -> list[dict]:
    """One segment re-tokenized from the catalog; vectors come from the old segments."""
    loaded = [segments.Segment(index_dir, e) for e in entries]
    ids, documents, vectors = [], [], []
    for chunk_id, title, text in catalog.alive_chunks(db, gen):
        for seg in loaded:
            pos = seg.position(chunk_id)
            if pos is not None:
                ids.append(chunk_id)
                documents.append(matching_tokens(passage_text(title, text)))
                vectors.append(np.asarray(seg.vectors[pos], dtype=np.float32))
                break
    dims = loaded[0].vectors.shape[1] if loaded else 0
    matrix = np.stack(vectors) if vectors else np.zeros((0, dims), dtype=np.float32)
    return [segments.write_segment(index_dir, np.asarray(ids, dtype=np.int64), matrix, documents)]
