"""`build_application`: the PTB Application with Pasokh's handlers, index watcher and
heartbeat (PTB's JobQueue), and the state they share (:class:`PasokhBot`)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, ReplyParameters, Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot import telegram_texts as texts
from bot.conversation import ConversationStore
from bot.telegram.answering_pool import AnsweringPool
from bot.telegram.handlers.buttons import ButtonHandlers
from bot.telegram.handlers.commands import CommandHandlers
from bot.telegram.handlers.questions import QuestionHandlers
from bot.telegram.handlers.uploads import BOT_API_DOWNLOAD_LIMIT, UploadHandlers
from bot.telegram.sending import TYPING_INTERVAL
from bot.telegram.settings import TelegramSettings, install_log_redaction
from bot.telegram.stores import AnswerCache, BotStats, UserRateLimit

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
ALLOWED_UPDATES = ["message", "callback_query"]


class PasokhBot(QuestionHandlers, CommandHandlers, ButtonHandlers, UploadHandlers):
    """State and handlers; one instance per Application (in ``bot_data["pasokh"]``)."""

    def __init__(
        self,
        settings: TelegramSettings,
        answerer: Any,
        max_upload_bytes: int = BOT_API_DOWNLOAD_LIMIT,
        announce: bool = False,
    ) -> None:
        self.settings = settings
        self.answerer = answerer
        self.kb = answerer.kb
        self.max_upload_bytes = min(max_upload_bytes, BOT_API_DOWNLOAD_LIMIT)
        self.announce = announce
        self.conversations = ConversationStore()
        self.rate = UserRateLimit(settings.rate_limit_per_minute)
        self.answers = AnswerCache(settings.answer_cache_size)
        self.stats = BotStats()
        self.typing_interval = TYPING_INTERVAL
        self.username = ""
        self.answering = AnsweringPool(answerer)  # questions: a few at once, in order per chat
        self._upload_lock = asyncio.Lock()
        self._reload_lock = threading.Lock()

    def register(self, app: Application) -> None:
        new = filters.UpdateType.MESSAGE
        app.add_handler(CommandHandler("start", self.cmd_start, filters=new))
        app.add_handler(CommandHandler("help", self.cmd_help, filters=new))
        app.add_handler(CommandHandler("ask", self.cmd_ask, filters=new))
        app.add_handler(CommandHandler("sources", self.cmd_sources, filters=new))
        app.add_handler(CommandHandler("new", self.cmd_new, filters=new))
        app.add_handler(CommandHandler("stats", self.cmd_stats, filters=new))
        app.add_handler(CommandHandler("reload", self.cmd_reload, filters=new))
        app.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND, self.on_text))
        app.add_handler(MessageHandler(new & filters.Document.ALL, self.on_document))
        app.add_handler(
            MessageHandler(
                new & ~filters.TEXT & ~filters.Document.ALL & ~filters.StatusUpdate.ALL,
                self.on_other,
            )
        )
        app.add_handler(CallbackQueryHandler(self.on_callback))
        app.add_error_handler(self.on_error)

    async def post_init(self, app: Application) -> None:
        self.username = app.bot.username or ""
        await self._set_commands(app)
        self._beat()
        jobs = app.job_queue  # PTB's JobQueue: started and stopped with the application
        jobs.run_repeating(
            self._watch, interval=self.settings.reload_seconds, name="pasokh-index-watcher"
        )
        jobs.run_repeating(
            self._heartbeat,
            interval=min(self.settings.reload_seconds, HEARTBEAT_SECONDS),
            name="pasokh-heartbeat",
        )
        if self.announce:
            print(
                f"pasokh telegram: running as @{self.username}; index {self.kb.version} "
                f"({len(self.kb.articles())} articles). Ctrl-C or SIGTERM stops it.",
                file=sys.stderr,
                flush=True,
            )

    async def _set_commands(self, app: Application) -> None:
        everyone = [BotCommand(name, text) for name, text in texts.COMMANDS]
        admins = everyone + [BotCommand(name, text) for name, text in texts.ADMIN_COMMANDS]
        try:
            await app.bot.set_my_commands(everyone)
        except TelegramError as err:
            log.warning("could not register the bot's commands: %s", err)
        for admin_id in sorted(self.settings.admin_ids):
            try:  # fails until the admin has talked to the bot once: harmless
                await app.bot.set_my_commands(admins, scope=BotCommandScopeChat(admin_id))
            except TelegramError as err:
                log.info("admin commands not set for %s: %s", admin_id, err)

    async def _watch(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Load a new index version written by another process (a JobQueue job)."""
        try:
            await asyncio.to_thread(self.reload_index)
        except Exception as err:  # a broken new version: keep serving the old one
            log.error("could not load the new index version: %s", err)

    async def _heartbeat(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Touch the heartbeat file from the event loop: its age tells a healthcheck
        whether the loop (and so the bot) still runs."""
        self._beat()

    def reload_index(self) -> bool:
        with self._reload_lock:
            changed = self.kb.reload_if_changed()
        if changed:
            self.stats.count("reloads")
            log.info("index reloaded: version %s", self.kb.version)
        return changed

    def _beat(self) -> None:
        path = self.settings.heartbeat_file
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
            os.utime(path)
        except OSError as err:
            log.warning("cannot touch the heartbeat file %s: %s", path, err)
            return
        self.stats.count("heartbeats")

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        self.stats.count("errors")
        if update is None and isinstance(error, NetworkError):
            log.warning("Bot API unreachable for now (%s); retrying", error)
            return
        log.error("error while handling an update: %s", error, exc_info=error)
        if not isinstance(update, Update):
            return
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(texts.ERROR_SHORT, show_alert=True)
            elif update.effective_message is not None:
                await context.bot.send_message(
                    update.effective_message.chat_id,
                    texts.ERROR,
                    reply_parameters=ReplyParameters(
                        update.effective_message.message_id, allow_sending_without_reply=True
                    ),
                )
        except TelegramError as err:
            log.warning("could not tell the user about the error: %s", err)


def build_application(
    settings: TelegramSettings,
    answerer: Any,
    max_upload_bytes: int = BOT_API_DOWNLOAD_LIMIT,
    announce: bool = False,
    feeds: Any = None,
    feed_minutes: float = 0.0,
) -> Application:
    """The PTB Application with Pasokh's handlers; `bot_data["pasokh"]` is the PasokhBot.
    `feeds` (a bot.feeds_telegram.FeedJob) adds `/feeds` and a sync every `feed_minutes`."""
    install_log_redaction(settings.token)
    pasokh = PasokhBot(settings, answerer, max_upload_bytes, announce)
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .request(
            HTTPXRequest(
                connection_pool_size=16,
                connect_timeout=10.0,
                read_timeout=20.0,
                write_timeout=30.0,
                pool_timeout=10.0,
            )
        )
        .get_updates_request(
            HTTPXRequest(
                connection_pool_size=2,
                connect_timeout=10.0,
                read_timeout=10.0,  # PTB adds the long-polling timeout to this
                write_timeout=10.0,
                pool_timeout=10.0,
            )
        )
        # Telegram's 30 messages a second across chats: replies past it are paced here,
        # not refused there (bench/telegram_latency.py measures bursts with it drained).
        .rate_limiter(AIORateLimiter(max_retries=settings.send_retries))
        .concurrent_updates(16)
        .post_init(pasokh.post_init)
    )
    if settings.api_base_url:
        builder = builder.base_url(f"{settings.api_base_url}/bot").base_file_url(
            f"{settings.api_base_url}/file/bot"
        )
    app = builder.build()
    app.bot_data["pasokh"] = pasokh
    pasokh.register(app)
    if feeds is not None:
        from bot.feeds_telegram import register_feeds

        # No answer lock: like uploads, a sync indexes in a worker thread while questions
        # are answered from the live version (the Embedder serializes its own model use).
        register_feeds(app, feeds, feed_minutes, pasokh.is_admin)
    return app
