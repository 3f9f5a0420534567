"""`pasokh eval`: how well the answers hold up on a question set.

Two formats are read:

* the dev format (`id`, `question`, `answerable`, `gold_any`): a passage or an
  answer hits when it holds every string of one `gold_any` alternative, both
  squashed (index.persian.squash); out-of-corpus questions should be declined;
* the PQuAD format (`question`, `gold_article`, `answers`) with an
  `articles.jsonl` beside it: hits are counted at the article level, and those
  articles are indexed (incrementally) into their own index directory, never the
  main one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np

from bot.answering import Answerer
from index.metrics import (
    first_hit_rank,
    latency_summary,
    read_jsonl,
    summarize_ranks,
    unique_in_order,
)  # fmt: skip
from index.persian import gold_in_text

SPLITS = ("all", "train", "held-out")


def split_of(question: dict) -> str:
    """The question's split, "train" or "held-out", by its article (or its own id).

    The answer model (bench/train_answer_model.py) learns only from "train"; figures on
    "held-out" are the ones to quote. Articles, not questions, are split, so that no
    held-out question is asked of a paragraph the model saw in training.
    """
    key = question.get("gold_article") or question.get("written_on") or question.get("article_id")
    key = key or question.get("id") or question["question"]
    return "train" if zlib.crc32(str(key).encode("utf-8")) % 2 == 0 else "held-out"


def select_split(questions: list[dict], split: str) -> list[dict]:
    """The questions of one split ("all" keeps every question)."""
    return questions if split == "all" else [q for q in questions if split_of(q) == split]


def is_answerable(question: dict) -> bool:
    """PQuAD's unanswerable questions carry `written_on` (the paragraph) instead of answers."""
    return question.get("answerable", "written_on" not in question)


def evaluate(answerer: Answerer, questions: list[dict], progress=None) -> dict:
    """All figures for one question set, in either format."""
    passage_ranks: list[int | None] = []
    answer_hits = answerable = declined_ooc = ooc = wrongly_declined = 0
    latencies: list[float] = []
    lengths: list[int] = []
    failures: list[dict] = []
    for q in questions:
        t0 = time.perf_counter()
        answer = answerer.answer(q["question"])
        latencies.append((time.perf_counter() - t0) * 1000)
        if progress:
            progress()
        if not is_answerable(q):
            ooc += 1
            declined_ooc += answer.abstained
            if not answer.abstained:
                failures.append({"id": q.get("id"), "why": "answered out-of-corpus"})
            continue
        answerable += 1
        wrongly_declined += answer.abstained
        if not answer.abstained:
            lengths.append(len(answer.text))
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


def _on_articles(questions: list[dict], article_ids: set[str]) -> list[dict]:
    """Only the questions about the given articles (a smaller corpus, for a quick check)."""
    kept = [q for q in questions if (q.get("gold_article") or q.get("written_on")) in article_ids]
    if len(kept) < len(questions):
        print(
            f"{len(questions) - len(kept)} questions about other articles left out", file=sys.stderr
        )
    return kept


def run_eval(args: argparse.Namespace) -> int:
    from bot.cli import index_settings, load_embedder, open_answerer, read_articles, write_articles
    from index.search import KnowledgeBase

    path = Path(args.file)
    questions = read_jsonl(path)
    questions = select_split(questions, getattr(args, "split", "all"))
    if questions and ("gold_article" in questions[0] or "written_on" in questions[0]):
        articles_path = Path(args.articles) if args.articles else path.parent / "articles.jsonl"
        if not args.index_dir:
            digest = hashlib.sha256(articles_path.read_bytes()).hexdigest()[:12]
            args.index_dir = str(Path("var") / "eval" / f"{articles_path.parent.name}-{digest}")
        settings = index_settings(args)
        embedder = load_embedder(settings)
        result = read_articles(args, [articles_path], settings)
        questions = _on_articles(questions, {a.id for a in result.articles})
        write_articles(args, settings, embedder, result.articles)  # unchanged articles cost nothing
        answerer = Answerer.from_env(KnowledgeBase(settings.index_dir, embedder))
    else:
        answerer = open_answerer(args)

    if args.limit:
        questions = questions[: args.limit]
    from tqdm import tqdm

    with tqdm(total=len(questions), disable=args.quiet, leave=False, unit="q") as bar:
        report = evaluate(answerer, questions, progress=bar.update)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    p = report["passages"]
    split = getattr(args, "split", "all")
    print(f"questions: {len(questions)} ({report['answerable']} answerable), split: {split}")
    print(
        f"passages: hit@1 {p['hit@1']:.1f}  hit@3 {p['hit@3']:.1f}  hit@5 {p['hit@5']:.1f}"
        f"  MRR {p['mrr']:.3f}"
    )
    print(f"answer accuracy (gold inside the short answer): {report['answer_accuracy']:.1f}%")
    print(
        f"declined out-of-corpus: {report['declined_out_of_corpus']}/{report['out_of_corpus']}"
        f"  wrongly declined answerable: {report['wrongly_declined']}/{report['answerable']}"
    )
    print(f"answer length p90: {report['answer_chars_p90']:.0f} chars")
    lat = report["latency"]
    print(f"latency: p50 {lat['p50_ms']:.0f} ms  p95 {lat['p95_ms']:.0f} ms")
    return 0
