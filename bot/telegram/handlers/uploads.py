"""Articles sent as files by admins, and every other kind of message."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import tempfile
from pathlib import Path, PurePosixPath

from telegram import (
    Update,
)
from telegram.constants import ChatType
from telegram.ext import (
    ContextTypes,
)

from bot import telegram_texts as texts
from bot.telegram.sending import Sending
from bot.telegram.settings import redact

log = logging.getLogger(__name__)


BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile's limit on Telegram's servers
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class UploadHandlers(Sending):
    """Articles sent as files by admins, and every other kind of message."""

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
        from index.readers import ARTICLE_SUFFIXES, ReadProblem, ReadResult, read_file
        from index.store import update_index

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
        try:
            async with self.typing(context.bot, message), self._upload_lock:
                with tempfile.TemporaryDirectory(prefix="pasokh-upload-") as folder:
                    path = Path(folder) / f"upload{suffix}"  # never the sender's file name
                    telegram_file = await self.retrying(
                        lambda: context.bot.get_file(document.file_id)
                    )
                    await self.retrying(lambda: telegram_file.download_to_drive(path))
                    result = await asyncio.to_thread(read_file, path, self.max_upload_bytes, name)
                report = None
                if result.articles:
                    # The model (and its tokenizer) serves one thread at a time.
                    async with self._answer_lock:
                        write = functools.partial(update_index, self.kb.index_dir, self.kb.embedder)
                        if self.kb.manifest.get("backend") == "milvus":  # Lite: one client
                            write = self.kb.add
                        report = await asyncio.to_thread(write, result.articles)
                    await asyncio.to_thread(self.reload_index)
        except Exception as err:
            log.error("adding %r to the index failed: %s", name, err, exc_info=err)
            html = texts.UPLOAD_FAILED.format(
                name=texts.esc(name), reason=texts.esc(redact(str(err)))
            )
            await self.send(context.bot, message, html)
            return
        await self.send(context.bot, message, texts.upload_report(name, result, report))

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
