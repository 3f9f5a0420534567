"""Reading articles from .txt, .md, .json, .jsonl files and folders.

Every problem becomes a :class:`ReadProblem` (file, line, one-line message)
instead of an exception, so that one bad file never stops the good ones in the
same run from landing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from index.decoding import Skip as _Skip
from index.decoding import decode_bytes, replaced_bytes_note
from index.front_matter import split_front_matter

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".txt", ".md", ".json", ".jsonl")
DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
TITLE_MAX_CHARS = 90
ID_MAX_CHARS = 200

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
        """One printable line: a file name holding control characters (an escape
        sequence, a newline) shows them escaped instead of acting on the terminal."""
        where = f"{self.path}:{self.line}" if self.line else self.path
        return _printable(f"{where}: {self.message}")


def _printable(text: str) -> str:
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) == "Cc" else ch
        for ch in text
    )


@dataclass
class ReadResult:
    articles: list[Article] = field(default_factory=list)
    problems: list[ReadProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. which encoding was used

    def extend(self, other: ReadResult) -> None:
        self.articles.extend(other.articles)
        self.problems.extend(other.problems)
        self.notes.extend(other.notes)


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
    """Every article under `paths`; an id met again in a later file is skipped and named,
    since the later article would otherwise silently replace the earlier one."""
    result = ReadResult()
    first_seen: dict[str, str] = {}
    for path in iter_article_files(paths):
        one = read_file(path, max_file_bytes)
        for article in one.articles:
            if article.id in first_seen:
                one.problems.append(
                    ReadProblem(
                        article.path,
                        f"id {article.id!r} was already read from {first_seen[article.id]}; "
                        "this one is skipped",
                    )
                )
            else:
                first_seen[article.id] = article.path
                result.articles.append(article)
        result.problems.extend(one.problems)
        result.notes.extend(one.notes)
    return result


def read_file(
    path: Path,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    display_name: str | None = None,
    content_ids: bool = False,
) -> ReadResult:
    """Read one file; `display_name` names it in messages (an upload's name, not a path).

    A .txt or .md article's id is its file name, unless `content_ids` (for uploads, whose
    names are not unique: two "news.txt" must not replace each other) derives it from the
    text. JSON records without an id always get one derived from their text.
    """
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
        data = path.read_bytes()
        text, encoding = decode_bytes(data)
        if encoding not in ("utf-8", "ascii"):
            result.notes.append(f"{name}: read as {encoding}")
        replaced = replaced_bytes_note(data, text, encoding)
        if replaced:
            result.notes.append(f"{name}: {replaced}")
        if not text.strip():
            raise _Skip("empty file")
        stem = Path(display_name).stem if display_name else path.stem
        if content_ids and suffix in (".txt", ".md"):
            stem = content_id(text)
        if suffix == ".txt":
            result.articles.append(parse_news_text(text, article_id=stem, path=name))
        elif suffix == ".md":
            result.articles.append(parse_markdown(text, article_id=stem, path=name))
        elif suffix == ".json":
            _parse_json_document(text, name, result)
        else:
            _parse_jsonl(text, name, result)
        if not result.articles and not result.problems:  # "[]", or JSON lines all blank
            raise _Skip("no articles in the file")
    except _Skip as skip:
        result.problems.append(ReadProblem(name, str(skip), skip.line))
    except OSError as err:
        result.problems.append(ReadProblem(name, f"cannot read: {err.strerror or err}"))
    return result


def content_id(text: str) -> str:
    """An id from the text itself: the same article read twice gets the same id, and two
    different articles from files that share a name do not replace each other."""
    digest = hashlib.sha256(" ".join(text.split()).encode("utf-8", "surrogatepass"))
    return "h" + digest.hexdigest()[:16]


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


def parse_markdown(text: str, article_id: str, path: str = "") -> Article:
    """Markdown with optional YAML front matter (title, date, source, url)."""
    text = text.replace("\r\n", "\n")
    meta, text = split_front_matter(text)
    body_lines = []
    title = _field(meta, "title", scalars=True).strip()
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
    return _with_fields(article, {**meta, "title": title} if title else meta, scalars=True)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"


def _field(fields: dict, *names: str, scalars: bool = False) -> str:
    """The first of `names` that is set, as text; a named skip when it holds a list, an
    object or (in JSON, unless `scalars`) a number: a record that malformed is not guessed at.

    YAML turns ``title: 1402`` and ``date: 2023-03-28`` into a number and a date, so front
    matter passes `scalars` and gets them back as text.
    """
    for name in names:
        value = fields.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, str):
            return value
        is_scalar = isinstance(value, (int, float, dt.date)) and not isinstance(value, bool)
        if is_scalar and (scalars or name in ("published", "date")):
            return str(value)
        raise _Skip(f'field "{name}" is {_kind(value)}, expected text')
    return ""


def _with_fields(article: Article, fields: dict, scalars: bool = False) -> Article:
    title = _field(fields, "title", scalars=scalars).strip()
    if title:
        article.title = title
    source = fields.get("source") or fields.get("agency")
    if source:
        name = "source" if fields.get("source") else "agency"
        items = source if isinstance(source, list) else [source]
        if not all(isinstance(s, str) or (scalars and isinstance(s, (int, float))) for s in items):
            raise _Skip(f'field "{name}" is {_kind(source)}, expected text or a list of texts')
        given = [str(s).strip() for s in items if str(s).strip()]
        article.sources = given + [s for s in article.sources if s not in given]
    article.url = _field(fields, "url", scalars=scalars).strip()
    article.published = _field(fields, "published", "date", scalars=scalars).strip()
    return article


def _record_id(record: dict, text: str) -> str:
    """The record's own id, or one derived from its text; an empty or unprintable id is
    refused rather than turned into "" (which every such record would then share)."""
    if "id" not in record or record["id"] is None:
        return content_id(text)
    raw = record["id"]
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise _Skip(f'field "id" is {_kind(raw)}, expected text')
    article_id = str(raw).strip()
    if not article_id:
        raise _Skip('the id is empty; give a real id or leave "id" out to derive one')
    if len(article_id) > ID_MAX_CHARS:
        raise _Skip(f"the id is over {ID_MAX_CHARS} characters")
    if any(unicodedata.category(ch) == "Cc" for ch in article_id):
        raise _Skip("the id holds control characters")
    return article_id


def article_from_record(record: object, path: str) -> Article:
    if not isinstance(record, dict):
        raise _Skip("expected a JSON object with id, title and text")
    text = _field(record, "text", "body", "content")
    if not text.strip():
        raise _Skip("article has no text (fields text or body)")
    article = parse_news_text(text, _record_id(record, text), path)
    return _with_fields(article, record)


def _load_json(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise _Skip(f"malformed JSON: {err.msg} (column {err.colno})", line=err.lineno) from None
    except RecursionError:
        raise _Skip("JSON nested too deeply") from None
    except ValueError as err:  # e.g. an integer of more than 4,300 digits
        raise _Skip(f"malformed JSON: {err}") from None


def _parse_json_document(text: str, name: str, result: ReadResult) -> None:
    data = _load_json(text)
    records = data if isinstance(data, list) else [data]
    seen: dict[str, int] = {}
    for i, record in enumerate(records, start=1):
        where = f"item {i}: " if isinstance(data, list) else ""
        try:
            article = article_from_record(record, name)
            if article.id in seen:
                raise _Skip(f"id {article.id!r} already used by item {seen[article.id]}; skipped")
            seen[article.id] = i
            result.articles.append(article)
        except _Skip as skip:
            result.problems.append(ReadProblem(name, where + str(skip)))


def _parse_jsonl(text: str, name: str, result: ReadResult) -> None:
    """One record a line. Lines end at "\\n" only: `str.splitlines` also splits at
    U+2028 and other separators that are valid inside a JSON string."""
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            try:
                record = _load_json(line)
            except _Skip as skip:
                raise _Skip(str(skip)) from None  # the file's line, not the record's
            article = article_from_record(record, name)
            if article.id in seen:
                raise _Skip(f"id {article.id!r} already used on line {seen[article.id]}; skipped")
            seen[article.id] = lineno
            result.articles.append(article)
        except _Skip as skip:
            result.problems.append(ReadProblem(name, str(skip), lineno))
