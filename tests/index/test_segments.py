"""BM25 over segments equals one bm25s index over everything; merges keep results."""

import numpy as np
import pytest

import index.lexical as lexical_module
from index.lexical import LEXICAL_B, LEXICAL_K1, Lexical, Postings, write_postings
from index.persian import matching_tokens
from index.segments import Segment, merge, plan_merge, write_segment

DOCS = [
    "وزیر امور خارجه ایران در مسکو با لاوروف دیدار کرد.",
    "رئیس‌جمهور در نشست سران شانگهای سخنرانی کرد.",
    "همکاری‌های دفاعی ایران و روسیه گسترش می‌یابد.",
    "حجم تبادل تجاری دو کشور ۳.۵ برابر شد.",
    "وزیر نفت درباره صادرات گاز به ترکیه گفت‌وگو کرد.",
    "سفر وزیر امور خارجه به پکن و دیدار با همتای چینی.",
]
QUERIES = ["وزیر امور خارجه کجا رفت؟", "همکاری دفاعی روسیه", "صادرات گاز", "تبادل تجاری"]


@pytest.mark.parametrize("query", QUERIES)
def test_segments_score_like_one_bm25s_index(tmp_path, query):
    import bm25s

    tokens = [matching_tokens(d) for d in DOCS]
    reference = bm25s.BM25(k1=LEXICAL_K1, b=LEXICAL_B)
    reference.index(tokens, show_progress=False)
    q = [t for t in matching_tokens(query, question=True) if t in reference.vocab_dict]
    expected = reference.get_scores(q)
    postings = []
    for part, (start, end) in enumerate([(0, 2), (2, 5), (5, 6)]):  # three segments
        folder = tmp_path / str(part)
        folder.mkdir()
        write_postings(folder, tokens[start:end])
        postings.append(Postings(folder))
    lexical = Lexical(postings, len(DOCS))
    got = np.concatenate(
        [
            s if (s := lexical.scores(i, q)) is not None else np.zeros(len(p.doclen))
            for i, p in enumerate(postings)
        ]
    )
    assert np.allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize(
    ("sizes", "exact", "dead", "expected"),
    [
        ([100, 10, 10], [True, True, True], [0, 0, 0], []),  # few, small: leave them
        ([10] * 9, [True] * 9, [0] * 9, [0, 1]),  # over MAX_SEGMENTS: the two smallest
        ([60_000, 100], [False, True], [20_000, 0], [0]),  # a third deleted: rewrite it
        ([60_000, 30_000, 30_000], [False, True, True], [0, 0, 0], [1, 2]),  # exact ones grew
    ],
)
def test_merge_plan(sizes, exact, dead, expected):
    entries = [{"chunks": n, "dense": {"exact": e}} for n, e in zip(sizes, exact, strict=True)]
    assert plan_merge(entries, dead) == expected


def test_merge_drops_dead_and_keeps_scores(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((len(DOCS), 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    tokens = [matching_tokens(d) for d in DOCS]
    a = write_segment(tmp_path, np.arange(1, 4), vectors[:3], tokens[:3])
    b = write_segment(tmp_path, np.arange(4, 7), vectors[3:], tokens[3:])
    segments = [Segment(tmp_path, a), Segment(tmp_path, b)]
    merged = Segment(tmp_path, merge(tmp_path, segments, [np.array([1]), np.array([], int)]))
    assert merged.ids.tolist() == [1, 3, 4, 5, 6]  # chunk 2 was deleted
    assert np.allclose(merged.vectors, vectors[[0, 2, 3, 4, 5]], atol=1e-3)
    alone = Lexical([merged.postings], 5)
    q = matching_tokens("وزیر امور خارجه", question=True)
    scores = alone.scores(0, q)
    assert scores[0] > 0 and scores[4] > 0 and scores[1] == 0  # docs 1 and 6 mention the minister


# (question, k, dead positions): pruning must return exactly the exhaustive top k
PRUNING = [
    ("وزیر امور خارجه ایران", 3, []),  # a rare word gives candidates, common ones are looked up
    ("وزیر امور خارجه ایران", 3, [0, 1, 2]),  # tombstones among the best
    ("دیدار وزیر با لاوروف در مسکو", 5, [7]),
    ("صادرات گاز به ترکیه", 40, []),  # k above the candidates: every posting is scored
    ("همکاری دفاعی ایران و روسیه ایران", 2, []),  # a repeated word counts twice
    ("واژه‌ای که نیست", 3, []),
]


@pytest.mark.parametrize(("query", "k", "dead"), PRUNING)
def test_pruned_top_equals_exhaustive_ranking(tmp_path, monkeypatch, query, k, dead):
    monkeypatch.setattr(lexical_module, "PRUNE_FROM", 0)  # prune even this small segment
    # many copies of a sentence with common words, a few with the rare ones
    texts = [DOCS[i % len(DOCS)] for i in range(60)] + ["وزیر گفت ایران ایران ایران"] * 30
    write_postings(tmp_path, [matching_tokens(t) for t in texts])
    lexical = Lexical([Postings(tmp_path)], len(texts))
    q = matching_tokens(query, question=True)
    mask = np.zeros(len(texts), dtype=bool)
    mask[dead] = True
    positions, scores = lexical.top(0, q, k, mask if dead else None)
    full = lexical.scores(0, q)
    if full is None:
        assert len(positions) == 0
        return
    full[mask] = 0.0
    hit = np.flatnonzero(full)
    expected = hit[np.lexsort((hit, -full[hit]))][:k]  # by score, ties by position
    got = positions[np.lexsort((positions, -scores))]
    assert got.tolist() == expected.tolist()
    assert scores[np.lexsort((positions, -scores))].tolist() == full[expected].tolist()


@pytest.mark.parametrize("query", QUERIES)
def test_float32_tf_of_older_segments_scores_like_uint16(tmp_path, query):
    """Segments written before term counts were uint16 keep their float32 file and score the
    same, alone and merged with a new one."""
    tokens = [matching_tokens(d) for d in DOCS]
    vectors = np.eye(len(DOCS), 16, dtype=np.float32)
    new = write_segment(tmp_path, np.arange(1, 7), vectors, tokens)
    old = write_segment(tmp_path, np.arange(1, 7), vectors, tokens)
    old_tf = tmp_path / "segments" / old["name"] / "post_tf.npy"
    assert np.load(old_tf).dtype == np.uint16
    np.save(old_tf, np.load(old_tf).astype(np.float32))
    q = matching_tokens(query, question=True)
    expected = Lexical([Postings(tmp_path / "segments" / new["name"])], 6).scores(0, q)
    got = Lexical([Postings(tmp_path / "segments" / old["name"])], 6).scores(0, q)
    assert expected is not None and np.array_equal(expected, got)
    seg = Segment(tmp_path, old)
    merged = Segment(tmp_path, merge(tmp_path, [seg], [np.array([], int)]))
    assert merged.postings.tf.dtype == np.uint16
    assert np.array_equal(Lexical([merged.postings], 6).scores(0, q), expected)


@pytest.mark.parametrize(("query", "k", "dead"), PRUNING)
def test_ranking_across_segments_equals_exhaustive(tmp_path, monkeypatch, query, k, dead):
    """Later segments prune below the k-th score the bigger ones already gave (the floor):
    the merged ranking still equals the exhaustive one over every segment."""
    from types import SimpleNamespace

    from index.snapshot import Snapshot

    monkeypatch.setattr(lexical_module, "PRUNE_FROM", 0)
    texts = [DOCS[i % len(DOCS)] for i in range(60)] + ["وزیر گفت ایران ایران ایران"] * 30
    texts += ["دیدار وزیر امور خارجه با لاوروف در مسکو"] * 5
    # round robin, of unequal sizes: equal texts (equal scores) in every segment, so the
    # later segments' ties with smaller ids must get past the floor
    parts = [np.arange(len(texts))[np.arange(len(texts)) % 4 != 3]]
    parts += [np.arange(3, len(texts), 8), np.arange(7, len(texts), 8)]
    segs = []
    for ids in parts:
        tokens = [matching_tokens(texts[i]) for i in ids]
        entry = write_segment(tmp_path, ids, np.eye(len(ids), 8, dtype=np.float32), tokens)
        segs.append(Segment(tmp_path, entry))
    masks = [np.isin(ids, dead) for ids in parts]
    lexical = Lexical([s.postings for s in segs], len(texts))
    snapshot = SimpleNamespace(segments=segs, dead_masks=masks, lexical=lexical)
    got = Snapshot.lexical_ranking(snapshot, query, k)
    q = [t for t in matching_tokens(query, question=True) if lexical.knows(t)]
    full = [
        (int(chunk), float(score))
        for i, seg in enumerate(segs)
        if (scores := lexical.scores(i, q)) is not None
        for chunk, score, gone in zip(seg.ids, scores, masks[i], strict=True)
        if score > 0 and not gone
    ]
    assert got == sorted(full, key=lambda item: (-item[1], item[0]))[:k]
