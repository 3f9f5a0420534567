"""Dense search over one segment: exact below a measured size, IVF + 8-bit SQ above.

Measured on this machine (2 cores, 384 dimensions, one thread, top 50): an exact
flat search takes 2.1 ms p50 at 20,000 vectors, 5.7 ms at 50,000, 11.9 ms at
100,000 and 34 ms at 200,000, so segments of fewer than ``EXACT_BELOW`` =
50,000 vectors are searched exactly (and built in no time). Larger segments are
IVF whose lists hold each vector as float16 (``SQfp16``, not by residual): the
numbers a float16 copy held (faiss rounds ~1 value in 12,000 one step the other
way than numpy), stored once, memory-mapped from disk, and the
scores faiss returns are the exact cosines of those numbers, so nothing is
re-scored and the segment keeps no ``vectors.npy`` (merges and ``cosines`` decode
the lists, see ``IVFVectors``). Session 3 stored ``IVF…,SQ8`` plus a float16 copy
for re-scoring: 1.17 GB per million vectors instead of 0.78; measured on 500,000
clustered vectors (stand-in of bench/scale.py), SQ8 scores alone reach recall@10
0.9785 against exact search, fp16 0.999, at the same speed. Segments of that
layout are still read as they are (re-scored from their copy) until a merge
rewrites them. IVF rather than HNSW: it trains in seconds on two cores, its file
can be mapped, and a selector skips tombstones. ``nprobe`` is chosen at build
time as the smallest giving recall@10 >= 0.99 against exact search on sample
queries; both figures go into the manifest.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

EXACT_BELOW = 50_000
TARGET_RECALL = 0.99
NPROBES = (8, 16, 32, 64, 128, 256)
OVERFETCH_DEAD = 1000  # tombstones in a segment skipped by fetching more results


def _faiss():
    import faiss

    return faiss


def build(vectors: np.ndarray, folder: Path) -> dict:
    """Write ``dense.faiss`` for an approximate segment; returns what the manifest records."""
    n, d = vectors.shape
    if n < EXACT_BELOW:
        return {"type": "Flat", "exact": True}
    faiss = _faiss()
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    nlist = int(min(65536, max(64, 4 * np.sqrt(n))))
    quantizer = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, d, nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT, False
    )  # not by residual: the lists hold float16(x) itself, decoded without the centroids
    index.cp.niter = 10
    rng = np.random.default_rng(0)
    sample = vectors[np.sort(rng.choice(n, size=min(n, 30 * nlist), replace=False))]
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    for start in range(0, n, 100_000):
        index.add(np.ascontiguousarray(vectors[start : start + 100_000], dtype=np.float32))
    nprobe, recall = _tune_nprobe(index, vectors, rng)
    faiss.write_index(index, str(folder / "dense.faiss"))
    return {
        "type": f"IVF{nlist},SQfp16",
        "exact": False,
        "nprobe": nprobe,
        "recall_at_10_build": round(recall, 4),
    }


def _tune_nprobe(index, vectors: np.ndarray, rng) -> tuple[int, float]:
    """Smallest nprobe reaching TARGET_RECALL on noisy copies of stored vectors."""
    n, d = vectors.shape
    picks = rng.choice(n, size=100, replace=False)
    queries = vectors[picks].astype(np.float32) + rng.normal(0, 0.05, (100, d)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact = np.zeros((100, 10), dtype=np.int64)
    best = np.full((100, 10), -np.inf, dtype=np.float32)
    for start in range(0, n, 200_000):
        block = np.asarray(vectors[start : start + 200_000], dtype=np.float32)
        scores = queries @ block.T
        both = np.concatenate([best, scores], axis=1)
        ids = np.concatenate([exact, np.arange(start, start + len(block))[None].repeat(100, 0)], 1)
        top = np.argsort(-both, axis=1)[:, :10]
        best, exact = np.take_along_axis(both, top, 1), np.take_along_axis(ids, top, 1)
    recall = 0.0
    for nprobe in NPROBES:
        found = search(index, {"nprobe": nprobe, "type": "IVF,SQfp16"}, None, queries, 10)[1]
        recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
        if recall >= TARGET_RECALL:
            return nprobe, float(recall)
    return NPROBES[-1], float(recall)


def rescored(info: dict) -> bool:
    """Whether the segment's IVF scores are approximate (SQ8, session 3): its candidates
    are then re-scored from the float16 copy it keeps beside."""
    return "nprobe" in info and info["type"].endswith(",SQ8")


def load(folder: Path, info: dict, vectors: np.ndarray | None):
    """The segment's faiss index: mapped from disk when approximate, in memory when exact."""
    faiss = _faiss()
    if info["exact"]:
        index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return index
    try:
        return faiss.read_index(str(folder / "dense.faiss"), faiss.IO_FLAG_MMAP)
    except RuntimeError:  # older faiss builds cannot map this type
        return faiss.read_index(str(folder / "dense.faiss"))


def search(
    index, info: dict, vectors: np.ndarray, queries: np.ndarray, k: int, dead=None
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` positions per query, re-scored exactly; ``dead`` positions are skipped.

    A few tombstones are skipped by fetching that many more results: a faiss
    ID selector costs ~3 ms per search on an IVF segment here, more than the search.
    """
    faiss = _faiss()
    faiss.omp_set_num_threads(1)  # one query: threads only add contention
    dead = np.zeros(0, dtype=np.int64) if dead is None else np.asarray(dead, dtype=np.int64)
    extra = len(dead) if len(dead) <= OVERFETCH_DEAD else 0
    if "nprobe" in info:
        params = faiss.SearchParametersIVF(nprobe=info["nprobe"])
        fetch = min(index.ntotal, (2 * k + 10 if rescored(info) else k) + extra)
    else:
        params = faiss.SearchParameters()
        fetch = min(index.ntotal, k + extra)
    if len(dead) > OVERFETCH_DEAD:
        selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(dead))
        params.sel = selector
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out_p = np.full((len(queries), k), -1, dtype=np.int64)
    if fetch == 0:
        return out_s, out_p
    scores, positions = index.search(queries, fetch, params=params)
    for row, (query, found, found_s) in enumerate(zip(queries, positions, scores, strict=True)):
        keep = (found >= 0) & ~np.isin(found, dead)
        found, found_s = found[keep], found_s[keep]
        if rescored(info):  # exact cosines from the float16 copy
            order = np.argsort(found)
            found = found[order]
            found_s = (np.asarray(vectors[found], dtype=np.float32) * query).sum(1)
        best = np.argsort(-found_s, kind="stable")[:k]
        out_s[row, : len(best)] = found_s[best]
        out_p[row, : len(best)] = found[best]
    return out_s, out_p


class IVFVectors:
    """The float16 vectors an ``SQfp16`` IVF index holds, read like the array they replace.

    Why: the segment keeps them once, in the faiss file. Rows are positions (the ids
    faiss gave when they were added). A row lookup needs faiss's direct map (8 bytes per
    vector, built on first use); a slice or the whole array is decoded list by list.
    """

    def __init__(self, index) -> None:
        self._index = index
        self.shape = (int(index.ntotal), int(index.d))
        self.dtype = np.dtype(np.float32)
        self._mapped = False
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.shape[0]

    def _direct_map(self) -> None:
        with self._lock:
            if not self._mapped:
                self._index.make_direct_map(True)
                self._mapped = True

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(self.shape[0])
            if step != 1:
                return self[np.arange(start, stop, step)]
            if stop <= start:
                return np.zeros((0, self.shape[1]), dtype=np.float32)
            return self._index.reconstruct_n(start, stop - start)
        self._direct_map()
        if np.ndim(key) == 0:
            return self._index.reconstruct(int(key))
        keys = np.asarray(key)
        keys = np.flatnonzero(keys) if keys.dtype == bool else keys.astype(np.int64)
        if len(keys) == 0:
            return np.zeros((0, self.shape[1]), dtype=np.float32)
        return self._index.reconstruct_batch(keys)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self[0 : self.shape[0]]
        return whole if dtype is None else whole.astype(dtype)
