"""Feeds: the list, incremental sync, bad feeds and items, and answers from a fed page."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from index.feeds import add_feed, list_feeds, read_urls, remove_feed, sync_feeds
from index.fetching import Fetcher, FetchSettings
from index.store import update_index
from index.web_articles import article_id_for, normalized_url
from tests.support import news_site

LOCAL = FetchSettings(host_delay=0, backoff=0, allow_private=True, max_bytes=100_000)


class CountingEmbedder:
    """The real model, recording every passage it is asked to embed."""

    def __init__(self, embedder) -> None:
        self._embedder = embedder
        self.name, self.dimensions = embedder.name, embedder.dimensions
        self.max_tokens = embedder.max_tokens
        self.embedded: list[str] = []

    def encode_passages(self, texts: list[str]):
        self.embedded.extend(texts)
        return self._embedder.encode_passages(texts)

    def count_tokens(self, text: str) -> int:
        return self._embedder.count_tokens(text)

    def titles(self) -> set[str]:
        """Titles of the embedded passages ("title\ntext"); their sentences, embedded
        for the answerer, have no line break and no title."""
        return {text.split("\n", 1)[0] for text in self.embedded if "\n" in text}


@pytest.fixture()
def site():
    site = news_site.NewsSite()
    yield site
    site.close()


@pytest.fixture()
def fetcher():
    with Fetcher(LOCAL) as fetcher:
        yield fetcher


def test_feed_list_add_remove(tmp_path):
    assert add_feed(tmp_path, "https://www.irna.ir/rss")
    assert not add_feed(tmp_path, "https://www.irna.ir/rss ")
    assert add_feed(tmp_path, "https://www.tasnimnews.com/fa/rss/feed/0/7/0")
    assert [f.url for f in list_feeds(tmp_path)] == [
        "https://www.irna.ir/rss",
        "https://www.tasnimnews.com/fa/rss/feed/0/7/0",
    ]
    with pytest.raises(ValueError, match="http or https"):
        add_feed(tmp_path, "file:///etc/passwd")
    assert remove_feed(tmp_path, "https://www.irna.ir/rss")
    assert not remove_feed(tmp_path, "https://www.irna.ir/rss")
    assert [f.url for f in list_feeds(tmp_path)] == ["https://www.tasnimnews.com/fa/rss/feed/0/7/0"]
    assert json.loads((tmp_path / "feeds.json").read_text("utf-8"))["version"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".feeds.lock", "feeds.json"]


def _publish(site, articles, rss_path="/rss", atom_path="/atom.xml"):
    """Pages on the site, half listed in an RSS feed, half in an Atom feed."""
    urls = [site.add_page(a) for a in articles]
    half = len(articles) // 2
    site.add(
        rss_path,
        news_site.rss(list(zip(urls[:half], articles[:half], strict=True))),
        "application/rss+xml",
    )
    atom_items = [
        (u, a, f"{a.published}T06:00:00Z")
        for u, a in zip(urls[half:], articles[half:], strict=True)
    ]
    site.add(atom_path, news_site.atom(atom_items), "application/atom+xml")
    return urls  # fmt: skip


def test_sync_rss_and_atom_then_nothing_new(site, fetcher, tmp_path):
    urls = _publish(site, news_site.ARTICLES)
    add_feed(tmp_path, site.url("/rss"))
    add_feed(tmp_path, site.url("/atom.xml"))
    sync = sync_feeds(tmp_path, fetcher)
    assert sync.problems == [] and sync.notes == []
    assert sorted(a.url for a in sync.articles) == sorted(normalized_url(u) for u in urls)
    assert {a.title for a in sync.articles} == {a.title for a in news_site.ARTICLES}
    sync.save()
    assert {f.items for f in list_feeds(tmp_path)} == {2}
    hits = dict(site.hits)
    again = sync_feeds(tmp_path, fetcher)
    assert again.articles == [] and again.feeds_unchanged == 2 and again.pages_fetched == 0
    assert site.page_hits() == sum(n for p, n in hits.items() if "/news/" in p or "aspx" in p)


def test_bad_feeds_and_items_one_line_each_rest_lands(site, fetcher, tmp_path):
    good = news_site.ARTICLES[0]
    good_url = site.add_page(good)
    site.redirect("/news/loop-a", site.url("/news/loop-b"))
    site.redirect("/news/loop-b", site.url("/news/loop-a"))
    bad_pages = {
        site.url("/news/missing"): "HTTP 404",
        site.add("/news/empty", b"<html><body><nav>menu</nav></body></html>"): "no article text",
        site.url("/news/loop-a"): "redirect loop",
        site.add("/news/huge", b"<p>" + b"x" * 200_000): "over the",
        site.add("/news/clip.mp4", b"\0\0", "video/mp4"): "not an HTML page",
    }
    items = [(good_url, good)] + [
        (u, replace(good, title=f"خبر {i}")) for i, u in enumerate(bad_pages)
    ]
    site.add("/rss", news_site.rss(items, texts=False), "application/rss+xml")
    site.add("/not-xml", b"this is not a feed {", "application/rss+xml")
    for path in ("/rss", "/not-xml", "/gone.xml"):
        add_feed(tmp_path, site.url(path))
    sync = sync_feeds(tmp_path, fetcher)
    assert [a.url for a in sync.articles] == [normalized_url(good_url)]
    lines = [str(p) for p in sync.problems]
    assert len(lines) == len(bad_pages) + 2
    for url, reason in bad_pages.items():
        assert any(line.startswith(url + ": ") and reason in line for line in lines), (url, lines)
    assert any(
        line.startswith(site.url("/not-xml") + ": not an RSS or Atom feed") for line in lines
    )
    assert any(line.startswith(site.url("/gone.xml") + ": HTTP 404") for line in lines)
    assert all("\n" not in line for line in lines)  # fmt: skip


def test_item_text_used_when_its_page_is_gone(site, fetcher, tmp_path):
    page = news_site.ARTICLES[3]
    gone = site.url("/news/4004/metro-line-10")  # never published on the site
    site.add("/rss", news_site.rss([(gone, page)]), "application/rss+xml")
    add_feed(tmp_path, site.url("/rss"))
    sync = sync_feeds(tmp_path, fetcher)
    assert sync.problems == []
    assert sync.notes == [f"{gone}: HTTP 404 Not Found; indexed the feed's own text of the item"]
    (article,) = sync.articles
    assert article.id == article_id_for(gone) and article.url == normalized_url(gone)
    assert article.title == page.title and article.published == page.published
    assert "پیش‌بینی می‌شود" in article.text and article.text.count("\n") == 2


def test_index_add_urls_pages_and_feeds(site, fetcher):
    page_url = site.add_page(news_site.ARTICLES[0])
    _publish(site, news_site.ARTICLES[1:3], rss_path="/feed-rss")
    pdf = site.add("/report.pdf", b"%PDF", "application/pdf")
    result = read_urls([page_url, site.url("/feed-rss"), pdf, site.url("/nothing")], fetcher)
    assert [a.title for a in result.articles] == [a.title for a in news_site.ARTICLES[:2]]
    assert [str(p) for p in result.problems] == [
        f"{pdf}: not an HTML page or a feed (content type application/pdf)",
        f"{site.url('/nothing')}: HTTP 404 Not Found",
    ]


def test_question_answered_from_a_fed_page_and_only_a_changed_page_re_embedded(
    site, fetcher, tmp_path, embedder
):
    from bot.answering import Answerer
    from index.search import KnowledgeBase

    articles = list(news_site.ARTICLES)
    urls = [site.add_page(a) for a in articles]
    site.add("/rss", news_site.rss(list(zip(urls, articles, strict=True))), "application/rss+xml")
    index_dir = tmp_path / "index"
    add_feed(index_dir, site.url("/rss"))
    counting = CountingEmbedder(embedder)
    sync = sync_feeds(index_dir, fetcher)
    report = update_index(index_dir, counting, sync.articles)
    sync.save()
    assert len(report.added) == 4

    kb = KnowledgeBase(index_dir, embedder)
    answer = Answerer(kb).answer("حجم مبادلات تجاری ایران و عمان قرار است به چه رقمی برسد؟")
    assert not answer.abstained and "دو میلیارد دلار" in answer.text
    muscat = normalized_url(urls[0])
    assert answer.parts[0].article_id == article_id_for(muscat)
    assert kb.article(answer.parts[0].article_id).url == muscat

    # The metro page changes and its feed item says so: one page fetched, one re-embedded.
    changed = replace(articles[3], published="2024-02-12")
    changed.paragraphs = [
        *articles[3].paragraphs[:2],
        "مدیرعامل مترو گفت افتتاح به فروردین موکول شد.",
    ]
    site.add_page(changed)
    site.add(
        "/rss",
        news_site.rss(list(zip(urls, [*articles[:3], changed], strict=True))),
        "application/rss+xml",
    )
    counting.embedded.clear()
    before = site.page_hits()
    sync = sync_feeds(index_dir, fetcher)
    report = update_index(index_dir, counting, sync.articles)
    sync.save()
    assert site.page_hits() - before == 1
    assert report.changed == [article_id_for(urls[3])] and report.added == []
    assert counting.titles() == {changed.title}

    # A page changed behind an unchanged feed item: a recheck asks every page
    # conditionally; only the changed one is sent and re-embedded.
    edited = replace(articles[1])
    edited.paragraphs = [*articles[1].paragraphs, "ساعت کار نمایشگاه تا ساعت ۲۱ تمدید شد."]
    site.add_page(edited)
    counting.embedded.clear()
    sync = sync_feeds(index_dir, fetcher, recheck=True)
    report = update_index(index_dir, counting, sync.articles)
    assert [a.title for a in sync.articles] == [edited.title]
    assert report.changed == [article_id_for(urls[1])]
    assert counting.titles() == {edited.title}  # fmt: skip


def test_feed_of_50_with_2_new_fetches_2_pages_and_embeds_2_articles(
    site, fetcher, tmp_path, embedder
):
    items = [news_site.numbered_article(n) for n in range(50)]
    urls = [site.add_page(a) for a in items]
    index_dir = tmp_path / "index"
    add_feed(index_dir, site.url("/rss"))
    site.add(
        "/rss", news_site.rss(list(zip(urls[:48], items[:48], strict=True))), "application/rss+xml"
    )
    sync = sync_feeds(index_dir, fetcher)
    update_index(index_dir, embedder, sync.articles)
    sync.save()
    assert len(sync.articles) == 48

    site.add("/rss", news_site.rss(list(zip(urls, items, strict=True))), "application/rss+xml")
    counting = CountingEmbedder(embedder)
    before = site.page_hits()
    sync = sync_feeds(index_dir, fetcher)
    report = update_index(index_dir, counting, sync.articles)
    sync.save()
    assert site.page_hits() - before == 2 and sync.pages_fetched == 2
    assert sorted(report.added) == sorted(article_id_for(u) for u in urls[48:])
    assert report.changed == [] and report.articles == 50
    assert counting.titles() == {items[48].title, items[49].title}  # fmt: skip


def test_a_page_that_failed_is_tried_again_then_replaces_the_feed_text(site, fetcher, tmp_path):
    """A page down at one sync is fetched at the next; its canonical article replaces the
    one made from the feed's text under the item's link."""
    page = news_site.ARTICLES[0]
    link = site.url("/news/1001/muscat-amp")  # the feed's link; the page names another
    site.add("/rss", news_site.rss([(link, page)]), "application/rss+xml")
    site.add("/news/1001/muscat-amp", b"", status=503)
    add_feed(tmp_path, site.url("/rss"))
    first = sync_feeds(tmp_path, fetcher)
    first.save()
    assert [a.id for a in first.articles] == [article_id_for(link)] and first.remove_ids == []
    site.routes["/news/1001/muscat-amp"] = news_site.Route(
        news_site.page_bytes(page, site.base), "text/html; charset=utf-8"
    )
    second = sync_feeds(tmp_path, fetcher)
    (article,) = second.articles
    assert article.url == site.url("/news/1001/muscat") and article.id != article_id_for(link)
    assert second.remove_ids == [article_id_for(link)] and second.notes == []
