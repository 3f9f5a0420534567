"""Healing: a damaged CURRENT or manifest falls back to the newest whole version."""

import logging

import pytest

from index.search import KnowledgeBase
from index.store import update_index
from index.versions import IndexBusy, current_version, read_manifest, version_dir, writer_lock

from .standin import RandomEmbedder, articles


@pytest.fixture()
def two_versions(tmp_path):
    embedder = RandomEmbedder()
    first = update_index(tmp_path, embedder, articles("a", 5), fresh=True)
    second = update_index(tmp_path, embedder, articles("b", 3))
    return tmp_path, embedder, first.version, second.version


@pytest.mark.parametrize(
    ("damage", "named_file"),
    [
        ("manifest", "manifest.json"),  # a corrupted manifest of the live version
        ("missing", "CURRENT"),  # CURRENT names a version that is not on disk
        ("escape", "CURRENT"),  # CURRENT used as a path: ../.. must not work
        ("empty", "CURRENT"),
    ],
)
def test_damage_falls_back_to_newest_whole_version(two_versions, caplog, damage, named_file):
    index_dir, embedder, first, second = two_versions
    if damage == "manifest":
        (version_dir(index_dir, second) / "manifest.json").write_text("{not json")
        expected = first
    else:
        text = {"missing": "g00000009-20991231T000000-abcdef", "escape": "../../etc", "empty": ""}[
            damage
        ]
        (index_dir / "CURRENT").write_text(text)
        expected = second  # the named one is unusable; the newest whole one is the live one
    with caplog.at_level(logging.WARNING):
        kb = KnowledgeBase(index_dir, embedder)
    assert kb.version == expected
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and named_file in warnings[0] and expected in warnings[0]
    assert kb.search("وزیر امور خارجه", 3)
    report = update_index(index_dir, embedder, articles("c", 2))  # writing heals it
    assert current_version(index_dir) == report.version
    assert read_manifest(index_dir)["articles"] == kb.manifest["articles"] + 2


def test_writer_lock_wait_is_bounded(tmp_path):
    with writer_lock(tmp_path), pytest.raises(IndexBusy, match="another process is writing"):
        update_index(tmp_path, RandomEmbedder(), articles("a", 1), lock_timeout=0.2)


def test_open_add_remove_search(tmp_path):
    kb = KnowledgeBase.open(tmp_path / "new", RandomEmbedder())
    assert kb.articles() == []
    report = kb.add(articles("a", 4))
    assert report.added == ["a0", "a1", "a2", "a3"] and len(kb.articles()) == 4
    (top,) = kb.search(kb.article("a2").text, 1)
    assert top.article_id == "a2" and top.url == "" and top.as_dict()["url"] == ""
    kb.remove(["a2"])
    assert kb.article("a2") is None and all(p.article_id != "a2" for p in kb.search("شماره", 5))


def test_first_layout_is_carried_over_without_embedding(tmp_path):
    """An index written by the first layout (one SQLite copy per version) keeps its articles."""
    import json
    import sqlite3

    from index.persian import TOKENIZATION

    embedder = RandomEmbedder()
    folder = tmp_path / "versions" / "20260101T000000-aaaaaa"
    folder.mkdir(parents=True)
    db = sqlite3.connect(folder / "store.sqlite")
    db.executescript(
        "CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT, text TEXT, sources TEXT,"
        " url TEXT, published TEXT, path TEXT, content_hash TEXT, added_at TEXT);"
        "CREATE TABLE chunks (id INTEGER PRIMARY KEY, article_id TEXT, position INTEGER,"
        " start INTEGER, end INTEGER, text TEXT, tokens TEXT, vector BLOB);"
    )
    for article in articles("old", 3):
        db.execute(
            "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (article.id, article.title, article.text, '["ایسنا"]', "https://x/" + article.id, "", "", "h", ""),
        )  # fmt: skip
        vector = embedder.encode_passages([article.text])[0].tobytes()
        db.execute(
            "INSERT INTO chunks (article_id, position, start, end, text, tokens, vector)"
            " VALUES (?, 0, 0, ?, ?, '', ?)",
            (article.id, len(article.text), article.text, vector),
        )
    db.commit()
    db.close()
    manifest = {"format_version": 1, "tokenization": TOKENIZATION, "version": folder.name,
                "model": embedder.name, "dimensions": 64, "articles": 3, "chunks": 3}  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "CURRENT").write_text(folder.name)
    kb = KnowledgeBase(tmp_path, embedder)
    assert kb.manifest["format_version"] == 2 and len(kb.articles()) == 3
    (top,) = kb.search(kb.article("old1").text, 1)
    assert top.article_id == "old1" and top.url == "https://x/old1"
