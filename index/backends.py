"""Choosing the knowledge-base backend: the embedded default or Milvus.

`PASOKH_BACKEND` (faiss | milvus, default faiss) and `PASOKH_MILVUS_URI` (a local
path runs Milvus Lite; http://host:19530 a Milvus server; default
INDEX_DIR/milvus.db). The CLI's `--backend` flag overrides the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

BACKENDS = ("faiss", "milvus")


def backend_from_env(flag: str | None = None) -> str:
    backend = (flag or os.environ.get("PASOKH_BACKEND", "") or "faiss").strip().lower()
    if backend not in BACKENDS:
        raise ValueError(f"PASOKH_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
    return backend


def milvus_uri_from_env(index_dir: Path) -> str:
    return os.environ.get("PASOKH_MILVUS_URI", "").strip() or str(Path(index_dir) / "milvus.db")


def open_knowledge_base(
    backend: str, index_dir: Path, milvus_uri: str | None, embedder, create: bool = False
):
    """The knowledge base for `backend`: index.search.KnowledgeBase (faiss) or
    index.milvus_store.MilvusKnowledgeBase, whose catalog is kept in `index_dir`.
    `create` (writers only, milvus) makes an empty Milvus index if there is none."""
    backend = backend_from_env(backend)
    if backend == "milvus":
        from index.milvus_store import MilvusKnowledgeBase

        uri = milvus_uri or milvus_uri_from_env(index_dir)
        return MilvusKnowledgeBase.open(uri, embedder, index_dir=index_dir, create=create)
    from index.search import KnowledgeBase

    return KnowledgeBase(Path(index_dir), embedder)
