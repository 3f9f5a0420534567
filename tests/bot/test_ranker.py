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
