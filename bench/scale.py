"""Scale benchmark: an index of N chunks of real Persian text, the model left out.

    python bench/scale.py --chunks 100000 [--index-dir DIR] [--data ../shared/eval/pquad_val]

The pquad_val articles are repeated under new ids until the index holds N chunks.
A stand-in embedder replaces the model: a passage's vector is a fixed random
vector per distinct text plus per-passage noise (so that copies differ and exact
neighbours are well defined), a question's vector the same without noise; it
keeps the cost of the model out of every figure. Chunking and tokenizing are
memoized per distinct text for the build only (the copies repeat them).

Measures the time to add 10 new articles and to remove 10, search latency p50
and p95 of ``KnowledgeBase.search`` (model excluded) and the peak RSS in a fresh
process that opens the index and answers 100 searches, recall@10 of the dense
search against exact search over every live vector, disk use of the index
folder, and how long a running reader takes to pick up a new version
(``reload_if_changed``). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# --code DIR measures another checkout's index package (for example main's, for "today")
CODE = sys.argv[sys.argv.index("--code") + 1] if "--code" in sys.argv else str(ROOT)
sys.path.insert(0, CODE)

import index.store as store
from index.metrics import read_jsonl
from index.readers import Article
from index.search import KnowledgeBase
from index.segments import Segment

DIMENSIONS = 384
COPY_MARK = " #copy"
COPY_RE = re.compile(r" #copy\d+$")
QUERIES = 100
BUILD_BATCH = (
    250_000  # chunks per write while building (the 1M build in one write ran out of memory)
)


class StandInEmbedder:
    """Random vectors with structure: one fixed direction per article title, noise per
    passage; a question points near its gold article's direction."""

    name = "bench/stand-in-384"
    dimensions = DIMENSIONS
    max_tokens = 512

    def __init__(self, targets: dict[str, str] | None = None, noise: float = 0.6) -> None:
        self.noise = noise
        self.targets = targets or {}
        self.rng = np.random.default_rng(0)

    @functools.cache  # noqa: B019 - one embedder per run
    def _base(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        vector = np.random.default_rng(seed).standard_normal(DIMENSIONS).astype(np.float32)
        return vector / np.linalg.norm(vector)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        base = np.stack([self._base(COPY_RE.sub("", t.split("\n")[0])) for t in texts])
        return self._noisy(base, self.rng)

    def _noisy(self, base: np.ndarray, rng) -> np.ndarray:
        noise = rng.standard_normal(base.shape).astype(np.float32)
        vectors = base + noise * (self.noise / np.sqrt(DIMENSIONS))
        return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - as the real Embedder caches
    def encode_query(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        return self._noisy(self._base(self.targets.get(text, text)), np.random.default_rng(seed))

    def count_tokens(self, text: str) -> int:
        return len(text) // 3 + 2


def memoize_build_text_work() -> None:
    """Copies repeat the same texts: chunk and tokenize each distinct text once."""
    chunk, tokens = store.chunk_text, store.matching_tokens

    @functools.cache
    def cached_chunks(text: str, max_tokens: int):
        return chunk("x", text, lambda t: len(t) // 3 + 2, max_tokens=max_tokens)

    store.chunk_text = lambda article_id, text, count, max_tokens: cached_chunks(text, max_tokens)
    store.matching_tokens = functools.lru_cache(maxsize=None)(tokens)


def copies(base: list[dict], start: int, count: int) -> list[Article]:
    """Copies after the first get a marked title: the store embeds each distinct text once,
    so identical copies would share one vector and make exact neighbours ties. The
    stand-in embedder strips the mark: copies share a direction and differ by noise."""
    return [
        Article(
            id=f"c{start + i:07d}-{base[(start + i) % len(base)]['id']}",
            title=base[(start + i) % len(base)]["title"]
            + (f"{COPY_MARK}{(start + i) // len(base)}" if start + i >= len(base) else ""),
            text=base[(start + i) % len(base)]["text"],
            sources=["pquad"],
        )
        for i in range(count)
    ]


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def peak_rss_kb() -> int:
    """This process's own peak RSS. Why not ru_maxrss: Linux carries the parent's peak
    into a child across fork and exec, so a reader started by the builder reported the
    builder's memory (3.4 GB "reader" RSS at 300k chunks); VmHWM belongs to this image."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reader(index_dir: Path, questions: list[str], targets: dict[str, str]) -> dict:
    """A fresh process: open the index, answer the questions; latency and peak RSS."""
    kb = KnowledgeBase(index_dir, StandInEmbedder(targets))
    for q in questions[:5]:  # warm-up: lazy imports, first page faults
        kb.search(q, 5)
    latencies, parts, cpu = [], [], []
    for q in questions:
        timings: dict[str, float] = {}
        c0, t0 = time.thread_time(), time.perf_counter()
        kb.search(q, 5, timings=timings)
        latencies.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
        parts.append(timings)
    # CPU time beside wall: on a shared machine a niced reader waits for a core, and the
    # wall-clock percentiles then measure the other jobs as much as the search
    print(f"search CPU: p50 {np.percentile(cpu, 50):.2f} p95 {np.percentile(cpu, 95):.2f}"
          f" max {max(cpu):.2f}", file=sys.stderr)  # fmt: skip
    for part in sorted({name for t in parts for name in t}):  # where the time goes
        values = [t.get(part, 0.0) for t in parts]
        print(f"{part}: p50 {np.percentile(values, 50):.2f} p95 {np.percentile(values, 95):.2f}"
              f" max {max(values):.2f}", file=sys.stderr)  # fmt: skip
    return {
        "search_p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "search_p95_ms": round(float(np.percentile(latencies, 95)), 2),
        "reader_rss_mb": round(peak_rss_kb() / 1024, 1),
    }


def recall_at_10(kb: KnowledgeBase, index_dir: Path, questions: list[str]) -> float | None:
    """Dense top 10 against exact inner product over every live vector."""
    manifest = kb.manifest
    if "segments" not in manifest:
        return None  # the old layout: one exact flat index, nothing to compare
    dead = np.load(index_dir / "versions" / manifest["version"] / "tombstones.npy")
    queries = np.stack([kb.embedder.encode_query(q) for q in questions])
    best = np.full((len(queries), 10), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), 10), dtype=np.int64)
    for entry in manifest["segments"]:
        segment = Segment(index_dir, entry)  # float16 vectors: vectors.npy or the IVF lists
        ids, vectors = np.asarray(segment.ids), segment.vectors
        alive = ~np.isin(ids, dead)
        for start in range(0, len(ids), 200_000):
            block = np.asarray(vectors[start : start + 200_000], dtype=np.float32)
            scores = queries @ block.T
            scores[:, ~alive[start : start + 200_000]] = -np.inf
            both = np.concatenate([best, scores], axis=1)
            both_ids = np.concatenate(
                [best_ids, np.broadcast_to(ids[start : start + len(block)], scores.shape)], axis=1
            )
            top = np.argsort(-both, axis=1)[:, :10]
            best, best_ids = np.take_along_axis(both, top, 1), np.take_along_axis(both_ids, top, 1)
    found = [[c for c, _ in kb._snapshot.dense_ranking(kb.embedder, q, 10)] for q in questions]
    return float(np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, best_ids, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, required=True)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "eval" / "pquad_val"))
    parser.add_argument("--index-dir", default="")
    parser.add_argument("--keep", action="store_true", help="reuse an index of this size")
    parser.add_argument("--reader", default="", help=argparse.SUPPRESS)
    parser.add_argument("--code", default="", help="checkout whose index package to measure")
    args = parser.parse_args()
    data = Path(args.data)
    base = read_jsonl(data / "articles.jsonl")
    titles = {a["id"]: a["title"] for a in base}
    picked = read_jsonl(data / "questions.jsonl")[::53][:QUERIES]
    questions = [q["question"] for q in picked]
    targets = {q["question"]: titles[q["gold_article"]] for q in picked}
    if args.reader:
        print(json.dumps(reader(Path(args.reader), questions, targets)))
        return
    index_dir = Path(args.index_dir or ROOT / "var" / "bench" / f"scale-{args.chunks}")
    embedder = StandInEmbedder(targets)
    if not (args.keep and (index_dir / "CURRENT").exists()):
        shutil.rmtree(index_dir, ignore_errors=True)
        memoize_build_text_work()
        sample = store.update_index(index_dir / "probe", embedder, copies(base, 0, len(base)))
        per_article = sample.chunks / len(base)
        shutil.rmtree(index_dir / "probe")
        wanted = round(args.chunks / per_article)
        step = round(BUILD_BATCH / per_article)  # bounded memory while building
        t0 = time.perf_counter()
        for start in range(0, wanted, step):
            part = copies(base, start, min(step, wanted - start))
            report = store.update_index(index_dir, embedder, part, fresh=start == 0)
        print(f"built {report.chunks} chunks in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    kb = KnowledgeBase(index_dir, embedder)
    chunks = kb.manifest["chunks"]
    known = len(kb.articles())
    store.matching_tokens(base[0]["text"])  # hazm's one-time start-up is not a write's cost
    store.chunk_text("warm-up", base[0]["text"], embedder.count_tokens, 500)
    fresh_ids = known + 10**6 + int(time.time()) % 10**6  # new ids on every run (--keep)
    added = store.update_index(index_dir, embedder, copies(base, fresh_ids, 10))
    t0 = time.perf_counter()
    assert kb.reload_if_changed()
    reload_s = time.perf_counter() - t0
    removed = store.update_index(index_dir, embedder, remove_ids=[a.id for a in kb.articles()[:10]])
    kb.reload_if_changed()
    recall = recall_at_10(kb, index_dir, questions)
    out = subprocess.run(
        [sys.executable, __file__, "--chunks", str(chunks), "--data", str(data), "--reader", str(index_dir), "--code", CODE],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    figures = {
        "chunks": chunks,
        "add10_s": round(added.seconds, 3),
        "remove10_s": round(removed.seconds, 3),
        **json.loads(out.stdout.strip().splitlines()[-1]),
        "recall_at_10": None if recall is None else round(recall, 4),
        "disk_mb": round(disk_mb(index_dir), 1),
        "reload_s": round(reload_s, 3),
    }
    figures = {k: figures[k] for k in ("chunks", "add10_s", "remove10_s", "search_p50_ms", "search_p95_ms", "recall_at_10", "reader_rss_mb", "disk_mb", "reload_s")}  # fmt: skip
    print(out.stderr.strip(), file=sys.stderr)
    print(f"index: {json.dumps(kb.manifest.get('dense', 'flat (old layout)'))}", file=sys.stderr)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
