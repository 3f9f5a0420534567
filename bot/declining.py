"""When to decline, and what to say instead.

The decision is the learned decline model's (bot.ranker): it weighs whether the
question's names, places and dates are found around the chosen sentence (its
passage, or its article for a date or a trip), whether that sentence adds a fact
of the asked kind, and how far it leads the others. The reply then names what the
archive does cover.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.ranker import DECLINE_FEATURES, SENTENCE_FEATURES, AnswerModel
from index.search import KnowledgeBase, Passage

# A question whose one word carries this share of its IDF weight is about that word
# ("امیرعبداللهیان با پوتین هم دیدار کرد؟": پوتین, 0.78 on the seeds): an answer from an
# article that never says it is about something else. The learned model cannot see this:
# PQuAD's unanswerable questions were written on the paragraph and share its names, so,
# fitted within the feature's sign, its weight came out 0 (bench/train_answer_model.py).
# So it is a rule, for small archives above all, where one unknown word outweighs the
# rest. The share was chosen in session 7 looking at both splits, so what follows is a
# description, not a held-out result. Measured in session 8 with the committed model over
# the training script's candidates of every pquad_val and news_dev question, beside it: at 0.7 and 0.8 it declines no
# question that the model answers; at 0.6 it declines 2 held-out pquad answers without
# the gold; at 0.5 it also declines 4 answers that hold it, for 6 unanswerable caught.
SUBJECT_SHARE = 0.7
_ARTICLE_MISSING_RARE = DECLINE_FEATURES.index("best_article_missing_rare")
_EVENT_MATCH = SENTENCE_FEATURES.index("event_match")


def should_decline(model: AnswerModel, features: np.ndarray) -> bool:
    """True when the decline model's log-odds that the answer is right fall below its
    threshold, or when the answer's article lacks the question's subject."""
    return float(
        model.decline.log_odds(features[None, :])[0]
    ) < model.decline.threshold or lacks_subject(features)


def lacks_subject(features: np.ndarray) -> bool:
    """The chosen sentence's article lacks the word that carries most of the question."""
    return bool(features[_ARTICLE_MISSING_RARE] >= np.float32(SUBJECT_SHARE))  # rows are float32


def tells_no_asked_event(sentence_rows: np.ndarray) -> bool:
    """The question names an event (a return, a signing, a call, …) and no candidate
    sentence tells it: "کی از مسکو برگشت؟" asked of articles that tell only of leaving
    for Moscow. `sentence_rows`: the ranker's features of every candidate; their
    event_match is 1.0 for every sentence when the question names no event.

    A rule beside the learned model, which weighs only the chosen sentence's and
    passage's event_match (PQuAD's few questions about events outvote news). Measured
    in session 10 with the committed model over the training script's candidates of
    the training split, on the questions the model answers: it declines 1 of 7 more
    unanswerable news_dev questions and 2 more of 1,014 pquad_val ones, and 2 of 3,064
    answerable pquad_val answers that held the gold ("… خسارت وارد کرد؟", read as an
    arrival before "وارد کرد" was excluded, and "… در چه فصلی برگزار شد؟")."""
    return bool(sentence_rows.size) and float(sentence_rows[:, _EVENT_MATCH].max()) == 0.0


def decline_text(kb: KnowledgeBase, passages: Sequence[Passage] = ()) -> str:
    """Say what the articles do cover: all titles of a small collection, else the nearest."""
    articles = kb.articles()
    if not articles:
        return "هنوز مقاله‌ای نمایه نشده است؛ نخست مقاله‌ها را بیفزایید (pasokh index add)."
    if len(articles) <= 5:
        topics = [a.title for a in articles]
        lead = f"{len(articles)} مقاله‌ی نمایه‌شده درباره‌ی این موضوع‌ها هستند: "
    else:
        topics = list(dict.fromkeys(p.title for p in passages))[:3]
        lead = f"نزدیک‌ترین مقاله‌ها به این پرسش، از میان {len(articles)} مقاله: "
    return "پاسخ این پرسش در مقاله‌های نمایه‌شده نیامده است. " + lead + "؛ ".join(topics)
