"""Answers are the same whether the sentences' vectors were stored at index time or computed."""

import json
import sqlite3
from pathlib import Path

import pytest

from bot.answering import Answerer
from index.search import KnowledgeBase

DATA = Path(__file__).resolve().parents[1] / "data"


def _questions() -> list[str]:
    rows = [
        json.loads(line)
        for path in sorted(DATA.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [row["question"] for row in rows]


@pytest.fixture(scope="module")
def without_stored_sentences(tmp_path_factory, seed_index_dir, embedder):
    """The seed index as written before sentences were stored: the answerer computes them."""
    import shutil

    target = tmp_path_factory.mktemp("old") / "index"
    shutil.copytree(seed_index_dir, target)
    with sqlite3.connect(target / "catalog.sqlite") as db:
        db.execute("DELETE FROM sentences")
    kb = KnowledgeBase(target, embedder)
    assert kb.sentence_vectors(range(1000)) == {}
    return kb


def test_answers_identical_with_stored_and_computed_sentence_vectors(
    seed_kb, without_stored_sentences
):
    stored, computed = Answerer(seed_kb), Answerer(without_stored_sentences)
    questions = _questions()
    assert len(questions) >= 10
    for question in questions:
        a, b = stored.answer(question), computed.answer(question)
        assert (a.text, a.abstained) == (b.text, b.abstained), question
        assert [p.as_dict() for p in a.parts] == [p.as_dict() for p in b.parts], question


def test_stored_vectors_spare_the_model(seed_kb, embedder, monkeypatch):
    """With every sentence stored, answering embeds no passage-side text at question time."""
    answerer = Answerer(seed_kb)
    calls = []
    real = embedder.encode_sentences
    monkeypatch.setattr(
        embedder,
        "encode_sentences",
        lambda passage, spans: calls.append(spans) or real(passage, spans),
    )
    answerer.answer("حق مشروع سوری‌ها چیست؟")
    assert calls == []
