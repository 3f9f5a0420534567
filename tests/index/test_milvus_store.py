"""The Milvus backend against Milvus Lite (a file under tmp_path), with the real model."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

pytest.importorskip("pymilvus", reason="the Milvus backend needs the `milvus` extra")
pytest.importorskip("milvus_lite", reason="Milvus Lite (PyPI milvus-lite) runs these tests")

from index.backends import check_backend, open_knowledge_base
from index.milvus_store import MilvusKnowledgeBase
from index.persian import matching_tokens
from index.readers import Article, read_paths
from index.store import IndexMissing, ModelMismatch

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"

NEW_ARTICLE = Article(
    id="visit-baku",
    title="سفر وزیر امور خارجه به باکو",
    text=(
        "وزیر امور خارجه روز پنجشنبه برای دیدار با همتای آذربایجانی خود وارد باکو شد. "
        "در این سفر دو طرف درباره کریدور شمال-جنوب و راه‌آهن رشت-آستارا گفت‌وگو کردند."
    ),
    sources=["ایرنا"],
)


class CountingEmbedder:
    """The real model; counts passages embedded and remembers vectors across tests."""

    memory: ClassVar[dict[str, np.ndarray]] = {}

    def __init__(self, inner, name: str | None = None) -> None:
        self.inner = inner
        self.name = name or inner.name
        self.dimensions, self.max_tokens = inner.dimensions, inner.max_tokens
        self.embedded: list[str] = []

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.embedded.extend(texts)
        todo = [t for t in texts if t not in self.memory]
        if todo:
            self.memory.update(zip(todo, self.inner.encode_passages(todo), strict=True))
        return np.stack([self.memory[t] for t in texts])

    def encode_query(self, text: str) -> np.ndarray:
        return self.inner.encode_query(text)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


@pytest.fixture(scope="module")
def seed_articles() -> list[Article]:
    return read_paths([SEEDS]).articles


@pytest.fixture()
def milvus_kb(tmp_path, embedder, seed_articles):
    kb = MilvusKnowledgeBase.open(tmp_path / "milvus.db", CountingEmbedder(embedder), create=True)
    kb.add(seed_articles)
    yield kb
    kb.close()


@pytest.fixture(scope="module")
def shared_milvus_kb(tmp_path_factory, embedder, seed_articles):
    folder = tmp_path_factory.mktemp("milvus-seeds")
    kb = MilvusKnowledgeBase.open(folder / "milvus.db", CountingEmbedder(embedder), create=True)
    kb.add(seed_articles)
    yield kb
    kb.close()


@pytest.mark.parametrize(
    "text",
    [
        "امیرعبداللهیان کی تهران را به مقصد مسکو ترک کرد؟",
        "روابط ایران‌وروسیه در سال ۱۴۰۲ و ۱۵ مارس 2024",
        "کریدور شمال-جنوب و راه‌آهن رشت-آستارا",
    ],
)
def test_normalized_tokens_pass_the_standard_analyzer_unchanged(text):
    # Milvus's `standard` analyzer splits on \w+ and lowercases: our tokens must survive it
    tokens = matching_tokens(text)
    assert tokens
    assert re.findall(r"\w+", " ".join(tokens).lower()) == tokens


def test_same_top_passage_as_the_default_backend_on_the_dev_questions(
    shared_milvus_kb, seed_kb, dev_questions
):
    answerable = [q for q in dev_questions if q.get("answerable", True)]
    assert answerable
    for q in answerable:
        faiss_top = seed_kb.search(q["question"], 3)
        milvus_top = shared_milvus_kb.search(q["question"], 3)
        assert milvus_top, q["id"]
        assert milvus_top[0].chunk_id is not None
        assert (milvus_top[0].article_id, milvus_top[0].text) == (
            faiss_top[0].article_id,
            faiss_top[0].text,
        ), q["id"]
        assert milvus_top[0].score == pytest.approx(faiss_top[0].score, abs=0.05), q["id"]


def test_lexical_and_dense_search_and_catalog(shared_milvus_kb, seed_kb):
    kb = shared_milvus_kb
    question = "علیرضا حقیقیان چه سمتی دارد؟"
    lexical, dense = kb.lexical_search(question, 3), kb.dense_search(question, 3)
    assert lexical and "حقیقیان" in lexical[0].text and lexical[0].score > 0
    several = kb.lexical_search("سفر وزیر امور خارجه به مسکو", 5)
    assert len(several) == 5 and several[0].score > several[-1].score > 0
    assert several[0].text == seed_kb.lexical_search("سفر وزیر امور خارجه به مسکو", 1)[0].text
    assert dense and -1.0 <= dense[-1].score <= dense[0].score <= 1.0
    assert {a.id for a in kb.articles()} == {a.id for a in seed_kb.articles()}
    article = kb.article(lexical[0].article_id)
    assert article is not None and article.title == lexical[0].title
    assert kb.article("no-such-article") is None
    manifest = kb.manifest
    assert manifest["backend"] == "milvus" and manifest["model"] == kb.embedder.name
    assert (manifest["articles"], manifest["chunks"]) == (
        seed_kb.manifest["articles"],
        seed_kb.manifest["chunks"],
    )
    stats, reference = kb.lexical_stats(), seed_kb.lexical_stats()
    assert stats.documents == reference.documents
    for token in ["حقیقیان", "مسکو", "وزیر", "ناموجودترینکلمه"]:
        assert stats.document_frequency(token) == reference.document_frequency(token), token
    assert kb.pinned().version == kb.version


def test_unchanged_articles_are_not_embedded_again(milvus_kb, seed_articles):
    kb = milvus_kb
    version = kb.version
    kb.embedder.embedded.clear()
    report = kb.add(seed_articles)
    assert report.unchanged == [a.id for a in seed_articles] and not report.changed_anything
    assert report.version == version and kb.embedder.embedded == []

    edited = replace(seed_articles[0], text=seed_articles[0].text + " این جمله تازه است.")
    progress: list[tuple[int, int]] = []
    report = kb.add([edited, NEW_ARTICLE], progress=lambda d, t: progress.append((d, t)))
    assert report.changed == [edited.id] and report.added == [NEW_ARTICLE.id]
    assert report.version != version and kb.reload_if_changed() is False
    assert progress and progress[-1][0] == progress[-1][1] == len(kb.embedder.embedded)
    assert all(t.startswith((edited.title, NEW_ARTICLE.title)) for t in kb.embedder.embedded)
    top = kb.search("وزیر امور خارجه برای دیدار با همتای آذربایجانی به کجا رفت؟", 1)
    assert top[0].article_id == NEW_ARTICLE.id
    assert (
        kb.client.query(kb.collection, filter="id >= 0", output_fields=["count(*)"])[0]["count(*)"]
        == kb.manifest["chunks"]
    )  # the edited article's old chunks are gone from Milvus


@pytest.mark.parametrize(
    ("url", "question"),
    [
        ("https://www.irna.ir/news/85012345/سفر-باکو", "وزیر امور خارجه برای دیدار به باکو رفت؟"),
        ("", "کریدور شمال-جنوب و راه‌آهن رشت-آستارا"),
    ],
)
def test_passages_carry_the_article_url(milvus_kb, url, question):
    """A passage found through Milvus names its article's url, as the default backend does."""
    milvus_kb.add([replace(NEW_ARTICLE, url=url)])
    found = [p for p in milvus_kb.search(question, 5) if p.article_id == NEW_ARTICLE.id]
    assert found and all(p.url == url for p in found)
    assert all(
        p.url == url
        for p in milvus_kb.lexical_search(question, 5)
        if p.article_id == NEW_ARTICLE.id
    )


def test_remove_reports_missing_and_updates_counts(milvus_kb, seed_articles):
    kb = milvus_kb
    gone = seed_articles[0].id
    df_before = kb.lexical_stats().document_frequency("امیرعبدالله")
    report = kb.remove([gone, "never-indexed"])
    assert report.removed == [gone] and report.missing == ["never-indexed"]
    assert kb.article(gone) is None and report.articles == len(seed_articles) - 1
    assert all(p.article_id != gone for p in kb.search("امیرعبداللهیان به مسکو سفر کرد", 10))
    assert kb.lexical_stats().document_frequency("امیرعبدالله") < df_before


def test_an_index_of_an_older_encoder_spelling_is_embedded_again(milvus_kb, seed_articles):
    """Written before encoder_spelling: the next write embeds every article it keeps."""
    kb = milvus_kb
    kb.catalog.set_meta({}, drop=["encoder_spelling"])
    kb.embedder.embedded.clear()
    report = kb.add([NEW_ARTICLE], remove_ids=[seed_articles[0].id])
    assert report.reembedded and report.added == [NEW_ARTICLE.id]
    assert report.removed == [seed_articles[0].id] and report.unchanged == [seed_articles[1].id]
    embedded = {t.split("\n", 1)[0] for t in kb.embedder.embedded}
    assert embedded == {seed_articles[1].title, NEW_ARTICLE.title}
    assert kb.catalog.meta()["encoder_spelling"] == "1"
    kb.embedder.embedded.clear()
    again = kb.add([NEW_ARTICLE])
    assert not again.reembedded and kb.embedder.embedded == []


def test_open_without_an_index_and_with_another_model(tmp_path, embedder, milvus_kb):
    with pytest.raises(IndexMissing, match="no Milvus index"):
        MilvusKnowledgeBase.open(tmp_path / "empty" / "milvus.db", embedder)
    uri = milvus_kb.uri
    milvus_kb.close()
    with pytest.raises(ModelMismatch, match="built with"):
        MilvusKnowledgeBase.open(uri, CountingEmbedder(embedder, name="another/model"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [(None, "faiss"), ("", "faiss"), ("milvus", "milvus"), ("MILVUS", "milvus")],
)
def test_backend_choice(name, expected):
    assert check_backend(name) == expected


def test_unknown_backend_is_one_clear_error():
    with pytest.raises(ValueError, match="PASOKH_BACKEND must be one of faiss, milvus"):
        check_backend("elastic")


def test_open_knowledge_base_picks_the_backend(tmp_path, embedder, seed_index_dir, seed_articles):
    from index.search import KnowledgeBase

    assert isinstance(open_knowledge_base("faiss", seed_index_dir, None, embedder), KnowledgeBase)
    kb = open_knowledge_base("milvus", tmp_path, None, CountingEmbedder(embedder), create=True)
    try:
        assert isinstance(kb, MilvusKnowledgeBase)
        assert Path(kb.uri) == tmp_path / "milvus.db"
        kb.add(seed_articles[:1])
        assert kb.manifest["articles"] == 1
    finally:
        kb.close()


CRASHING_WRITER = """
import os, signal, sys
from pathlib import Path
from typing import ClassVar
import index.milvus_store as milvus_store
from index.embedding import Embedder
from index.readers import Article
from index.settings import DEFAULT_MODEL, default_cache_dir

kb = milvus_store.MilvusKnowledgeBase.open(
    sys.argv[1], Embedder(DEFAULT_MODEL, default_cache_dir()), create=True
)
milvus_store._after_milvus_insert = lambda: os.kill(os.getpid(), signal.SIGKILL)
kb.add([Article(id=sys.argv[2], title="سفر به باکو", text=sys.argv[3])])
print("not reached")
"""


def _milvus_rows(kb: MilvusKnowledgeBase) -> int:
    result = kb.client.query(kb.collection, filter="id >= 0", output_fields=["count(*)"])
    return int(result[0]["count(*)"])


def test_kill_9_between_milvus_insert_and_catalog_commit(tmp_path, milvus_kb, embedder):
    """A writer killed after its chunks reached Milvus but before the catalog committed:
    readers never see those chunks, the next writer deletes them, and the article lands
    when written again."""
    uri, version, chunks = milvus_kb.uri, milvus_kb.version, milvus_kb.manifest["chunks"]
    milvus_kb.close()  # Milvus Lite: one process at a time
    script = tmp_path / "crash.py"
    script.write_text(textwrap.dedent(CRASHING_WRITER))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(script), uri, NEW_ARTICLE.id, NEW_ARTICLE.text],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == -9, result.stderr[-2000:]
    assert "not reached" not in result.stdout

    reader = MilvusKnowledgeBase.open(uri, CountingEmbedder(embedder))
    assert reader.version == version and reader.manifest["chunks"] == chunks
    assert _milvus_rows(reader) > chunks  # the orphans are in Milvus...
    question = "وزیر امور خارجه برای دیدار با همتای آذربایجانی به کجا رفت؟"
    for passages in (reader.search(question, 10), reader.lexical_search(question, 10)):
        assert passages and all(p.article_id != NEW_ARTICLE.id for p in passages)
    assert reader.article(NEW_ARTICLE.id) is None
    reader.close()

    writer = MilvusKnowledgeBase.open(uri, CountingEmbedder(embedder), create=True)
    try:
        assert _milvus_rows(writer) == chunks  # ...until the next writer opens
        report = writer.add([NEW_ARTICLE])
        assert report.added == [NEW_ARTICLE.id]
        assert writer.search(question, 1)[0].article_id == NEW_ARTICLE.id
        assert _milvus_rows(writer) == writer.manifest["chunks"]
    finally:
        writer.close()


def test_failure_after_the_catalog_commit_leaves_no_stale_passage(
    milvus_kb, seed_articles, monkeypatch
):
    """The replaced chunks could not be deleted from Milvus (the engine went away after
    the commit): the new text is what readers see, and the stale rows go later."""
    kb = milvus_kb
    edited = replace(seed_articles[1], text="متن تازه: سخنگوی وزارت امور خارجه از سفر به باکو گفت.")
    real_delete = kb.client.delete

    def failing_delete(*args, **kwargs):
        raise ConnectionError("Milvus went away")

    monkeypatch.setattr(kb.client, "delete", failing_delete)
    with pytest.raises(ConnectionError):
        kb.add([edited])
    monkeypatch.setattr(kb.client, "delete", real_delete)
    assert kb.reload_if_changed() is True
    assert kb.catalog.garbage()  # remembered for later
    for passage in kb.search("سخنگوی وزارت امور خارجه", 10):
        if passage.article_id == edited.id:
            assert passage.text == edited.text
    assert _milvus_rows(kb) > kb.manifest["chunks"]
    kb.add([])  # any later write collects the garbage
    assert _milvus_rows(kb) == kb.manifest["chunks"] and not kb.catalog.garbage()


def test_unreachable_server_is_one_clear_error(tmp_path, embedder, monkeypatch):
    import index.milvus_store as milvus_store

    monkeypatch.setattr(milvus_store, "CONNECT_SECONDS", 2)
    with pytest.raises(milvus_store.MilvusUnavailable, match=r"cannot open Milvus at http://"):
        MilvusKnowledgeBase.open("http://127.0.0.1:9", embedder, index_dir=tmp_path)
