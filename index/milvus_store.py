"""The Milvus backend: the same knowledge-base API as index.search.KnowledgeBase.

`PASOKH_MILVUS_URI` names the engine: a local path runs the embedded Milvus Lite
(one process at a time may open its file), `http://host:19530` a Milvus server or
cluster. One collection holds per chunk its e5 vector and its normalized Persian
tokens, from which Milvus's own BM25 function builds the sparse lexical index
(the `standard` analyzer splits on \\w+, which our tokens already are).

Consistency. The SQLite catalog (index/milvus_catalog.py) is the truth about
which chunks are live; a write goes:

1. the catalog records the generation about to be written and reserves chunk ids;
2. the new chunks are inserted into Milvus, tagged with that generation;
3. one catalog transaction swaps the articles, their chunks, the term counts and
   the version, and lists the replaced chunk ids as garbage: the commit point;
4. the garbage is deleted from Milvus.

A search keeps only hits whose chunk id the catalog lists, so a crash after
step 2 leaves invisible orphans and a crash after step 3 leaves invisible stale
chunks, never a passage pointing at nothing; the next write (or `open(...,
create=True)`) deletes both from Milvus. Unchanged articles (same content hash)
are not embedded again.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.dates import expand_dates
from index.milvus_catalog import CATALOG_NAME, Catalog, passage_from_row
from index.persian import ENCODER_SPELLING, TOKENIZATION, matching_tokens
from index.readers import Article
from index.search import ArticleInfo, Passage
from index.store import IndexMissing, IndexProblem, ModelMismatch, UpdateReport

log = logging.getLogger(__name__)

COLLECTION = "pasokh_chunks"
# The fusion tuned on pquad_val for the embedded backend (index/search.py): 50 candidates
# from each retriever, BM25 over its best score mixed 0.6 : 0.4 with the cosine
# stretched between the 50th and the best; BM25 k1 = 0.9, b = 0.4.
CANDIDATES = 50
LEXICAL_WEIGHT = 0.6
DENSE_WEIGHT = 1 - LEXICAL_WEIGHT
LEXICAL_K1, LEXICAL_B = 0.9, 0.4
EMBED_BATCH = 32
INSERT_BATCH = 256
MAX_TOKENS_CHARS = 65535  # Milvus VARCHAR limit (bytes)
CONNECT_SECONDS = 20


class MilvusUnavailable(IndexProblem):
    """Milvus cannot be reached or opened (a server down, a Lite file held by another process)."""


# Test hook: called between the Milvus insert (step 2) and the catalog commit (step 3).
_after_milvus_insert: Callable[[], None] | None = None


def is_server_uri(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "tcp://", "grpc://"))


def lite_path(uri: str | Path) -> Path:
    """Milvus Lite wants a file name ending in .db; a folder gets `milvus.db` inside."""
    path = Path(uri).expanduser()
    return path if path.suffix == ".db" else path / "milvus.db"


@dataclass
class MilvusLexicalStats:
    """Document frequencies from the catalog's term counts (the answerer's IDF weights)."""

    catalog: Catalog
    documents: int

    def document_frequency(self, token: str) -> int:
        return self.catalog.document_frequency(token)

    def known_of(self, tokens: Iterable[str]) -> frozenset[str]:
        """The tokens that are terms of the catalog: one connection, not one per token."""
        return self.catalog.known_of(tokens)


class MilvusKnowledgeBase:
    """Knowledge base on Milvus (dense + BM25) with a SQLite catalog in `index_dir`."""

    def __init__(self, uri: str, embedder, index_dir: Path, collection: str = COLLECTION):
        try:
            from pymilvus import MilvusClient
        except ImportError as error:
            raise IndexProblem(
                "the Milvus backend needs the `milvus` extra: pip install 'pasokh[milvus]'"
            ) from error

        self.uri = str(uri)
        self.embedder = embedder
        self.index_dir = Path(index_dir)
        self.collection = collection
        self.catalog = Catalog(self.index_dir / CATALOG_NAME)
        try:
            if is_server_uri(self.uri):
                self.client = MilvusClient(uri=self.uri, timeout=CONNECT_SECONDS)
            else:
                path = lite_path(self.uri)
                path.parent.mkdir(parents=True, exist_ok=True)
                self.client = MilvusClient(str(path))
        except Exception as error:  # pymilvus raises its own types, and more
            raise MilvusUnavailable(
                f"cannot open Milvus at {self.uri} (PASOKH_MILVUS_URI): {error}"
            ) from error
        self._manifest: dict = {}

    @classmethod
    def open(
        cls,
        uri: str | Path,
        embedder,
        index_dir: Path | str | None = None,
        create: bool = False,
        collection: str = COLLECTION,
    ) -> MilvusKnowledgeBase:
        """Open the index at `uri`; `create` (writers) makes an empty one if there is none.
        The catalog lives in `index_dir`, by default beside a Milvus Lite file."""
        uri = str(uri)
        if index_dir is None:
            if is_server_uri(uri):
                raise ValueError("a Milvus server needs an index_dir for its catalog")
            index_dir = lite_path(uri).parent
        kb = cls(uri, embedder, Path(index_dir), collection)
        meta = kb.catalog.meta()
        if not meta.get("version") and not create:
            kb.close()
            raise IndexMissing(
                f"no Milvus index in {kb.index_dir} ({uri}); run `pasokh index build`"
            )
        if meta.get("model") and meta["model"] != embedder.name:
            kb.close()
            raise ModelMismatch(
                f"the Milvus index in {kb.index_dir} was built with {meta['model']}, "
                f"but the configured model is {embedder.name} (PASOKH_MODEL)"
            )
        if meta.get("version") and meta.get("encoder_spelling", "0") != str(ENCODER_SPELLING):
            log.warning(
                "the Milvus index in %s was embedded from an older spelling;"
                " `pasokh index add` (any file) or `pasokh index build` embeds it again",
                kb.index_dir,
            )
        if create:
            kb._ensure_collection()
        if kb.client.has_collection(collection):
            kb.client.load_collection(collection)  # a reopened collection starts released
        elif meta.get("version"):
            kb.close()
            raise IndexMissing(f"the catalog in {kb.index_dir} names no collection in {uri}")
        if create:
            with kb._writer_lock():
                kb._collect_garbage()
        kb._refresh()
        return kb

    def close(self) -> None:
        """Release the Milvus Lite file (it admits one process at a time); this also ends
        any other client of the same file in this process."""
        with contextlib.suppress(Exception):
            self.client.close()
        if not is_server_uri(self.uri):
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(str(lite_path(self.uri)))

    # -- collection ----------------------------------------------------------------
    def _ensure_collection(self) -> None:
        from pymilvus import DataType, Function, FunctionType

        if self.client.has_collection(self.collection):
            return
        schema = self.client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("article_id", DataType.VARCHAR, max_length=1024)
        schema.add_field("generation", DataType.INT64)
        schema.add_field(
            "tokens",
            DataType.VARCHAR,
            max_length=MAX_TOKENS_CHARS,
            enable_analyzer=True,
            analyzer_params={"type": "standard"},
        )
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=self.embedder.dimensions)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["tokens"],
                output_field_names=["sparse"],
            )
        )
        index_params = self.client.prepare_index_params()
        # Exact search on Milvus Lite, as the embedded FAISS default; a server picks its own.
        dense_type = "AUTOINDEX" if is_server_uri(self.uri) else "FLAT"
        index_params.add_index("dense", index_type=dense_type, metric_type="IP")
        index_params.add_index(
            "sparse",
            index_type="SPARSE_INVERTED_INDEX",
            metric_type="BM25",
            params={"bm25_k1": LEXICAL_K1, "bm25_b": LEXICAL_B},
        )
        self.client.create_collection(
            self.collection,
            schema=schema,
            index_params=index_params,
            consistency_level="Strong",  # a reader sees what the catalog says is committed
        )

    @contextlib.contextmanager
    def _writer_lock(self) -> Iterator[None]:
        """One writer at a time per catalog (the bot's uploads and `pasokh index`)."""
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with open(self.index_dir / ".milvus-lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _collect_garbage(self) -> None:
        """Delete from Milvus what a crashed or finished write left behind: the chunks of
        a generation never committed, and chunks the catalog replaced."""
        meta = self.catalog.meta()
        pending = meta.get("pending_generation")
        if pending is not None:
            self.client.delete(self.collection, filter=f"generation == {int(pending)}")
            self.catalog.set_meta({}, drop=["pending_generation"])
            log.info("removed the chunks of an unfinished write (generation %s)", pending)
        garbage = self.catalog.garbage()
        for i in range(0, len(garbage), 1000):
            self.client.delete(self.collection, ids=garbage[i : i + 1000])
        if garbage:
            self.catalog.forget_garbage(garbage)

    # -- versions ------------------------------------------------------------------
    def _refresh(self) -> None:
        meta = self.catalog.meta()
        articles, chunks = self.catalog.counts() if meta.get("version") else (0, 0)
        self._manifest = {
            "backend": "milvus",
            "uri": self.uri,
            "collection": self.collection,
            "version": meta.get("version", ""),
            "model": meta.get("model", self.embedder.name),
            "dimensions": int(meta.get("dimensions", self.embedder.dimensions)),
            "tokenization": int(meta.get("tokenization", TOKENIZATION)),
            "articles": articles,
            "chunks": chunks,
            "built_at": meta.get("built_at", ""),
        }

    @property
    def manifest(self) -> dict:
        return self._manifest

    @property
    def version(self) -> str:
        return self._manifest["version"]

    def reload_if_changed(self) -> bool:
        """Pick up a version another process committed. Searches always read the live
        collection filtered by the catalog, so this only refreshes the manifest."""
        if self.catalog.meta().get("version", "") == self.version:
            return False
        self._refresh()
        log.info("index reloaded: version %s", self.version)
        return True

    def pinned(self) -> MilvusKnowledgeBase:
        """A view whose manifest stays put during one answer (passages are read live)."""
        view = copy.copy(self)
        view._manifest = dict(self._manifest)
        return view

    def articles(self) -> list[ArticleInfo]:
        return self.catalog.articles()

    def article(self, article_id: str) -> ArticleInfo | None:
        return self.catalog.article(article_id)

    def lexical_stats(self) -> MilvusLexicalStats:
        return MilvusLexicalStats(self.catalog, self._manifest["chunks"])

    # -- writing -------------------------------------------------------------------
    def add(
        self,
        articles: Iterable[Article],
        progress: Callable[[int, int], None] | None = None,
        remove_ids: Iterable[str] = (),
        fresh: bool = False,
    ) -> UpdateReport:
        """Add or replace `articles` and remove `remove_ids`; `fresh` (`index build`)
        removes every article not given. Returns what changed, as index.store does."""
        from index.milvus_write import write

        self._ensure_collection()
        with self._writer_lock():
            self._collect_garbage()
            report = write(self, list(articles), list(remove_ids), fresh, progress)
            self._collect_garbage()
        self._refresh()
        return report

    def remove(self, ids: Iterable[str]) -> UpdateReport:
        return self.add([], remove_ids=ids)

    # -- search --------------------------------------------------------------------
    def search(
        self, query: str, top_k: int = 5, timings: dict[str, float] | None = None
    ) -> list[Passage]:
        """One `hybrid_search` (dense + BM25, weighted ranker without normalization), then
        the per-query normalization tuned for the embedded backend, which Milvus's rankers
        cannot express: BM25 over the query's best, cosine stretched from the 50th."""
        from pymilvus import AnnSearchRequest, WeightedRanker

        t0 = time.perf_counter()
        vector = self.embedder.encode_query(query)
        tokens = " ".join(matching_tokens(expand_dates(query), question=True))
        t1 = time.perf_counter()
        requests = [AnnSearchRequest([vector.tolist()], "dense", {"metric_type": "IP"}, CANDIDATES)]
        if tokens:
            requests.append(
                AnnSearchRequest([tokens], "sparse", {"metric_type": "BM25"}, CANDIDATES)
            )
        hits = self.client.hybrid_search(
            self.collection,
            requests,
            WeightedRanker(DENSE_WEIGHT, LEXICAL_WEIGHT, norm_score=False),
            limit=2 * CANDIDATES,
            output_fields=["dense"],
        )[0]
        t2 = time.perf_counter()
        if not hits:
            return []
        ids = [int(hit["id"]) for hit in hits]
        fused = np.array([float(hit["distance"]) for hit in hits])
        vectors = np.array([hit["entity"]["dense"] for hit in hits], dtype=np.float32)
        scores = fuse(ids, fused, vectors @ vector, bool(tokens))
        rows = self.catalog.chunk_rows(scores)
        best = sorted((c for c in scores if c in rows), key=lambda c: -scores[c])[:top_k]
        if timings is not None:
            timings["embed_ms"] = (t1 - t0) * 1000
            timings["milvus_ms"] = (t2 - t1) * 1000
            timings["fusion_ms"] = (time.perf_counter() - t2) * 1000
        return [passage_from_row(c, rows[c], scores[c]) for c in best]

    def dense_search(self, query: str, top_k: int = 5) -> list[Passage]:
        vector = self.embedder.encode_query(query)
        return self._plain_search([vector.tolist()], "dense", "IP", top_k)

    def lexical_search(self, query: str, top_k: int = 5) -> list[Passage]:
        tokens = " ".join(matching_tokens(expand_dates(query), question=True))
        return self._plain_search([tokens], "sparse", "BM25", top_k) if tokens else []

    def _plain_search(self, data: list, field: str, metric: str, top_k: int) -> list[Passage]:
        # a few more than asked: orphans of an interrupted write are dropped below
        hits = self.client.search(
            self.collection,
            data=data,
            anns_field=field,
            limit=top_k + 10,
            search_params={"metric_type": metric},
        )[0]
        # Milvus Lite reports BM25 as a negative distance, a server as a positive score
        sign = abs if metric == "BM25" else float
        scores = {int(h["id"]): sign(float(h["distance"])) for h in hits}
        rows = self.catalog.chunk_rows(scores)
        live = [c for c in scores if c in rows][:top_k]
        return [passage_from_row(c, rows[c], scores[c]) for c in live]


def fuse(ids: list[int], fused: np.ndarray, cosines: np.ndarray, lexical: bool) -> dict[int, float]:
    """The embedded backend's fusion over Milvus's candidates.

    Milvus returns w_d * cosine (if in the dense top 50) + w_l * BM25 (if in the BM25 top
    50). The dense top 50 are the 50 best cosines among the candidates (exact search), so
    each candidate's BM25 is recovered exactly from the fused score and its vector.
    """
    order = np.argsort(-cosines, kind="stable")
    in_dense = np.zeros(len(ids), dtype=bool)
    in_dense[order[:CANDIDATES]] = True
    bm25 = (
        np.maximum(0.0, fused - DENSE_WEIGHT * cosines * in_dense) / LEXICAL_WEIGHT
        if lexical
        else np.zeros(len(ids))
    )
    bm25[bm25 < 1e-4] = 0.0
    dense_cos = cosines[in_dense]
    floor = float(np.sort(dense_cos)[0]) if len(dense_cos) >= CANDIDATES else float(cosines.min())
    top = float(dense_cos.max()) if len(dense_cos) else 1.0
    best_lexical = float(bm25.max()) or 1.0
    values = LEXICAL_WEIGHT * bm25 / best_lexical + DENSE_WEIGHT * np.maximum(
        0.0, cosines - floor
    ) / max(top - floor, 1e-6)
    return {chunk_id: float(v) for chunk_id, v in zip(ids, values, strict=True)}


def new_version() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
