"""The `pasokh` command: small argparse subcommands over the knowledge base and the bot.

Errors print as one line on stderr (a `--debug` flag shows the traceback);
progress bars go to stderr and disappear with `--quiet`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

log = logging.getLogger("pasokh")

EXIT_OK = 0
EXIT_SKIPPED = 1
EXIT_ERROR = 2


class CliError(Exception):
    """An error the user can fix; printed as one line."""


def default_seeds_dir() -> Path:
    """`seeds/` here, else the seeds that ship beside the package (a checkout or image)."""
    here = Path.cwd() / "seeds"
    return here if here.is_dir() else Path(__file__).resolve().parent.parent / "seeds"


# -- shared plumbing ----------------------------------------------------------------
def index_settings(args: argparse.Namespace):
    from index.settings import IndexSettings

    return IndexSettings.from_env(getattr(args, "index_dir", None))


def load_embedder(settings):
    from index.embedding import Embedder

    return Embedder(settings.model, settings.cache_dir)


def _progress(args: argparse.Namespace, total: int | None, unit: str):
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, disable=args.quiet, file=sys.stderr, leave=False)


def read_articles(args: argparse.Namespace, paths: list[Path], settings):
    """Read articles, printing one line per skipped file and per note on stderr."""
    from index.readers import read_paths

    result = read_paths(paths, settings.max_file_bytes)
    for note in result.notes:
        log.info("%s", note)
        if not args.quiet:
            print(note, file=sys.stderr)
    for problem in result.problems:
        print(f"skipped {problem}", file=sys.stderr)
    return result


def write_articles(args, settings, embedder, articles=(), remove_ids=(), fresh=False):
    """update_index with a progress bar of passages embedded (none with --quiet)."""
    from index.store import update_index

    with _progress(args, None, "passage") as bar:

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        return update_index(
            settings.index_dir, embedder, articles, remove_ids, fresh=fresh, progress=advance
        )


def _report_line(report) -> str:
    parts = [
        f"{len(report.added)} added",
        f"{len(report.changed)} changed",
        f"{len(report.unchanged)} unchanged",
    ]
    if report.removed:
        parts.append(f"{len(report.removed)} removed")
    return (
        f"index {report.version}: "
        + ", ".join(parts)
        + f"; {report.articles} articles, {report.chunks} passages ({report.seconds:.1f} s)"
    )


def ensure_index(args: argparse.Namespace, settings, embedder) -> None:
    """`ask` and the console on a missing index build one from the seeds first, and say so."""
    from index.store import current_version

    if current_version(settings.index_dir) is not None:
        return
    seeds = default_seeds_dir()
    print(f"no index in {settings.index_dir}; building one from {seeds} first", file=sys.stderr)
    result = read_articles(args, [seeds], settings)
    if not result.articles:
        raise CliError(f"no articles to index in {seeds}")
    # Not fresh: if another process built one meanwhile, its articles stay.
    report = write_articles(args, settings, embedder, result.articles)
    if not args.quiet:
        print(_report_line(report), file=sys.stderr)


def open_answerer(args: argparse.Namespace):
    from bot.answering import Answerer
    from index.search import KnowledgeBase

    settings = index_settings(args)
    embedder = load_embedder(settings)
    ensure_index(args, settings, embedder)
    return Answerer.from_env(KnowledgeBase(settings.index_dir, embedder))


# -- index commands ------------------------------------------------------------------
def cmd_index_build(args: argparse.Namespace) -> int:
    settings = index_settings(args)
    paths = [Path(p) for p in args.paths] or [default_seeds_dir()]
    result = read_articles(args, paths, settings)
    if not result.articles:
        raise CliError("no articles could be read; the existing index is unchanged")
    report = write_articles(args, settings, load_embedder(settings), result.articles, fresh=True)
    print(_report_line(report))
    return EXIT_SKIPPED if result.problems else EXIT_OK


def cmd_index_add(args: argparse.Namespace) -> int:
    settings = index_settings(args)
    result = read_articles(args, [Path(p) for p in args.paths], settings)
    if result.articles:
        report = write_articles(args, settings, load_embedder(settings), result.articles)
        print(_report_line(report))
    else:
        print("nothing to add", file=sys.stderr)
    return EXIT_SKIPPED if result.problems else EXIT_OK


def cmd_index_remove(args: argparse.Namespace) -> int:
    from index.store import read_manifest

    settings = index_settings(args)
    read_manifest(settings.index_dir)  # a clear error when there is no index
    report = write_articles(args, settings, load_embedder(settings), remove_ids=args.article_ids)
    for missing in report.missing:
        print(f"not in the index: {missing}", file=sys.stderr)
    print(_report_line(report))
    return EXIT_SKIPPED if report.missing else EXIT_OK


def cmd_index_stats(args: argparse.Namespace) -> int:
    from index.store import read_manifest

    settings = index_settings(args)
    manifest = read_manifest(settings.index_dir)
    stats = {**manifest, "index_dir": str(settings.index_dir)}
    if args.json:
        print(json.dumps(stats, ensure_ascii=False))
    else:
        for key, value in stats.items():
            print(f"{key}: {value}")
    return EXIT_OK


# -- asking --------------------------------------------------------------------------
def cmd_ask(args: argparse.Namespace) -> int:
    from bot.conversation import Conversation
    from bot.rendering import render_answer_text

    answerer = open_answerer(args)
    if args.question:
        questions = [" ".join(args.question)]
        as_json = args.json
    else:
        questions = (line.strip() for line in sys.stdin)
        as_json = True  # one JSON object a line: a stream for other programs
    conversation = Conversation() if args.conversation else None
    for question in questions:
        if not question:
            continue
        answer = answerer.answer(question, conversation=conversation, top_k=args.top_k)
        if as_json:
            print(json.dumps(answer.as_dict(), ensure_ascii=False), flush=True)
        else:
            print(render_answer_text(answer, bidi=False), flush=True)
    return EXIT_OK


def cmd_console(args: argparse.Namespace) -> int:
    from bot.console import run_console

    return run_console(open_answerer(args), as_json=args.json, bidi=args.bidi)


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluation import run_eval

    return run_eval(args)


def cmd_telegram(args: argparse.Namespace) -> int:
    from bot.telegram_bot import run_telegram

    return run_telegram(args)


# -- parser --------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--index-dir", help="index directory (default $PASOKH_INDEX_DIR or var/index)"
    )
    common.add_argument("--quiet", "-q", action="store_true", help="no progress bars or notes")
    common.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")

    parser = argparse.ArgumentParser(
        prog="pasokh", description="Persian answers from news articles, with sources."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="build or change the knowledge base")
    index_sub = index.add_subparsers(dest="index_command", required=True)
    build = index_sub.add_parser("build", parents=[common], help="index articles afresh")
    build.add_argument("paths", nargs="*", help="files or folders (default seeds/)")
    build.set_defaults(func=cmd_index_build)
    add = index_sub.add_parser("add", parents=[common], help="add new or changed articles")
    add.add_argument("paths", nargs="+")
    add.set_defaults(func=cmd_index_add)
    remove = index_sub.add_parser("remove", parents=[common], help="take articles out")
    remove.add_argument("article_ids", nargs="+", metavar="ARTICLE_ID")
    remove.set_defaults(func=cmd_index_remove)
    stats = index_sub.add_parser("stats", parents=[common], help="what the index holds")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_index_stats)

    ask = sub.add_parser("ask", parents=[common], help="answer a question (or stdin lines)")
    ask.add_argument("question", nargs="*", help="the question; none: one a line from stdin")
    ask.add_argument("--top-k", type=int, default=5)
    ask.add_argument("--json", action="store_true")
    ask.add_argument(
        "--conversation", action="store_true", help="treat stdin lines as one conversation"
    )
    ask.set_defaults(func=cmd_ask)

    console = sub.add_parser("console", parents=[common], help="chat in the terminal")
    console.add_argument("--json", action="store_true", help="print answers as JSON")
    console.add_argument(
        "--bidi", action="store_true", help="reorder Persian for terminals without bidi support"
    )
    console.set_defaults(func=cmd_console)

    evaluate = sub.add_parser("eval", parents=[common], help="measure on a question set")
    evaluate.add_argument("file", help="questions .jsonl (dev format or pquad questions)")
    evaluate.add_argument("--articles", help="articles.jsonl (default: beside the questions)")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--limit", type=int, default=0, help="first N questions only")
    evaluate.add_argument(
        "--split",
        choices=("all", "train", "held-out"),
        default="all",
        help="the answer model's split, by article (held-out: never seen in training)",
    )
    evaluate.set_defaults(func=cmd_eval)

    telegram = sub.add_parser("telegram", parents=[common], help="run the Telegram bot")
    telegram.add_argument("--webhook-url", help="webhook mode instead of long polling")
    telegram.add_argument("--port", type=int, default=8443)
    telegram.set_defaults(func=cmd_telegram)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not args.debug:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        logging.getLogger("httpx").setLevel(logging.WARNING)
    started = time.perf_counter()
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as err:  # one line for the user; the traceback with --debug
        if args.debug:
            raise
        print(f"pasokh: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_ERROR
    log.debug("done in %.2f s", time.perf_counter() - started)
    return code


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
