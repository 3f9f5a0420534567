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
from collections.abc import Iterable, Sequence
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

    def known_of(self, tokens: Iterable[str]) -> frozenset[str]:
        """The tokens that are in the index's vocabulary (one pass, no counts)."""
        vocabs = [p.vocab for p in self._postings]
        return frozenset(t for t in tokens if any(t in v for v in vocabs))


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
        self._df: dict[str, int] = {}
        self._most: dict[tuple[int, int], float] = {}

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
            n, df = self.stats.documents, self.document_frequency(token)
            idf = self._idf[token] = np.log1p((n - df + 0.5) / (df + 0.5))
        return idf

    def _plan(self, i: int, tokens: list[str]) -> list[tuple[int, float, int, int]]:
        """The question's distinct words found in segment ``i`` as (term id, weight, start,
        end of its postings), in the order every score is summed: rarest over the whole
        index first, then by first position. The weight is idf times the word's count in
        the question. One order for exhaustive and pruned scoring, in every segment, so
        both give bit-identical float32 sums."""
        seg = self.postings[i]
        found: dict[int, list] = {}
        for token in tokens:
            tid = seg.vocab.get(token)
            if tid is None:
                continue
            if tid in found:
                found[tid][1] += 1
                continue
            start, end = int(seg.indptr[tid]), int(seg.indptr[tid + 1])
            if end > start:  # merges keep words whose postings all died
                found[tid] = [token, 1, start, end]
        order = sorted(found.items(), key=lambda item: self.document_frequency(item[1][0]))
        return [(tid, n * self.idf(t), a, b) for tid, (t, n, a, b) in order]

    def document_frequency(self, token: str) -> int:
        df = self._df.get(token)
        if df is None:
            df = self._df[token] = self.stats.document_frequency(token)
        return df

    def _accumulate(self, i: int, tokens: list[str]) -> tuple[np.ndarray | None, list[np.ndarray]]:
        """BM25 of segment ``i`` as a dense array, and the postings' documents per token."""
        seg = self.postings[i]
        plan = self._plan(i, tokens)
        if not plan:
            return None, []
        norm = self._norm(i)
        scores = np.zeros(len(seg.doclen), dtype=np.float32)
        touched: list[np.ndarray] = []
        for _tid, weight, a, b in plan:
            docs = seg.docs[a:b]
            tf = np.asarray(seg.tf[a:b], dtype=np.float32)
            scores[docs] += weight * tf / (tf + norm[docs])
            touched.append(docs)
        return scores, touched

    def scores(self, i: int, tokens: list[str]) -> np.ndarray | None:
        """BM25 of every document of segment ``i`` (None when no token occurs there)."""
        return self._accumulate(i, tokens)[0]

    def top(
        self,
        i: int,
        tokens: list[str],
        k: int,
        dead: np.ndarray | None = None,
        floor: float = -np.inf,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Positions and BM25 scores of the ``k`` best live documents of segment ``i``,
        ties broken by position (chunk id), as the exhaustive ranking orders them.

        MaxScore pruning, exact: words are scored rarest first over their whole
        postings, keeping the k best documents so far; once the k-th best (or
        ``floor``, a score the caller already holds k results above, from other
        segments) beats the most that the remaining (common) words could add, only
        the documents that can still reach it are candidates, and the common words'
        long postings are only looked up for them. Every score is summed in the
        same order (``_plan``) with the same float32 arithmetic as ``scores``, so
        the result is bit-identical to it. Each posting is read once. ``dead`` is a
        boolean mask of tombstoned positions.
        """
        seg = self.postings[i]
        size = len(seg.doclen)
        plan = self._plan(i, tokens)
        empty = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if not plan or size == 0:
            return empty
        norm = self._norm(i)
        bound = self._bound(i)
        most = [weight * self._max_tf(i, tid, a, b, bound) for tid, weight, a, b in plan]
        rest = sum(most)
        scores = np.zeros(size, dtype=np.float32)
        pool = np.zeros(0, dtype=np.int64)  # the k best documents so far
        touched: list[np.ndarray] = []
        candidates = None
        prune = size >= PRUNE_FROM
        for j, (_tid, weight, a, b) in enumerate(plan):
            docs, tf = seg.docs[a:b], np.asarray(seg.tf[a:b], dtype=np.float32)
            scores[docs] += weight * tf / (tf + norm[docs])
            touched.append(docs)
            rest -= most[j]
            if not prune or j == len(plan) - 1:
                continue
            # the k best so far are among the previous k best and this word's documents
            at = np.minimum(np.searchsorted(docs, pool), len(docs) - 1)
            union = np.concatenate([pool[docs[at] != pool], docs])
            if dead is not None:
                union = union[~dead[union]]
            kth = floor
            if len(union) > k:
                best = np.argpartition(scores[union], len(union) - k)[len(union) - k :]
                pool = union[best]
                kth = max(kth, float(np.min(scores[pool])))
            else:
                pool = union.astype(np.int64)
                if len(union) == k:
                    kth = max(kth, float(np.min(scores[pool])))
            if rest * (1 + 1e-4) + 1e-6 < kth * (1 - 1e-4):  # margins cover float32 rounding
                candidates = self._reachable(scores, touched, rest, kth, dead)
                for j2 in range(j + 1, len(plan)):  # the rest, for the candidates only
                    self._add_for(i, plan[j2], candidates, scores)
                    rest -= most[j2]
                    if len(candidates) > k:  # fewer can still make it, and the k-th rose
                        vals = scores[candidates]
                        kth = max(kth, float(np.partition(vals, len(vals) - k)[len(vals) - k]))
                        need = kth * (1 - 1e-4) - rest * (1 + 1e-4) - 1e-6
                        candidates = candidates[vals * (1 + 1e-4) >= need]
                break
        if candidates is not None:
            hit = candidates
        else:
            if sum(len(d) for d in touched) * 8 < size:
                hit = np.unique(np.concatenate(touched))  # sorting beats a scan of the segment
            else:
                hit = np.flatnonzero(scores)
            if dead is not None:
                hit = hit[~dead[hit]]
        top_k = min(k, len(hit))
        if top_k == 0:
            return empty
        kth_score = np.partition(scores[hit], len(hit) - top_k)[len(hit) - top_k]
        above = hit[scores[hit] > kth_score]
        ties = hit[scores[hit] == kth_score][: top_k - len(above)]  # ascending positions
        top = np.concatenate([above, ties])
        return top, scores[top]

    @staticmethod
    def _reachable(scores, touched, rest, kth, dead) -> np.ndarray:
        """Positions (ascending, live) whose score so far plus ``rest`` can reach ``kth``."""
        need = kth * (1 - 1e-4) - rest * (1 + 1e-4) - 1e-6
        parts = [docs[scores[docs] * (1 + 1e-4) >= need] for docs in touched]
        found = np.unique(np.concatenate(parts)).astype(np.int64)
        return found if dead is None else found[~dead[found]]

    def _add_for(self, i: int, term: tuple, candidates: np.ndarray, scores: np.ndarray) -> None:
        """Add one word's part to the candidates' scores (others may get it too: unused).
        A short posting is added whole (a sequential pass); a long one is looked up."""
        seg = self.postings[i]
        _tid, weight, a, b = term
        docs = seg.docs[a:b]
        if len(docs) < 8 * len(candidates):
            at = None
        else:
            at = np.searchsorted(docs, candidates)
            inside = at < len(docs)
            at, docs = at[inside], candidates[inside]
            match = seg.docs[a:b][at] == docs
            at, docs = at[match], docs[match]
        tf = np.asarray(seg.tf[a:b] if at is None else seg.tf[a:b][at], dtype=np.float32)
        scores[docs] += weight * tf / (tf + self._norm(i)[docs])

    def _max_tf(self, i: int, tid: int, a: int, b: int, bound: float) -> float:
        """The most one occurrence-weight of word ``tid`` adds in segment ``i`` per unit of
        idf: its best tf over tf + the smallest length normalisation. Cached per loaded
        version (reading a common word's whole postings for it cost as much as scoring)."""
        key = (i, tid)
        value = self._most.get(key)
        if value is None:
            mx = float(np.max(self.postings[i].tf[a:b]))
            value = self._most[key] = mx / (mx + bound)
        return value

    def _bound(self, i: int) -> float:
        """The smallest length normalisation in segment ``i`` (a bound for pruning)."""
        if i not in self._bounds:
            norm = self._norm(i)
            self._bounds[i] = float(np.min(norm)) if len(norm) else 1.0
        return self._bounds[i]
