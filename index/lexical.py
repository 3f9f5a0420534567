"""BM25 over immutable segments, scored with statistics of the whole index.

Each segment keeps raw term frequencies as postings (term -> documents, tf)
plus document lengths, as .npy files that are memory-mapped. Scores use the
document frequencies and average length of all segments together (as Lucene
does), so a small new segment ranks like the big one and the result equals one
BM25 over everything: the same formula as bm25s's default ("lucene": idf
``ln(1 + (N - df + 0.5) / (df + 0.5))``, tf ``tf / (tf + k1 (1 - b + b dl/avgdl))``).
bm25s itself bakes idf into its stored scores, so its indexes cannot be split
into segments; SQLite FTS5 fixes k1=1.2, b=0.75, and its measured accuracy
is in the README section "When the archive grows". Deleted chunks stay counted
in df until a merge drops them, as in Lucene.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# BM25 parameters tuned on pquad_val: short passages want little length normalization.
LEXICAL_K1, LEXICAL_B = 0.9, 0.4
# Segments smaller than this are scored exhaustively: pruning's bookkeeping costs more
# there (pquad_val, 2k chunks: 1.2 ms exhaustive, 1.8 ms pruned per query).
PRUNE_FROM = 20_000


def write_postings(folder: Path, documents: Sequence[Sequence[str]]) -> None:
    """Postings of one segment; documents are token lists in segment position order."""
    vocab: dict[str, int] = {}
    terms: list[int] = []
    docs: list[int] = []
    tfs: list[int] = []
    lengths = np.zeros(len(documents), dtype=np.int32)
    for position, tokens in enumerate(documents):
        lengths[position] = len(tokens)
        counts: dict[str, int] = {}
        for token in tokens:
            counts[token] = counts.get(token, 0) + 1
        for token, tf in counts.items():
            terms.append(vocab.setdefault(token, len(vocab)))
            docs.append(position)
            tfs.append(tf)
    write_coo(
        folder,
        list(vocab),
        np.asarray(terms, dtype=np.int32),
        np.asarray(docs, dtype=np.int32),
        np.asarray(tfs, dtype=np.uint16),
        lengths,
    )


def write_coo(
    folder: Path,
    words: list[str],
    terms: np.ndarray,
    docs: np.ndarray,
    tfs: np.ndarray,
    lengths: np.ndarray,
) -> None:
    """Save postings given as (term, document, tf) triples; a merge builds these directly."""
    order = np.lexsort((docs, terms))  # by term, then by document
    indptr = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=len(words)), out=indptr[1:])
    np.save(folder / "post_docs.npy", docs[order].astype(np.int32))
    # uint16: a term's count in one chunk (<= 700 characters); a quarter of the float32 the
    # first segments stored (0.24 GB at a million chunks). Both are read (as float32).
    np.save(folder / "post_tf.npy", np.minimum(tfs[order], 65535).astype(np.uint16))
    np.save(folder / "post_indptr.npy", indptr)
    np.save(folder / "doclen.npy", lengths.astype(np.int32))
    (folder / "vocab.json").write_text(json.dumps(words, ensure_ascii=False), "utf-8")


class Postings:
    """One segment's postings, memory-mapped."""

    def __init__(self, folder: Path) -> None:
        self.docs = np.load(folder / "post_docs.npy", mmap_mode="r").view(np.ndarray)
        self.tf = np.load(folder / "post_tf.npy", mmap_mode="r").view(np.ndarray)
        self.indptr = np.load(folder / "post_indptr.npy", mmap_mode="r").view(np.ndarray)
        self.doclen = np.load(folder / "doclen.npy", mmap_mode="r").view(np.ndarray)
        words = json.loads((folder / "vocab.json").read_text("utf-8"))
        self.vocab: dict[str, int] = {word: i for i, word in enumerate(words)}

    def words(self) -> list[str]:
        return list(self.vocab)

    def triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(term, document, tf) of every posting, for merging segments."""
        counts = np.diff(np.asarray(self.indptr))
        terms = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
        return terms, np.asarray(self.docs), np.asarray(self.tf)

    def df(self, token: str) -> int:
        i = self.vocab.get(token)
        return 0 if i is None else int(self.indptr[i + 1] - self.indptr[i])


class LexicalStats:
    """Document frequencies over the whole index, for weighting a question's words."""

    def __init__(self, postings: list[Postings], documents: int) -> None:
        self._postings = postings
        self.documents = documents

    def document_frequency(self, token: str) -> int:
        return sum(p.df(token) for p in self._postings)


class Lexical:
    """BM25 across the segments of one version."""

    def __init__(self, postings: list[Postings], alive: int) -> None:
        self.postings = postings
        self.stats = LexicalStats(postings, alive)
        total = sum(len(p.doclen) for p in postings)
        self.avgdl = (sum(float(np.sum(p.doclen)) for p in postings) / total) if total else 1.0
        self._norms: list[np.ndarray | None] = [None] * len(postings)
        self._idf: dict[str, float] = {}
        self._bounds: dict[int, float] = {}  # per loaded version: df sums every segment

    def knows(self, token: str) -> bool:
        return any(token in p.vocab for p in self.postings)

    def _norm(self, i: int) -> np.ndarray:
        """k1 (1 - b + b dl/avgdl) per document, computed once per loaded version."""
        norm = self._norms[i]
        if norm is None:
            doclen = np.asarray(self.postings[i].doclen, dtype=np.float32)
            norm = LEXICAL_K1 * ((1 - LEXICAL_B) + LEXICAL_B * doclen / self.avgdl)
            self._norms[i] = norm
        return norm

    def idf(self, token: str) -> float:
        """The token's idf over the whole index, computed once per loaded version."""
        idf = self._idf.get(token)
        if idf is None:
            n, df = self.stats.documents, self.stats.document_frequency(token)
            idf = self._idf[token] = np.log1p((n - df + 0.5) / (df + 0.5))
        return idf

    def _accumulate(self, i: int, tokens: list[str]) -> tuple[np.ndarray | None, list[np.ndarray]]:
        """BM25 of segment ``i`` as a dense array, and the postings' documents per token."""
        seg = self.postings[i]
        norm = self._norm(i) if tokens else None
        scores = None
        touched: list[np.ndarray] = []
        for token in tokens:
            tid = seg.vocab.get(token)
            if tid is None:
                continue
            start, end = int(seg.indptr[tid]), int(seg.indptr[tid + 1])
            docs = seg.docs[start:end]
            tf = np.asarray(seg.tf[start:end], dtype=np.float32)
            if scores is None:
                scores = np.zeros(len(seg.doclen), dtype=np.float32)
            scores[docs] += self.idf(token) * tf / (tf + norm[docs])
            touched.append(docs)
        return scores, touched

    def scores(self, i: int, tokens: list[str]) -> np.ndarray | None:
        """BM25 of every document of segment ``i`` (None when no token occurs there)."""
        return self._accumulate(i, tokens)[0]

    def top(
        self, i: int, tokens: list[str], k: int, dead: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Positions and BM25 scores of the ``k`` best live documents of segment ``i``,
        ties broken by position (chunk id), as the exhaustive ranking orders them.

        MaxScore pruning, exact: rare words' postings are scored in full and give
        candidates; once the k-th candidate's partial score beats the most that the
        remaining (common) words could add together, no other document can enter
        the top k, so common words are only looked up for the candidates instead
        of scoring their long postings. The candidates' scores are then summed in
        the query's word order with the same float32 arithmetic as ``scores``, so
        they are bit-identical to it. ``dead`` is a boolean mask of tombstoned positions.
        """
        seg = self.postings[i]
        size = len(seg.doclen)
        found = [(t, seg.vocab[t]) for t in tokens if t in seg.vocab]
        slices = {tid: (int(seg.indptr[tid]), int(seg.indptr[tid + 1])) for _, tid in found}
        found = [(t, tid) for t, tid in found if slices[tid][1] > slices[tid][0]]  # merges keep
        slices = {tid: slices[tid] for _, tid in found}  # words whose postings all died
        empty = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if not found or size == 0:
            return empty
        norm = self._norm(i)
        bound = self._bound(i)
        uses: dict[int, int] = {}
        for _, tid in found:
            uses[tid] = uses.get(tid, 0) + 1
        idf = {tid: self.idf(t) for t, tid in found}
        # most that one word can add to a document: idf times the best tf part in the segment
        most = {
            tid: uses[tid] * idf[tid] * (mx := float(np.max(seg.tf[a:b]))) / (mx + bound)
            for tid, (a, b) in slices.items()
        }
        order = sorted(uses, key=lambda tid: slices[tid][1] - slices[tid][0])  # rare first
        essential: set[int] = set()
        candidates = None
        partial = np.zeros(size, dtype=np.float32)
        union: np.ndarray | None = None
        rest = sum(most.values())
        for tid in order[:-1] if size >= PRUNE_FROM else ():
            a, b = slices[tid]
            docs, tf = seg.docs[a:b], np.asarray(seg.tf[a:b], dtype=np.float32)
            partial[docs] += uses[tid] * idf[tid] * tf / (tf + norm[docs])
            essential.add(tid)
            rest -= most[tid]
            union = docs if union is None else np.union1d(union, docs)
            touched = union
            if dead is not None:
                touched = touched[~dead[touched]]
            if len(touched) < k:
                continue
            kth = float(np.partition(partial[touched], len(touched) - k)[len(touched) - k])
            if rest * (1 + 1e-4) + 1e-6 < kth * (1 - 1e-4):  # margins cover float32 rounding
                candidates = touched
                break
        if candidates is None:  # nothing to prune: score every posting
            essential = set(uses)
        scores = np.zeros(size, dtype=np.float32)
        touched_all: list[np.ndarray] = []
        for _token, tid in found:
            a, b = slices[tid]
            docs, tf = seg.docs[a:b], seg.tf[a:b]
            if tid not in essential:
                at = np.searchsorted(docs, candidates)
                inside = at < len(docs)
                at = at[inside][docs[at[inside]] == candidates[inside]]
                docs, tf = docs[at], tf[at]
            tf = np.asarray(tf, dtype=np.float32)
            scores[docs] += idf[tid] * tf / (tf + norm[docs])
            touched_all.append(docs)
        if candidates is None and sum(len(d) for d in touched_all) * 8 < size:
            hit = np.unique(np.concatenate(touched_all))  # sorting beats a scan of the segment
        elif candidates is None:
            hit = np.flatnonzero(scores)
        if candidates is None:
            if dead is not None:
                hit = hit[~dead[hit]]
        else:
            hit = candidates
        top_k = min(k, len(hit))
        if top_k == 0:
            return empty
        kth = np.partition(scores[hit], len(hit) - top_k)[len(hit) - top_k]
        above = hit[scores[hit] > kth]
        ties = hit[scores[hit] == kth][: top_k - len(above)]  # ascending positions
        top = np.concatenate([above, ties])
        return top, scores[top]

    def _bound(self, i: int) -> float:
        """The smallest length normalisation in segment ``i`` (a bound for pruning)."""
        if i not in self._bounds:
            norm = self._norm(i)
            self._bounds[i] = float(np.min(norm)) if len(norm) else 1.0
        return self._bounds[i]
