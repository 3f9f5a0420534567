"""Candidate sentences: every sentence of the top passages, with its vector.

Sentence vectors come through one place, :meth:`SentenceVectors.of`, keyed by the
index version and the passage. The index stores every chunk's sentence vectors at
build time (``KnowledgeBase.sentence_vectors``, same split, same passage prompt), so
a question runs the model on its own text only; chunks of an index written before
that get theirs embedded here, as before.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from cachetools import LRUCache

from index.persian import sentence_spans, word_tokens
from index.search import KnowledgeBase, Passage
from index.store import passage_text

MIN_SENTENCE_WORDS = 3
CANDIDATE_PASSAGES = 4


@dataclass
class Candidate:
    """One sentence of a retrieved passage; `start`/`end` are offsets in the passage text."""

    passage: Passage
    rank: int  # the passage's place among those read (bot.candidates.candidate_passages), from 1
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
    """Sentence vectors of passages: stored at index time, else embedded once per index
    version and passage. Thread-safe (Telegram answers several chats at once)."""

    def __init__(self, max_passages: int = 5_000) -> None:
        self._cache: LRUCache = LRUCache(maxsize=max_passages)
        self._lock = threading.Lock()

    @staticmethod
    def _key(kb: KnowledgeBase, passage: Passage) -> tuple:
        return (kb.version, passage.article_id, passage.start, passage.end)

    def fetch(self, kb: KnowledgeBase, passages: list[Passage]) -> None:
        """Read the stored vectors of the passages not cached yet, in one catalog query."""
        lookup = getattr(kb, "sentence_vectors", None)  # None: a store without them
        with self._lock:
            wanted = [p for p in passages if self._key(kb, p) not in self._cache]
        if lookup is None or not wanted:
            return
        stored = lookup({p.chunk_id for p in wanted})
        for passage in wanted:
            spans = passage_sentences(passage) or [(0, len(passage.text))]
            rows = dict(zip(*stored.get(passage.chunk_id, ((), ())), strict=True))
            if all(span in rows for span in spans):
                vectors = np.stack([rows[span] for span in spans])
                with self._lock:
                    self._cache[self._key(kb, passage)] = vectors

    def of(self, kb: KnowledgeBase, passage: Passage) -> np.ndarray:
        """One row per span of :func:`passage_sentences` (the passage itself if it has none)."""
        key = self._key(kb, passage)
        with self._lock:
            vectors = self._cache.get(key)
        if vectors is None:
            spans = passage_sentences(passage) or [(0, len(passage.text))]
            shift = len(passage.title) + 1  # the title and a newline come first (passage_text)
            vectors = kb.embedder.encode_sentences(
                passage_text(passage.title, passage.text),
                [(s + shift, e + shift) for s, e in spans],
            )
            with self._lock:
                self._cache[key] = vectors
        return vectors


def candidate_passages(
    passages: list[Passage], extra_articles: int = 1, favoured: frozenset[str] = frozenset()
) -> list[Passage]:
    """The top passages, the best passage of the next article that they leave out, and
    the other searched passages of the `favoured` articles (those a question singles out
    by date), in the search's order.

    When the top passages all come from one article, a second report of the same event
    (the other trip's article, another agency's) is otherwise never read: "کی وارد مسکو
    شد؟" is answered from the departure article, whose four passages outrank the
    arrival sentence of the other."""
    chosen = list(passages[:CANDIDATE_PASSAGES])
    seen = {p.article_id for p in chosen}
    for passage in passages[CANDIDATE_PASSAGES:]:
        if extra_articles <= 0:
            break
        if passage.article_id not in seen:
            chosen.append(passage)
            seen.add(passage.article_id)
            extra_articles -= 1
    # every searched passage of an article the question singles out ("در سفر اسفند" and
    # the article dated اسفند): its list of the delegation may rank sixth
    chosen += [
        p for p in passages[CANDIDATE_PASSAGES:] if p.article_id in favoured and p not in chosen
    ]
    return chosen


def sentence_candidates(
    kb: KnowledgeBase, passages: list[Passage], vectors: SentenceVectors
) -> list[Candidate]:
    """Every sentence of the passages once (overlapping passages share sentences)."""
    vectors.fetch(kb, passages)
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
