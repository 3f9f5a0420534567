"""`pasokh eval` on the dev set (real figures) and on the PQuAD format (a small sample)."""

import itertools
import json

import pytest

from bot import app, cli
from bot.answering import Answerer
from bot.evaluation import evaluate


def test_dev_set_figures(seed_kb, dev_questions):
    ticks = itertools.count(step=0.25)  # each answer takes 0.25 s on this clock
    report = evaluate(Answerer(seed_kb), dev_questions, clock=lambda: next(ticks))
    answerable = [q for q in dev_questions if q["answerable"]]
    assert report["answerable"] == len(answerable)
    assert report["passages"]["hit@3"] == 100.0
    assert report["answer_accuracy"] == 100.0
    assert report["declined_out_of_corpus"] == report["out_of_corpus"] == 2
    assert report["wrongly_declined"] == 0
    assert report["latency"] == {"p50_ms": 250.0, "p95_ms": 250.0}


def write_set(folder, articles: list[dict], questions: list[dict]) -> None:
    """An eval set as `pasokh eval` reads it: articles.jsonl beside questions.jsonl."""
    for name, rows in (("articles.jsonl", articles), ("questions.jsonl", questions)):
        (folder / name).write_text(
            "\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8"
        )


@pytest.fixture()
def tiny_pquad(tmp_path):
    articles = [
        {"id": "p1", "title": "رود کارون", "text": "کارون پرآب‌ترین رود ایران است و از زردکوه بختیاری سرچشمه می‌گیرد."},
        {"id": "p2", "title": "دماوند", "text": "دماوند بلندترین قله ایران با ارتفاع ۵۶۱۰ متر در رشته کوه البرز است."},
    ]  # fmt: skip
    questions = [
        {"id": "1", "question": "بلندترین قله ایران کدام است؟", "gold_article": "p2", "answers": ["دماوند"]},
        {"id": "2", "question": "کارون از کجا سرچشمه می‌گیرد؟", "gold_article": "p1", "answers": ["زردکوه بختیاری"]},
    ]  # fmt: skip
    write_set(tmp_path, articles, questions)
    return tmp_path


def test_pquad_format_through_the_command(tiny_pquad, capsys, monkeypatch, embedder):
    monkeypatch.setattr(app, "load_embedder", lambda settings: embedder)
    index_dir = tiny_pquad / "idx"
    code = cli.main(
        ["eval", str(tiny_pquad / "questions.jsonl"), "--json", "-q", "--index-dir", str(index_dir)]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["passages"]["hit@1"] == 100.0 and report["passages"]["questions"] == 2
    assert report["answer_accuracy"] == 100.0 and report["wrongly_declined"] == 0


def test_extra_questions_written_for_this_project(seed_kb):
    """Paraphrases, dates in the other calendar, lists and near-topic out-of-corpus
    questions, written beside the dev set; they guard the calibration against drift."""
    from pathlib import Path

    from index.metrics import read_jsonl

    questions = read_jsonl(Path(__file__).resolve().parents[1] / "data" / "extra_seed_qa.jsonl")
    report = evaluate(Answerer(seed_kb), questions)
    assert report["failures"] == []


@pytest.fixture()
def tiny_news(tmp_path):
    """A dev-format set with its own articles: `article_id` per question, articles beside."""
    articles = [
        {"id": "n1", "title": "سفر وزیر به مسقط", "text": "وزیر امور خارجه روز دوشنبه وارد مسقط شد. او در این سفر با سلطان عمان دیدار کرد."},
        {"id": "n2", "title": "برداشت گندم", "text": "برداشت گندم در استان خوزستان از هفته گذشته آغاز شده است."},
    ]  # fmt: skip
    questions = [
        {"id": "q1", "question": "وزیر تو مسقط با کی دیدار کرد؟", "answerable": True, "gold_any": [["سلطان عمان"]], "article_id": "n1"},
        {"id": "q2", "question": "برداشت گندم تو خوزستان از کی شروع شد؟", "answerable": True, "gold_any": [["هفته گذشته"]], "article_id": "n2"},
        {"id": "q3", "question": "وزیر تو سفر به پکن چه قراردادی امضا کرد؟", "answerable": False, "gold_any": [], "article_id": None},
    ]  # fmt: skip
    write_set(tmp_path, articles, questions)
    return tmp_path


def test_a_dev_format_set_with_articles_is_answered_over_its_own_index(
    tiny_news, capsys, monkeypatch, embedder
):
    monkeypatch.setattr(app, "load_embedder", lambda settings: embedder)
    monkeypatch.chdir(tiny_news)  # var/eval/<set>-<digest> is made here
    monkeypatch.delenv("PASOKH_INDEX_DIR", raising=False)
    code = cli.main(["eval", str(tiny_news / "questions.jsonl"), "--json", "-q"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["passages"]["hit@1"] == 100.0  # its own articles, not the seeds
    assert report["answer_accuracy"] == 100.0
    assert report["out_of_corpus"] == 1  # a question about no article is kept
    (own,) = (tiny_news / "var" / "eval").iterdir()
    assert own.name.startswith(tiny_news.name + "-")


def test_eval_with_an_empty_index_dir_does_not_build_the_seeds_into_it(
    tmp_path, capsys, monkeypatch, embedder
):
    monkeypatch.setattr(app, "load_embedder", lambda settings: embedder)
    questions = tmp_path / "dev.jsonl"
    questions.write_text(
        json.dumps({"id": "d1", "question": "وزیر کجا رفت؟", "answerable": True, "gold_any": [["مسکو"]]}),
        "utf-8",
    )  # fmt: skip
    empty = tmp_path / "empty"
    code = cli.main(["eval", str(questions), "-q", "--index-dir", str(empty)])
    assert code != 0
    assert "no index in" in capsys.readouterr().err
    assert not empty.exists() or not any(empty.iterdir())


def test_a_question_written_for_a_split_keeps_it():
    from bot.evaluation import split_of

    article_split = split_of({"article_id": "a1"})
    other = "held-out" if article_split == "train" else "train"
    assert split_of({"article_id": "a1", "split": other}) == other
    assert split_of({"id": "x1", "split": "train"}) == "train"
