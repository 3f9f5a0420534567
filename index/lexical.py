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
        np.asarray(tfs, dtype=np.float32),
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
    np.save(folder / "post_tf.npy", tfs[order].astype(np.float32))
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

    def scores(self, i: int, tokens: list[str]) -> np.ndarray | None:
        """BM25 of every document of segment ``i`` (None when no token occurs there)."""
        seg = self.postings[i]
        n = self.stats.documents
        scores = None
        for token in tokens:
            tid = seg.vocab.get(token)
            if tid is None:
                continue
            df = self.stats.document_frequency(token)
            idf = np.log1p((n - df + 0.5) / (df + 0.5))
            start, end = int(seg.indptr[tid]), int(seg.indptr[tid + 1])
            docs = seg.docs[start:end]
            tf = seg.tf[start:end]
            if scores is None:
                scores = np.zeros(len(seg.doclen), dtype=np.float32)
            scores[docs] += idf * tf / (tf + self._norm(i)[docs])
        return scores
