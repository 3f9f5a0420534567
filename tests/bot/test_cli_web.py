"""`pasokh index add URL…`, `pasokh feeds …` and `pasokh serve` through the real CLI, against
the local news site on 127.0.0.1 (PASOKH_ALLOW_PRIVATE_URLS=1) and the real model."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest

from bot import app, cli
from tests.support import news_site

OMAN_QUESTION = "حجم مبادلات تجاری ایران و عمان قرار است به چه رقمی برسد؟"


@pytest.fixture(autouse=True)
def shared_model(monkeypatch, embedder):
    """Every command reuses the session's model; the fetcher may reach 127.0.0.1."""
    monkeypatch.setattr(app, "load_embedder", lambda settings: embedder)
    monkeypatch.setenv("PASOKH_ALLOW_PRIVATE_URLS", "1")
    monkeypatch.setenv("PASOKH_FETCH_DELAY", "0")


@pytest.fixture()
def site():
    site = news_site.NewsSite()
    yield site
    site.close()


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.timeout(600)
def test_index_add_urls_next_to_files_then_ask_cites_the_url(tmp_path, site, capsys):
    index_dir = str(tmp_path / "idx")
    note = tmp_path / "notes" / "g1.txt"
    note.parent.mkdir()
    note.write_text("به گزارش ایسنا، وزیر خارجه در ژنو درباره آب‌های مرزی سخنرانی کرد.", "utf-8")
    page = site.add_page(news_site.ARTICLES[0])
    missing = site.url("/news/404")
    code, out, err = run(
        capsys, "index", "add", str(note.parent), page, missing, "--index-dir", index_dir, "-q"
    )
    assert code == 1  # the 404 was skipped …
    assert "2 added" in out  # … the file and the page landed, in one update
    skipped = [line for line in err.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 1 and skipped[0].startswith(f"skipped {missing}: ")

    code, out, _ = run(capsys, "ask", OMAN_QUESTION, "--json", "--index-dir", index_dir)
    answer = json.loads(out)
    assert code == 0 and "دو میلیارد دلار" in answer["answer"]
    assert answer["sources"][0]["url"] == page
    urls = {p["article_id"]: p["url"] for p in answer["passages"]}
    assert urls and set(urls.values()) <= {page, ""}
    assert urls.get("g1", "") == ""  # an article read from a file has no URL

    code, out, _ = run(capsys, "ask", OMAN_QUESTION, "--index-dir", index_dir)
    lines = out.splitlines()
    first_source = next(i for i, line in enumerate(lines) if line.startswith("[1] "))
    assert lines[first_source + 1].strip() == page  # the URL right under its source line


@pytest.mark.timeout(600)
def test_feeds_add_list_sync_remove_through_the_cli(tmp_path, site, capsys):
    index_dir = str(tmp_path / "idx")
    urls = [site.add_page(a) for a in news_site.ARTICLES]
    feed = site.add(
        "/rss",
        news_site.rss(list(zip(urls, news_site.ARTICLES, strict=True))),
        "application/rss+xml",
    )
    code, out, err = run(capsys, "feeds", "add", feed, "--index-dir", index_dir)
    assert (code, out.strip(), err) == (0, f"added: {feed}", "")
    code, out, _ = run(capsys, "feeds", "add", feed, "--index-dir", index_dir)
    assert out.strip() == f"already listed: {feed}"
    code, out, err = run(capsys, "feeds", "add", "ftp://news.test/rss", "--index-dir", index_dir)
    assert code == 1 and err.startswith("skipped ftp://news.test/rss")

    code, out, _ = run(capsys, "feeds", "sync", "--json", "--index-dir", index_dir, "-q")
    summary = json.loads(out)
    assert code == 0
    assert summary["feeds"] == 1 and summary["pages_fetched"] == len(urls)
    assert len(summary["index"]["added"]) == len(urls) == summary["index"]["articles"]

    code, out, _ = run(capsys, "feeds", "sync", "--index-dir", index_dir, "-q")
    assert out.startswith("feeds: 1 read (1 unchanged), 0 pages fetched, 0 articles")

    code, out, _ = run(capsys, "feeds", "list", "--json", "--index-dir", index_dir)
    (listed,) = json.loads(out)
    assert listed["url"] == feed and listed["items"] == len(urls)

    code, out, _ = run(capsys, "ask", OMAN_QUESTION, "--json", "--index-dir", index_dir)
    assert json.loads(out)["sources"][0]["url"] == urls[0]

    code, out, _ = run(capsys, "feeds", "remove", feed, "--index-dir", index_dir)
    assert code == 0 and out.startswith(f"removed: {feed}")
    code, out, _ = run(capsys, "feeds", "list", "--index-dir", index_dir)
    assert out.startswith("no feeds")
    code, _, err = run(capsys, "feeds", "sync", "--index-dir", index_dir)
    assert code == 1 and "no feeds" in err


def test_serve_is_wired_to_the_answering_path(seed_index_dir, capsys, monkeypatch):
    """`pasokh serve --port 0` answers POST /ask with the `ask --json` object."""
    from bot import serve

    servers = []
    real_make_server = serve.make_server

    def make_server(answerer, host, port):
        server = real_make_server(answerer, host, port)
        servers.append(server)
        return server

    monkeypatch.setattr(serve, "make_server", make_server)
    done = {}
    thread = threading.Thread(
        target=lambda: done.setdefault(
            "code", cli.main(["serve", "--port", "0", "--index-dir", str(seed_index_dir), "-q"])
        )
    )
    thread.start()
    try:
        for _ in range(600):
            if servers:
                break
            thread.join(0.1)
        (server,) = servers
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"  # loopback by default
        request = urllib.request.Request(
            f"http://{host}:{port}/ask",
            data=json.dumps({"question": "حق مشروع سوری‌ها چیست؟", "top_k": 3}).encode(),
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            body = json.loads(response.read())
        assert body["question"] == "حق مشروع سوری‌ها چیست؟"
        assert len(body["passages"]) == 3 and all("url" in p for p in body["passages"])
    finally:
        for server in servers:
            server.shutdown()
        thread.join(30)
    assert done["code"] == 0
