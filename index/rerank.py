"""Learned fusion of BM25 and dense search: a linear ranker over their candidates.

The hand-set fusion (0.6 BM25 : 0.4 cosine) was tuned on PQuAD, whose questions were
written with the paragraph in view and share its words. People who type a question
without the text share fewer words, and then the cosine should count for more. The
features below let a linear model see that: how much of the question the best BM25
match covers, how far ahead the dense and BM25 leaders are, and how much of the
question each candidate covers (IDF-weighted), beside both normalized scores and ranks.

The weights come from ``bench/train_fusion.py`` (a listwise logistic model: the softmax
over a question's candidates of the right article, on a mix of question styles, split
by article) and sit in ``index/models/fusion.json``; they are
read once. Scoring is a dot product in numpy: about a tenth of a millisecond for the
~70 candidates of a question (bench/retrieval.py prints the whole search's latency).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.persian import content_stems

MODEL_PATH = Path(__file__).resolve().parent / "models" / "fusion.json"

FEATURES = (
    "lexical",  # BM25 / the question's best BM25 (0 outside BM25's candidates)
    "cosine",  # cosine stretched between the candidate list's floor and the best cosine
    "cosine_gap",  # cosine minus the best cosine (raw, not stretched)
    "lexical_rank_inv",  # 1 / (1 + rank in BM25's list), 0 outside it
    "dense_rank_inv",  # 1 / (1 + rank in the dense list), 0 outside it
    "coverage",  # IDF-weighted share of the question's content stems in the passage
    "coverage_gap",  # coverage minus the best coverage among the candidates
    "in_both",  # found by both retrievers
    "lexical_x_best_coverage",  # BM25 counts for more when its best match covers the question
    "cosine_x_best_coverage",
    "lexical_x_dense_margin",  # dense margin: best cosine minus the second
    "cosine_x_dense_margin",
    "lexical_x_lexical_margin",  # BM25 margin: 1 - second BM25 / best BM25
    "cosine_x_lexical_margin",
    "lexical_x_cosine",  # both retrievers agree
    "lexical_squared",  # with the two below: a little curvature for a linear model
    "cosine_squared",
)


@dataclass(frozen=True)
class FusionModel:
    """Standardization and weights of the linear ranker (no intercept: only order counts)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    meta: dict

    @classmethod
    def from_dict(cls, data: dict) -> FusionModel:
        if tuple(data["features"]) != FEATURES:
            raise ValueError(
                f"{MODEL_PATH.name} was trained on other features; run bench/train_fusion.py"
            )
        arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "weights")]
        return cls(*arrays, meta={k: v for k, v in data.items() if k not in {"mean", "scale"}})

    def to_dict(self) -> dict:
        return {
            **self.meta,
            "features": list(FEATURES),
            "mean": self.mean.round(8).tolist(),
            "scale": self.scale.round(8).tolist(),
            "weights": self.weights.round(8).tolist(),
        }

    def score(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.scale) @ self.weights


@lru_cache(maxsize=1)
def load_model(path: Path = MODEL_PATH) -> FusionModel:
    """The committed model, read once per process."""
    return FusionModel.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _presence(snapshot, tokens: list[str], ids: np.ndarray) -> np.ndarray:
    """(candidates × tokens) booleans: does the candidate's text hold the token?

    Read from the segments' postings (sorted documents per token), so no text is
    tokenized again at query time."""
    found = np.zeros((len(ids), len(tokens)), dtype=bool)
    for seg in snapshot.segments:
        seg_ids = np.asarray(seg.ids)
        if not len(seg_ids):
            continue
        where = np.searchsorted(seg_ids, ids)
        inside = where < len(seg_ids)
        inside[inside] = seg_ids[where[inside]] == ids[inside]
        rows = np.flatnonzero(inside)
        if not len(rows):
            continue
        positions = where[rows]
        postings = seg.postings
        for j, token in enumerate(tokens):
            tid = postings.vocab.get(token)
            if tid is None:
                continue
            docs = postings.docs[int(postings.indptr[tid]) : int(postings.indptr[tid + 1])]
            if not len(docs):
                continue
            at = np.minimum(np.searchsorted(docs, positions), len(docs) - 1)
            found[rows, j] = docs[at] == positions
    return found


def question_weights(snapshot, query: str) -> tuple[list[str], np.ndarray]:
    """The question's distinct content stems and their IDF over the index; a stem the
    index has never seen gets the highest IDF (it is the least covered word there is)."""
    tokens = list(dict.fromkeys(content_stems(query)))
    lexical = snapshot.lexical
    n = max(lexical.stats.documents, 1)
    unseen = math.log1p((n + 0.5) / 0.5)
    weights = np.array([lexical.idf(t) if lexical.knows(t) else unseen for t in tokens])
    return tokens, weights


def candidate_features(
    snapshot,
    query: str,
    dense: list[tuple[int, float]],
    lexical: list[tuple[int, float]],
    cosines: dict[int, float],
    floor: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Chunk ids of every candidate (union of both lists) and their FEATURES rows."""
    ids = np.fromiter(cosines, dtype=np.int64, count=len(cosines))
    n = len(ids)
    cos = np.fromiter(cosines.values(), dtype=np.float64, count=n)
    top = dense[0][1] if dense else (float(cos.max()) if n else 1.0)
    second = dense[1][1] if len(dense) > 1 else top
    best_lexical = lexical[0][1] if lexical else 1.0
    second_lexical = lexical[1][1] if len(lexical) > 1 else 0.0
    lexical_score = dict(lexical)
    lexical_rank = {c: r for r, (c, _) in enumerate(lexical)}
    dense_rank = {c: r for r, (c, _) in enumerate(dense)}
    lex = np.array([lexical_score.get(c, 0.0) for c in ids.tolist()]) / max(best_lexical, 1e-9)
    cos_n = np.clip((cos - floor) / max(top - floor, 1e-6), 0.0, 1.5)
    lrank = np.array(
        [1 / (1 + lexical_rank[c]) if c in lexical_rank else 0.0 for c in ids.tolist()]
    )
    drank = np.array([1 / (1 + dense_rank[c]) if c in dense_rank else 0.0 for c in ids.tolist()])
    tokens, weights = question_weights(snapshot, query)
    if tokens and weights.sum() > 0:
        coverage = _presence(snapshot, tokens, ids) @ weights / weights.sum()
    else:
        coverage = np.zeros(n)
    best_coverage = coverage[ids.tolist().index(lexical[0][0])] if lexical else 0.0
    dense_margin = top - second
    lexical_margin = 1 - second_lexical / max(best_lexical, 1e-9) if lexical else 0.0
    columns = [
        lex,
        cos_n,
        cos - top,
        lrank,
        drank,
        coverage,
        coverage - (coverage.max() if n else 0.0),
        (lrank > 0) & (drank > 0),
        lex * best_coverage,
        cos_n * best_coverage,
        lex * dense_margin,
        cos_n * dense_margin,
        lex * lexical_margin,
        cos_n * lexical_margin,
        lex * cos_n,
        lex**2,
        cos_n**2,
    ]
    return ids, np.column_stack(columns).astype(np.float64) if n else np.zeros((0, len(FEATURES)))


def rank(
    snapshot,
    query: str,
    dense: list[tuple[int, float]],
    lexical: list[tuple[int, float]],
    cosines: dict[int, float],
    floor: float,
    model: FusionModel | None = None,
) -> list[tuple[int, float]]:
    """Candidates best first, with a score in (0, 1]: exp(model score - the best one's),
    so the leader has 1 and the others say how far behind they are.

    Ties go to the smaller chunk id, so the order is the same on every run."""
    ids, features = candidate_features(snapshot, query, dense, lexical, cosines, floor)
    if not len(ids):
        return []
    scores = (model or load_model()).score(features)
    order = np.lexsort((ids, -scores))
    relative = np.exp(scores[order] - scores[order[0]])
    return list(zip(ids[order].tolist(), relative.tolist(), strict=True))
