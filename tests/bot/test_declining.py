"""The decision to decline: the learned model, and the rules beside it."""

import numpy as np
import pytest

from bot.declining import SUBJECT_SHARE, lacks_subject, should_decline, tells_no_asked_event
from bot.ranker import DECLINE_FEATURES, SENTENCE_FEATURES, untrained_model


def features(**values: float) -> np.ndarray:
    row = np.zeros(len(DECLINE_FEATURES), dtype=np.float32)
    for name, value in values.items():
        row[DECLINE_FEATURES.index(name)] = value
    return row


@pytest.mark.parametrize(
    ("missing_share", "declined"),
    [(0.0, False), (SUBJECT_SHARE - 0.01, False), (SUBJECT_SHARE, True), (0.95, True)],
)
def test_an_article_without_the_questions_main_word_is_declined(missing_share, declined):
    # the untrained model's log-odds (0) sit at its threshold (0): it answers everything,
    # so only the rule declines
    row = features(best_article_missing_rare=missing_share)
    assert lacks_subject(row) is declined
    assert should_decline(untrained_model(), row) is declined


def test_the_models_threshold_declines_on_its_own():
    model = untrained_model()
    model.decline.intercept = -1.0  # log-odds under the threshold of 0
    assert should_decline(model, features())
    assert not lacks_subject(features())


def sentence_rows(*event_matches: float) -> np.ndarray:
    rows = np.zeros((len(event_matches), len(SENTENCE_FEATURES)), dtype=np.float32)
    rows[:, SENTENCE_FEATURES.index("event_match")] = event_matches
    return rows


@pytest.mark.parametrize(
    ("event_matches", "declined"),
    [
        ((0.0, 0.0, 0.0), True),  # asks of a return; every sentence tells of leaving
        ((0.0, 1.0, 0.0), False),  # one sentence tells it, even if not the best
        ((0.0, 0.5), False),  # asks of two events, one is told
        ((1.0, 1.0), False),  # the question names no event: 1.0 everywhere
        ((), False),  # no candidates: nothing to judge
    ],
)
def test_a_question_about_an_event_no_sentence_tells_is_declined(event_matches, declined):
    assert tells_no_asked_event(sentence_rows(*event_matches)) is declined
