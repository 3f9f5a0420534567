"""Versions: small manifests that list segments, swapped atomically through CURRENT.

A version is a folder ``versions/<name>/`` holding ``manifest.json`` (and the
version's tombstones). Segments and the catalog are shared between versions, so
a new version costs what changed. ``CURRENT`` names the live version and is
replaced by rename; it is validated (a bare name, never a path) and, when it or
its manifest is damaged, readers fall back to the newest loadable version with
one warning naming the file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)

KEEP_OLD_VERSIONS = 2
LOCK_TIMEOUT_S = 600.0
_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,80}$")


class IndexProblem(Exception):
    """A problem with the index directory that the user can act on."""


class IndexMissing(IndexProblem):
    pass


class ModelMismatch(IndexProblem):
    pass


class IndexBusy(IndexProblem):
    """Another writer held the lock longer than we were willing to wait."""


def valid_name(name: str) -> bool:
    """A version or segment name is one path component of safe characters (no ``..``)."""
    return bool(_NAME.match(name)) and ".." not in name


def version_dir(index_dir: Path, version: str) -> Path:
    return index_dir / "versions" / version


def new_version_name(gen: int) -> str:
    """Names sort in the order versions were made (the generation first, then the time)."""
    return f"g{gen:08d}-" + time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def _named_version(index_dir: Path) -> str | None:
    try:
        return (index_dir / "CURRENT").read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _load_manifest(index_dir: Path, version: str) -> dict:
    manifest = json.loads((version_dir(index_dir, version) / "manifest.json").read_text("utf-8"))
    if not isinstance(manifest, dict) or manifest.get("version") != version:
        raise ValueError("manifest does not describe its own version")
    for segment in manifest.get("segments", []):
        if not valid_name(segment["name"]):
            raise ValueError(f"bad segment name {segment['name']!r}")
    return manifest


def _loadable(index_dir: Path) -> list[str]:
    """Version folders, newest first (names start with their generation)."""
    root = index_dir / "versions"
    if not root.is_dir():
        return []
    names = [p.name for p in root.iterdir() if p.is_dir() and valid_name(p.name)]
    return sorted(names, reverse=True)


def live_manifest(index_dir: Path) -> dict | None:
    """The manifest of the live version, healing a damaged CURRENT or manifest.

    Falls back to the newest older version that loads, with one warning naming
    the damaged file, so that a bad write or a careless edit does not stop the bot.
    """
    named = _named_version(index_dir)
    if named is None and not (index_dir / "versions").is_dir():
        return None
    problem = f"{index_dir / 'CURRENT'} is missing"
    if named is not None and not valid_name(named):
        problem = f"{index_dir / 'CURRENT'} names {named[:60]!r}, which is not a version name"
    elif named is not None and not version_dir(index_dir, named).is_dir():
        problem = f"{index_dir / 'CURRENT'} names version {named}, which is not on disk"
    elif named is not None:
        try:
            return _load_manifest(index_dir, named)
        except (OSError, ValueError, KeyError, TypeError) as error:
            problem = f"{version_dir(index_dir, named) / 'manifest.json'} is unreadable ({error})"
    for candidate in _loadable(index_dir):
        if candidate == named:
            continue
        try:
            manifest = _load_manifest(index_dir, candidate)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        log.warning("%s; using the newest whole version %s instead", problem, candidate)
        return manifest
    if named is not None:
        raise IndexMissing(f"{problem}, and no older version loads; run `pasokh index build`")
    return None


def current_version(index_dir: Path) -> str | None:
    """The live version's name (after healing), or None when there is no index."""
    manifest = live_manifest(Path(index_dir))
    return None if manifest is None else manifest["version"]


def read_manifest(index_dir: Path) -> dict:
    manifest = live_manifest(Path(index_dir))
    if manifest is None:
        raise IndexMissing(f"no index in {index_dir}; run `pasokh index build`")
    return manifest


def named_version(index_dir: Path) -> str | None:
    """What CURRENT says, unvalidated: cheap enough to poll before every answer."""
    return _named_version(Path(index_dir))


@contextlib.contextmanager
def writer_lock(index_dir: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """One writer at a time across processes (the bot's uploads and `pasokh index`).

    The wait is bounded: an upload during a long CLI build gets a clear message
    instead of hanging.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / ".lock"))
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise IndexBusy(
            f"another process is writing the index in {index_dir} (lock {index_dir / '.lock'}); "
            f"gave up after {timeout:.0f} s, try again when it has finished"
        ) from None
    try:
        yield
    finally:
        lock.release()


def write_manifest(index_dir: Path, manifest: dict) -> None:
    folder = version_dir(index_dir, manifest["version"])
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".manifest.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, folder / "manifest.json")
    fsync_dir(folder)
    fsync_dir(folder.parent)


def point_current(index_dir: Path, version: str) -> None:
    tmp = index_dir / f".CURRENT.{uuid.uuid4().hex[:8]}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(version + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / "CURRENT")
    fsync_dir(index_dir)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prune_versions(index_dir: Path, keep: str) -> list[dict]:
    """Keep the live version and a couple before it (a reader may still be on one).

    Returns the manifests still kept, so that the caller can drop segments and
    catalog rows that none of them needs.
    """
    names = _loadable(index_dir)
    older = [n for n in names if n < keep]
    newer = [n for n in names if n > keep]  # left by a crashed writer before CURRENT moved
    for name in older[KEEP_OLD_VERSIONS:] + newer:
        shutil.rmtree(version_dir(index_dir, name), ignore_errors=True)
    kept = []
    for name in [keep, *older[:KEEP_OLD_VERSIONS]]:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            kept.append(_load_manifest(index_dir, name))
    return kept
