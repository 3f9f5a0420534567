"""Retrieval measures shared by `pasokh eval` and the benchmarks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np


def first_hit_rank(ranked: Sequence[bool]) -> int | None:
    """1-based rank of the first relevant item, None when there is none."""
    return next((i for i, hit in enumerate(ranked, start=1) if hit), None)


def unique_in_order(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def summarize_ranks(ranks: Sequence[int | None], ks: Sequence[int] = (1, 3, 5)) -> dict:
    """hit@k (percent) and MRR over a list of first-hit ranks."""
    n = max(len(ranks), 1)
    out = {f"hit@{k}": 100.0 * sum(1 for r in ranks if r is not None and r <= k) / n for k in ks}
    out["mrr"] = sum(1.0 / r for r in ranks if r is not None) / n
    out["questions"] = len(ranks)
    return out


def latency_summary(milliseconds: Sequence[float]) -> dict:
    if not milliseconds:
        return {"p50_ms": 0.0, "p95_ms": 0.0}
    values = np.asarray(milliseconds, dtype=float)
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p95_ms": float(np.percentile(values, 95)),
    }


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
