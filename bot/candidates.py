"""Candidate sentences: every sentence of the top passages, with its vector.

Sentence vectors come through one place, :meth:`SentenceVectors.of`, keyed by the
index version and the passage, so that an index that stores them at build time
can serve them here without any change to the ranker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from cachetools import LRUCache

from index.persian import sentence_spans, word_tokens
from index.search import KnowledgeBase, Passage

MIN_SENTENCE_WORDS = 3


@dataclass
class Candidate:
    """One sentence of a retrieved passage; `start`/`end` are offsets in the passage text."""

    passage: Passage
    rank: int  # the passage's rank in the search, from 1
    position: int  # the sentence's place in its passage, from 0
    start: int
    end: int
    text: str
    vector: np.ndarray
    cosine: float = 0.0
    score: float = 0.0  # the ranker's log-odds that this sentence holds the answer

    @property
    def article_start(self) -> int:
        return self.passage.start + self.start

    @property
    def article_end(self) -> int:
        return self.passage.start + self.end


def passage_sentences(passage: Passage) -> list[tuple[int, int]]:
    """The sentences of a passage that can answer (three words or more), as spans."""
    return [
        (s, e)
        for s, e in sentence_spans(passage.text)
        if len(word_tokens(passage.text[s:e])) >= MIN_SENTENCE_WORDS
    ]


class SentenceVectors:
    """Sentence vectors of passages, embedded once per index version and passage."""

    def __init__(self, max_passages: int = 5_000) -> None:
        self._cache: LRUCache = LRUCache(maxsize=max_passages)

    def of(self, kb: KnowledgeBase, passage: Passage) -> np.ndarray:
        """One row per span of :func:`passage_sentences` (the passage itself if it has none)."""
        key = (kb.version, passage.article_id, passage.start, passage.end)
        vectors = self._cache.get(key)
        if vectors is None:
            spans = passage_sentences(passage) or [(0, len(passage.text))]
            vectors = kb.embedder.encode_sentences([passage.text[s:e] for s, e in spans])
            self._cache[key] = vectors
        return vectors


def sentence_candidates(
    kb: KnowledgeBase, passages: list[Passage], vectors: SentenceVectors
) -> list[Candidate]:
    """Every sentence of the passages once (overlapping passages share sentences)."""
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for rank, passage in enumerate(passages, start=1):
        spans = passage_sentences(passage) or [(0, len(passage.text))]
        for position, ((start, end), vector) in enumerate(
            zip(spans, vectors.of(kb, passage), strict=True)
        ):
            key = (passage.article_id, passage.start + start)
            if key in seen:
                continue
            seen.add(key)
            text = passage.text[start:end]
            out.append(Candidate(passage, rank, position, start, end, text, vector))
    return out
