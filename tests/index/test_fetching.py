"""The fetcher against a local site: bad input is one line naming the URL, the rest works."""

from __future__ import annotations

import httpx
import pytest

from index import fetching
from index.fetching import Fetcher, FetchError, FetchSettings, check_url
from tests.support import news_site

LOCAL = FetchSettings(host_delay=0, backoff=0, allow_private=True, max_bytes=100_000)


@pytest.fixture()
def site():
    site = news_site.NewsSite()
    yield site
    site.close()


@pytest.fixture()
def fetcher():
    with Fetcher(LOCAL) as fetcher:
        yield fetcher


def test_page_fetched_with_type_charset_and_validators(site, fetcher):
    url = site.add_page(news_site.ARTICLES[0])
    result = fetcher.fetch(url, html_only=True)
    assert result.status == 200 and result.is_html and result.charset == "utf-8"
    assert "مسقط".encode() in result.content
    again = fetcher.fetch(url, html_only=True, etag=result.etag)
    assert again.not_modified and again.content == b""


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda s: s.url("/no/such/page"), "HTTP 404"),
        (lambda s: s.redirect("/loop-a", s.url("/loop-b")) and s.redirect("/loop-b", s.url("/loop-a")) and s.url("/loop-a"), "redirect loop"),
        (lambda s: s.add("/big", b"x" * 200_000), "over the"),
        (lambda s: s.add("/stream", b"x" * 200_000, send_length=False), "over the"),
        (lambda s: s.add("/report.pdf", b"%PDF-1.4", "application/pdf"), "not an HTML page (content type application/pdf)"),
        (lambda s: s.add("/down", b"", status=503), "HTTP 503 after 3 attempts"),
        (lambda s: s.add("/slow-down", b"", status=429), "HTTP 429 after 3 attempts"),
        (lambda s: s.add("/robots.txt", b"User-agent: *\nDisallow: /private/", "text/plain") and s.url("/private/memo"), "robots.txt"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_naming_the_url(site, fetcher, setup, reason):
    url = setup(site)
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url, html_only=True)
    message = str(caught.value)
    assert message.startswith(url + ": ") and reason in message and "\n" not in message


def test_retries_then_succeeds(site, fetcher):
    url = site.add("/flaky", "<html><body><p>سلام</p></body></html>".encode(), fail_times=2)
    assert fetcher.fetch(url).status == 200
    assert site.hits["/flaky"] == 3


def test_robots_can_be_ignored_and_is_read_once(site):
    site.add("/robots.txt", b"User-agent: Pasokh\nDisallow: /news/", "text/plain")
    url = site.add_page(news_site.ARTICLES[0])
    with Fetcher(LOCAL) as polite, pytest.raises(FetchError, match=r"robots\.txt"):
        polite.fetch(url)
    other = site.add_page(news_site.ARTICLES[1])  # under /fa/news/: allowed
    with Fetcher(LOCAL) as polite:
        polite.fetch(other)
        polite.fetch(other)
    assert site.hits["/robots.txt"] == 2  # once per fetcher
    with Fetcher(FetchSettings(**{**LOCAL.__dict__, "respect_robots": False})) as rude:
        assert rude.fetch(url).status == 200


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://news.example/feed.xml", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http://127.0.0.1:8080/admin", "non-public address 127.0.0.1"),
        ("http://localhost/", "non-public address"),
        ("http://[::1]/", "non-public address ::1"),
        ("http://[::ffff:10.0.0.5]/", "non-public address 10.0.0.5"),
        ("http://169.254.169.254/latest/meta-data", "non-public address 169.254.169.254"),
        ("http://192.168.1.1/", "non-public address"),
        ("http://0.0.0.0/", "non-public address"),
        ("http://news.test:port/", "malformed URL"),
        ("https:///news/1", "no host"),
    ],
)
def test_unsafe_urls_refused(url, reason):
    with pytest.raises(FetchError, match=reason.replace(".", r"\.").replace("[", r"\[")):
        check_url(url, allow_private=False)


def test_public_address_passes_the_check():
    check_url("http://93.184.216.34/news/1", allow_private=False)  # an IP literal: no DNS


def test_private_allowed_only_when_asked(site):
    url = site.add_page(news_site.ARTICLES[0])
    with (
        Fetcher(FetchSettings(host_delay=0)) as fetcher,
        pytest.raises(FetchError, match="non-public"),
    ):
        fetcher.fetch(url)
    with Fetcher(FetchSettings(host_delay=0, allow_private=True)) as fetcher:
        assert fetcher.fetch(url).status == 200


def test_redirect_to_a_private_address_is_refused_before_connecting():
    """A public page bouncing the fetcher to an internal service: the hop is never made."""
    requested: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        assert "Pasokh" in request.headers["user-agent"]
        return httpx.Response(302, headers={"Location": "http://127.0.0.1:6379/"})

    settings = FetchSettings(host_delay=0, backoff=0, respect_robots=False)
    with Fetcher(settings, transport=httpx.MockTransport(handler)) as fetcher:
        with pytest.raises(FetchError, match=r"non-public address 127\.0\.0\.1"):
            fetcher.fetch("http://93.184.216.34/news/1")
    assert requested == ["http://93.184.216.34/news/1"]


def test_per_host_delay(site, monkeypatch):
    """The second request to one host waits; the clock is observed, not timed."""
    waits: list[float] = []
    monkeypatch.setattr(fetching.time, "sleep", waits.append)
    url = site.add_page(news_site.ARTICLES[0])
    with Fetcher(FetchSettings(**{**LOCAL.__dict__, "host_delay": 30.0})) as fetcher:
        fetcher.fetch(url)  # robots.txt, then the page: one wait
        assert len(waits) == 1 and 29 < waits[0] <= 30
