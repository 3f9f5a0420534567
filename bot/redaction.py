"""Keeping secrets out of what pasokh prints: the bot token, the webhook secret, the
language model's API key.

The log-record redaction in the Telegram code covers logs only. A traceback printed under
``--debug`` bypasses logging (an exception carries the token in its message or in a
chained error's request URL), so :func:`format_exception` cleans it too. The secrets are
taken from the environment the settings are read from, plus any registered at run time,
plus anything shaped like a Bot API token, so this works before any settings object
exists and whichever code raised.
"""

from __future__ import annotations

import os
import re
import traceback
from pathlib import Path
from urllib.parse import quote

PLACEHOLDER = "<token>"
SECRET_VARIABLES = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "PASOKH_LLM_API_KEY")
SECRET_FILE_VARIABLES = ("TELEGRAM_BOT_TOKEN_FILE",)
# "<bot id>:<35 characters>", as @BotFather issues them.
_BOT_TOKEN_RE = re.compile(r"(?<!\d)\d{5,16}:[A-Za-z0-9_-]{30,}")
_MIN_SECRET_CHARS = 6  # shorter values would blank out ordinary words

_registered: set[str] = set()


def register_secret(value: str) -> None:
    """Redact `value` from now on (e.g. a webhook secret generated at start-up)."""
    if len(value.strip()) >= _MIN_SECRET_CHARS:
        _registered.add(value.strip())


def known_secrets(env: os._Environ[str] | dict[str, str] | None = None) -> set[str]:
    env = os.environ if env is None else env
    found = set(_registered)
    for name in SECRET_VARIABLES:
        found.add(env.get(name, "").strip())
    for name in SECRET_FILE_VARIABLES:
        path = env.get(name, "").strip()
        if path:
            try:
                found.add(Path(path).read_text(encoding="utf-8").strip())
            except (OSError, UnicodeDecodeError):
                pass
    return {s for s in found if len(s) >= _MIN_SECRET_CHARS}


def redact(text: str, env: os._Environ[str] | dict[str, str] | None = None) -> str:
    """`text` with every known secret, raw or URL-quoted, and every token-shaped string
    replaced by ``<token>``."""
    for secret in sorted(known_secrets(env), key=len, reverse=True):
        text = text.replace(secret, PLACEHOLDER).replace(quote(secret, safe=""), PLACEHOLDER)
    return _BOT_TOKEN_RE.sub(PLACEHOLDER, text)


def format_exception(err: BaseException) -> str:
    """The full traceback (chained causes included), redacted."""
    return redact("".join(traceback.format_exception(err)))
