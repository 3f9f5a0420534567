"""RSS 2.0 and Atom feeds: a list kept in the index directory, synced incrementally.

``INDEX_DIR/feeds.json`` holds every feed's URL, its last ETag and Last-Modified
(a conditional GET costs the agency nothing when nothing is new) and, per item, a
fingerprint of the item as the feed last showed it. A sync therefore fetches only
the pages of new or changed items. Articles are not written here: the caller hands
them to ``index.store.update_index`` (which re-embeds only changed content) and
then calls ``FeedSync.save()``, so a failed indexing run leaves the state as it
was and the next sync tries the same items again::

    sync = sync_feeds(index_dir, fetcher)
    update_index(index_dir, embedder, sync.articles, remove_ids=sync.remove_ids)
    sync.save()

Where an item's page cannot be fetched or holds no article, the item's own text in
the feed (content, else summary) is indexed instead, and a note names the page.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import lxml.html

from index.fetching import Fetcher, FetchError, FetchResult
from index.readers import Article, ReadProblem, ReadResult, parse_news_text
from index.web_articles import (
    ExtractError,
    article_id_for,
    normalized_url,
    page_article,
)

log = logging.getLogger(__name__)

FEEDS_FILE = "feeds.json"
STATE_VERSION = 1
FEED_TYPES = ("xml", "rss", "atom")  # in the media type of a feed
MAX_PAGE_FAILURES = 3  # syncs that retry an item whose page could not be fetched


@dataclass(frozen=True)
class FeedInfo:
    url: str
    title: str
    added: str
    last_sync: str
    last_error: str
    items: int


@dataclass
class FeedSync:
    """The outcome of one sync: articles to index, one line per problem, notes."""

    index_dir: Path
    articles: list[Article] = field(default_factory=list)
    problems: list[ReadProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    feeds: int = 0
    feeds_unchanged: int = 0  # answered 304 Not Modified
    pages_fetched: int = 0
    # articles to take out: an item indexed from its feed text under its link, whose page
    # (with another canonical URL) has now been read
    remove_ids: list[str] = field(default_factory=list)
    _updates: dict[str, dict] = field(default_factory=dict)

    def save(self) -> None:
        """Record what this sync saw; call after the articles are indexed."""
        with _state_lock(self.index_dir):
            state = _load(self.index_dir)
            for url, update in self._updates.items():
                if url in state["feeds"]:  # removed meanwhile: stays removed
                    state["feeds"][url].update(update)
            _write(self.index_dir, state)


# -- the feed list ---------------------------------------------------------------------
def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _load(index_dir: Path) -> dict:
    try:
        state = json.loads((index_dir / FEEDS_FILE).read_text("utf-8"))
    except FileNotFoundError:
        return {"version": STATE_VERSION, "feeds": {}}
    if not isinstance(state, dict) or not isinstance(state.get("feeds"), dict):
        raise ValueError(f"{index_dir / FEEDS_FILE}: not a feed list written by Pasokh")
    return state


def _write(index_dir: Path, state: dict) -> None:
    """Atomic: a reader (or a crash) sees the old file or the new one, never half."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=index_dir, prefix=".feeds-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle, ensure_ascii=False, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, index_dir / FEEDS_FILE)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _state_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".feeds.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def add_feed(index_dir: Path, url: str) -> bool:
    """Add a feed to the list; False when it is there already. Raises ValueError on a
    URL that is not http(s). Nothing is fetched: the next sync reads it."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url}: a feed must be an http or https URL")
    with _state_lock(index_dir):
        state = _load(index_dir)
        if url in state["feeds"]:
            return False
        state["feeds"][url] = {"added": _now(), "items": {}}
        _write(index_dir, state)
    return True


def remove_feed(index_dir: Path, url: str) -> bool:
    """Take a feed off the list (its articles stay indexed); False when it was not there."""
    with _state_lock(index_dir):
        state = _load(index_dir)
        if state["feeds"].pop(url.strip(), None) is None:
            return False
        _write(index_dir, state)
    return True


def list_feeds(index_dir: Path) -> list[FeedInfo]:
    return [
        FeedInfo(
            url=url,
            title=feed.get("title", ""),
            added=feed.get("added", ""),
            last_sync=feed.get("last_sync", ""),
            last_error=feed.get("last_error", ""),
            items=len(feed.get("items", {})),
        )
        for url, feed in _load(index_dir)["feeds"].items()
    ]


# -- syncing -----------------------------------------------------------------------------
def sync_feeds(
    index_dir: Path, fetcher: Fetcher, urls: Iterable[str] | None = None, recheck: bool = False
) -> FeedSync:
    """Fetch the listed feeds (or `urls` among them) once, and the pages of their new or
    changed items. `recheck` also asks for every known item's page again, conditionally
    (ETag/Last-Modified), for sites that change a page without touching its feed item."""
    state = _load(index_dir)
    wanted = list(state["feeds"]) if urls is None else [u.strip() for u in urls]
    sync = FeedSync(index_dir=Path(index_dir))
    by_id: dict[str, Article] = {}
    for url in wanted:
        feed = state["feeds"].get(url)
        if feed is None:
            sync.problems.append(ReadProblem(url, "not in the feed list; add it first"))
            continue
        sync.feeds += 1
        update: dict = {"last_sync": _now(), "last_error": ""}
        sync._updates[url] = update
        # an item whose page failed last time is retried: the feed is needed in full
        retry = any(not item.get("fingerprint") for item in feed.get("items", {}).values())
        conditional = not (recheck or retry)
        try:
            result = fetcher.fetch(
                url,
                etag=feed.get("etag") if conditional else None,
                last_modified=feed.get("last_modified") if conditional else None,
            )
        except FetchError as err:
            sync.problems.append(ReadProblem(url, err.reason))
            update["last_error"] = err.reason
            continue
        update["etag"], update["last_modified"] = result.etag, result.last_modified
        if result.not_modified:
            sync.feeds_unchanged += 1
            continue
        try:
            parsed = parse_feed(result)
        except ValueError as err:
            sync.problems.append(ReadProblem(url, str(err)))
            update["last_error"] = str(err)
            update["etag"] = update["last_modified"] = None
            continue
        update["title"] = parsed.feed.get("title", "")
        items = _read_items(url, parsed, fetcher, feed.get("items", {}), recheck, sync)
        update["items"] = items
    for article in sync.articles:
        by_id[article.id] = article  # an item in two feeds is one article
    sync.articles = list(by_id.values())
    return sync


def parse_feed(result: FetchResult) -> feedparser.FeedParserDict:
    """feedparser on the fetched bytes; ValueError when it is no RSS or Atom feed."""
    parsed = feedparser.parse(
        result.content,
        response_headers={
            "content-type": result.content_type
            + (f"; charset={result.charset}" if result.charset else ""),
            "content-location": result.url,
        },
    )
    if not parsed.get("version") and not parsed.entries:
        why = parsed.get("bozo_exception")
        detail = str(why).split("\n")[0] if why else "no items"
        raise ValueError(f"not an RSS or Atom feed ({detail})")
    return parsed


def _fingerprint(entry) -> str:
    content = [c.get("value", "") for c in entry.get("content", [])]
    payload = json.dumps(
        [
            entry.get("link", ""),
            entry.get("title", ""),
            dict.get(entry, "updated", "") or dict.get(entry, "published", ""),
            entry.get("summary", ""),
            content,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha1(payload.encode()).hexdigest()


def _read_items(
    feed_url: str,
    parsed,
    fetcher: Fetcher,
    known: dict[str, dict],
    recheck: bool,
    sync: FeedSync,
) -> dict[str, dict]:
    """Articles of new or changed items into `sync`; the feed's item state to keep."""
    items: dict[str, dict] = {}
    feed_title = parsed.feed.get("title", "")
    for entry in parsed.entries:
        link = entry.get("link", "")
        key = entry.get("id") or link
        if not key:
            continue
        fingerprint = _fingerprint(entry)
        before = known.get(key, {})
        unchanged = before.get("fingerprint") == fingerprint
        items[key] = {**before, "fingerprint": fingerprint, "url": link}
        if unchanged and not recheck:
            continue
        article, page = _item_article(feed_url, feed_title, entry, fetcher, before, unchanged, sync)
        if page is not None:
            items[key].update(etag=page.etag, last_modified=page.last_modified)
            items[key].pop("failures", None)
        elif link:  # the page could not be fetched: try again next time, up to 3 times
            failures = before.get("failures", 0) + 1
            items[key]["failures"] = failures
            if failures < MAX_PAGE_FAILURES:
                items[key]["fingerprint"] = ""
        if article is not None:
            old_id = before.get("article_id")
            if old_id and old_id != article.id:
                sync.remove_ids.append(old_id)
            items[key]["article_id"] = article.id
            sync.articles.append(article)
    return items


def _item_article(
    feed_url: str,
    feed_title: str,
    entry,
    fetcher: Fetcher,
    before: dict,
    unchanged: bool,
    sync: FeedSync,
) -> tuple[Article | None, FetchResult | None]:
    """The item's page as an article, else the item's own text; None when nothing is new.
    The page comes back when it was fetched (None: fetching failed, worth a retry)."""
    link = entry.get("link", "")
    reason = "the item has no link"
    page = None
    if link:
        try:
            sync.pages_fetched += 1
            page = fetcher.fetch(
                link,
                html_only=True,
                etag=before.get("etag") if unchanged else None,
                last_modified=before.get("last_modified") if unchanged else None,
            )
            if page.not_modified:
                return None, page
            return page_article(page, link), page
        except FetchError as err:
            reason = err.reason
        except ExtractError as err:
            reason = err.reason
    fallback = _entry_article(entry, feed_title, feed_url)
    name = link or feed_url
    if fallback is None:
        sync.problems.append(ReadProblem(name, f"{reason}; the feed item has no text either"))
        return None, page
    sync.notes.append(f"{name}: {reason}; indexed the feed's own text of the item")
    return fallback, page


_BLOCK_END_RE = re.compile(r"</(?:p|div|li|h[1-6]|blockquote|tr)\s*>|<br\s*/?>", re.I)


def html_text(fragment: str) -> str:
    """Plain text of an HTML fragment from a feed, one line per block; ZWNJ kept (lxml
    keeps U+200C; it is trafilatura that drops it)."""
    if "<" not in fragment:
        return fragment.strip()
    marked = _BLOCK_END_RE.sub("\n", fragment)
    try:
        text = lxml.html.fragment_fromstring(marked, create_parent="div").text_content()
    except (lxml.etree.ParserError, ValueError):
        return ""
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _entry_article(entry, feed_title: str, feed_url: str) -> Article | None:
    contents = [c.get("value", "") for c in entry.get("content", [])]
    text = max((html_text(c) for c in [*contents, entry.get("summary", "")]), key=len, default="")
    if not text.strip():
        return None
    link = entry.get("link", "")
    url = normalized_url(link) if link else ""
    article = parse_news_text(text, article_id_for(url or f"{feed_url}#{entry.get('id')}"), link)
    article.title = html_text(entry.get("title", "")) or article.title
    if feed_title and feed_title not in article.sources:
        article.sources.insert(0, feed_title)
    article.url = url
    # dict.get: feedparser's own get() maps updated to published with a DeprecationWarning
    when = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    article.published = time.strftime("%Y-%m-%d", when) if when else ""
    return article


# -- `pasokh index add URL`: a page or a feed, once ---------------------------------------
def looks_like_feed(result: FetchResult) -> bool:
    if any(kind in result.content_type for kind in FEED_TYPES):
        return True
    head = result.content[:512].lstrip().lower()
    return head.startswith((b"<?xml", b"<rss", b"<feed"))


def read_urls(urls: Iterable[str], fetcher: Fetcher) -> ReadResult:
    """Articles from URLs, each an article page or a feed (every item's page is read).
    Each URL that gives nothing becomes one ReadProblem naming it."""
    result = ReadResult()
    for url in urls:
        try:
            page = fetcher.fetch(url)
            if looks_like_feed(page):
                sync = FeedSync(index_dir=Path("."))
                parsed = parse_feed(page)
                _read_items(url, parsed, fetcher, {}, False, sync)
                result.articles.extend(sync.articles)
                result.problems.extend(sync.problems)
                result.notes.extend(sync.notes)
                if not parsed.entries:
                    result.problems.append(ReadProblem(url, "the feed has no items"))
            elif page.is_html or not page.content_type:
                result.articles.append(page_article(page, url))
            else:
                kind = page.content_type
                result.problems.append(
                    ReadProblem(url, f"not an HTML page or a feed (content type {kind})")
                )
        except FetchError as err:
            result.problems.append(ReadProblem(url, err.reason))
        except ExtractError as err:
            result.problems.append(ReadProblem(url, err.reason))
        except ValueError as err:
            result.problems.append(ReadProblem(url, str(err)))
    return result
