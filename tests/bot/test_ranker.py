"""The ranker's word statistics, on sentences written for the test."""

import pytest

from bot.ranker import coverage_of, local_weights, text_tokens
from index.persian import content_words, stem

# One article's sentences about one person: her name is in most of them (or stands
# behind "او"), so the words of what the question asks about weigh more.
ARTICLE = [
    "جوهانسون در سال ۲۰۱۲ با رومن داوریاک آشنا شد.",
    "جوهانسون و داوریاک در ماه اکتبر در فیلیپسبورگ ازدواج کردند.",
    "جوهانسون بازیگر آمریکایی است و در نیویورک به دنیا آمد.",
    "او در سپتامبر ۲۰۱۷ طلاق گرفت.",
]


def weights(question: str) -> dict[str, float]:
    return {stem(w): 1.0 for w in content_words(question)}


@pytest.mark.parametrize(
    ("question", "rare", "common"),
    [
        ("جوهانسون کجا ازدواج کرد؟", "ازدواج", "جوهانسون"),
        ("جوهانسون کی طلاق گرفت؟", "طلاق", "جوهانسون"),
    ],
)
def test_a_word_in_every_sentence_weighs_less_than_a_rare_one(question, rare, common):
    local = local_weights(weights(question), [text_tokens(s) for s in ARTICLE])
    assert local[stem(rare)] > local[stem(common)] > 0


def test_the_sentence_with_the_rare_word_covers_more_of_the_local_weight():
    sentences = [text_tokens(s) for s in ARTICLE]
    local = local_weights(weights("جوهانسون کجا ازدواج کرد؟"), sentences)
    married, introduced = sentences[1], sentences[0]
    assert coverage_of(local, married) > 0.9 > 0.5 > coverage_of(local, introduced)


# -- the decline model's "no fact of the asked kind" columns ------------------------------
def _decline_row(question_text: str, sentences: list[str]):
    """The decline features of the first of the sentences (one passage) for the question:
    the real sentence_features, with vectors all alike."""
    import numpy as np

    from bot.answer_kind import question_kind
    from bot.candidates import Candidate
    from bot.ranker import DECLINE_FEATURES, Question, decline_features, sentence_features
    from index.snapshot import Passage

    text = " ".join(sentences)
    passage = Passage(1, "a", "سفر وزیر", "نمونه", "2022-01-01", text, 0, len(text), 0, 1.0)
    candidates, start = [], 0
    for i, sentence in enumerate(sentences):
        vector = np.ones(4, dtype=np.float32) / 2
        candidates.append(Candidate(passage, 1, i, start, start + len(sentence), sentence, vector))
        start += len(sentence) + 1
    question = Question(
        question_text, question_kind(question_text), np.ones(4, dtype=np.float32) / 2,
        {stem(w): 1.0 for w in content_words(question_text)}, 1.0, False,
    )  # fmt: skip
    x = sentence_features(question, candidates, lambda _id: text_tokens(text))
    row = decline_features(question, candidates, x, np.zeros(len(candidates)), 0)
    return dict(zip(DECLINE_FEATURES, row.tolist(), strict=True))


@pytest.mark.parametrize(
    ("sentences", "lacks"),
    [
        (["وزیر به باکو رسید.", "او از همکاری دو کشور گفت."], 1.0),  # no date, none beside it
        (["وزیر به باکو رسید.", "این سفر روز دوشنبه آغاز شد."], 0.0),  # the date is beside it
        (["وزیر روز دوشنبه به باکو رسید.", "او از همکاری دو کشور گفت."], 0.0),
    ],
)
def test_the_decline_model_sees_a_missing_fact_of_the_asked_kind(sentences, lacks):
    row = _decline_row("وزیر چه روزی به باکو رسید؟", sentences)
    assert row["best_lacks_fact_when"] == lacks
    assert row["best_lacks_fact_who"] == 0.0  # only the asked kind's column
