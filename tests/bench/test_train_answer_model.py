"""The answer model's training script: the ranker fits, on made-up features."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from train_answer_model import _fit_bounded, fit_linear, fit_listwise, log_odds


def test_the_listwise_ranker_learns_which_sentence_of_each_question_is_right():
    rng = np.random.default_rng(0)
    groups = []
    for _ in range(200):
        x = rng.normal(size=(6, 3))
        right = int(rng.integers(6))
        x[right, 0] += 3.0  # feature 0 marks the right sentence; 1 and 2 are noise
        y = np.zeros(6, dtype=bool)
        y[right] = True
        groups.append((x, y, 1.0))
    spec = fit_listwise(groups, c=1.0)
    assert spec["coef"][0] > 5 * max(abs(spec["coef"][1]), abs(spec["coef"][2]))
    top1 = np.mean([y[np.argmax(log_odds(spec, x))] for x, y, _ in groups])
    assert top1 > 0.8


def test_a_heavier_question_pulls_the_fit_towards_itself():
    # two questions that disagree on feature 0: the one weighing more decides its sign
    x = np.array([[1.0], [0.0]])
    agree, disagree = np.array([True, False]), np.array([False, True])
    for weight, sign in ((4.0, 1.0), (0.25, -1.0)):
        spec = fit_listwise([(x, agree, weight), (x, disagree, 1.0)], c=1.0)
        assert np.sign(spec["coef"][0]) == sign


def _two_correlated_features(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # feature 1 is feature 0 plus noise, so an unconstrained fit may trade them off and
    # give feature 1 the wrong sign; the label follows feature 0
    base = rng.normal(size=2000)
    x = np.column_stack([base, base + 0.3 * rng.normal(size=2000), rng.normal(size=2000)])
    y = (base + 0.5 * rng.normal(size=2000) - 0.4 * x[:, 1] + 0.4 * base) > 0
    return x, y


def test_the_bounded_solver_with_every_sign_free_is_scikit_learns_fit():
    rng = np.random.default_rng(1)
    x, y = _two_correlated_features(rng)
    w = rng.uniform(0.5, 2.0, size=len(y))
    free = fit_linear(x, y, w, c=1.0)  # scikit-learn's LogisticRegression
    z = (x - np.array(free["mean"])) / np.array(free["scale"])
    coef, intercept = _fit_bounded(z, y, w, 1.0, np.zeros(3, dtype=np.int8))
    assert np.allclose(coef, free["coef"], atol=0.01)  # both stop at a tolerance
    assert abs(intercept - free["intercept"]) < 5e-3


def test_each_weight_stays_within_its_sign():
    rng = np.random.default_rng(2)
    x, y = _two_correlated_features(rng)
    w = np.ones(len(y))
    free = fit_linear(x, y, w, c=1.0)
    assert free["coef"][1] < 0  # the trade-off the constraint is there to stop
    signed = fit_linear(x, y, w, c=1.0, signs=np.array([1, 1, -1], dtype=np.int8))
    assert signed["coef"][0] > 0
    assert signed["coef"][1] >= 0
    assert signed["coef"][2] <= 0
    # and it still ranks: the right side of the label has the higher odds
    odds = log_odds(signed, x)
    assert odds[y].mean() > odds[~y].mean() + 1.0
