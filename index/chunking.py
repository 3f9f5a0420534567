"""Sentence-aware chunks with overlap, each bounded by the model's token window.

A chunk is a few whole sentences (hazm's sentence tokenizer) so that a passage
shown to a reader starts and ends cleanly; consecutive chunks share a sentence
so that an answer spanning a boundary is still inside one chunk.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from index.persian import sentence_spans

TokenCounter = Callable[[str], int]

MAX_SENTENCES = 4
MAX_CHARS = 700
OVERLAP_SENTENCES = 1


@dataclass(frozen=True)
class Chunk:
    article_id: str
    position: int
    start: int  # character span in the article's original text
    end: int
    text: str


def _approximate_tokens(text: str) -> int:
    # Upper bound for XLM-R pieces when no tokenizer is at hand: never more than
    # one piece per character, plus the two special tokens.
    return len(text) + 2


def chunk_text(
    article_id: str,
    text: str,
    count_tokens: TokenCounter = _approximate_tokens,
    max_tokens: int = 480,
    max_sentences: int = MAX_SENTENCES,
    max_chars: int = MAX_CHARS,
    overlap: int = OVERLAP_SENTENCES,
) -> list[Chunk]:
    """Group sentences into chunks of at most `max_sentences`, `max_chars` and `max_tokens`."""
    units = [
        piece
        for span in sentence_spans(text)
        for piece in _split_long_span(text, span, count_tokens, max_tokens, max_chars)
    ]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j = i + 1
        while (
            j < len(units)
            and j - i < max_sentences
            and units[j][1] - units[i][0] <= max_chars
            and count_tokens(text[units[i][0] : units[j][1]]) <= max_tokens
        ):
            j += 1
        spans.append((units[i][0], units[j - 1][1]))
        if j >= len(units):
            break
        i = max(j - overlap, i + 1) if j - i > 1 else j
    return [
        Chunk(article_id, position, start, end, text[start:end])
        for position, (start, end) in enumerate(spans)
    ]


def _split_long_span(
    text: str,
    span: tuple[int, int],
    count_tokens: TokenCounter,
    max_tokens: int,
    max_chars: int,
) -> list[tuple[int, int]]:
    """A sentence over the limits is cut at word boundaries (some feeds lack punctuation)."""
    start, end = span
    if end - start <= max_chars and count_tokens(text[start:end]) <= max_tokens:
        return [span]
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[start:end])]
    pieces: list[tuple[int, int]] = []
    first = 0
    while first < len(words):
        last = first
        while (
            last + 1 < len(words)
            and words[last + 1][1] - words[first][0] <= max_chars
            and count_tokens(text[start + words[first][0] : start + words[last + 1][1]])
            <= max_tokens
        ):
            last += 1
        pieces.append((start + words[first][0], start + words[last][1]))
        first = last + 1
    return pieces
