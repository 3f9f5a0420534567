"""The learned fusion (index/rerank.py) on passages written for these tests.

The index is built with the stand-in embedder, and the dense side is given by hand
(cosines chosen per case), so each case pins one situation: BM25's best match
covering little of the question, or all of it, against a dense list that disagrees.
The BM25 side, the IDF and each passage's coverage of the question are the real ones.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from index import rerank
from index.readers import Article
from index.search import KnowledgeBase, convex_fusion, gather_candidates
from tests.index.standin import RandomEmbedder

ARTICLES = {
    "majles": (
        "نشست علنی مجلس",
        "نمایندگان مجلس ایران در نشست علنی روز یکشنبه درباره بودجه سال آینده و"
        " سهم استان‌ها از درآمد نفت گفت‌وگو کردند.",
    ),
    "vienna": (
        "بازگشت هیأت مذاکره‌کننده",
        "هیأت مذاکره‌کننده ایران پس از پایان گفت‌وگوها در وین، شامگاه پنجشنبه با"
        " پرواز ویژه به تهران بازگشت و معاون وزیر از نتیجه دیدارها گزارش داد.",
    ),
    "port": (
        "بندر چابهار",
        "نخستین محموله گندم از بندر چابهار به افغانستان فرستاده شد و کامیون‌ها از مرز میلک گذشتند.",
    ),
    "oil": (
        "صادرات نفت",
        "صادرات نفت خام در ماه گذشته به یک میلیون و دویست هزار بشکه در روز رسید و"
        " خریداران آسیایی سهم بیشتری داشتند.",
    ),
    "expo": (
        "نمایشگاه کتاب",
        "نمایشگاه بین‌المللی کتاب تهران با حضور ناشران سی کشور در مصلی گشایش یافت.",
    ),
}


@pytest.fixture(scope="module")
def kb(tmp_path_factory) -> KnowledgeBase:
    kb = KnowledgeBase.open(tmp_path_factory.mktemp("rerank"), RandomEmbedder())
    kb.add(Article(id=i, title=t, text=x, sources=["ایرنا"]) for i, (t, x) in ARTICLES.items())
    return kb


def _chunk(kb: KnowledgeBase, article_id: str) -> int:
    (row,) = kb._snapshot._query(
        "SELECT c.id FROM chunks c JOIN articles a ON a.rev = c.rev WHERE a.id = ?",
        (article_id,),
    )
    return int(row[0])


def _lists(kb: KnowledgeBase, question: str, cosines: dict[str, float]):
    """Real BM25 list; the dense list and every cosine as the case gives them."""
    snapshot = kb._snapshot
    lexical = snapshot.lexical_ranking(question, 50)
    by_chunk = {_chunk(kb, a): c for a, c in cosines.items()}
    dense = sorted(by_chunk.items(), key=lambda item: -item[1])
    return dense, lexical, by_chunk, dense[-1][1]


def _first(kb: KnowledgeBase, ranked: list[tuple[int, float]]) -> str:
    return kb._snapshot.passage(ranked[0][0], ranked[0][1]).article_id


# (question, cosines by article, BM25's first, the hand-set fusion's first, learned first)
CASES = [
    (
        # A chat question that shares two words with each passage: BM25 puts the
        # parliament first (shorter passage), the dense side is sure of the delegation.
        "نمایندگان ایران در وین کی برگشتن؟",
        {"vienna": 0.88, "majles": 0.80, "oil": 0.78, "port": 0.76, "expo": 0.75},
        "majles",
        "vienna",
        "vienna",
    ),
    (
        # BM25's first passage holds every word of the question; the dense side puts
        # the oil report 0.03 ahead. The hand-set fusion stretches the cosines between
        # the floor and the best, so 0.03 becomes the whole scale; the learned one
        # weighs the raw gap (small for e5) against how much of the question is covered.
        "نمایندگان درباره نفت چی گفتن؟",
        {"oil": 0.83, "vienna": 0.815, "majles": 0.80, "port": 0.80, "expo": 0.80},
        "majles",
        "oil",
        "majles",
    ),
    (
        # The same when the question is long and BM25 is far ahead.
        "نمایندگان مجلس درباره بودجه سال آینده و سهم استان‌ها از درآمد نفت چه گفتند؟",
        {"oil": 0.86, "majles": 0.85, "vienna": 0.80, "port": 0.77, "expo": 0.75},
        "majles",
        "majles",
        "majles",
    ),
]


@pytest.mark.parametrize(
    ("question", "cosines", "bm25_first", "convex_first", "learned_first"), CASES
)
def test_learned_fusion_reorders_by_its_features(
    kb, question, cosines, bm25_first, convex_first, learned_first
):
    dense, lexical, by_chunk, floor = _lists(kb, question, cosines)
    assert kb._snapshot.passage(lexical[0][0], 0).article_id == bm25_first
    assert _first(kb, convex_fusion(dense, lexical, by_chunk, floor)) == convex_first
    ranked = rerank.rank(kb._snapshot, question, dense, lexical, by_chunk, floor)
    assert _first(kb, ranked) == learned_first
    assert ranked[0][1] == 1.0 and all(0 < s <= 1 for _, s in ranked)
    assert len(ranked) == len(by_chunk)


def test_low_overlap_question_moves_the_second_bm25_passage_first(kb):
    question, cosines, *_ = CASES[0]
    dense, lexical, by_chunk, floor = _lists(kb, question, cosines)
    vienna = _chunk(kb, "vienna")
    assert [c for c, _ in lexical].index(vienna) == 1  # second by BM25
    assert rerank.rank(kb._snapshot, question, dense, lexical, by_chunk, floor)[0][0] == vienna


def test_coverage_is_the_idf_weighted_share_of_the_question(kb):
    question = "بودجه سال آینده در مجلس و صادرات نفت"
    cosines = {a: 0.8 for a in ARTICLES}
    dense, lexical, by_chunk, floor = _lists(kb, question, cosines)
    ids, features = rerank.candidate_features(
        kb._snapshot, question, dense, lexical, by_chunk, floor
    )
    coverage = dict(zip(ids.tolist(), features[:, rerank.FEATURES.index("coverage")], strict=True))
    majles, oil, expo = (_chunk(kb, a) for a in ("majles", "oil", "expo"))
    assert coverage[expo] == 0.0
    assert 0 < coverage[oil] < coverage[majles] < 1  # "صادرات" only in oil's passage
    assert features.shape == (len(ids), len(rerank.FEATURES))


def test_fusion_is_deterministic_and_breaks_ties_by_chunk_id(kb):
    question = "زلزله"  # in no passage: coverage 0 everywhere
    by_chunk = {_chunk(kb, a): 0.8 for a in reversed(list(ARTICLES))}  # nothing to tell apart
    runs = [rerank.rank(kb._snapshot, question, [], [], by_chunk, 0.7) for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    assert [c for c, _ in runs[0]] == sorted(by_chunk)
    assert {s for _, s in runs[0]} == {1.0}


def test_search_orders_by_the_learned_fusion(kb):
    question = "هیأت مذاکره‌کننده از وین به تهران بازگشت"
    passages = kb.search(question, top_k=5)
    snapshot = kb._snapshot
    ranked = rerank.rank(snapshot, question, *gather_candidates(snapshot, kb.embedder, question))
    assert [p.chunk_id for p in passages] == [c for c, _ in ranked][:5]
    assert passages[0].article_id == "vienna"
    # the score shown is the hand-set fusion's, on the scale bot/ranker.py was trained on
    convex = dict(convex_fusion(*gather_candidates(snapshot, kb.embedder, question)))
    assert [p.score for p in passages] == [convex[p.chunk_id] for p in passages]


def test_the_committed_model_loads_once_with_its_features():
    model = rerank.load_model()
    assert model is rerank.load_model()
    assert model.weights.shape == model.mean.shape == (len(rerank.FEATURES),)
    assert np.isfinite(model.weights).all() and (model.scale > 0).all()
    assert model.meta["trained_by"] == "bench/train_fusion.py"


def test_a_model_of_other_features_is_refused(tmp_path):
    data = json.loads(rerank.MODEL_PATH.read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1]
    path = tmp_path / "fusion.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="train_fusion"):
        rerank.load_model.__wrapped__(path)
