"""A stand-in embedder for size: deterministic random unit vectors, no model.

Tests about crash safety and concurrency need an index big enough that a write
takes more than a second; the real model would make that minutes.
"""

from __future__ import annotations

import hashlib

import numpy as np

from index.readers import Article

WORDS = (
    "وزیر امور خارجه ایران در سفر به مسکو با همتای روسی خود درباره همکاری های اقتصادی "
    "انرژی و حمل و نقل گفت‌وگو کرد و دو طرف بر گسترش روابط تجاری تاکید کردند رئیس جمهور "
    "نشست سران پکن توافق سند همکاری بیست و پنج ساله نفت گاز بندر چابهار ژنو سازمان ملل"
).split()


class RandomEmbedder:
    """Unit vectors seeded by the text, so the same passage always gets the same vector."""

    name = "test/random-64"
    dimensions = 64
    max_tokens = 512

    def _vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        vector = np.random.default_rng(seed).standard_normal(self.dimensions).astype(np.float32)
        return vector / np.linalg.norm(vector)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]).reshape(len(texts), self.dimensions)

    def encode_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2


def articles(prefix: str, n: int, seed: int = 0) -> list[Article]:
    """``n`` short Persian articles (one sentence each, so one chunk each)."""
    rng = np.random.default_rng(seed)
    return [
        Article(
            id=f"{prefix}{i}",
            title=f"خبر {prefix} {i}",
            text=" ".join(rng.choice(WORDS, size=25)) + f" شماره {i}.",
            sources=["ایسنا"],
        )
        for i in range(n)
    ]
