"""bench/data's training questions stay on the train side of bot.evaluation.split_of."""

import json
from pathlib import Path

import pytest

from bot.evaluation import split_of
from index.persian import content_words, gold_in_text, stem

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = [
    json.loads(line)
    for line in (ROOT / "bench" / "data" / "news_dev_chat_questions.jsonl").open(encoding="utf-8")
]
NEWS_DEV = ROOT.parent / "shared" / "eval" / "news_dev"


def test_every_question_is_training_data_on_a_train_split_article():
    assert len(QUESTIONS) == len({q["id"] for q in QUESTIONS})
    for q in QUESTIONS:
        assert split_of(q) == "train", q["id"]
        if q["answerable"]:
            assert q["gold_any"] and split_of({"article_id": q["article_id"]}) == "train"
        else:
            assert q["article_id"] is None and q["gold_any"] == []


@pytest.mark.skipif(not NEWS_DEV.is_dir(), reason="needs ../shared/eval/news_dev")
def test_gold_is_in_its_article_and_no_question_is_close_to_a_held_out_one():
    rows = (NEWS_DEV / "articles.jsonl").open(encoding="utf-8")
    articles = {a["id"]: f"{a['title'] or ''} {a['text'] or ''}" for a in map(json.loads, rows)}
    held = [
        q
        for q in map(json.loads, (NEWS_DEV / "questions.jsonl").open(encoding="utf-8"))
        if split_of(q) == "held-out"
    ]

    def words(text: str) -> set[str]:
        return {stem(w) for w in content_words(text)}

    held_words = [words(q["question"]) for q in held]
    for q in QUESTIONS:
        if q["answerable"]:
            assert gold_in_text(q["gold_any"], articles[q["article_id"]]), q["id"]
        mine = words(q["question"])
        closest = max(len(mine & h) / len(mine | h) for h in held_words)
        assert closest < 0.3, q["id"]  # the decontamination of bench/data/README.md
