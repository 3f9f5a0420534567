"""Choosing the knowledge-base backend: the embedded default or Milvus.

The caller passes plain values (bot.settings reads `PASOKH_BACKEND` and
`PASOKH_MILVUS_URI`; index/ reads no variables): a backend name, faiss or milvus,
and a Milvus URI (a local path runs Milvus Lite, http://host:19530 a Milvus
server; none: INDEX_DIR/milvus.db).
"""

from __future__ import annotations

from pathlib import Path

BACKENDS = ("faiss", "milvus")


def check_backend(name: str | None) -> str:
    """The backend's name, lower-cased (none: faiss); ValueError naming the choices."""
    backend = (name or "faiss").strip().lower()
    if backend not in BACKENDS:
        raise ValueError(f"PASOKH_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
    return backend


def default_milvus_uri(index_dir: Path) -> str:
    return str(Path(index_dir) / "milvus.db")


def open_knowledge_base(
    backend: str, index_dir: Path, milvus_uri: str | None, embedder, create: bool = False
):
    """The knowledge base for `backend`: index.search.KnowledgeBase (faiss) or
    index.milvus_store.MilvusKnowledgeBase, whose catalog is kept in `index_dir`.
    `create` (writers only, milvus) makes an empty Milvus index if there is none."""
    backend = check_backend(backend)
    if backend == "milvus":
        from index.milvus_store import MilvusKnowledgeBase

        uri = milvus_uri or default_milvus_uri(index_dir)
        return MilvusKnowledgeBase.open(uri, embedder, index_dir=index_dir, create=create)
    from index.search import KnowledgeBase

    return KnowledgeBase(Path(index_dir), embedder)
