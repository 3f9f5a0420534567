"""Article pages → Articles: the body kept, the chrome gone, ZWNJ and Windows-1256 intact."""

from __future__ import annotations

import pytest

from index.fetching import Fetcher, FetchError, FetchSettings
from index.web_articles import (
    ExtractError,
    article_id_for,
    decode_html,
    extract_article,
    fetch_article,
    normalized_url,
)
from tests.support import news_site

LOCAL = FetchSettings(host_delay=0, backoff=0, allow_private=True)


@pytest.fixture(scope="module")
def site():
    site = news_site.NewsSite()
    yield site
    site.close()


@pytest.fixture()
def fetcher():
    with Fetcher(LOCAL) as fetcher:
        yield fetcher


@pytest.mark.parametrize("page", news_site.ARTICLES, ids=lambda a: a.style)
def test_article_body_without_chrome(site, fetcher, page):
    url = site.add_page(page)
    article = fetch_article(url, fetcher)
    flat = " ".join(article.text.split())
    for paragraph in page.paragraphs:
        assert " ".join(paragraph.split()) in flat
    assert [c for c in news_site.CHROME if c in flat] == []
    assert article.title == page.title
    assert article.published == page.published
    assert article.sources[0] == page.agency
    assert article.url == normalized_url(url)
    assert article.id == article_id_for(url) and article.id.startswith("web_")


@pytest.mark.parametrize(
    ("page", "phrase"),
    [
        (news_site.ARTICLES[0], "برقرار نمی‌شود"),
        (news_site.ARTICLES[1], "کتاب‌ها"),
        (news_site.ARTICLES[2], "توصیه نمی‌شود"),  # Windows-1256, the Arabic yeh mended
        (news_site.ARTICLES[3], "پیش‌بینی می‌شود"),
    ],
    ids=["utf-8", "utf-8 plural", "windows-1256", "two"],
)
def test_zwnj_survives(site, fetcher, page, phrase):
    assert phrase in fetch_article(site.add_page(page), fetcher).text


def test_zwnj_written_as_entities_survives():
    body = "".join(
        f"<p>جلسه {i} برگزار شد و گفتند که بدون بودجه کار نمی&zwnj;شود و نمی&#8204;توان صبر کرد.</p>"
        for i in range(6)
    )
    html = f"<html><body><nav>منو</nav><article><h1>عنوان</h1>{body}</article></body></html>"
    text = extract_article(html, "http://news.test/a").text
    assert "نمی‌شود" in text and "نمی‌توان" in text and "نمیشود" not in text


@pytest.mark.parametrize(
    ("data", "header", "expected", "encoding"),
    [
        ("نمی‌شود".encode(), "utf-8", "نمی‌شود", "utf-8"),
        ("نمی‌شود".encode(), None, "نمی‌شود", "utf-8"),
        ('<meta charset="windows-1256">نمي‌شود'.encode("cp1256"), None, "نمي‌شود", "windows-1256"),
        ('<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">سلام'.encode("cp1256"), None, "سلام", "windows-1256"),
        ("سلام".encode("cp1256"), None, "سلام", "windows-1256"),  # no declaration at all
        ("سلام".encode("cp1256"), "utf-8", "سلام", "windows-1256"),  # a header that lies
        ("سلام".encode(), "no-such-charset", "سلام", "utf-8"),
    ],
)  # fmt: skip
def test_decode_html(data, header, expected, encoding):
    text, used = decode_html(data, header)
    assert text.endswith(expected) and used == encoding


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://News.Test/news/1", "http://news.test/news/1#comments", True),
        ("http://news.test/news/1?utm_source=rss", "http://news.test/news/1", True),
        ("http://news.test:80/خبر/۱", "http://news.test/%D8%AE%D8%A8%D8%B1/%DB%B1", True),
        ("http://news.test/news/1", "http://news.test/news/2", False),
        ("http://news.test/a?id=1", "http://news.test/a?id=2", False),
    ],
)
def test_article_id_from_url(a, b, same):
    assert (article_id_for(a) == article_id_for(b)) is same


def test_canonical_on_another_site_is_not_trusted():
    body = "".join(f"<p>متن خبر شماره {i} درباره بودجه سال آینده کشور است.</p>" for i in range(8))
    html = (
        '<html><head><link rel="canonical" href="http://other.test/x"></head>'
        f"<body><article><h1>عنوان</h1>{body}</article></body></html>"
    )
    article = extract_article(html, "http://news.test/news/7")
    assert article.url == "http://news.test/news/7"


@pytest.mark.parametrize(
    ("path", "body", "content_type", "reason"),
    [
        ("/only-chrome", "<html><body><nav>صفحه اصلی</nav><footer>کلیه حقوق محفوظ است</footer></body></html>", "text/html", "no article text"),
        ("/image.png", "PNG", "image/png", "not an HTML page (content type image/png)"),
        ("/gone", None, "", "HTTP 404"),
    ],
)  # fmt: skip
def test_page_problems_name_the_url(site, fetcher, path, body, content_type, reason):
    url = site.add(path, body.encode(), content_type) if body else site.url(path)
    with pytest.raises((ExtractError, FetchError)) as caught:
        fetch_article(url, fetcher)
    assert str(caught.value) == f"{url}: {caught.value.reason}" and reason in str(caught.value)
