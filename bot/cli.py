"""The `pasokh` command: small argparse subcommands over the knowledge base and the bot.

Errors print as one line on stderr (a `--debug` flag shows the traceback);
progress bars go to stderr and disappear with `--quiet`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from bot import app
from bot.errors import UserError

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger("pasokh")

EXIT_OK = 0
EXIT_SKIPPED = 1
EXIT_ERROR = 2


CliError = UserError  # the name this module used before bot/errors.py

BACKENDS = ("faiss", "milvus")  # index.backends.BACKENDS, without importing index here
BACKEND_HELP = "knowledge-base backend (default $PASOKH_BACKEND or faiss)"


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def feedback(args: argparse.Namespace) -> app.Feedback:
    """Warnings always on stderr; notes and a progress bar of passages unless --quiet."""

    @contextlib.contextmanager
    def progress() -> Iterator[app.Advance]:
        from tqdm import tqdm

        with tqdm(
            total=None, unit="passage", disable=args.quiet, file=sys.stderr, leave=False
        ) as bar:

            def advance(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            yield advance

    return app.Feedback(
        warn=_say, note=(lambda text: None) if args.quiet else _say, progress=progress
    )


def settings_for(args: argparse.Namespace) -> Settings:
    return app.load_settings(getattr(args, "index_dir", None), getattr(args, "backend", None))


# -- index commands ------------------------------------------------------------------
def cmd_index_build(args: argparse.Namespace) -> int:
    settings, told = settings_for(args), feedback(args)
    paths = [Path(p) for p in args.paths] or [app.default_seeds_dir()]
    result = app.read_articles(paths, settings, told)
    if not result.articles:
        raise UserError("no articles could be read; the existing index is unchanged")
    embedder = app.load_embedder(settings)
    report = app.write_articles(settings, embedder, told, result.articles, fresh=True)
    print(app.report_line(report))
    return EXIT_SKIPPED if result.problems else EXIT_OK


def cmd_index_add(args: argparse.Namespace) -> int:
    """Files, folders and http(s) URLs (article pages and feeds): one index update."""
    from bot.web_commands import read_url_articles, split_sources

    settings, told = settings_for(args), feedback(args)
    urls, paths = split_sources(args.paths)
    result = app.read_articles(paths, settings, told) if paths else None
    articles = list(result.articles) if result else []
    problems = bool(result and result.problems)
    if urls:
        fetched = read_url_articles(urls, settings.fetch(), quiet=args.quiet)
        articles += fetched.articles
        problems = problems or bool(fetched.problems)
    if articles:
        embedder = app.load_embedder(settings)
        report = app.write_articles(settings, embedder, told, articles)
        print(app.report_line(report))
    else:
        print("nothing to add", file=sys.stderr)
    return EXIT_SKIPPED if problems else EXIT_OK


def cmd_index_remove(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    app.index_stats(settings)  # a clear error when there is no index
    embedder = app.load_embedder(settings)
    report = app.write_articles(settings, embedder, feedback(args), remove_ids=args.article_ids)
    for missing in report.missing:
        print(f"not in the index: {missing}", file=sys.stderr)
    print(app.report_line(report))
    return EXIT_SKIPPED if report.missing else EXIT_OK


def cmd_index_stats(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    stats = {**app.index_stats(settings), "index_dir": str(settings.index_dir)}
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

    settings = settings_for(args)
    embedder = app.load_embedder(settings)
    if args.question:
        questions: Iterable[str] = [" ".join(args.question)]
        as_json = args.json
        # Its vector is computed on the other core while the index opens and hazm loads.
        embedder.prefetch_queries(questions)
    else:
        questions = app.read_ahead(sys.stdin, embedder)  # next vectors start while we answer
        as_json = True  # one JSON object a line: a stream for other programs
    conversation = Conversation() if args.conversation else None
    try:
        kb = app.open_knowledge_base(settings, feedback(args), embedder)
        answerer = app.make_answerer(kb, settings)
        for question in questions:
            if not question:
                continue
            answer = answerer.answer(question, conversation=conversation, top_k=args.top_k)
            if as_json:
                print(json.dumps(answer.as_dict(), ensure_ascii=False), flush=True)
            else:
                print(render_answer_text(answer, bidi=False), flush=True)
    finally:
        if hasattr(questions, "close"):
            questions.close()  # the stdin reader stops prefetching
        embedder.close()  # questions still waiting (an error above) are not embedded
    return EXIT_OK


def cmd_console(args: argparse.Namespace) -> int:
    from bot.console import run_console

    settings = settings_for(args)
    answerer = app.open_answerer(settings, feedback(args))
    return run_console(answerer, as_json=args.json, bidi=args.bidi, history=settings.history_file)


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluation import evaluate_file, report_lines

    settings = settings_for(args)
    with tqdm_bar(args, unit="q") as bar:
        report, asked = evaluate_file(
            Path(args.file),
            settings,
            feedback(args),
            articles_path=Path(args.articles) if args.articles else None,
            index_dir_given=bool(args.index_dir),
            limit=args.limit,
            progress=bar.update,
            split=args.split,
        )
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return EXIT_OK
    print(f"split: {args.split}")
    for line in report_lines(report, asked):
        print(line)
    return EXIT_OK


@contextlib.contextmanager
def tqdm_bar(args: argparse.Namespace, unit: str):
    from tqdm import tqdm

    with tqdm(disable=args.quiet, leave=False, unit=unit) as bar:
        yield bar


def cmd_telegram(args: argparse.Namespace) -> int:
    from bot.telegram.main import run_telegram

    return run_telegram(
        settings_for(args),
        feedback(args),
        webhook_url=args.webhook_url,
        port=args.port,
        debug=args.debug,
        announce=not args.quiet,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.serve import run_serve

    answerer = app.open_answerer(settings_for(args), feedback(args))
    return run_serve(answerer, host=args.host, port=args.port)


# -- feeds ---------------------------------------------------------------------------
def cmd_feeds_add(args: argparse.Namespace) -> int:
    from bot.web_commands import cmd_feeds_add as add

    return add(settings_for(args).index_dir, args.urls)


def cmd_feeds_remove(args: argparse.Namespace) -> int:
    from bot.web_commands import cmd_feeds_remove as remove

    return remove(settings_for(args).index_dir, args.urls)


def cmd_feeds_list(args: argparse.Namespace) -> int:
    from bot.web_commands import cmd_feeds_list as listing

    return listing(settings_for(args).index_dir, as_json=args.json)


def cmd_feeds_sync(args: argparse.Namespace) -> int:
    """Fetch the feeds once and index what is new or changed (for cron)."""
    from bot.web_commands import cmd_feeds_sync as sync

    settings, told = settings_for(args), feedback(args)
    embedder = None

    def load() -> object:
        nonlocal embedder
        embedder = embedder or app.load_embedder(settings)
        return embedder

    def write(articles: list, remove_ids: list) -> object:
        return app.write_articles(settings, load(), told, articles, remove_ids)

    return sync(
        settings.index_dir,
        load,
        urls=args.urls or None,
        recheck=args.recheck,
        settings=settings.fetch(),
        quiet=args.quiet,
        write=write,
        as_json=args.json,
    )


# -- parser --------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--index-dir", help="index directory (default $PASOKH_INDEX_DIR or var/index)"
    )
    common.add_argument("--quiet", "-q", action="store_true", help="no progress bars or notes")
    common.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    # Accepted before the command (`pasokh --backend milvus ask …`) and after it; SUPPRESS
    # keeps a subcommand without the flag from resetting the one given before it.
    common.add_argument("--backend", choices=BACKENDS, default=argparse.SUPPRESS, help=BACKEND_HELP)

    parser = argparse.ArgumentParser(
        prog="pasokh", description="Persian answers from news articles, with sources."
    )
    parser.add_argument("--backend", choices=BACKENDS, default=None, help=BACKEND_HELP)
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="build or change the knowledge base")
    index_sub = index.add_subparsers(dest="index_command", required=True)
    build = index_sub.add_parser("build", parents=[common], help="index articles afresh")
    build.add_argument("paths", nargs="*", help="files or folders (default seeds/)")
    build.set_defaults(func=cmd_index_build)
    add = index_sub.add_parser(
        "add", parents=[common], help="add new or changed articles (files, folders, URLs)"
    )
    add.add_argument(
        "paths", nargs="+", metavar="PATH_OR_URL", help="files, folders, article pages, feeds"
    )
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

    serve = sub.add_parser(
        "serve", parents=[common], help="a local HTTP API: POST /ask, GET /health"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765)
    serve.set_defaults(func=cmd_serve)

    feeds = sub.add_parser("feeds", help="RSS/Atom feeds kept in sync with the index")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True)
    feeds_add = feeds_sub.add_parser("add", parents=[common], help="add feeds to the list")
    feeds_add.add_argument("urls", nargs="+", metavar="URL")
    feeds_add.set_defaults(func=cmd_feeds_add)
    feeds_remove = feeds_sub.add_parser(
        "remove", parents=[common], help="take feeds off the list (their articles stay)"
    )
    feeds_remove.add_argument("urls", nargs="+", metavar="URL")
    feeds_remove.set_defaults(func=cmd_feeds_remove)
    feeds_list = feeds_sub.add_parser("list", parents=[common], help="the feeds and their state")
    feeds_list.add_argument("--json", action="store_true")
    feeds_list.set_defaults(func=cmd_feeds_list)
    feeds_sync = feeds_sub.add_parser(
        "sync", parents=[common], help="fetch the feeds once; index new or changed items"
    )
    feeds_sync.add_argument("urls", nargs="*", metavar="URL", help="only these listed feeds")
    feeds_sync.add_argument(
        "--recheck", action="store_true", help="fetch every item's page again, not only new ones"
    )
    feeds_sync.add_argument("--json", action="store_true", help="print the summary as JSON")
    feeds_sync.set_defaults(func=cmd_feeds_sync)
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
        # Milvus Lite: pymilvus asks it for an RPC it lacks (AllocTimestamp) and gRPC logs
        # each refusal with a traceback, and its keepalive pings draw GOAWAY lines; harmless
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    started = time.perf_counter()
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as err:  # one line for the user; the traceback with --debug
        if args.debug:  # printed here, not by Python, so that no secret shows in it
            from bot.redaction import format_exception

            sys.stderr.write(format_exception(err))
            return EXIT_ERROR
        print(f"pasokh: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_ERROR
    log.debug("done in %.2f s", time.perf_counter() - started)
    return code


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
