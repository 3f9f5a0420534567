"""Large (IVF) segments: the float16 vectors live once, in the faiss lists; session 3's
layout (SQ8 codes + a float16 copy for re-scoring) is still read as it is and rewritten
by the next merge."""

import numpy as np
import pytest

import index.faiss_index as faiss_index
from index.segments import Segment, merge, write_segment

SIZE = 3000
WORDS = ["خبر", "ایران", "تهران", "اقتصاد", "ورزش", "فوتبال", "نفت", "گاز"]


def clustered(n: int, seed: int) -> np.ndarray:
    """Unit vectors around 40 directions, like the stand-in embedder of bench/scale.py."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((40, 64)).astype(np.float32)
    x = base[rng.integers(0, 40, n)] + rng.standard_normal((n, 64)).astype(np.float32) * 0.1
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def documents(n: int) -> list[list[str]]:
    return [[WORDS[i % len(WORDS)], WORDS[(i * 7) % len(WORDS)]] for i in range(n)]


def session3_segment(index_dir, ids, vectors) -> dict:
    """A segment as main's session-3 code wrote it: IVF…,SQ8 plus vectors.npy."""
    import faiss

    entry = write_segment(index_dir, ids, vectors, documents(len(ids)))
    folder = index_dir / "segments" / entry["name"]
    nlist = 64
    index = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(vectors.shape[1]),
        vectors.shape[1],
        nlist,
        faiss.ScalarQuantizer.QT_8bit,
        faiss.METRIC_INNER_PRODUCT,
    )
    index.train(vectors)
    index.add(vectors)
    faiss.write_index(index, str(folder / "dense.faiss"))
    np.save(folder / "vectors.npy", vectors.astype(np.float16))
    entry["dense"] = {"type": f"IVF{nlist},SQ8", "exact": False, "nprobe": 16}
    return entry


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ vectors.astype(np.float16).astype(np.float32).T), axis=1)[:, :k]


@pytest.fixture
def small_exact_limit(monkeypatch):
    monkeypatch.setattr(faiss_index, "EXACT_BELOW", 1000)


def test_ivf_segment_keeps_vectors_once_and_finds_the_exact_top(tmp_path, small_exact_limit):
    vectors = clustered(SIZE, 0)
    entry = write_segment(tmp_path, np.arange(SIZE) * 2, vectors, documents(SIZE))
    folder = tmp_path / "segments" / entry["name"]
    assert entry["dense"]["type"].endswith(",SQfp16") and entry["dense"]["exact"] is False
    assert not (folder / "vectors.npy").exists()
    seg = Segment(tmp_path, entry)
    # the lists give back the float16 values a copy would have held (faiss rounds a few
    # values, ~1 in 12,000, the other way than numpy: one float16 step)
    half = vectors.astype(np.float16).astype(np.float32)
    assert np.allclose(np.asarray(seg.vectors), half, rtol=0, atol=2.5e-4)
    assert np.array_equal(seg.vectors[[5, 2999, 0]], np.asarray(seg.vectors)[[5, 2999, 0]])
    assert np.array_equal(seg.vectors[17], np.asarray(seg.vectors)[17])
    assert np.array_equal(seg.vectors[100:110], np.asarray(seg.vectors)[100:110])
    queries = clustered(20, 1)
    assert entry["dense"]["recall_at_10_build"] >= faiss_index.TARGET_RECALL  # nprobe tuned
    # every list probed: faiss's scores are the float16 vectors' exact cosines, no re-scoring
    every = {**entry["dense"], "nprobe": seg.dense.nlist}
    found = faiss_index.search(seg.dense, every, seg.vectors, queries, 10)[1]
    expected = exact_top(vectors, queries, 10)
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, expected, strict=True)])
    assert recall == 1.0
    found = faiss_index.search(seg.dense, entry["dense"], seg.vectors, queries, 10)[1]
    dead = found[:, 0]
    after = faiss_index.search(seg.dense, entry["dense"], seg.vectors, queries, 10, dead)[1]
    assert not np.isin(after, dead).any()


def test_session3_segment_is_read_and_merged_into_the_new_layout(tmp_path, small_exact_limit):
    vectors = clustered(SIZE, 2)
    old = session3_segment(tmp_path, np.arange(SIZE), vectors)
    seg = Segment(tmp_path, old)
    queries = clustered(10, 3)
    scores, found = faiss_index.search(seg.dense, old["dense"], seg.vectors, queries, 5)
    exact = (queries[:, None, :] * vectors.astype(np.float16)[found].astype(np.float32)).sum(2)
    assert np.allclose(scores, exact, atol=1e-5)  # re-scored from the float16 copy
    small = write_segment(tmp_path, np.arange(SIZE, SIZE + 10), clustered(10, 4), documents(10))
    assert small["dense"]["exact"]
    merged = merge(
        tmp_path, [seg, Segment(tmp_path, small)], [np.array([0, 1]), np.zeros(0, np.int64)]
    )
    assert merged["chunks"] == SIZE - 2 + 10 and merged["dense"]["type"].endswith(",SQfp16")
    new = Segment(tmp_path, merged)
    assert not (tmp_path / "segments" / merged["name"] / "vectors.npy").exists()
    assert np.array_equal(np.asarray(new.ids)[:3], [2, 3, 4])
    half = vectors[2].astype(np.float16).astype(np.float32)
    assert np.allclose(new.vectors[0], half, rtol=0, atol=2.5e-4)
