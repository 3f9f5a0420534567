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

from bot.ranker import AnswerModel
from index.search import KnowledgeBase, Passage


def should_decline(model: AnswerModel, features: np.ndarray) -> bool:
    """True when the decline model's log-odds that the answer is right fall below its threshold."""
    return float(model.decline.log_odds(features[None, :])[0]) < model.decline.threshold


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
