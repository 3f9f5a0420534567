"""An article page on the web → :class:`index.readers.Article`.

trafilatura finds the main text, title, site name and canonical URL; its
metadata step uses htmldate for the publication date. Two things are done
around it:

- Decoding. The charset comes from the HTTP header, else the page's own
  ``<meta charset>``/``http-equiv``, else UTF-8, else Windows-1256 (still common
  on older Persian sites), so trafilatura always receives text, never a guess.
- ZWNJ. trafilatura drops every character that is not "printable" and U+200C is a
  format character, so "نمی‌شود" came out as "نمیشود". It is swapped for a printable
  placeholder before extraction and back afterwards (`_protect_zwnj`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from urllib.parse import urljoin, urlsplit, urlunsplit

import trafilatura
from courlan import normalize_url

from index.fetching import Fetcher, FetchResult
from index.readers import Article, parse_news_text

log = logging.getLogger(__name__)

MIN_TEXT_CHARS = 100  # less than this after extraction is a page without an article
ZWNJ = "\u200c"
_PLACEHOLDER = "\U0001d11e"  # a printable symbol no Persian page uses, kept by trafilatura
_ZWNJ_ENTITY_RE = re.compile(r"&(?:zwnj|#8204|#x200c);", re.I)
_META_CHARSET_RE = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I
)  # both <meta charset=…> and <meta http-equiv=… content="text/html; charset=…">


class ExtractError(Exception):
    """A page that gives no article; `str()` is one line naming the URL and why."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


def normalized_url(url: str) -> str:
    """One spelling per page: scheme and host in lower case, default port, tracking
    parameters and fragment gone, non-ASCII path percent-encoded (courlan)."""
    try:
        url = normalize_url(url, strict=True)
    except Exception:  # courlan raises plain ValueErrors on odd input; keep the URL as is
        log.debug("cannot normalize %s", url)
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def article_id_for(url: str) -> str:
    """A stable id from the canonical URL: a page indexed twice is one article."""
    return "web_" + hashlib.sha1(normalized_url(url).encode()).hexdigest()[:16]


def decode_html(content: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """The page's text and the encoding used: HTTP header, meta charset, UTF-8, Windows-1256."""
    candidates = []
    if header_charset:
        candidates.append(header_charset)
    meta = _META_CHARSET_RE.search(content[:4096])
    if meta:
        candidates.append(meta.group(1).decode("ascii", "replace"))
    for name in candidates:
        try:
            return content.decode(name), name.lower()
        except (LookupError, UnicodeDecodeError):
            log.debug("declared charset %s does not decode the page", name)
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return content.decode("cp1256", errors="replace"), "windows-1256"


_ARABIC_TO_PERSIAN = str.maketrans({"\u064a": "\u06cc", "\u0643": "\u06a9"})


def persian_letters(text: str, encoding: str) -> str:
    """Windows-1256 has no Persian yeh: its pages write the Arabic one (and often the Arabic
    kaf). Shown and cited text uses the Persian letters, as the page's readers see them."""
    if encoding.replace("-", "").replace("_", "").lower() in ("windows1256", "cp1256"):
        return text.translate(_ARABIC_TO_PERSIAN)
    return text


def _protect_zwnj(html: str) -> str:
    return _ZWNJ_ENTITY_RE.sub(_PLACEHOLDER, html).replace(ZWNJ, _PLACEHOLDER)


def _restore_zwnj(text: str | None) -> str:
    return (text or "").replace(_PLACEHOLDER, ZWNJ).strip()


def _same_site(a: str, b: str) -> bool:
    def host(url: str) -> str:
        name = (urlsplit(url).hostname or "").lower()
        return name[4:] if name.startswith("www.") else name

    return host(a) == host(b)


def extract_article(html: str, url: str, favor_precision: bool = True) -> Article:
    """The article in a decoded page fetched from `url`. Raises ExtractError.

    The canonical URL (``<link rel=canonical>`` or ``og:url``) names the article when
    it is on the same site; a page claiming another site's URL keeps its own."""
    if _PLACEHOLDER in html:
        raise ExtractError(url, "the page holds an unsupported character (U+1D11E)")
    # Tables off first: older sites lay the whole page out in tables, and their menus
    # would come out as "| cell |" text; a page whose article is a table gets a second try.
    for tables in (False, True):
        document = trafilatura.bare_extraction(
            _protect_zwnj(html),
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=tables,
            include_images=False,
            include_links=False,
            favor_precision=favor_precision,
            deduplicate=False,
        )
        title = _restore_zwnj(document.title) if document else ""
        text = _restore_zwnj(document.text) if document else ""
        lines = text.split("\n")
        if lines and title and lines[0].strip() == title:  # the <h1> repeats the title
            text = "\n".join(lines[1:]).strip()
        if len(text) >= MIN_TEXT_CHARS:
            break
    else:
        raise ExtractError(url, "no article text found on the page")
    canonical = urljoin(url, document.url) if document.url else url
    if not canonical.startswith(("http://", "https://")) or not _same_site(canonical, url):
        canonical = url
    canonical = normalized_url(canonical)
    article = parse_news_text(text, article_id_for(canonical), path=url)
    if title:
        article.title = title
    site = _restore_zwnj(document.sitename)
    if site and site not in article.sources:
        article.sources.insert(0, site)
    if not article.sources:
        article.sources.append(urlsplit(canonical).hostname or "")
    article.url = canonical
    article.published = document.date or ""
    return article


def fetch_article(url: str, fetcher: Fetcher) -> Article:
    """Fetch and extract one page. Raises FetchError or ExtractError (one line each)."""
    return page_article(fetcher.fetch(url, html_only=True), url)


def page_article(result: FetchResult, original_url: str) -> Article:
    """The article in an already fetched page; errors name the URL asked for."""
    html, encoding = decode_html(result.content, result.charset)
    log.debug("%s decoded as %s", result.url, encoding)
    html = persian_letters(html, encoding)
    try:
        return extract_article(html, result.url)
    except ExtractError as err:
        raise ExtractError(original_url, err.reason) from None
