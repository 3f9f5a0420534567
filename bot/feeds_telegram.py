"""Feeds in the Telegram bot: `/feeds` for admins and a periodic sync on PTB's JobQueue.

`bot.telegram.app.build_application(..., feeds=FeedJob(...), feed_minutes=...)` calls
:func:`register_feeds`, which adds the `/feeds` handler and schedules the sync every
`PASOKH_FEED_MINUTES` (bot.settings.Settings.feed_minutes).

The sync writes a new index version; the bot's existing reload watcher picks it up,
as it does for uploads. The blocking work (HTTP, embedding) runs in a thread.
"""

from __future__ import annotations

import asyncio
import functools
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.web_commands import summary_line, sync_and_index
from index.feeds import add_feed, list_feeds, remove_feed
from index.fetching import Fetcher, FetchSettings

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

JOB_NAME = "pasokh-feed-sync"


@dataclass
class FeedJob:
    """One sync at a time, whether from the JobQueue or from `/feeds sync`."""

    index_dir: Path
    load_embedder: Callable[[], object]
    settings: FetchSettings
    write: Callable[[list, list], object] | None = None  # None: update_index on index_dir
    last_line: str = ""
    # the bot's answer lock: the model serves one thread at a time, so the embedding step
    # (not the fetching) waits for the answer in hand, as uploads do
    model_lock: asyncio.Lock | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _sync(self, write: Callable[[list, list], object] | None) -> tuple[str, list[str]]:
        with Fetcher(self.settings) as fetcher:
            sync, report = sync_and_index(self.index_dir, self.load_embedder, fetcher, write=write)
        return summary_line(sync, report), [str(p) for p in sync.problems]

    def _locked_write(self, loop: asyncio.AbstractEventLoop) -> Callable[[list, list], object]:
        """`write` (run in a worker thread) holding `model_lock`, an asyncio lock of `loop`."""
        write = self.write or self._update_index

        def call(articles: list, remove_ids: list) -> object:
            asyncio.run_coroutine_threadsafe(self.model_lock.acquire(), loop).result()
            try:
                return write(articles, remove_ids)
            finally:
                loop.call_soon_threadsafe(self.model_lock.release)

        return call

    def _update_index(self, articles: list, remove_ids: list) -> object:
        from index.store import update_index

        return update_index(self.index_dir, self.load_embedder(), articles, remove_ids)

    async def run(self) -> tuple[str, list[str]]:
        async with self._lock:
            write = self.write
            if self.model_lock is not None:
                write = self._locked_write(asyncio.get_running_loop())
            line, problems = await asyncio.to_thread(self._sync, write)
        self.last_line = line
        log.info("%s", line)
        for problem in problems:
            log.warning("feed sync skipped %s", problem)
        return line, problems


async def sync_feeds_job(context: Any) -> None:
    """JobQueue callback; the FeedJob is the job's data. A failure is logged, never raised
    (the next run tries again)."""
    job: FeedJob = context.job.data
    if not list_feeds(job.index_dir):
        return
    try:
        await job.run()
    except Exception:
        log.exception("feed sync failed")


def schedule_feed_sync(job_queue: Any, job: FeedJob, minutes: float, first: float = 10) -> Any:
    """Run `sync_feeds_job` every `minutes` (first run after `first` s); None when off."""
    if minutes <= 0 or job_queue is None:
        return None
    return job_queue.run_repeating(
        sync_feeds_job, interval=minutes * 60, first=first, data=job, name=JOB_NAME
    )


USAGE = (
    "/feeds — فهرست خوراک‌ها\n"
    "/feeds add URL — افزودن خوراک RSS یا Atom\n"
    "/feeds remove URL — حذف خوراک (مقاله‌هایش در نمایه می‌مانند)\n"
    "/feeds sync — به‌روزرسانی همین حالا"
)


async def feeds_command(
    update: Any,
    context: Any,
    *,
    index_dir: Path,
    is_admin: Callable[[Any], bool],
    job: FeedJob | None = None,
) -> None:
    """`/feeds [add|remove URL… | sync]`, admins only; replies in HTML, escaped."""
    message = update.effective_message
    if not is_admin(update):
        await message.reply_text("این فرمان فقط برای مدیران است.")
        return
    args = list(context.args or [])
    action = args[0].lower() if args else "list"
    urls = args[1:]
    lines: list[str] = []
    if action == "list":
        feeds = list_feeds(index_dir)
        lines = [
            f"• {html.escape(f.url)} — {f.items} مورد"
            + (f" (خطا: {html.escape(f.last_error)})" if f.last_error else "")
            for f in feeds
        ] or ["هنوز خوراکی افزوده نشده است.", USAGE]
    elif action in ("add", "remove") and urls:
        for url in urls:
            try:
                done = add_feed(index_dir, url) if action == "add" else remove_feed(index_dir, url)
            except ValueError:
                lines.append(f"نشانی نادرست: {html.escape(url)}")
                continue
            verb = {("add", True): "افزوده شد", ("add", False): "از پیش در فهرست بود"}
            verb.update({("remove", True): "حذف شد", ("remove", False): "در فهرست نبود"})
            lines.append(f"{html.escape(url)}: {verb[action, done]}")
    elif action == "sync" and job is not None:
        line, problems = await job.run()
        lines = [html.escape(line)] + [f"رد شد: {html.escape(p)}" for p in problems[:10]]
    else:
        lines = [html.escape(USAGE)]
    await message.reply_text("\n".join(lines), parse_mode="HTML", disable_web_page_preview=True)


def feed_job(
    settings: Settings,
    load_embedder: Callable[[], object],
    write: Callable[[list, list], object] | None = None,
) -> FeedJob:
    """The bot's FeedJob from the settings: the index folder and the fetcher's settings;
    `write` puts the articles on the configured backend (bot.app.write_articles)."""
    return FeedJob(Path(settings.index_dir), load_embedder, settings.fetch(), write)


def register_feeds(
    app: Any,
    job: FeedJob,
    minutes: float,
    is_admin: Callable[[Any], bool],
    model_lock: asyncio.Lock | None = None,
    first: float = 10,
) -> Any:
    """`/feeds` for admins, and the sync every `minutes` on the app's JobQueue (0: off);
    `model_lock` (the bot's answer lock) is held while the sync embeds.
    Returns the scheduled job (None when off)."""
    from telegram.ext import CommandHandler, filters

    job.model_lock = model_lock
    app.add_handler(
        CommandHandler(
            "feeds",
            functools.partial(feeds_command, index_dir=job.index_dir, is_admin=is_admin, job=job),
            filters=filters.UpdateType.MESSAGE,
        )
    )
    return schedule_feed_sync(app.job_queue, job, minutes, first=first)
