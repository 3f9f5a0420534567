"""A polite, safe HTTP fetcher for article pages and feeds.

Polite: a User-Agent naming Pasokh, robots.txt respected, a delay between two
requests to the same host, retries with exponential backoff on 5xx and 429.
Safe: only http(s); every hop of a redirect is checked (scheme, resolved
address, robots.txt), so a public link cannot bounce the fetcher to the host's
internal services; private, loopback and link-local addresses are refused
unless allowed; every body is streamed and cut off at a size limit.

Redirects are followed by hand (httpx's automatic following would skip the
per-hop address check). The address check resolves the name before httpx
connects; a DNS answer that changes in between (rebinding) is not covered.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
import urllib.robotparser
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
import tenacity

log = logging.getLogger(__name__)

USER_AGENT = "Pasokh/0.1 (Persian news question answering; +https://github.com/pasokh/pasokh)"
ROBOTS_AGENT = "Pasokh"  # the token robots.txt rules name
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class FetchSettings:
    """How the fetcher behaves (bot.settings.Settings.fetch() fills it from the
    `PASOKH_FETCH_*` variables; index/ reads none)."""

    user_agent: str = USER_AGENT
    timeout: float = 20.0  # seconds, connect and each read
    max_bytes: int = 5 * 1024 * 1024
    host_delay: float = 1.0  # seconds between two requests to one host
    retries: int = 3  # attempts in all on 5xx, 429 and network errors
    backoff: float = 1.0  # first wait; doubles each retry (capped at 30 s)
    max_redirects: int = 5
    respect_robots: bool = True
    allow_private: bool = False


class FetchError(Exception):
    """A URL that cannot be fetched; `str()` is one line naming the URL and why."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class _Retryable(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


@dataclass
class FetchResult:
    url: str  # after redirects
    status: int  # 200, or 304 when a conditional GET found nothing new
    content: bytes
    content_type: str  # lower case, without parameters
    charset: str | None
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def is_html(self) -> bool:
        return self.content_type in HTML_TYPES


def check_url(url: str, allow_private: bool = False) -> None:
    """Refuse what the fetcher must not reach: other schemes and, unless allowed, any host
    that resolves to a private, loopback, link-local or otherwise non-public address."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise FetchError(url, f"malformed URL ({err})") from None
    if parts.scheme not in ("http", "https"):
        raise FetchError(url, f"only http and https URLs are fetched, not {parts.scheme or '?'}")
    host = parts.hostname
    if not host:
        raise FetchError(url, "no host in the URL")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, port or 80, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise FetchError(url, f"cannot resolve {host} ({err})") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise FetchError(
                url,
                f"{host} resolves to the non-public address {address}; refused "
                "(PASOKH_ALLOW_PRIVATE_URLS=1 allows it)",
            )


def _media_type(header: str) -> tuple[str, str | None]:
    kind, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'").lower()
    return kind.strip().lower(), charset


class Fetcher:
    """One HTTP client with its robots.txt cache and per-host clock; thread-safe enough
    for the bot's one sync job at a time. Use as a context manager or call `close()`."""

    def __init__(
        self, settings: FetchSettings | None = None, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings or FetchSettings()
        self._client = httpx.Client(
            headers={"User-Agent": self.settings.user_agent},
            timeout=self.settings.timeout,
            follow_redirects=False,
            transport=transport,
        )
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self._last_request: dict[str, float] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # -- public ------------------------------------------------------------------------
    def fetch(
        self,
        url: str,
        *,
        html_only: bool = False,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """GET `url` following redirects with every hop checked. `html_only` refuses other
        content types (an article page); `etag`/`last_modified` make it conditional."""
        return self._fetch(url, html_only, etag, last_modified, self.settings.respect_robots)

    def _fetch(
        self,
        url: str,
        html_only: bool,
        etag: str | None,
        last_modified: str | None,
        check_robots: bool,
    ) -> FetchResult:
        seen: set[str] = set()
        current = url
        for _ in range(self.settings.max_redirects + 1):
            if current in seen:
                raise FetchError(url, f"redirect loop (back to {current})")
            seen.add(current)
            check_url(current, self.settings.allow_private)
            if check_robots and not self._robots_allow(current):
                raise FetchError(url, f"robots.txt of {urlsplit(current).netloc} disallows it")
            headers = {}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            result, location = self._get(url, current, headers, html_only)
            if location is None:
                return result
            current = location
        raise FetchError(url, f"more than {self.settings.max_redirects} redirects")

    # -- one hop -------------------------------------------------------------------------
    def _get(
        self, original: str, url: str, headers: dict[str, str], html_only: bool
    ) -> tuple[FetchResult, str | None]:
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.settings.retries),
            wait=tenacity.wait_exponential(multiplier=self.settings.backoff, max=30),
            retry=tenacity.retry_if_exception_type((_Retryable, httpx.TransportError)),
            reraise=True,
        )
        try:
            return retrying(self._attempt, original, url, headers, html_only)
        except _Retryable as err:
            raise FetchError(
                original, f"HTTP {err.status} after {self.settings.retries} attempts"
            ) from None
        except httpx.TimeoutException:
            raise FetchError(original, f"timed out after {self.settings.timeout:g} s") from None
        except httpx.TransportError as err:
            raise FetchError(original, f"network error: {err or type(err).__name__}") from None

    def _attempt(
        self, original: str, url: str, headers: dict[str, str], html_only: bool
    ) -> tuple[FetchResult, str | None]:
        self._wait_for_host(url)
        with self._client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status in (429,) or status >= 500:
                log.info("%s: HTTP %s, retrying", url, status)
                raise _Retryable(status)
            if status == 304:
                return self._result(url, response, b""), None
            if response.is_redirect:
                location = response.headers.get("location")
                if not location:
                    raise FetchError(original, f"HTTP {status} redirect without a Location")
                return self._result(url, response, b""), urljoin(url, location)
            if status >= 400:
                reason = response.reason_phrase or ""
                raise FetchError(original, f"HTTP {status} {reason}".rstrip())
            result = self._result(url, response, b"")
            if html_only and result.content_type and not result.is_html:
                raise FetchError(original, f"not an HTML page (content type {result.content_type})")
            result.content = self._read_limited(original, response)
            return result, None

    def _read_limited(self, original: str, response: httpx.Response) -> bytes:
        limit = self.settings.max_bytes
        too_large = f"body over the {limit / 1024 / 1024:g} MB limit (PASOKH_FETCH_MAX_MB)"
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(original, too_large)
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise FetchError(original, too_large)
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _result(url: str, response: httpx.Response, content: bytes) -> FetchResult:
        kind, charset = _media_type(response.headers.get("content-type", ""))
        return FetchResult(
            url=url,
            status=response.status_code,
            content=content,
            content_type=kind,
            charset=charset,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )

    def _wait_for_host(self, url: str) -> None:
        host = urlsplit(url).netloc.lower()
        with self._lock:
            last = self._last_request.get(host)
            now = time.monotonic()
            if last is not None and now - last < self.settings.host_delay:
                time.sleep(self.settings.host_delay - (now - last))
            self._last_request[host] = time.monotonic()

    # -- robots.txt ------------------------------------------------------------------
    def _robots_allow(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = self._read_robots(origin)
        parser = self._robots[origin]
        return parser is None or parser.can_fetch(ROBOTS_AGENT, url)

    def _read_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | None:
        """RFC 9309: a 4xx robots.txt means no rules; a server error means stay away."""
        robots_url = origin + "/robots.txt"
        parser = urllib.robotparser.RobotFileParser(robots_url)
        try:
            result = self._fetch(robots_url, False, None, None, check_robots=False)
        except FetchError as err:
            if err.reason.startswith("HTTP 4"):
                return None
            log.warning("%s: robots.txt unreadable (%s); not fetching from it", origin, err.reason)
            parser.disallow_all = True
            return parser
        parser.parse(result.content.decode("utf-8", errors="replace").splitlines())
        return parser
