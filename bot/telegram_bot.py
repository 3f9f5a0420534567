"""The Telegram bot: `pasokh telegram` (python-telegram-bot 22, asyncio).

Every Persian text message in a private chat is a question; in groups the bot
answers when it is mentioned (@username), when a message replies to it, or on
`/ask …`. Answers come from the shared answering path (bot.answering), one at a
time in a worker thread so the event loop stays free, with "typing…" re-sent
every few seconds while the model works. Admins add articles by sending files.

Settings, all from the environment (read once, in :class:`TelegramSettings`):

- ``TELEGRAM_BOT_TOKEN``: the token from @BotFather; or ``TELEGRAM_BOT_TOKEN_FILE``,
  a file holding it (a Docker secret). Never logged: every log record and error
  message has it replaced by ``<token>``.
- ``TELEGRAM_API_BASE_URL``: another Bot API server (self-hosted, or a test stand-in),
  as its root URL, e.g. ``http://127.0.0.1:8081``; requests go to ``ROOT/bot<token>/…``
  and files to ``ROOT/file/bot<token>/…``. Default: Telegram's own.
- ``PASOKH_ADMIN_IDS``: comma-separated Telegram user ids allowed to upload articles
  and use /stats and /reload.
- ``PASOKH_RATE_LIMIT_PER_MINUTE``: questions per user per minute (default 10; 0 = off).
- ``PASOKH_SEND_RETRIES``: retries of a failed send (429, 5xx, network; default 3).
- ``PASOKH_RELOAD_SECONDS``: how often the index directory is checked for a new
  version written by another process (default 10).
- ``PASOKH_HEARTBEAT_FILE``: a file the event loop touches every 10 s (or every
  PASOKH_RELOAD_SECONDS if shorter; default: no file); a container healthcheck tests its
  age (older than 60 s: the bot is stuck).
- ``TELEGRAM_POLL_TIMEOUT``: long-polling timeout in seconds (default 10).
- ``TELEGRAM_WEBHOOK_SECRET``: secret token checked on webhook requests (webhook mode).
- ``TELEGRAM_WEBHOOK_LISTEN``: address the webhook server binds (default 0.0.0.0).
- ``PASOKH_EXAMPLE_QUESTIONS``: example questions for /start, separated by ``|``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import secrets
import sys
import tempfile
import threading
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
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
from bot.rendering import render_answer_html, render_answer_text, split_message

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
TYPING_INTERVAL = 4.0  # Telegram shows "typing…" for about 5 s
MAX_QUESTION_CHARS = 1000
SOURCES_PER_PAGE = 8
BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile's limit on Telegram's servers
ALLOWED_UPDATES = ["message", "callback_query"]
_PERSIAN_RE = re.compile(r"[\u0600-\u06FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class ConfigError(Exception):
    """A setting is missing or malformed; the message never contains the token."""


def _env_number(env: Mapping[str, str], name: str, default: float, kind: type = float):
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        return kind(value)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what}, not {value!r}") from None


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    return _env_number(env, name, default, int)


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    return _env_number(env, name, default, float)


@dataclass(frozen=True)
class TelegramSettings:
    """The bot's settings; see the module docstring for the environment variables."""

    token: str = field(repr=False)
    api_base_url: str = ""
    admin_ids: frozenset[int] = frozenset()
    rate_limit_per_minute: int = 10
    send_retries: int = 3
    reload_seconds: float = 10.0
    heartbeat_file: Path | None = None
    poll_timeout: int = 10
    webhook_secret: str = field(default="", repr=False)
    webhook_listen: str = "0.0.0.0"
    examples: tuple[str, ...] = texts.DEFAULT_EXAMPLES
    answer_cache_size: int = 1000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TelegramSettings:
        env = os.environ if environ is None else environ
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        token_file = env.get("TELEGRAM_BOT_TOKEN_FILE", "").strip()
        if not token and token_file:
            try:
                token = Path(token_file).read_text(encoding="utf-8").strip()
            except OSError as err:
                raise ConfigError(
                    f"cannot read TELEGRAM_BOT_TOKEN_FILE {token_file}: {err.strerror or err}"
                ) from None
        if not token:
            raise ConfigError(
                "no bot token: set TELEGRAM_BOT_TOKEN (from @BotFather) or "
                "TELEGRAM_BOT_TOKEN_FILE (a file holding it)"
            )
        if any(c.isspace() for c in token) or "/" in token:
            raise ConfigError("the bot token is malformed (it contains spaces or slashes)")
        admin_ids = set()
        for item in env.get("PASOKH_ADMIN_IDS", "").replace(";", ",").split(","):
            item = item.strip()
            if not item:
                continue
            try:
                admin_ids.add(int(item))
            except ValueError:
                raise ConfigError(
                    f"PASOKH_ADMIN_IDS must be comma-separated Telegram user ids, not {item!r}"
                ) from None
        base = env.get("TELEGRAM_API_BASE_URL", "").strip().rstrip("/")
        if base.endswith("/bot"):
            base = base[: -len("/bot")]
        if base and not base.startswith(("http://", "https://")):
            raise ConfigError("TELEGRAM_API_BASE_URL must start with http:// or https://")
        heartbeat = env.get("PASOKH_HEARTBEAT_FILE", "").strip()
        examples = tuple(
            q.strip() for q in env.get("PASOKH_EXAMPLE_QUESTIONS", "").split("|") if q.strip()
        )
        return cls(
            token=token,
            api_base_url=base,
            admin_ids=frozenset(admin_ids),
            rate_limit_per_minute=max(0, _env_int(env, "PASOKH_RATE_LIMIT_PER_MINUTE", 10)),
            send_retries=max(0, _env_int(env, "PASOKH_SEND_RETRIES", 3)),
            reload_seconds=max(0.5, _env_float(env, "PASOKH_RELOAD_SECONDS", 10.0)),
            heartbeat_file=Path(heartbeat) if heartbeat else None,
            poll_timeout=max(0, _env_int(env, "TELEGRAM_POLL_TIMEOUT", 10)),
            webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET", "").strip(),
            webhook_listen=env.get("TELEGRAM_WEBHOOK_LISTEN", "").strip() or "0.0.0.0",
            examples=examples or texts.DEFAULT_EXAMPLES,
        )


# -- keeping the token out of logs and messages ------------------------------------
_SECRETS: set[str] = set()
_redaction_installed = False


def redact(text: str) -> str:
    for secret in _SECRETS:
        text = text.replace(secret, "<token>").replace(quote(secret, safe=""), "<token>")
    return text


def install_log_redaction(secret: str) -> None:
    """Replace `secret` by ``<token>`` in every log record from now on, whatever logs it
    (httpx logs request URLs, and a Bot API URL holds the token) and whichever handler
    writes it: the record is cleaned when it is made, before any handler sees it."""
    global _redaction_installed
    if secret:
        _SECRETS.add(secret)
    if _redaction_installed:
        return
    _redaction_installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if not _SECRETS:
            return record
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            formatted = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redact(formatted)
        return record

    logging.setLogRecordFactory(factory)


# -- small parts ---------------------------------------------------------------------
def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class UserRateLimit:
    """At most `per_minute` questions per user in any 60 s window (0 turns it off)."""

    def __init__(
        self, per_minute: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self.window = window
        self.clock = clock
        self._seen: OrderedDict[int, deque[float]] = OrderedDict()

    def check(self, user_id: int) -> float:
        """0 and the question is counted; else how many seconds until one is allowed."""
        if self.per_minute <= 0:
            return 0.0
        now = self.clock()
        times = self._seen.pop(user_id, None) or deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        self._seen[user_id] = times
        while len(self._seen) > 50_000:
            self._seen.popitem(last=False)
        if len(times) >= self.per_minute:
            return self.window - (now - times[0])
        times.append(now)
        return 0.0


class AnswerCache:
    """Recent answers by a short id, for the inline buttons under them; bounded."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._answers: OrderedDict[str, Any] = OrderedDict()

    def put(self, answer: Any) -> str:
        key = secrets.token_urlsafe(6)
        self._answers[key] = answer
        while len(self._answers) > self.size:
            self._answers.popitem(last=False)
        return key

    def get(self, key: str) -> Any | None:
        return self._answers.get(key)


@dataclass
class BotStats:
    started: float = field(default_factory=time.monotonic)
    served: int = 0
    declined: int = 0
    rate_limited: int = 0
    reloads: int = 0
    errors: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=2000))

    def record(self, started: float, abstained: bool) -> None:
        self.served += 1
        self.declined += int(abstained)
        self.latencies_ms.append((time.perf_counter() - started) * 1000)

    def summary(self) -> dict:
        from index.metrics import latency_summary

        return {
            "served": self.served,
            "declined": self.declined,
            "rate_limited": self.rate_limited,
            "reloads": self.reloads,
            "errors": self.errors,
            "uptime_s": time.monotonic() - self.started,
            **latency_summary(list(self.latencies_ms)),
        }


# -- the bot -------------------------------------------------------------------------
class PasokhBot:
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
        self._answer_lock = asyncio.Lock()  # one answer at a time: the model uses every core
        self._upload_lock = asyncio.Lock()
        self._reload_lock = threading.Lock()
        self._tasks: list[asyncio.Task] = []

    # -- wiring ----------------------------------------------------------------------
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
        self._tasks = [
            asyncio.create_task(self._watch(), name="pasokh-index-watcher"),
            asyncio.create_task(self._heartbeat(), name="pasokh-heartbeat"),
        ]
        if self.announce:
            print(
                f"pasokh telegram: running as @{self.username}; index {self.kb.version} "
                f"({len(self.kb.articles())} articles). Ctrl-C or SIGTERM stops it.",
                file=sys.stderr,
                flush=True,
            )

    async def post_stop(self, app: Application) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

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

    # -- the index watcher and the heartbeat -------------------------------------------
    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.settings.reload_seconds)
            try:
                await asyncio.to_thread(self.reload_index)
            except Exception as err:  # a broken new version: keep serving the old one
                log.error("could not load the new index version: %s", err)

    async def _heartbeat(self) -> None:
        """Touch the heartbeat file from the event loop: its age tells a healthcheck
        whether the loop (and so the bot) still runs."""
        while True:
            await asyncio.sleep(min(self.settings.reload_seconds, HEARTBEAT_SECONDS))
            self._beat()

    def reload_index(self) -> bool:
        with self._reload_lock:
            changed = self.kb.reload_if_changed()
        if changed:
            self.stats.reloads += 1
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

    # -- helpers -----------------------------------------------------------------------
    def is_admin(self, update: Update) -> bool:
        user = update.effective_user
        return user is not None and user.id in self.settings.admin_ids

    async def send(
        self,
        bot: Any,
        message: Message,
        html: str,
        markup: InlineKeyboardMarkup | None = None,
        quote: bool = True,
        plain_fallback: str | None = None,
    ) -> None:
        """Send HTML to the message's chat, split to Telegram's limit, as a reply to it;
        the buttons go under the last piece. Retried on 429, 5xx and network errors."""
        pieces = split_message(html)
        try:
            await self._send_pieces(bot, message, pieces, ParseMode.HTML, markup, quote)
        except BadRequest as err:
            if plain_fallback is None or "parse" not in str(err).lower():
                raise
            log.warning("Telegram refused the HTML (%s); sending plain text", err)
            await self._send_pieces(
                bot, message, split_message(plain_fallback), None, markup, quote
            )

    async def _send_pieces(
        self,
        bot: Any,
        message: Message,
        pieces: list[str],
        parse_mode: str | None,
        markup: InlineKeyboardMarkup | None,
        quote: bool,
    ) -> None:
        thread_id = message.message_thread_id if message.is_topic_message else None
        last = len(pieces) - 1
        for i, piece in enumerate(pieces):
            kwargs = {
                "chat_id": message.chat_id,
                "text": piece,
                "parse_mode": parse_mode,
                "reply_markup": markup if i == last else None,
                "reply_parameters": ReplyParameters(
                    message.message_id, allow_sending_without_reply=True
                )
                if quote and i == 0
                else None,
                "message_thread_id": thread_id,
                "link_preview_options": LinkPreviewOptions(is_disabled=True),
            }
            await self.retrying(lambda kwargs=kwargs: bot.send_message(**kwargs))

    async def retrying(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run a Bot API call, again after a 429 (its retry_after), a 5xx or a network
        error; a refusal (400, 403) is final. The rate limiter has already retried 429s."""
        attempts = self.settings.send_retries + 1
        delay = 0.5
        for attempt in range(1, attempts + 1):
            try:
                return await call()
            except RetryAfter as err:
                if attempt == attempts:
                    raise
                wait = _seconds(err.retry_after) + 0.1
                log.warning("flood control: waiting %.1f s before sending again", wait)
                await asyncio.sleep(wait)
            except BadRequest:
                raise
            except NetworkError as err:  # TimedOut, 5xx and connection errors
                if attempt == attempts:
                    raise
                log.warning("sending failed (%s); attempt %d in %.1f s", err, attempt + 1, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 8.0)
        raise AssertionError("unreachable")

    @contextlib.asynccontextmanager
    async def typing(self, bot: Any, message: Message) -> AsyncIterator[None]:
        """Show "typing…" in the chat, re-sent every few seconds, while the block runs."""
        thread_id = message.message_thread_id if message.is_topic_message else None

        async def keep_typing() -> None:
            while True:
                try:
                    await bot.send_chat_action(
                        message.chat_id, ChatAction.TYPING, message_thread_id=thread_id
                    )
                except TelegramError as err:
                    log.debug("typing indicator failed: %s", err)
                await asyncio.sleep(self.typing_interval)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _addressed_text(self, message: Message, bot: Any) -> str | None:
        """A group message's question if it is meant for the bot (mention or reply), else None."""
        text = message.text or message.caption or ""
        mentioned = False
        username = (bot.username or self.username).lower()
        entities = (
            message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
            if message.text
            else message.parse_caption_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
        )
        for entity, value in entities.items():
            if (entity.type == MessageEntity.MENTION and value[1:].lower() == username) or (
                entity.type == MessageEntity.TEXT_MENTION
                and entity.user is not None
                and entity.user.id == bot.id
            ):
                mentioned = True
                text = text.replace(value, " ", 1)
        replied = message.reply_to_message
        to_bot = (
            replied is not None
            and not message.is_topic_message
            and replied.from_user is not None
            and replied.from_user.id == bot.id
        )
        if not (mentioned or to_bot):
            return None
        return " ".join(text.split())

    # -- commands ----------------------------------------------------------------------
    async def cmd_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        html = texts.start_message(
            user.first_name if user else "",
            self.kb.articles(),
            self.kb.manifest.get("built_at", ""),
            self.settings.examples,
        )
        await self.send(context.bot, update.effective_message, html)

    async def cmd_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        html = texts.help_message(
            context.bot.username or self.username,
            self.is_admin(update),
            self.max_upload_bytes / 1024 / 1024,
        )
        await self.send(context.bot, update.effective_message, html)

    async def cmd_ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.answer_question(update, context, " ".join(context.args or []))

    async def cmd_new(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.conversations.reset(update.effective_chat.id)
        await self.send(context.bot, update.effective_message, texts.esc(texts.NEW_CONVERSATION))

    async def cmd_sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        html, markup = self._sources_page(0)
        await self.send(context.bot, update.effective_message, html, markup)

    def _sources_page(self, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
        html, page, pages = texts.sources_page(self.kb.articles(), page, SOURCES_PER_PAGE)
        buttons = []
        if page > 0:
            buttons.append(InlineKeyboardButton("→ قبلی", callback_data=f"src:{page - 1}"))
        if page < pages - 1:
            buttons.append(InlineKeyboardButton("بعدی ←", callback_data=f"src:{page + 1}"))
        return html, InlineKeyboardMarkup([buttons]) if buttons else None

    async def cmd_stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not self.is_admin(update):
            await self.send(context.bot, update.effective_message, texts.esc(texts.ADMINS_ONLY))
            return
        summary = self.stats.summary()
        html = texts.stats_message(self.kb.manifest, summary["uptime_s"], summary)
        await self.send(context.bot, update.effective_message, html)

    async def cmd_reload(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not self.is_admin(update):
            await self.send(context.bot, update.effective_message, texts.esc(texts.ADMINS_ONLY))
            return
        changed = await asyncio.to_thread(self.reload_index)
        manifest = self.kb.manifest
        template = texts.RELOADED if changed else texts.NOT_RELOADED
        html = template.format(
            version=f"<code>{texts.esc(manifest['version'])}</code>",
            articles=texts.fa(manifest.get("articles", 0)),
            chunks=texts.fa(manifest.get("chunks", 0)),
        )
        await self.send(context.bot, update.effective_message, html)

    # -- questions -----------------------------------------------------------------------
    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if update.effective_chat.type == ChatType.PRIVATE:
            await self.answer_question(update, context, message.text or "")
            return
        question = self._addressed_text(message, context.bot)
        if question is not None:
            await self.answer_question(update, context, question)

    async def answer_question(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, question: str
    ) -> None:
        message = update.effective_message
        bot = context.bot
        question = question.strip()
        if not question:
            example = texts.esc(self.settings.examples[0]) if self.settings.examples else ""
            await self.send(bot, message, texts.ASK_USAGE.format(example=example))
            return
        if len(question) > MAX_QUESTION_CHARS:
            await self.send(bot, message, texts.esc(texts.TOO_LONG))
            return
        if not _PERSIAN_RE.search(question):
            await self.send(bot, message, texts.esc(texts.NOT_PERSIAN))
            return
        user = update.effective_user
        wait = self.rate.check(user.id if user else update.effective_chat.id)
        if wait:
            self.stats.rate_limited += 1
            limit = self.settings.rate_limit_per_minute
            await self.send(bot, message, texts.esc(texts.rate_limited(wait, limit)))
            return
        started = time.perf_counter()
        conversation = self.conversations.get(update.effective_chat.id)
        async with self.typing(bot, message):
            async with self._answer_lock:
                answer = await asyncio.to_thread(self.answerer.answer, question, conversation)
        await self.send(
            bot,
            message,
            render_answer_html(answer),
            self._answer_buttons(answer),
            plain_fallback=render_answer_text(answer),
        )
        self.stats.record(started, answer.abstained)

    def _answer_buttons(self, answer: Any) -> InlineKeyboardMarkup | None:
        if answer.abstained or not answer.parts:
            return None
        key = self.answers.put(answer)
        row = [InlineKeyboardButton("متن کامل", callback_data=f"p:{key}")]
        if texts.more_sources(answer) is not None:
            row.append(InlineKeyboardButton("منابع بیشتر", callback_data=f"m:{key}"))
        return InlineKeyboardMarkup([row])

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        kind, _, key = (query.data or "").partition(":")
        message = query.message
        if kind == "src" and key.isdigit():
            await query.answer()
            html, markup = self._sources_page(int(key))
            if isinstance(message, Message):
                try:
                    await self.retrying(
                        lambda: query.edit_message_text(
                            html, parse_mode=ParseMode.HTML, reply_markup=markup
                        )
                    )
                except BadRequest as err:
                    if "not modified" not in str(err).lower():
                        raise
            return
        answer = self.answers.get(key) if kind in ("p", "m") else None
        if answer is None or not isinstance(message, Message):
            await query.answer(texts.STALE_BUTTON, show_alert=True)
            return
        html = texts.full_passages(answer) if kind == "p" else texts.more_sources(answer)
        if not html:
            await query.answer(texts.NO_MORE_SOURCES, show_alert=True)
            return
        await query.answer()
        await self.send(context.bot, message, html)

    # -- articles from admins ------------------------------------------------------------
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
                        report = await asyncio.to_thread(
                            update_index, self.kb.index_dir, self.kb.embedder, result.articles
                        )
                    await asyncio.to_thread(self.reload_index)
        except Exception as err:
            log.error("adding %r to the index failed: %s", name, err, exc_info=err)
            html = texts.UPLOAD_FAILED.format(
                name=texts.esc(name), reason=texts.esc(redact(str(err)))
            )
            await self.send(context.bot, message, html)
            return
        await self.send(context.bot, message, texts.upload_report(name, result, report))

    # -- everything else -----------------------------------------------------------------
    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if update.effective_chat.type == ChatType.PRIVATE or (
            self._addressed_text(message, context.bot) is not None
        ):
            await self.send(context.bot, message, texts.esc(texts.NON_TEXT))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        self.stats.errors += 1
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


def _display_name(file_name: str | None) -> str:
    """An upload's name for messages and article ids: no folders, no control characters."""
    name = PurePosixPath((file_name or "").replace("\\", "/")).name
    name = _CONTROL_RE.sub("", name).strip()[:120]
    return name or "upload"


# -- the application -------------------------------------------------------------------
def build_application(
    settings: TelegramSettings,
    answerer: Any,
    max_upload_bytes: int = BOT_API_DOWNLOAD_LIMIT,
    announce: bool = False,
) -> Application:
    """The PTB Application with Pasokh's handlers; `bot_data["pasokh"]` is the PasokhBot."""
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
        .rate_limiter(AIORateLimiter(max_retries=settings.send_retries))
        .concurrent_updates(16)
        .post_init(pasokh.post_init)
        .post_stop(pasokh.post_stop)
    )
    if settings.api_base_url:
        builder = builder.base_url(f"{settings.api_base_url}/bot").base_file_url(
            f"{settings.api_base_url}/file/bot"
        )
    app = builder.build()
    app.bot_data["pasokh"] = pasokh
    pasokh.register(app)
    return app


@contextlib.asynccontextmanager
async def running(app: Application, poll_timeout: float = 1.0) -> AsyncIterator[Application]:
    """Run the application with long polling inside an event loop that is already running
    (tests, benchmarks): what `run_polling` does, without taking over signals."""
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        await app.updater.start_polling(
            poll_interval=0.0, timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES
        )
        await app.start()
        yield app
    finally:
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        if app.post_stop:
            await app.post_stop(app)
        await app.shutdown()


def run_telegram(args: argparse.Namespace) -> int:
    """`pasokh telegram`: long polling (default) or a webhook; SIGTERM or Ctrl-C stops it
    cleanly after the updates in hand, and it returns 0."""
    from bot.cli import CliError, index_settings, open_answerer

    try:
        settings = TelegramSettings.from_env()
    except ConfigError as err:
        raise CliError(str(err)) from None
    install_log_redaction(settings.token)
    os.environ.setdefault("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as a timedelta
    if not getattr(args, "debug", False):
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        settings_for_index = index_settings(args)
        answerer = open_answerer(args)
        app = build_application(
            settings, answerer, settings_for_index.max_file_bytes, announce=not args.quiet
        )
        if args.webhook_url:
            app.run_webhook(
                listen=settings.webhook_listen,
                port=args.port,
                url_path=urlsplit(args.webhook_url).path.lstrip("/"),
                webhook_url=args.webhook_url,
                secret_token=settings.webhook_secret or None,
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=3,
            )
        else:
            app.run_polling(
                timeout=settings.poll_timeout,
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=3,
            )
    except CliError as err:
        raise CliError(redact(str(err))) from None
    except Exception as err:
        if args.debug:  # the traceback; log redaction keeps the token out of it
            raise
        raise CliError(redact(f"{type(err).__name__}: {err}")) from None
    return 0
