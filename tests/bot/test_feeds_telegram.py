"""`/feeds` and the JobQueue sync in the real PTB application, wired as `pasokh telegram`
wires it (Settings → bot_feed_job → build_application), against the stand-in Bot API
server and the local news site: a feed added by an admin is synced by the job, the bot
reloads, and a question is answered from the fed page, its URL linked."""

from __future__ import annotations

import asyncio
import html
import time

import pytest

from bot.answering import Answerer
from bot.feeds_telegram import JOB_NAME
from bot.settings import Settings
from bot.telegram.app import build_application
from bot.telegram.main import bot_feed_job
from bot.telegram.settings import TelegramSettings
from index.search import KnowledgeBase
from index.store import update_index
from tests.support import news_site
from tests.support import telegram_stub_server as stub
from tests.support.telegram import running

TOKEN = "1234567890:AAH-test_Secret-Token_never_in_logs"
ADMIN, USER = 42, 1001


@pytest.mark.timeout(300)
def test_admin_adds_a_feed_the_job_syncs_it_and_the_bot_answers_from_it(tmp_path, embedder):
    site = news_site.NewsSite()
    urls = [site.add_page(a) for a in news_site.ARTICLES]
    site.add(
        "/rss",
        news_site.rss(list(zip(urls, news_site.ARTICLES, strict=True))),
        "application/rss+xml",
    )
    index_dir = tmp_path / "index"
    seed = news_site.numbered_article(0)  # the bot starts on a small index of its own
    from index.web_articles import extract_article

    update_index(
        index_dir,
        embedder,
        [extract_article(news_site.article_html(seed, site.base), site.url(seed.slug))],
    )
    kb = KnowledgeBase(index_dir, embedder)
    answerer = Answerer(kb)

    with stub.StubBotApi(TOKEN) as api:
        settings = Settings.from_env(
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_BASE_URL": api.base_url,
                "PASOKH_INDEX_DIR": str(index_dir),
                "PASOKH_ADMIN_IDS": str(ADMIN),
                "PASOKH_RELOAD_SECONDS": "0.5",
                "PASOKH_FEED_MINUTES": "0.05",  # every 3 s (the first run after 10 s)
                "PASOKH_ALLOW_PRIVATE_URLS": "1",  # the news site is on 127.0.0.1
                "PASOKH_FETCH_DELAY": "0",
            }
        )
        job = bot_feed_job(settings, answerer)
        app = build_application(
            TelegramSettings.from_settings(settings),
            answerer,
            feeds=job,
            feed_minutes=settings.feed_minutes,
        )
        pasokh = app.bot_data["pasokh"]
        (scheduled,) = app.job_queue.get_jobs_by_name(JOB_NAME)
        assert scheduled.data is job

        def reply_to(message: dict) -> str:
            (call,) = api.wait_for_call(
                "sendMessage",
                where=lambda c: c.chat_id == message["chat"]["id"] and c.at >= sent_at,
                timeout=120,
            )
            return call.text

        def scenario() -> None:
            nonlocal sent_at
            sent_at = time.perf_counter()
            refused = api.push_text(USER, text="/feeds")
            assert "فقط برای مدیران" in reply_to(refused)
            sent_at = time.perf_counter()
            added = api.push_text(ADMIN, text=f"/feeds add {site.url('/rss')}")
            assert reply_to(added) == f"{site.url('/rss')}: افزوده شد"
            deadline = time.monotonic() + 180
            while len(pasokh.kb.articles()) < 5 and time.monotonic() < deadline:
                time.sleep(0.2)  # the job syncs, then the watcher loads the new version
            assert len(pasokh.kb.articles()) == 5
            sent_at = time.perf_counter()
            question = api.push_text(
                USER, text="حجم مبادلات تجاری ایران و عمان قرار است به چه رقمی برسد؟"
            )
            answer = reply_to(question)
            assert "دو میلیارد دلار" in answer
            (oman,) = [a.url for a in pasokh.kb.articles() if "مسقط" in a.title]
            assert oman.startswith("http://127.0.0.1:")  # the page's URL, stored
            assert f'<a href="{html.escape(oman, quote=True)}">' in answer

        sent_at = 0.0

        async def main() -> None:
            async with running(app, poll_timeout=1.0):
                await asyncio.to_thread(scenario)

        try:
            asyncio.run(main())
        finally:
            site.close()
    assert job.last_line.startswith("feeds: 1 read")
