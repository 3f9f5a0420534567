"""`pasokh eval`: how well the answers hold up on a question set.

Two formats are read:

* the dev format (`id`, `question`, `answerable`, `gold_any`): a passage or an
  answer hits when it holds every string of one `gold_any` alternative, both
  squashed (index.persian.squash); out-of-corpus questions should be declined;
* the PQuAD format (`question`, `gold_article`, `answers`) with an
  `articles.jsonl` beside it: hits are counted at the article level.

A set that comes with its own articles (PQuAD, or the dev format with an
`article_id` per question and an `articles.jsonl` beside it, like news_dev) is
answered over those articles, indexed (incrementally) into their own directory
(var/eval/<set>-<digest>), never the main index. A set without articles (the dev
seed questions) is answered over the configured index; an `--index-dir` that holds
no index is refused rather than filled with the seeds.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot import app
from bot.errors import UserError
from index.metrics import (
    first_hit_rank,
    latency_summary,
    read_jsonl,
    summarize_ranks,
    unique_in_order,
)  # fmt: skip
from index.persian import gold_in_text

if TYPE_CHECKING:
    from bot.answering import Answerer
    from bot.app import Feedback
    from bot.settings import Settings

SPLITS = ("all", "train", "held-out")


def split_of(question: dict) -> str:
    """The question's split, "train" or "held-out", by its article (or its own id).

    The answer model (bench/train_answer_model.py) learns only from "train"; figures on
    "held-out" are the ones to quote. Articles, not questions, are split, so that no
    held-out question is asked of a paragraph the model saw in training. A question
    that names its split (bench/data's training questions) keeps it.
    """
    if question.get("split") in ("train", "held-out"):  # a question written for one split
        return question["split"]
    key = question.get("gold_article") or question.get("written_on") or question.get("article_id")
    key = key or question.get("id") or question["question"]
    return "train" if zlib.crc32(str(key).encode("utf-8")) % 2 == 0 else "held-out"


def select_split(questions: list[dict], split: str) -> list[dict]:
    """The questions of one split ("all" keeps every question)."""
    return questions if split == "all" else [q for q in questions if split_of(q) == split]


def is_answerable(question: dict) -> bool:
    """PQuAD's unanswerable questions carry `written_on` (the paragraph) instead of answers."""
    return question.get("answerable", "written_on" not in question)


def evaluate(
    answerer: Answerer,
    questions: list[dict],
    progress: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict:
    """All figures for one question set, in either format (`clock` in seconds: a test
    passes its own to check the latency figures)."""
    passage_ranks: list[int | None] = []
    answer_hits = answerable = declined_ooc = ooc = wrongly_declined = 0
    latencies: list[float] = []
    lengths: list[int] = []
    failures: list[dict] = []
    for q in questions:
        t0 = clock()
        answer = answerer.answer(q["question"])
        latencies.append((clock() - t0) * 1000)
        if progress:
            progress()
        if not answer.abstained:
            lengths.append(len(answer.text))
        if not is_answerable(q):
            ooc += 1
            declined_ooc += answer.abstained
            if not answer.abstained:
                failures.append({"id": q.get("id"), "why": "answered out-of-corpus"})
            continue
        answerable += 1
        wrongly_declined += answer.abstained
        if "gold_article" in q:
            ranked = unique_in_order(p.article_id for p in answer.passages)
            rank = first_hit_rank([a == q["gold_article"] for a in ranked])
            gold = [[a] for a in q.get("answers", [])]
        else:
            gold = q["gold_any"]
            rank = first_hit_rank([gold_in_text(gold, p.text) for p in answer.passages])
        passage_ranks.append(rank)
        hit = not answer.abstained and bool(gold) and gold_in_text(gold, answer.text)
        answer_hits += hit
        if not hit:
            failures.append(
                {
                    "id": q.get("id"),
                    "why": "declined" if answer.abstained else "gold not in answer",
                    "passage_rank": rank,
                }
            )
    return {
        "passages": summarize_ranks(passage_ranks),
        "answer_accuracy": 100.0 * answer_hits / max(answerable, 1),
        "answerable": answerable,
        "wrongly_declined": wrongly_declined,
        "out_of_corpus": ooc,
        "declined_out_of_corpus": declined_ooc,
        "answer_chars_p90": float(np.percentile(lengths, 90)) if lengths else 0.0,
        "latency": latency_summary(latencies),
        "failures": failures,
    }


def eval_index_dir(articles_path: Path) -> Path:
    """A PQuAD-format set's own index directory, named by its articles' content."""
    digest = hashlib.sha256(articles_path.read_bytes()).hexdigest()[:12]
    return Path("var") / "eval" / f"{articles_path.parent.name}-{digest}"


def has_own_articles(questions: list[dict]) -> bool:
    """True for a set whose questions point at articles of its own (PQuAD's
    `gold_article`/`written_on`, the dev format's `article_id`)."""
    return any(
        key in q for q in questions[:50] for key in ("gold_article", "written_on", "article_id")
    )


def evaluate_file(
    path: Path,
    settings: Settings,
    feedback: Feedback,
    articles_path: Path | None = None,
    index_dir_given: bool = False,
    limit: int = 0,
    progress: Callable[[], None] | None = None,
    split: str = "all",
) -> tuple[dict, int]:
    """The figures for the question file at `path`, and how many questions were asked.

    A set with its own articles is answered over them, indexed into their own
    directory (`eval_index_dir`, unless `index_dir_given`), never the main index."""
    all_questions = read_jsonl(path)
    questions = select_split(all_questions, split)
    articles_path = articles_path or path.parent / "articles.jsonl"
    if has_own_articles(all_questions) and articles_path.is_file():
        if not index_dir_given:
            # its own folder, and on Milvus its own Milvus Lite file there
            settings = settings.model_copy(
                update={"index_dir": eval_index_dir(articles_path), "milvus_uri": ""}
            )
        embedder = app.load_embedder(settings)
        result = app.read_articles([articles_path], settings, feedback)
        # unchanged articles cost nothing
        app.write_articles(settings, embedder, feedback, result.articles)
        questions = _on_articles(questions, {a.id for a in result.articles}, feedback)
        answerer = app.make_answerer(app.open_backend(settings, embedder), settings)
    elif has_own_articles(all_questions):
        raise UserError(
            f"{path}: its questions name their articles, but {articles_path} does not exist;"
            " give it with --articles"
        )
    elif index_dir_given:
        if app.index_version(settings) is None:
            raise UserError(
                f"no index in {settings.index_dir}; build one first"
                f" (pasokh index build … --index-dir {settings.index_dir})"
            )
        answerer = app.make_answerer(
            app.open_backend(settings, app.load_embedder(settings)), settings
        )
    else:
        answerer = app.open_answerer(settings, feedback)
    if limit:  # after the split and the article filter
        questions = questions[:limit]
    return evaluate(answerer, questions, progress=progress), len(questions)


def _on_articles(questions: list[dict], article_ids: set[str], feedback: Feedback) -> list[dict]:
    """Only the questions about the given articles (a smaller corpus, for a quick check);
    a question about no article (out of corpus) is always kept."""
    kept = [
        q
        for q in questions
        if (q.get("gold_article") or q.get("written_on") or q.get("article_id")) in article_ids
        or not (q.get("gold_article") or q.get("written_on") or q.get("article_id"))
    ]
    if len(kept) < len(questions):
        feedback.note(f"{len(questions) - len(kept)} questions about other articles left out")
    return kept


def report_lines(report: dict, questions: int) -> list[str]:
    """The figures as the lines `pasokh eval` prints."""
    p = report["passages"]
    lat = report["latency"]
    return [
        f"questions: {questions} ({report['answerable']} answerable)",
        f"passages: hit@1 {p['hit@1']:.1f}  hit@3 {p['hit@3']:.1f}  hit@5 {p['hit@5']:.1f}"
        f"  MRR {p['mrr']:.3f}",
        f"answer accuracy (gold inside the short answer): {report['answer_accuracy']:.1f}%",
        f"declined out-of-corpus: {report['declined_out_of_corpus']}/{report['out_of_corpus']}"
        f"  wrongly declined answerable: {report['wrongly_declined']}/{report['answerable']}",
        f"answer length p90: {report['answer_chars_p90']:.0f} chars",
        f"latency: p50 {lat['p50_ms']:.0f} ms  p95 {lat['p95_ms']:.0f} ms",
    ]
