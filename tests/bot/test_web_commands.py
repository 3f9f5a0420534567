"""The feeds commands and URL arguments, against the local news site and the real model."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from bot.feeds_telegram import FeedJob
from bot.settings import Settings
from bot.web_commands import (
    EXIT_SKIPPED,
    cmd_feeds_add,
    cmd_feeds_list,
    cmd_feeds_remove,
    cmd_feeds_sync,
    read_url_articles,
    split_sources,
)
from index.fetching import FetchSettings
from index.search import KnowledgeBase
from tests.support import news_site

LOCAL = FetchSettings(host_delay=0, backoff=0, allow_private=True)


@pytest.fixture()
def site():
    site = news_site.NewsSite()
    yield site
    site.close()


@pytest.mark.parametrize(
    ("items", "urls", "paths"),
    [
        (["seeds", "https://www.irna.ir/news/1"], ["https://www.irna.ir/news/1"], ["seeds"]),
        (["HTTP://news.test/a", "خبر.txt"], ["HTTP://news.test/a"], ["خبر.txt"]),
        (["ftp://news.test/a"], ["ftp://news.test/a"], []),  # refused later, by name
        (["./http:/not-a-url.md"], [], ["http:/not-a-url.md"]),
    ],
)
def test_split_sources(items, urls, paths):
    assert split_sources(items) == (urls, [Path(p) for p in paths])


def test_feeds_add_list_remove_output(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    assert cmd_feeds_add(tmp_path, ["https://news.test/rss", "ftp://x/y"], out, err) == EXIT_SKIPPED
    assert out.getvalue() == "added: https://news.test/rss\n"
    assert err.getvalue() == "skipped ftp://x/y: a feed must be an http or https URL\n"
    out = io.StringIO()
    cmd_feeds_list(tmp_path, out, as_json=True)
    assert [f["url"] for f in json.loads(out.getvalue())] == ["https://news.test/rss"]
    out, err = io.StringIO(), io.StringIO()
    assert cmd_feeds_remove(tmp_path, ["https://news.test/rss", "https://a.test/"], out, err) == 1
    assert err.getvalue() == "skipped https://a.test/: not in the feed list\n"


def test_feeds_sync_command_and_job(site, tmp_path, embedder):
    urls = [site.add_page(a) for a in news_site.ARTICLES[:2]]
    items = list(zip([*urls, site.url("/news/gone")], news_site.ARTICLES[:3], strict=True))
    site.add("/rss", news_site.rss(items, texts=False), "application/rss+xml")
    index_dir = tmp_path / "index"
    cmd_feeds_add(index_dir, [site.url("/rss")], io.StringIO())
    out, err = io.StringIO(), io.StringIO()
    code = cmd_feeds_sync(index_dir, lambda: embedder, settings=LOCAL, out=out, err=err)
    assert code == EXIT_SKIPPED
    assert err.getvalue().splitlines() == [
        f"skipped {site.url('/news/gone')}: HTTP 404 Not Found; the feed item has no text either"
    ]
    assert out.getvalue().startswith("feeds: 1 read (0 unchanged), 3 pages fetched, 2 articles;")
    assert len(KnowledgeBase(index_dir, embedder).articles()) == 2

    # The bot's job: the page that failed is tried again (up to 3 syncs); nothing new
    # comes, so the model is never loaded.
    def no_model():
        raise AssertionError("the model is not needed when nothing is new")

    job = FeedJob(index_dir, no_model, LOCAL)
    gone = f"{site.url('/news/gone')}: HTTP 404 Not Found; the feed item has no text either"
    for _ in range(2):
        line, problems = asyncio.run(job.run())
        assert line == "feeds: 1 read (0 unchanged), 1 pages fetched, 0 articles"
        assert problems == [gone]
    line, problems = asyncio.run(job.run())  # third failure recorded: no more retries
    assert line == "feeds: 1 read (1 unchanged), 0 pages fetched, 0 articles" and problems == []


def test_read_url_articles_prints_one_line_per_bad_url(site):
    page = site.add_page(news_site.ARTICLES[0])
    err = io.StringIO()
    result = read_url_articles([page, "ftp://news.test/x"], LOCAL, err)
    assert [a.url for a in result.articles] == [page]
    assert (
        err.getvalue()
        == "skipped ftp://news.test/x: only http and https URLs are fetched, not ftp\n"
    )


@pytest.mark.parametrize(
    ("env", "minutes"),
    [({}, 15.0), ({"PASOKH_FEED_MINUTES": "5"}, 5.0), ({"PASOKH_FEED_MINUTES": "0"}, 0.0)],
)
def test_feed_minutes(env, minutes):
    assert Settings.from_env(env).feed_minutes == minutes


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, FetchSettings()),
        (
            {
                "PASOKH_ALLOW_PRIVATE_URLS": "1",
                "PASOKH_FETCH_TIMEOUT": "7",
                "PASOKH_FETCH_MAX_MB": "0.5",
                "PASOKH_FETCH_DELAY": "0",
                "PASOKH_FETCH_RETRIES": "2",
                "PASOKH_IGNORE_ROBOTS": "yes",
            },
            FetchSettings(
                timeout=7.0,
                max_bytes=512 * 1024,
                host_delay=0.0,
                retries=2,
                respect_robots=False,
                allow_private=True,
            ),
        ),
    ],
)
def test_fetch_settings_come_from_the_settings_class(env, expected):
    assert Settings.from_env(env).fetch() == expected
