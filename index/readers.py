"""Reading articles from .txt, .md, .json, .jsonl files and folders.

Every problem becomes a :class:`ReadProblem` (file, line, one-line message)
instead of an exception, so that one bad file never stops the good ones in the
same run from landing.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".txt", ".md", ".json", ".jsonl")
DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
TITLE_MAX_CHARS = 90

# News agencies and sites often named in a lead without a comma after them
# ("به گزارش راهبرد معاصر حسین ..."): the name cannot be delimited otherwise.
KNOWN_SOURCES = (
    "ایرنا", "ایسنا", "ایلنا", "فارس", "تسنیم", "مهر", "عصرایران", "عصر ایران", "خبرآنلاین",
    "همشهری", "همشهری آنلاین", "تابناک", "انتخاب", "اعتماد", "شرق", "کیهان", "جام جم",
    "صدا و سیما", "باشگاه خبرنگاران جوان", "دیپلماسی ایرانی", "راهبرد معاصر", "خبرمهم",
    "یورونیوز", "بی بی سی", "اسپوتنیک", "تاس", "ریانووستی", "الجزیره", "رویترز", "آسوشیتدپرس",
    "فرانس پرس", "پایگاه اطلاع رسانی دولت", "وزارت امور خارجه",
)  # fmt: skip
_SOURCE_PREFIX_RE = re.compile(
    r"^(?:(?:بخش|سرویس|گروه)\s+\S+\s+)?(?:سایت|خبرگزاری|پایگاه خبری|روزنامه|شبکه|"
    r"پایگاه اطلاع\s*رسانی)?\s*"
)
_LEAD_RE = re.compile(r"به\s*گزارش\s+")
_SIGNATURE_RE = re.compile(r"[.!؟?»\s]/\s*([^\s/.][^/\n]{0,40}?)\s*$")


@dataclass
class Article:
    id: str
    title: str
    text: str
    sources: list[str] = field(default_factory=list)
    url: str = ""
    published: str = ""
    path: str = ""

    @property
    def source(self) -> str:
        return "، ".join(self.sources)


@dataclass(frozen=True)
class ReadProblem:
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass
class ReadResult:
    articles: list[Article] = field(default_factory=list)
    problems: list[ReadProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. which encoding was used

    def extend(self, other: ReadResult) -> None:
        self.articles.extend(other.articles)
        self.problems.extend(other.problems)
        self.notes.extend(other.notes)


class _Skip(Exception):
    """One file (or line) cannot be read; the message names why."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def iter_article_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The given files, and every article file under the given folders, sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in ARTICLE_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            yield path


def read_paths(paths: Iterable[Path], max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> ReadResult:
    result = ReadResult()
    for path in iter_article_files(paths):
        result.extend(read_file(path, max_file_bytes))
    return result


def read_file(
    path: Path, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, display_name: str | None = None
) -> ReadResult:
    """Read one file; `display_name` names it in messages (an upload's name, not a path)."""
    name = display_name or str(path)
    result = ReadResult()
    try:
        if not path.exists():
            raise _Skip("no such file or folder")
        suffix = path.suffix.lower()
        if suffix not in ARTICLE_SUFFIXES:
            raise _Skip(f"unsupported file type {suffix or '(none)'}; use .txt, .md, .json, .jsonl")
        size = path.stat().st_size
        if size > max_file_bytes:
            raise _Skip(
                f"file is {size / 1e6:.1f} MB, over the {max_file_bytes / 1e6:.0f} MB limit "
                "(PASOKH_MAX_FILE_MB)"
            )
        text, encoding = decode_bytes(path.read_bytes())
        if encoding not in ("utf-8", "ascii"):
            result.notes.append(f"{name}: read as {encoding}")
        if not text.strip():
            raise _Skip("empty file")
        stem = Path(display_name).stem if display_name else path.stem
        if suffix == ".txt":
            result.articles.append(parse_news_text(text, article_id=stem, path=name))
        elif suffix == ".md":
            result.articles.append(parse_markdown(text, article_id=stem, path=name))
        elif suffix == ".json":
            _parse_json_document(text, stem, name, result)
        else:
            _parse_jsonl(text, stem, name, result)
    except _Skip as skip:
        result.problems.append(ReadProblem(name, str(skip), skip.line))
    except OSError as err:
        result.problems.append(ReadProblem(name, f"cannot read: {err.strerror or err}"))
    return result


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode with a BOM if there is one, else UTF-8, else Windows-1256 (common for Persian)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8 with BOM"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as err:
            raise _Skip(f"undecodable UTF-16 text at byte {err.start}") from None
    if b"\x00" in data[:8192]:
        raise _Skip("binary file, not text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1256")
    except UnicodeDecodeError as err:
        raise _Skip(
            f"undecodable text (not UTF-8, UTF-16 or Windows-1256) at byte {err.start}"
        ) from None
    if _looks_binary(text):
        raise _Skip("binary file, not text")
    return text, "Windows-1256"


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    return controls > len(sample) * 0.05


def parse_news_text(text: str, article_id: str, path: str = "") -> Article:
    """A plain news text: agency from the lead and the signature, title from the first sentence."""
    text = text.replace("\r\n", "\n").strip()
    sources: list[str] = []
    signature = _SIGNATURE_RE.search(text)
    if signature and len(signature.group(1).split()) <= 4:
        text = text[: signature.start() + 1].rstrip()
    lead = _lead_source(text)
    if lead:
        sources.append(lead)
    for m in _LEAD_RE.finditer(text):
        name = _source_after(text, m.end(), require_comma=True)
        if name and name not in sources:
            sources.append(name)
    if signature and signature.group(1).strip() not in sources:
        sources.append(signature.group(1).strip())
    if not text:
        raise _Skip("article has no text")
    return Article(
        id=article_id, title=title_from_text(text), text=text, sources=sources, path=path
    )


def _lead_source(text: str) -> str:
    m = _LEAD_RE.match(text)
    return _source_after(text, m.end(), require_comma=False) if m else ""


def _source_after(text: str, start: int, require_comma: bool) -> str:
    window = text[start : start + 80]
    comma = re.search(r"[،,:]", window)
    if comma and len(window[: comma.start()].split()) <= 7:
        return _SOURCE_PREFIX_RE.sub("", window[: comma.start()].strip()).strip()
    if require_comma:
        return ""
    for known in sorted(KNOWN_SOURCES, key=len, reverse=True):
        if window.startswith(known):
            return known
    return " ".join(window.split()[:2])


def title_from_text(text: str) -> str:
    """The first sentence without its "به گزارش …،" lead, cut at a word boundary."""
    first = re.split(r"(?<=[.!?؟])\s|\n", text.strip(), maxsplit=1)[0]
    lead = _LEAD_RE.match(first)
    if lead:
        source = _source_after(first, lead.end(), require_comma=False)
        rest = first[lead.end() :]
        cut = rest.find(source) + len(source) if source and source in rest else 0
        first = rest[cut:].lstrip(" ،,:")
    first = first.rstrip(".")
    if len(first) <= TITLE_MAX_CHARS:
        return first
    return first[:TITLE_MAX_CHARS].rsplit(" ", 1)[0] + "…"


_FRONT_MATTER_RE = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)


def parse_markdown(text: str, article_id: str, path: str = "") -> Article:
    """Markdown with optional YAML front matter (title, date, source, url)."""
    text = text.replace("\r\n", "\n")
    meta: dict = {}
    m = _FRONT_MATTER_RE.match(text)
    if m:
        try:
            meta = yaml.safe_load(m.group(1)) or {}
        except yaml.YAMLError as err:
            line = getattr(getattr(err, "problem_mark", None), "line", None)
            raise _Skip(
                "malformed front matter", line=line + 2 if line is not None else 2
            ) from None
        if not isinstance(meta, dict):
            raise _Skip("front matter is not a mapping of fields", line=2)
        text = text[m.end() :]
    body_lines = []
    title = str(meta.get("title") or "").strip()
    for line in text.strip().split("\n"):
        heading = re.match(r"^#{1,6}\s+(.*)", line)
        if heading and not title:
            title = heading.group(1).strip()
            continue
        body_lines.append(heading.group(1) if heading else line)
    body = "\n".join(body_lines).strip()
    if not body:
        raise _Skip("article has no text")
    article = parse_news_text(body, article_id, path)
    return _with_fields(article, {**meta, "title": title} if title else meta)


def _with_fields(article: Article, fields: dict) -> Article:
    if fields.get("title"):
        article.title = str(fields["title"]).strip()
    source = fields.get("source") or fields.get("agency")
    if source:
        given = [source] if isinstance(source, str) else [str(s) for s in source]
        article.sources = given + [s for s in article.sources if s not in given]
    article.url = str(fields.get("url") or "")
    published = fields.get("published") or fields.get("date") or ""
    article.published = str(published)
    return article


def article_from_record(record: object, fallback_id: str, path: str) -> Article:
    if not isinstance(record, dict):
        raise _Skip("expected a JSON object with id, title and text")
    text = record.get("text") or record.get("body") or record.get("content")
    if not isinstance(text, str) or not text.strip():
        raise _Skip("article has no text (fields text or body)")
    article_id = str(record.get("id") or fallback_id).strip()
    article = parse_news_text(text, article_id, path)
    return _with_fields(article, record)


def _parse_json_document(text: str, stem: str, name: str, result: ReadResult) -> None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise _Skip(f"malformed JSON: {err.msg} (column {err.colno})", line=err.lineno) from None
    records = data if isinstance(data, list) else [data]
    for i, record in enumerate(records, start=1):
        fallback = stem if len(records) == 1 else f"{stem}-{i}"
        try:
            result.articles.append(article_from_record(record, fallback, name))
        except _Skip as skip:
            where = f"item {i}: " if isinstance(data, list) else ""
            result.problems.append(ReadProblem(name, where + str(skip)))


def _parse_jsonl(text: str, stem: str, name: str, result: ReadResult) -> None:
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise _Skip(f"malformed JSON: {err.msg} (column {err.colno})") from None
            result.articles.append(article_from_record(record, f"{stem}-{lineno}", name))
        except _Skip as skip:
            result.problems.append(ReadProblem(name, str(skip), lineno))
