"""Start-up and per-question cost of `pasokh`, measured from outside: prints figures.

For each code tree given (this checkout, and optionally another one such as the integrator's
main for a before/after in the same run), with the seed index built by that tree's own code:

- one-shot `pasokh ask "…"`: wall time (median of --runs) and peak RSS of the process;
- marginal cost of each further question in one `pasokh ask` reading questions from stdin:
  (time for N questions − time for 1) / (N − 1), median over --runs;
- where a one-shot question's time goes, measured inside one process: imports, model or
  engine load, opening the index, the first answer (with its own timings), a second answer;
- `pasokh index build` of PQuAD validation (1,103 articles) when its articles.jsonl exists
  (skip with --skip-build; it takes minutes);
- with --big-index DIR (e.g. a copy of var/eval/pquad_val-…) and --big-questions FILE (its
  questions.jsonl): the marginal cost there too, over the first --big-n questions.

The load average is printed with the figures: on a shared machine, wall times mostly show
the wait for a core (each child's CPU seconds are on stderr).

Every process is a fresh `python -m bot.cli` with PYTHONPATH set to the tree measured.

    python -m bench.latency [--compare /work/main] [--runs 5] [--skip-build] [--json]
        [--big-index var/eval/pquad_val-… --big-questions ../shared/eval/pquad_val/questions.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "امیرعبداللهیان کی تهران را به مقصد مسکو ترک کرد؟"
PQUAD_CANDIDATES = [
    ROOT.parent / "shared" / "eval" / "pquad_val" / "articles.jsonl",
    Path("/work/shared/eval/pquad_val/articles.jsonl"),
]

_LAST_CPU = [0.0]  # CPU seconds (user + system) of the last child run

# Run inside a fresh interpreter of the tree measured: the stages of one question.
STAGES = r"""
import json, sys, time
t0 = time.perf_counter()
from bot import app
from bot.answering import Answerer
from index.search import KnowledgeBase
t1 = time.perf_counter()
settings = app.load_settings(sys.argv[1])
embedder = app.load_embedder(settings)
t2 = time.perf_counter()
kb = KnowledgeBase(settings.index_dir, embedder)
answerer = Answerer.from_env(kb)
t3 = time.perf_counter()
first = answerer.answer(sys.argv[2]).as_dict()
t4 = time.perf_counter()
second = answerer.answer(sys.argv[3]).as_dict()
t5 = time.perf_counter()
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "sentence_transformers", "sklearn", "nltk"})
print(json.dumps({
    "imports_s": t1 - t0, "embedder_s": t2 - t1, "open_index_s": t3 - t2,
    "first_answer_s": t4 - t3, "first_answer_timings_ms": first["timings_ms"],
    "second_answer_s": t5 - t4, "heavy_modules_loaded": heavy,
}))
"""


def _env(tree: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(tree),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


def _run(tree: Path, argv: list[str], stdin: str | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MB (from the child's own rusage), stdout; the child's CPU
    seconds are kept in `_LAST_CPU`.

    The child's CPU seconds (user + system) are logged as well: on a shared machine they
    show the work done when wall time mostly shows the wait for a core."""
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, *argv],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=_env(tree),
            cwd=tree,
        )
        if stdin is not None:
            child.stdin.write(stdin.encode())
            child.stdin.close()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{argv} failed in {tree}: {err.read().decode()[-800:]}")
        out.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        _LAST_CPU[0] = cpu
        print(f"  ran {argv[:4]}…: {seconds:.2f} s wall, {cpu:.2f} s CPU", file=sys.stderr)
        return seconds, usage.ru_maxrss // 1024, out.read().decode()


def _questions() -> list[str]:
    questions = []
    for name in ("dev_seed_qa.jsonl", "extra_seed_qa.jsonl"):
        path = ROOT / "tests" / "data" / name
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            questions += [json.loads(line)["question"] for line in lines if line.strip()]
    return list(dict.fromkeys(questions))


def _marginal(
    tree: Path, ask: list[str], questions: list[str], runs: int
) -> tuple[list[float], list[float]]:
    """(time for all questions − time for the first alone) / (questions − 1), in ms, per
    run: wall, and the child's CPU (what a question costs when a core is free for it)."""
    wall, cpu = [], []
    for _ in range(runs):
        single, _, _ = _run(tree, ask, stdin=questions[0] + "\n")
        single_cpu = _LAST_CPU[0]
        many, _, out = _run(tree, ask, stdin="\n".join(questions) + "\n")
        assert len(out.splitlines()) == len(questions), "one JSON line per question"
        wall.append((many - single) / (len(questions) - 1) * 1000)
        cpu.append((_LAST_CPU[0] - single_cpu) / (len(questions) - 1) * 1000)
    return wall, cpu


def measure(
    tree: Path, work: Path, runs: int, pquad: Path | None, big: tuple[Path, list[str]] | None
) -> dict:
    """All figures for one code tree."""
    cli = ["-m", "bot.cli"]
    index_dir = work / "seed-index"
    _run(tree, [*cli, "index", "build", "--quiet", "--index-dir", str(index_dir)])
    ask = [*cli, "ask", "--quiet", "--index-dir", str(index_dir)]
    figures: dict = {"tree": str(tree)}

    one_shot = [_run(tree, [*ask, QUESTION]) for _ in range(runs)]
    figures["one_shot_wall_s"] = [round(s, 2) for s, _, _ in one_shot]
    figures["one_shot_wall_median_s"] = round(statistics.median(s for s, _, _ in one_shot), 2)
    figures["one_shot_peak_rss_mb"] = max(rss for _, rss, _ in one_shot)

    questions = _questions()
    marginal, marginal_cpu = _marginal(tree, ask, questions, runs)
    figures["batch_questions"] = len(questions)
    figures["marginal_cpu_median_ms"] = round(statistics.median(marginal_cpu), 1)
    figures["marginal_ms"] = [round(m, 1) for m in marginal]
    figures["marginal_median_ms"] = round(statistics.median(marginal), 1)

    stages = [
        json.loads(
            _run(tree, ["-c", STAGES, str(index_dir), QUESTION, questions[1]])[2].splitlines()[-1]
        )
        for _ in range(max(1, runs // 2))
    ]
    figures["stages"] = {
        key: round(statistics.median(s[key] for s in stages), 3)
        for key in ("imports_s", "embedder_s", "open_index_s", "first_answer_s", "second_answer_s")
    }
    figures["stages"]["first_answer_timings_ms"] = {
        k: round(v, 1) for k, v in stages[-1]["first_answer_timings_ms"].items()
    }
    figures["stages"]["heavy_modules_loaded"] = stages[-1]["heavy_modules_loaded"]

    if big is not None:
        big_dir, big_questions = big
        big_ask = [*cli, "ask", "--quiet", "--index-dir", str(big_dir)]
        big_marginal, big_cpu = _marginal(tree, big_ask, big_questions, runs)
        figures["big_marginal_cpu_median_ms"] = round(statistics.median(big_cpu), 1)
        figures["big_index"] = str(big_dir)
        figures["big_batch_questions"] = len(big_questions)
        figures["big_marginal_ms"] = [round(m, 1) for m in big_marginal]
        figures["big_marginal_median_ms"] = round(statistics.median(big_marginal), 1)

    if pquad is not None:
        seconds, rss, _ = _run(
            tree,
            [*cli, "index", "build", "--quiet", "--index-dir", str(work / "pquad"), str(pquad)],
        )
        figures["pquad_build_s"] = round(seconds, 1)
        figures["pquad_build_peak_rss_mb"] = rss
    return figures


def _print(label: str, f: dict) -> None:
    print(f"== {label}: {f['tree']}")
    print(
        f"one-shot ask wall, median of {len(f['one_shot_wall_s'])}: "
        f"{f['one_shot_wall_median_s']} s  (runs {f['one_shot_wall_s']}; goal <= 2 s)"
    )
    print(f"one-shot ask peak RSS: {f['one_shot_peak_rss_mb']} MB  (goal <= 600 MB)")
    print(
        f"marginal per further question ({f['batch_questions']} in a batch): "
        f"{f['marginal_median_ms']} ms  (runs {f['marginal_ms']}; goal <= 12 ms); "
        f"CPU {f['marginal_cpu_median_ms']} ms"
    )
    if "big_marginal_ms" in f:
        print(
            f"marginal per further question on {f['big_index']} "
            f"({f['big_batch_questions']} in a batch): {f['big_marginal_median_ms']} ms  "
            f"(runs {f['big_marginal_ms']}); CPU {f['big_marginal_cpu_median_ms']} ms"
        )
    for key, value in f["stages"].items():
        print(f"  stage {key}: {value}")
    if "pquad_build_s" in f:
        print(f"index build pquad_val (1,103 articles): {f['pquad_build_s']} s, "
              f"peak RSS {f['pquad_build_peak_rss_mb']} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", help="another code tree to measure in the same run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-build", action="store_true", help="no pquad_val build")
    parser.add_argument("--pquad", help="pquad_val articles.jsonl (default: ../shared/eval/…)")
    parser.add_argument("--big-index", help="an index to measure the marginal cost on too")
    parser.add_argument("--big-questions", help="its questions (JSONL with a question field)")
    parser.add_argument("--big-n", type=int, default=100, help="questions of --big-questions")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    big = None
    if args.big_index and args.big_questions:
        rows = Path(args.big_questions).read_text(encoding="utf-8").splitlines()
        asked = [json.loads(line)["question"] for line in rows if line.strip()]
        big = (Path(args.big_index).resolve(), list(dict.fromkeys(asked))[: args.big_n])
    trees = [("this tree", ROOT)]
    if args.compare:
        trees.insert(0, ("compared tree", Path(args.compare).resolve()))
    found = [Path(args.pquad)] if args.pquad else [p for p in PQUAD_CANDIDATES if p.exists()]
    pquad = None if args.skip_build or not found else found[0]
    results = {}
    with tempfile.TemporaryDirectory(prefix="pasokh-latency-") as tmp:
        for i, (label, tree) in enumerate(trees):
            work = Path(tmp) / str(i)
            work.mkdir()
            results[label] = measure(tree, work, args.runs, pquad, big)
            if not args.json:
                _print(label, results[label])
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if args.json:
        print(json.dumps({**results, "load_average_after": load}, ensure_ascii=False))
    else:
        print(f"load average (1, 5, 15 min) at the end: {load}")


if __name__ == "__main__":
    main()
