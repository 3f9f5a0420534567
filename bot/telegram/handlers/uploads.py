"""Articles sent as files by admins, and every other kind of message."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from telegram import (
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    ContextTypes,
)

from bot import telegram_texts as texts
from bot.telegram.sending import Sending
from bot.telegram.settings import redact

log = logging.getLogger(__name__)


BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile's limit on Telegram's servers
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


PROGRESS_INTERVAL = 5.0  # seconds between edits of an upload's status message
WRITER_LOCK_TIMEOUT = 60.0  # an upload waits this long for `pasokh index` to finish


def is_lock_timeout(err: BaseException) -> bool:
    """Whether `err` says the index writer lock stayed taken past our wait."""
    from index.versions import IndexBusy

    return isinstance(err, IndexBusy) or isinstance(err.__cause__, IndexBusy)


class UploadProgress:
    """What an upload has reached, set from the worker thread and read from the event
    loop; `due` gives the status line when it changed and `interval` has passed."""

    def __init__(
        self,
        name: str,
        interval: float = PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name, self.interval, self.clock = name, interval, clock
        self.stage = "received"
        self.done = self.total = 0
        self._shown: str | None = texts.upload_status(name, "received")
        self._shown_at = clock()
        self._lock = threading.Lock()

    def advance(self, done: int, total: int) -> None:
        """update_index's progress callback (called in the worker thread)."""
        with self._lock:
            self.done, self.total = done, total

    def due(self, final: bool = False) -> str | None:
        with self._lock:
            text = texts.upload_status(self.name, self.stage, self.done, self.total)
        now = self.clock()
        if text == self._shown or (not final and now - self._shown_at < self.interval):
            return None
        self._shown, self._shown_at = text, now
        return text


class UploadHandlers(Sending):
    """Articles sent as files by admins, and every other kind of message."""

    progress_interval: float = PROGRESS_INTERVAL
    lock_timeout: float = WRITER_LOCK_TIMEOUT
    index_embedder: Any = None  # None: the knowledge base's own (tests slow it down)

    async def on_document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if update.effective_chat.type != ChatType.PRIVATE:
            if self._addressed_text(message, context.bot) is not None:
                await self.send(context.bot, message, texts.esc(texts.UPLOAD_ADMINS_ONLY))
            return
        if not self.is_admin(update):
            await self.send(context.bot, message, texts.esc(texts.UPLOAD_ADMINS_ONLY))
            return
        await self._ingest(update, context)

    async def _ingest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Check the file, then index it in the background (:meth:`_index_upload`): the
        handler returns at once and questions go on being answered from the live version."""
        from index.readers import ARTICLE_SUFFIXES, ReadProblem, ReadResult

        message = update.effective_message
        document = message.document
        name = _display_name(document.file_name)
        suffix = PurePosixPath(name).suffix.lower()
        problem = None
        if suffix not in ARTICLE_SUFFIXES:
            problem = f"unsupported file type {suffix or '(none)'}; use .txt, .md, .json, .jsonl"
        elif document.file_size and document.file_size > self.max_upload_bytes:
            problem = (
                f"file is {document.file_size / 1e6:.1f} MB, over the "
                f"{self.max_upload_bytes / 1e6:.0f} MB limit"
            )
        if problem:
            result = ReadResult(problems=[ReadProblem(name, problem)])
            await self.send(context.bot, message, texts.upload_report(name, result, None))
            return
        context.application.create_task(  # awaited by Application.stop: SIGTERM lets it land
            self._index_upload(context.bot, message, name, suffix),
            update=update,
            name=f"pasokh-upload-{message.message_id}",
        )

    async def _index_upload(self, bot: Any, message: Message, name: str, suffix: str) -> None:
        """Download, read and index one upload, the work in worker threads and outside the
        answer lock; a status message (edited, throttled) tells the admin how far it got."""
        from index.readers import read_file

        status = await self.retrying(
            lambda: bot.send_message(message.chat_id, texts.upload_status(name, "received"))
        )
        progress = UploadProgress(name, self.progress_interval)
        reporter = asyncio.create_task(self._report_progress(bot, status, progress))
        result = report = None
        try:
            async with self._upload_lock:  # one upload at a time in this bot
                with tempfile.TemporaryDirectory(prefix="pasokh-upload-") as folder:
                    path = Path(folder) / f"upload{suffix}"  # never the sender's file name
                    telegram_file = await self.retrying(
                        lambda: bot.get_file(message.document.file_id)
                    )
                    await self.retrying(lambda: telegram_file.download_to_drive(path))
                    progress.stage = "reading"
                    # content ids: two different uploads named news.txt must not collide
                    result = await asyncio.to_thread(
                        read_file, path, self.max_upload_bytes, name, content_ids=True
                    )
                if result.articles:
                    progress.stage = "indexing"
                    report = await asyncio.to_thread(self._write_upload, result.articles, progress)
                    await asyncio.to_thread(self.reload_index)
        except Exception as err:
            busy = is_lock_timeout(err)
            if not busy:
                log.error("adding %r to the index failed: %s", name, err, exc_info=err)
            progress.stage = "busy" if busy else "failed"
            html = (texts.UPLOAD_BUSY if busy else texts.UPLOAD_FAILED).format(
                name=texts.esc(name), reason=texts.esc(redact(str(err)))
            )
            await self._finish_progress(bot, status, progress, reporter)
            await self.send(bot, message, html)
            return
        progress.stage = "done"
        await self._finish_progress(bot, status, progress, reporter)
        await self.send(bot, message, texts.upload_report(name, result, report))

    def _write_upload(self, articles: list, progress: UploadProgress) -> Any:
        """update_index in a worker thread, its wait for the writer lock bounded
        (`IndexBusy` when another writer holds it longer)."""
        from index import store

        if self.kb.manifest.get("backend") == "milvus":  # Milvus Lite: one client per file
            return self.kb.add(articles, progress=progress.advance)
        embedder = self.index_embedder or self.kb.embedder
        return store.update_index(
            self.kb.index_dir,
            embedder,
            articles,
            progress=progress.advance,
            lock_timeout=self.lock_timeout,
        )

    async def _report_progress(self, bot: Any, status: Message, progress: UploadProgress) -> None:
        """Edit the status message when there is news, at most every `progress_interval` s."""
        while True:
            await asyncio.sleep(progress.interval)
            await self._edit_status(bot, status, progress.due())

    async def _finish_progress(
        self, bot: Any, status: Message, progress: UploadProgress, reporter: asyncio.Task
    ) -> None:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
        await self._edit_status(bot, status, progress.due(final=True))

    async def _edit_status(self, bot: Any, status: Message, text: str | None) -> None:
        if text is None:
            return
        try:
            await self.retrying(
                lambda: bot.edit_message_text(
                    text, chat_id=status.chat_id, message_id=status.message_id
                )
            )
        except TelegramError as err:  # a status line is not worth failing the upload for
            log.info("could not update the upload status: %s", err)

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if update.effective_chat.type == ChatType.PRIVATE or (
            self._addressed_text(message, context.bot) is not None
        ):
            await self.send(context.bot, message, texts.esc(texts.NON_TEXT))


def _display_name(file_name: str | None) -> str:
    """An upload's name for messages and article ids: no folders, no control characters."""
    name = PurePosixPath((file_name or "").replace("\\", "/")).name
    name = _CONTROL_RE.sub("", name).strip()[:120]
    return name or "upload"
