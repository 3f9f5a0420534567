"""The evaluation measures, on small rankings whose figures are worked out by hand."""

import pytest

from index.metrics import first_hit_rank, latency_summary, summarize_ranks, unique_in_order


@pytest.mark.parametrize(
    ("ranked", "rank"),
    [([False, True, True], 2), ([True], 1), ([False, False], None), ([], None)],
)
def test_first_hit_rank(ranked, rank):
    assert first_hit_rank(ranked) == rank


@pytest.mark.parametrize(
    ("ranks", "expected"),
    [
        ([1, 2, None, 5], {"hit@1": 25.0, "hit@3": 50.0, "hit@5": 75.0, "mrr": 0.425, "questions": 4}),
        ([], {"hit@1": 0.0, "hit@3": 0.0, "hit@5": 0.0, "mrr": 0.0, "questions": 0}),
    ],
)  # fmt: skip
def test_summarize_ranks(ranks, expected):
    assert summarize_ranks(ranks) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("ms", "expected"),
    [([], {"p50_ms": 0.0, "p95_ms": 0.0}), ([10, 20, 30], {"p50_ms": 20.0, "p95_ms": 29.0})],
)
def test_latency_summary(ms, expected):
    assert latency_summary(ms) == pytest.approx(expected)


def test_unique_in_order():
    assert unique_in_order(["ب", "الف", "ب", "پ"]) == ["ب", "الف", "پ"]
