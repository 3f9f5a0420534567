"""Pasokh's knowledge base: catalog, segments/versions, search.

Embedding Pasokh in another program::

    from index import KnowledgeBase
    from index.readers import Article

    kb = KnowledgeBase.open("var/index", embedder)   # creates an empty index if needed
    kb.add([Article(id="a1", title="...", text="...", sources=["ایسنا"])])
    kb.remove(["a1"])
    for passage in kb.search("وزیر امور خارجه کجا رفت؟", 5):
        print(passage.article_id, passage.score, passage.text)

The embedder is any object with:

- ``name`` (str; the index remembers it and refuses another model),
- ``dimensions`` (int) and ``max_tokens`` (int, the model's window),
- ``encode_passages(texts: list[str]) -> np.ndarray`` (n x dimensions, unit vectors),
- ``encode_query(text: str) -> np.ndarray`` (dimensions, unit vector),
- ``count_tokens(text: str) -> int``.

``index.embedding.Embedder`` is the real one (multilingual-e5-small by default).
Writes from several processes are serialized by a lock with a bounded wait
(``index.store.update_index(..., lock_timeout=...)`` raises ``IndexBusy``);
readers never wait and pick up new versions with ``kb.reload_if_changed()``.

Parts: ``catalog`` (SQLite, in place), ``segments``/``lexical``/``faiss_index``
(immutable search slices), ``versions`` (manifests, CURRENT, healing), ``store``
(the write path), ``snapshot`` and ``search`` (the read path).
"""

from index.search import ArticleInfo, KnowledgeBase, Passage
from index.store import UpdateReport, update_index
from index.versions import IndexBusy, IndexMissing, IndexProblem, ModelMismatch

__all__ = [
    "ArticleInfo",
    "IndexBusy",
    "IndexMissing",
    "IndexProblem",
    "KnowledgeBase",
    "ModelMismatch",
    "Passage",
    "UpdateReport",
    "update_index",
]
