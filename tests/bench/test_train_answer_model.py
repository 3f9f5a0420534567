"""The answer model's training script: the listwise ranker fit, on made-up features."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from train_answer_model import fit_listwise, log_odds


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
