"""`pasokh feeds add|remove|list|sync` and URLs in `pasokh index add`, ready to wire.

Each command takes what it needs as arguments (index folder, streams, a way to load
the model) and returns an exit code, so the argparse layer (bot/cli.py) stays a thin call:

    feeds add URL…      → cmd_feeds_add(settings.index_dir, args.urls)
    feeds remove URL…   → cmd_feeds_remove(settings.index_dir, args.urls)
    feeds list [--json] → cmd_feeds_list(settings.index_dir, as_json=args.json)
    feeds sync [--recheck] [URL…]
                        → cmd_feeds_sync(settings.index_dir, lambda: load_embedder(settings),
                                         urls=args.urls or None, recheck=args.recheck,
                                         settings=settings.fetch(), write=…)
    index add PATH|URL… → urls, paths = split_sources(args.paths); read the paths as today;
                          read_url_articles(urls) for the rest; one update_index for both.

Problems print as one line each on stderr (``skipped URL: reason``), as files do.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from index.feeds import FeedSync, add_feed, list_feeds, read_urls, remove_feed, sync_feeds
from index.fetching import Fetcher, FetchSettings
from index.readers import ReadResult

log = logging.getLogger(__name__)

EXIT_OK, EXIT_SKIPPED, EXIT_ERROR = 0, 1, 2
_URL_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


def split_sources(items: Sequence[str]) -> tuple[list[str], list[Path]]:
    """`index add` arguments: anything with a scheme is a URL (the fetcher refuses what is
    not http or https, by name), the rest are files and folders."""
    urls = [item.strip() for item in items if _URL_RE.match(item.strip())]
    paths = [Path(item) for item in items if not _URL_RE.match(item.strip())]
    return urls, paths


def _print_problems(result: ReadResult | FeedSync, err: TextIO, quiet: bool) -> None:
    for note in result.notes:
        log.info("%s", note)
        if not quiet:
            print(note, file=err)
    for problem in result.problems:
        print(f"skipped {problem}", file=err)


def read_url_articles(
    urls: Sequence[str],
    settings: FetchSettings | None = None,
    err: TextIO | None = None,
    quiet: bool = False,
) -> ReadResult:
    """Articles from article pages and feeds given on the command line."""
    err = err or sys.stderr  # resolved now: tests swap the streams
    if not urls:
        return ReadResult()
    with Fetcher(settings or FetchSettings()) as fetcher:
        result = read_urls(urls, fetcher)
    _print_problems(result, err, quiet)
    return result


def cmd_feeds_add(
    index_dir: Path, urls: Sequence[str], out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout  # resolved now: tests swap the streams
    err = err or sys.stderr  # resolved now: tests swap the streams
    code = EXIT_OK
    for url in urls:
        try:
            added = add_feed(index_dir, url)
        except ValueError as problem:
            print(f"skipped {problem}", file=err)
            code = EXIT_SKIPPED
            continue
        print(f"{'added' if added else 'already listed'}: {url.strip()}", file=out)
    return code


def cmd_feeds_remove(
    index_dir: Path, urls: Sequence[str], out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout  # resolved now: tests swap the streams
    err = err or sys.stderr  # resolved now: tests swap the streams
    code = EXIT_OK
    for url in urls:
        if remove_feed(index_dir, url):
            print(f"removed: {url.strip()} (its articles stay in the index)", file=out)
        else:
            print(f"skipped {url.strip()}: not in the feed list", file=err)
            code = EXIT_SKIPPED
    return code


def cmd_feeds_list(index_dir: Path, out: TextIO | None = None, as_json: bool = False) -> int:
    out = out or sys.stdout  # resolved now: tests swap the streams
    feeds = list_feeds(index_dir)
    if as_json:
        json.dump([f.__dict__ for f in feeds], out, ensure_ascii=False, indent=1)
        print(file=out)
        return EXIT_OK
    if not feeds:
        print("no feeds; add one with `pasokh feeds add URL`", file=out)
    for feed in feeds:
        status = f"last sync {feed.last_sync}" if feed.last_sync else "never synced"
        if feed.last_error:
            status += f", last error: {feed.last_error}"
        title = f" ({feed.title})" if feed.title else ""
        print(f"{feed.url}{title}: {feed.items} items, {status}", file=out)
    return EXIT_OK


Write = Callable[[list, list], object]  # (articles, remove_ids) -> UpdateReport


def sync_and_index(
    index_dir: Path,
    load_embedder: Callable[[], object],
    fetcher: Fetcher,
    urls: Sequence[str] | None = None,
    recheck: bool = False,
    progress: Callable[[int, int], None] | None = None,
    write: Write | None = None,
):
    """One sync: fetch, index what is new or changed, then record the feeds' state.
    The model is loaded only when there is something to embed. Returns (sync, report);
    report is None when no article came. Shared by the CLI and the Telegram job.
    `write` (bot.app.write_articles on the configured backend) replaces the default,
    update_index on `index_dir`."""
    sync = sync_feeds(index_dir, fetcher, urls, recheck)
    report = None
    if sync.articles:
        if write is not None:
            report = write(list(sync.articles), list(sync.remove_ids))
        else:
            from index.store import update_index

            report = update_index(
                index_dir, load_embedder(), sync.articles, sync.remove_ids, progress=progress
            )
    sync.save()
    return sync, report


def summary_line(sync: FeedSync, report) -> str:
    line = (
        f"feeds: {sync.feeds} read ({sync.feeds_unchanged} unchanged), "
        f"{sync.pages_fetched} pages fetched, {len(sync.articles)} articles"
    )
    if report is not None:
        line += (
            f"; index {report.version}: {len(report.added)} added, {len(report.changed)} "
            f"changed, {len(report.unchanged)} unchanged; {report.articles} articles"
        )
    return line


def cmd_feeds_sync(
    index_dir: Path,
    load_embedder: Callable[[], object],
    urls: Sequence[str] | None = None,
    recheck: bool = False,
    settings: FetchSettings | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    quiet: bool = False,
    write: Write | None = None,
    as_json: bool = False,
) -> int:
    """`pasokh feeds sync`: for cron, exit 1 when some feed or page was skipped."""
    out = out or sys.stdout  # resolved now: tests swap the streams
    err = err or sys.stderr  # resolved now: tests swap the streams
    if not list_feeds(index_dir):
        print("no feeds; add one with `pasokh feeds add URL`", file=err)
        return EXIT_SKIPPED
    with Fetcher(settings or FetchSettings()) as fetcher:
        sync, report = sync_and_index(index_dir, load_embedder, fetcher, urls, recheck, write=write)
    _print_problems(sync, err, quiet)
    if as_json:
        print(json.dumps(summary_dict(sync, report), ensure_ascii=False), file=out)
    else:
        print(summary_line(sync, report), file=out)
    return EXIT_SKIPPED if sync.problems else EXIT_OK


def summary_dict(sync: FeedSync, report) -> dict:
    """`feeds sync --json`: the same figures as summary_line, for scripts."""
    index = None
    if report is not None:
        index = {
            "version": report.version,
            "added": report.added,
            "changed": report.changed,
            "unchanged": len(report.unchanged),
            "articles": report.articles,
        }
    return {
        "feeds": sync.feeds,
        "feeds_unchanged": sync.feeds_unchanged,
        "pages_fetched": sync.pages_fetched,
        "articles": len(sync.articles),
        "problems": [str(p) for p in sync.problems],
        "index": index,
    }
