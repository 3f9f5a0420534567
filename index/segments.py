"""Segments: immutable slices of the index (LSM style), shared between versions.

``segments/<name>/`` holds ``ids.npy`` (chunk ids, ascending), the postings of
``index.lexical`` and the vectors as float16: ``vectors.npy`` (memory-mapped) for
an exact segment, ``dense.faiss`` (an IVF index whose lists hold them, mapped)
for a large one. Large segments written by session 3 hold both (SQ8 codes and a
float16 copy) and are read as they are. A write adds one
small segment; deletions are tombstones listed by the version; ``plan_merge``
keeps the number of segments small and drops tombstoned chunks for good.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index import faiss_index
from index.lexical import Postings, write_coo, write_postings
from index.versions import fsync_dir, valid_name

MAX_SEGMENTS = 8
MAX_DEAD_FRACTION = 0.25


def mapped(path: Path) -> np.ndarray:
    """A read-only memory map as a plain ndarray (np.memmap's indexing is slow per item)."""
    return np.load(path, mmap_mode="r").view(np.ndarray)


def segments_root(index_dir: Path) -> Path:
    return index_dir / "segments"


def _finish(index_dir: Path, tmp: Path, name: str) -> None:
    for path in tmp.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    os.rename(tmp, segments_root(index_dir) / name)
    fsync_dir(segments_root(index_dir))


def _start(index_dir: Path) -> tuple[Path, str]:
    name = "s" + uuid.uuid4().hex[:12]
    tmp = segments_root(index_dir) / f".tmp-{name}"
    tmp.mkdir(parents=True)
    return tmp, name


def write_segment(
    index_dir: Path, ids: np.ndarray, vectors: np.ndarray, documents: Sequence[Sequence[str]]
) -> dict:
    """A new segment from chunk ids (ascending), their vectors and their tokens."""
    tmp, name = _start(index_dir)
    try:
        np.save(tmp / "ids.npy", np.asarray(ids, dtype=np.int64))
        write_postings(tmp, documents)
        dense = faiss_index.build(np.asarray(vectors, dtype=np.float32), tmp)
        if dense["exact"]:  # an IVF segment's lists hold the vectors
            np.save(tmp / "vectors.npy", np.asarray(vectors, dtype=np.float16))
        _finish(index_dir, tmp, name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"name": name, "chunks": len(ids), "dense": dense}


class Segment:
    """One segment, memory-mapped where possible; immutable, so versions share it."""

    def __init__(self, index_dir: Path, entry: dict) -> None:
        if not valid_name(entry["name"]):
            raise ValueError(f"bad segment name {entry['name']!r}")
        folder = segments_root(index_dir) / entry["name"]
        self.entry = entry
        self.ids = mapped(folder / "ids.npy")
        self.postings = Postings(folder)
        copy = folder / "vectors.npy"
        self.vectors = mapped(copy) if copy.exists() else None
        self.dense = faiss_index.load(folder, entry["dense"], self.vectors)
        if self.vectors is None:
            self.vectors = faiss_index.IVFVectors(self.dense)

    def positions(self, chunk_ids: np.ndarray) -> np.ndarray:
        """Positions of those of ``chunk_ids`` that live in this segment."""
        if not len(chunk_ids) or not len(self.ids):
            return np.zeros(0, dtype=np.int64)
        where = np.searchsorted(self.ids, chunk_ids)
        where = where[where < len(self.ids)]
        return where[np.isin(np.asarray(self.ids)[where], chunk_ids)].astype(np.int64)

    def position(self, chunk_id: int) -> int | None:
        i = int(np.searchsorted(self.ids, chunk_id))
        return i if i < len(self.ids) and int(self.ids[i]) == chunk_id else None


def plan_merge(entries: list[dict], dead_counts: list[int]) -> list[int]:
    """Indexes of the segments to merge into one (empty: nothing to do).

    Tiered: while there are more than MAX_SEGMENTS, the smallest are merged;
    small exact segments are merged once together they reach the exact-search
    limit (they would otherwise all be scanned); a segment with more than a
    quarter of its chunks deleted is rewritten.
    """
    order = sorted(range(len(entries)), key=lambda i: entries[i]["chunks"])
    chosen: set[int] = set()
    if len(entries) > MAX_SEGMENTS:
        chosen.update(order[: len(entries) - MAX_SEGMENTS + 1])
    exact = [i for i in order if entries[i]["dense"]["exact"]]
    if len(exact) > 1 and sum(entries[i]["chunks"] for i in exact) >= faiss_index.EXACT_BELOW:
        chosen.update(exact)
    for i, entry in enumerate(entries):
        if entry["chunks"] and dead_counts[i] / entry["chunks"] > MAX_DEAD_FRACTION:
            chosen.add(i)
    if len(chosen) == 1 and not dead_counts[next(iter(chosen))]:
        return []
    return sorted(chosen)


def merge(index_dir: Path, segments: list[Segment], dead: list[np.ndarray]) -> dict:
    """One segment with every live chunk of ``segments`` (dead positions dropped)."""
    ids, vectors, words, triples, lengths = [], [], {}, [], []
    offset = 0
    for seg, gone in zip(segments, dead, strict=True):
        keep = np.ones(len(seg.ids), dtype=bool)
        keep[gone] = False
        new_pos = np.cumsum(keep) - 1 + offset
        ids.append(np.asarray(seg.ids)[keep])
        vectors.append(float16_rows(seg.vectors, keep))
        lengths.append(np.asarray(seg.postings.doclen)[keep])
        remap = np.array([words.setdefault(w, len(words)) for w in seg.postings.words()])
        terms, docs, tfs = seg.postings.triples()
        alive = keep[docs]
        triples.append(
            (remap[terms[alive]] if len(remap) else terms[alive], new_pos[docs[alive]], tfs[alive])
        )
        offset += int(keep.sum())
    all_ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    order = np.argsort(all_ids, kind="stable")  # ids ascending, positions follow
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    tmp, name = _start(index_dir)
    try:
        np.save(tmp / "ids.npy", all_ids[order])
        all_vectors = np.concatenate(vectors)[order]
        terms = np.concatenate([t[0] for t in triples]).astype(np.int32)
        docs = rank[np.concatenate([t[1] for t in triples]).astype(np.int64)].astype(np.int32)
        tfs = np.concatenate([t[2] for t in triples])
        write_coo(tmp, list(words), terms, docs, tfs, np.concatenate(lengths)[order])
        dense = faiss_index.build(all_vectors.astype(np.float32), tmp)
        if dense["exact"]:
            np.save(tmp / "vectors.npy", all_vectors)
        _finish(index_dir, tmp, name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"name": name, "chunks": len(all_ids), "dense": dense}


def float16_rows(vectors, keep: np.ndarray, block: int = 100_000) -> np.ndarray:
    """The kept rows as float16, decoded a block at a time (an IVF segment's lists would
    otherwise be decoded whole as float32: 1.5 GB per million vectors)."""
    parts = [
        np.asarray(vectors[start : start + block], dtype=np.float16)[keep[start : start + block]]
        for start in range(0, len(keep), block)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, vectors.shape[1]), np.float16)


def collect(index_dir: Path, kept_manifests: list[dict]) -> None:
    """Delete segment folders no kept version lists (readers keep mapped files alive)."""
    root = segments_root(index_dir)
    if not root.is_dir():
        return
    needed = {s["name"] for m in kept_manifests for s in m.get("segments", [])}
    for path in root.iterdir():
        if path.name not in needed:
            shutil.rmtree(path, ignore_errors=True)


def describe(entries: list[dict]) -> dict:
    """The manifest's summary of the dense side (`pasokh index stats` prints it)."""
    types = sorted({e["dense"]["type"] for e in entries})
    return {"faiss_types": types, "segments": len(entries), "exact_below": faiss_index.EXACT_BELOW}
