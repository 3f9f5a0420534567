"""The bot's settings (from bot.settings.Settings, checked for Telegram) and keeping the
token out of every log record and error message."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot import redaction
from bot.errors import ConfigError
from bot.settings import Settings


@dataclass(frozen=True)
class TelegramSettings:
    """What the bot needs from :class:`bot.settings.Settings`, the token checked and read."""

    token: str = field(repr=False)
    api_base_url: str = ""
    admin_ids: frozenset[int] = frozenset()
    rate_limit_per_minute: int = 10
    send_retries: int = 3
    reload_seconds: float = 10.0
    typing_delay: float = 0.5  # no "typing…" request for an answer faster than this
    heartbeat_file: Path | None = None
    poll_timeout: int = 10
    webhook_secret: str = field(default="", repr=False)
    webhook_listen: str = "127.0.0.1"
    examples: tuple[str, ...] = ()  # none: drawn from the index (texts.index_examples)
    answer_cache_size: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> TelegramSettings:
        """ConfigError (never holding the token) when the token is missing or malformed."""
        token = (
            settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
        )
        token_file = settings.telegram_bot_token_file
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
        return cls(
            token=token,
            api_base_url=settings.telegram_api_base_url,
            admin_ids=settings.admin_ids,
            rate_limit_per_minute=max(0, settings.rate_limit_per_minute),
            send_retries=max(0, settings.send_retries),
            reload_seconds=max(0.5, settings.reload_seconds),
            typing_delay=max(0.0, settings.typing_delay),
            heartbeat_file=settings.heartbeat_file,
            poll_timeout=max(0, settings.poll_timeout),
            webhook_secret=settings.webhook_secret.get_secret_value(),
            webhook_listen=settings.webhook_listen or "127.0.0.1",
            examples=settings.example_questions,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TelegramSettings:
        return cls.from_settings(Settings.from_env(environ))


# -- keeping the token out of logs and messages ------------------------------------
_redaction_installed = False


def redact(text: str) -> str:
    """`text` without the token, the webhook secret, the LLM key or anything shaped like a
    Bot API token (bot.redaction: one list of secrets for logs, errors and tracebacks)."""
    return redaction.redact(text)


def install_log_redaction(secret: str) -> None:
    """Replace `secret` (and every other secret bot.redaction knows) by ``<token>`` in
    every log record from now on, whatever logs it (httpx logs request URLs, and a Bot API
    URL holds the token) and whichever handler writes it: the record is cleaned when it is
    made, before any handler sees it."""
    global _redaction_installed
    if secret:
        redaction.register_secret(secret)
    if _redaction_installed:
        return
    _redaction_installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redaction.format_exception(record.exc_info[1]).rstrip("\n")
        return record

    logging.setLogRecordFactory(factory)
