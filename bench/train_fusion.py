"""Train the learned fusion (index/models/fusion.json) and print hit@1 per question style.

Question styles, every one split by article with bot.evaluation.split_of (the model
learns from "train" only; the "held-out" figures are the ones to quote):

* ``pquad`` — ../shared/eval/pquad_val questions, written while reading the paragraph:
  they share most of its words.
* ``pquad_low`` — the natural low-overlap slice of ``pquad``: questions whose content
  stems cover less than LOW_OVERLAP of their IDF weight in the gold article. Real
  questions, only selected; reported, not trained on apart from ``pquad``.
* ``pquad_dropped`` — synthetic low overlap: each pquad question with every content
  word that its gold article also holds dropped with probability 1/2 (seeded by the
  question id), keeping at least one content word. It stands in for a person who does
  not recall the text's words; it is not a paraphrase (no synonyms are put in).
* ``news`` — ../shared/eval/news_dev answerable questions (chat style: colloquial,
  written to be answered by a sentence after the lead), over the news_dev index.

The ranker is linear; its weights maximize the softmax probability of the right passages
among each question's candidates (listwise). Labels are by article (a passage of the
gold article is right), as hit@1 is measured.

    python -m bench.train_fusion [--write] [--shared ../shared/eval] [--cache var/fusion]

Takes a few minutes on 2 cores (one query embedding per question); --cache keeps the
candidate features of a run for the next one, per set (delete it when the index or the
features change).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import re
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot import app
from bot.evaluation import eval_index_dir, split_of
from index import catalog, rerank
from index.metrics import read_jsonl
from index.persian import content_stems, matching_tokens
from index.search import KnowledgeBase, convex_fusion, gather_candidates

SHARED = ROOT.parent / "shared" / "eval"
LOW_OVERLAP = 0.6  # pquad_low: the question's stems cover less than this share (IDF) of it
# news_dev has 40 training questions beside ~3,000 PQuAD ones; the synthetic style is
# weighed half so that it does not outvote the real questions.
STYLE_WEIGHTS = {"pquad": 1.0, "pquad_dropped": 0.5, "news": 10.0}
L2 = 1.0  # on standardized features, summed over ~5,700 questions


def dropped_question(question: dict, article_stems: set[str]) -> str | None:
    """The question without about half of the content words its article also holds."""
    rng = random.Random(zlib.crc32(str(question["id"]).encode("utf-8")))
    words = question["question"].split()
    shared = [i for i, w in enumerate(words) if set(content_stems(w)) & article_stems]
    if len([w for w in words if content_stems(w)]) < 2 or not shared:
        return None
    drop = {i for i in shared if rng.random() < 0.5}
    kept = [w for i, w in enumerate(words) if i not in drop]
    if not drop or not any(content_stems(w) for w in kept):
        return None
    text = " ".join(kept)
    return text if re.search(r"[؟?]\s*$", text) else text + "؟"


def chunk_articles(kb: KnowledgeBase) -> dict[int, str]:
    snapshot = kb._snapshot
    rows = snapshot._query(
        f"SELECT c.id, a.id FROM chunks c JOIN articles a ON a.rev = c.rev WHERE {catalog.ALIVE}",
        {"gen": snapshot.gen},
    )
    return {int(c): a for c, a in rows}


def collect(kb: KnowledgeBase, questions: list[dict], style: str) -> list[dict]:
    """Candidate features, labels and the single retrievers' first articles per question."""
    articles = chunk_articles(kb)
    snapshot = kb._snapshot
    out = []
    for q in questions:
        lists = gather_candidates(snapshot, kb.embedder, q["question"])
        ids, features = rerank.candidate_features(snapshot, q["question"], *lists)
        dense, lexical = lists[0], lists[1]
        convex = convex_fusion(*lists)
        first = {
            "bm25": articles[lexical[0][0]] if lexical else None,
            "dense": articles[dense[0][0]] if dense else None,
            "convex": articles[convex[0][0]] if convex else None,
        }
        out.append(
            {
                "style": style,
                "id": q["id"],
                "split": split_of(q),
                "gold": q["gold"],
                "ids": ids,
                "features": features,
                "labels": np.array([articles[int(c)] == q["gold"] for c in ids]),
                "first": first,
            }
        )
    return out


def article_stems(path: Path) -> dict[str, set[str]]:
    return {
        r["id"]: set(matching_tokens(f"{r.get('title', '')}\n{r['text']}"))
        for r in read_jsonl(path)
    }


def gold_coverage(kb: KnowledgeBase, question: str, stems: set[str]) -> float:
    tokens, weights = rerank.question_weights(kb._snapshot, question)
    if not tokens or weights.sum() <= 0:
        return 0.0
    return float(sum(w for t, w in zip(tokens, weights, strict=True) if t in stems) / weights.sum())


def _cached(cache: Path | None, name: str, compute) -> list[dict]:
    path = cache / f"{name}.pkl" if cache else None
    if path and path.exists():
        return pickle.loads(path.read_bytes())
    rows = compute()
    if path and rows:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(rows))
    return rows


def pquad_rows(shared: Path, embedder, limit: int) -> list[dict]:
    """pquad, pquad_dropped (and pquad_low marked by its coverage) over pquad_val's index."""
    pquad_dir = shared / "pquad_val"
    kb = KnowledgeBase(eval_index_dir(pquad_dir / "articles.jsonl"), embedder)
    stems = article_stems(pquad_dir / "articles.jsonl")
    pquad = read_jsonl(pquad_dir / "questions.jsonl")
    if limit:
        pquad = pquad[:limit]
    for q in pquad:
        q["gold"] = q["gold_article"]
    t0 = time.perf_counter()
    rows = collect(kb, pquad, "pquad")
    for q, row in zip(pquad, rows, strict=True):
        row["coverage"] = gold_coverage(kb, q["question"], stems[q["gold"]])
    dropped = []
    for q in pquad:
        text = dropped_question(q, stems[q["gold"]])
        if text:
            dropped.append({**q, "question": text})
    rows += collect(kb, dropped, "pquad_dropped")
    print(f"pquad: {len(pquad)} + {len(dropped)} dropped in {time.perf_counter() - t0:.0f} s")
    return rows


def news_rows(shared: Path, embedder) -> list[dict]:
    """news_dev's answerable questions over news_dev's own index (never the seed index)."""
    news_dir = shared / "news_dev"
    news_index = eval_index_dir(news_dir / "articles.jsonl")
    if not (news_index / "versions").exists():
        print(f"no news_dev index in {news_index}: `pasokh eval` builds it; news left out")
        return []
    news = [q for q in read_jsonl(news_dir / "questions.jsonl") if q.get("answerable")]
    for q in news:
        q["gold"] = q["article_id"]
    return collect(KnowledgeBase(news_index, embedder), news, "news")


def build_rows(shared: Path, limit: int, cache: Path | None) -> list[dict]:
    embedder = app.load_embedder(app.load_settings())
    suffix = f"-{limit}" if limit else ""
    pquad = _cached(cache, f"pquad{suffix}", lambda: pquad_rows(shared, embedder, limit))
    return pquad + _cached(cache, "news", lambda: news_rows(shared, embedder))


def _blocks(rows: list[dict], mean: np.ndarray, scale: np.ndarray):
    """Questions as padded blocks: standardized features, real-candidate mask, right-article
    mask and the question's weight; questions with no right or no wrong candidate teach
    nothing and are left out."""
    kept = [r for r in rows if r["labels"].any() and not r["labels"].all()]
    width = max(len(r["ids"]) for r in kept)
    x = np.zeros((len(kept), width, len(mean)))
    real = np.zeros((len(kept), width), dtype=bool)
    right = np.zeros((len(kept), width), dtype=bool)
    for i, r in enumerate(kept):
        n = len(r["ids"])
        x[i, :n] = (r["features"] - mean) / scale
        real[i, :n], right[i, :n] = True, r["labels"]
    weight = np.array([STYLE_WEIGHTS.get(r["style"], 1.0) for r in kept])
    return x, real, right, weight / weight.mean()


def train(rows: list[dict]) -> rerank.FusionModel:
    """Maximize, over the train split, the softmax probability of the right article's
    passages among each question's candidates (a conditional logit, L2-regularized).

    Hand-written (30 lines over scipy's L-BFGS) because scikit-learn has no listwise
    or conditional logit model; a pairwise logistic regression (scikit-learn) was tried
    first and gave 0.4 points less pquad_val hit@1, as it weighs every wrong passage
    alike rather than the one that would come first."""
    from scipy.optimize import minimize

    train_rows = [r for r in rows if r["split"] == "train"]
    stacked = np.concatenate([r["features"] for r in train_rows if len(r["ids"])])
    mean, scale = stacked.mean(0), stacked.std(0)
    scale[scale < 1e-9] = 1.0
    x, real, right, weight = _blocks(train_rows, mean, scale)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = np.where(real, x @ w, -np.inf)
        e = np.exp(s - s.max(1, keepdims=True))
        z, z_right = e.sum(1), (e * right).sum(1)
        value = -(weight * (np.log(z_right) - np.log(z))).sum() + L2 / 2 * (w @ w)
        p_all, p_right = e / z[:, None], e * right / z_right[:, None]
        grad = np.einsum("q,qc,qcf->f", weight, p_all - p_right, x) + L2 * w
        return value, grad

    result = minimize(loss, np.zeros(len(mean)), jac=True, method="L-BFGS-B")
    counts: dict[str, int] = {}
    for r in train_rows:
        counts[r["style"]] = counts.get(r["style"], 0) + 1
    meta = {
        "trained_by": "bench/train_fusion.py",
        "training_questions": counts,
        "style_weights": STYLE_WEIGHTS,
        "l2": L2,
    }
    return rerank.FusionModel(mean, scale, result.x, meta)


def hit_at_1(rows: list[dict], model: rerank.FusionModel | None, method: str = "") -> float:
    hits = 0
    for r in rows:
        if model is None:
            hits += r["first"][method] == r["gold"]
            continue
        if not len(r["ids"]):
            continue
        scores = model.score(r["features"])
        hits += bool(r["labels"][np.lexsort((r["ids"], -scores))[0]])
    return 100 * hits / max(len(rows), 1)


def report(rows: list[dict], model: rerank.FusionModel) -> dict:
    styles = {
        "pquad": lambda r: r["style"] == "pquad",
        "pquad_low": lambda r: r["style"] == "pquad" and r["coverage"] < LOW_OVERLAP,
        "pquad_dropped": lambda r: r["style"] == "pquad_dropped",
        "news": lambda r: r["style"] == "news",
    }
    table = {}
    print(
        f"{'style':14} {'split':9} {'n':>5} {'learned':>8} {'convex':>7} {'bm25':>6} {'dense':>6}"
    )
    for name, keep in styles.items():
        for split in ("held-out", "train", "all"):
            part = [r for r in rows if keep(r) and (split == "all" or r["split"] == split)]
            if not part:
                continue
            line = {
                "n": len(part),
                "learned": hit_at_1(part, model),
                **{m: hit_at_1(part, None, m) for m in ("convex", "bm25", "dense")},
            }
            table[f"{name}/{split}"] = line
            print(
                f"{name:14} {split:9} {line['n']:5d} {line['learned']:8.1f} {line['convex']:7.1f}"
                f" {line['bm25']:6.1f} {line['dense']:6.1f}"
            )
    news = [r for r in rows if r["style"] == "news"]
    if news:
        n = sum(
            bool(r["labels"][np.lexsort((r["ids"], -model.score(r["features"])))[0]]) for r in news
        )
        print(f"news_dev article@1 (all answerable): {n} of {len(news)}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {rerank.MODEL_PATH}")
    parser.add_argument("--cache", type=Path, help="a folder to keep/reuse candidate features in")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the eval sets' folder")
    parser.add_argument("--limit", type=int, default=0, help="first N pquad questions only")
    args = parser.parse_args()
    rows = build_rows(args.shared, args.limit, args.cache)
    model = train(rows)
    model.meta["held_out_hit@1"] = {
        k: round(v["learned"], 2) for k, v in report(rows, model).items() if "held-out" in k
    }
    print("weights:", dict(zip(rerank.FEATURES, model.weights.round(3).tolist(), strict=True)))
    if args.write:
        rerank.MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(model.to_dict(), ensure_ascii=False, indent=1)
        rerank.MODEL_PATH.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {rerank.MODEL_PATH}")


if __name__ == "__main__":
    main()
