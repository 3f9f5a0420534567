"""`pasokh telegram`: long polling (default) or a webhook, wired from bot.app."""

from __future__ import annotations

import logging
import os
import secrets
from urllib.parse import urlsplit

from bot import app as wiring
from bot.errors import UserError
from bot.feeds_telegram import FeedJob, feed_job
from bot.redaction import register_secret
from bot.settings import Settings
from bot.telegram.app import ALLOWED_UPDATES, build_application
from bot.telegram.settings import TelegramSettings, install_log_redaction, redact


def bot_feed_job(settings: Settings, answerer) -> FeedJob:
    """The feed sync for the bot: the model it already holds, writes on its backend
    (through its own knowledge base for Milvus, whose Lite file admits one client)."""
    kb = answerer.kb
    embedder = kb.embedder

    def write(articles: list, remove_ids: list):
        return wiring.write_articles(
            settings, embedder, wiring.Feedback(), articles, remove_ids, kb=kb
        )

    return feed_job(settings, lambda: embedder, write)


def run_telegram(
    settings: Settings,
    feedback: wiring.Feedback,
    webhook_url: str | None = None,
    port: int = 8443,
    debug: bool = False,
    announce: bool = True,
) -> int:
    """Run until SIGTERM or Ctrl-C, which stop it cleanly after the updates in hand; 0."""
    telegram = TelegramSettings.from_settings(settings)
    install_log_redaction(telegram.token)
    os.environ.setdefault("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as a timedelta
    if not debug:
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        answerer = wiring.open_answerer(settings, feedback)
        app = build_application(
            telegram,
            answerer,
            settings.index().max_file_bytes,
            announce=announce,
            feeds=bot_feed_job(settings, answerer),
            feed_minutes=settings.feed_minutes,
        )
        if webhook_url:
            secret = webhook_secret(telegram)
            app.run_webhook(
                listen=telegram.webhook_listen,
                port=port,
                url_path=urlsplit(webhook_url).path.lstrip("/"),
                webhook_url=webhook_url,
                secret_token=secret,  # PTB answers 403 to a request without it
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=3,
            )
        else:
            app.run_polling(
                timeout=telegram.poll_timeout,
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=3,
            )
    except UserError as err:
        raise UserError(redact(str(err))) from None
    except Exception as err:
        if debug:  # the traceback; log redaction keeps the token out of it
            raise
        raise UserError(redact(f"{type(err).__name__}: {err}")) from None
    return 0


def webhook_secret(telegram: TelegramSettings) -> str:
    """`TELEGRAM_WEBHOOK_SECRET`, or a random one for this run: a webhook without a secret
    would obey anyone who can reach the port. Registered for redaction either way."""
    secret = telegram.webhook_secret or secrets.token_urlsafe(32)  # [A-Za-z0-9_-], as Telegram asks
    register_secret(secret)
    install_log_redaction(secret)
    return secret
