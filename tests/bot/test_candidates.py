"""Which passages' sentences the ranker reads (passages written here)."""

from bot.candidates import CANDIDATE_PASSAGES, candidate_passages
from index.search import Passage


def _passage(chunk_id: int, article_id: str) -> Passage:
    text = f"متن بخش {chunk_id} از مقاله {article_id}."
    return Passage(chunk_id, article_id, "عنوان", "منبع", "", text, 0, len(text), 0, 1.0)


# six passages of one article, then one of a second and one of a third
SEARCHED = [_passage(i, "a") for i in range(6)] + [_passage(6, "b"), _passage(7, "c")]


def test_the_top_passages_and_the_best_of_the_next_article():
    chosen = candidate_passages(SEARCHED)
    assert [p.chunk_id for p in chosen] == [*range(CANDIDATE_PASSAGES), 6]


def test_every_searched_passage_of_an_article_the_question_singles_out():
    chosen = candidate_passages(SEARCHED, favoured=frozenset({"a", "c"}))
    assert [p.chunk_id for p in chosen] == [*range(CANDIDATE_PASSAGES), 6, 4, 5, 7]
