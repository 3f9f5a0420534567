"""A small Persian news site on 127.0.0.1 for the fetcher, extractor and feed tests.

The pages are written here in the markup news agencies use: a header with the
agency's name, a navigation menu, a breaking-news ticker, the article, tags,
related links, a comment block and a footer. `CHROME` lists the texts around the
article so a test (and bench/extraction.py) can check none of them leaks into
the extracted text; each `NewsArticle.paragraphs` is the body that must be kept.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class NewsArticle:
    slug: str
    title: str
    paragraphs: list[str]
    published: str  # ISO date
    agency: str
    style: str = "irna"  # which agency's markup
    encoding: str = "utf-8"

    @property
    def body(self) -> str:
        return "\n".join(self.paragraphs)


ARTICLES = [
    NewsArticle(
        slug="news/1001/muscat",
        title="سفر وزیر امور خارجه به مسقط برای گفت‌وگو با همتای عمانی",
        published="2024-03-15",
        agency="خبرگزاری جمهوری اسلامی",
        paragraphs=[
            "به گزارش ایرنا، وزیر امور خارجه صبح جمعه برای یک سفر دو روزه وارد مسقط شد و در فرودگاه مورد استقبال معاون وزیر خارجه عمان قرار گرفت.",
            "وزیر امور خارجه در این سفر با بدر البوسعیدی، وزیر خارجه عمان، درباره گسترش همکاری‌های اقتصادی و کشتیرانی در تنگه هرمز گفت‌وگو کرد.",
            "او پس از این دیدار گفت که بدون گفت‌وگوی مستقیم میان کشورهای منطقه، امنیت پایدار در خلیج فارس برقرار نمی‌شود و تهران از هر ابتکار سازنده‌ای استقبال می‌کند.",
            "دو طرف همچنین توافق کردند که کمیسیون مشترک اقتصادی ایران و عمان در ماه آینده در تهران تشکیل شود تا حجم مبادلات تجاری به دو میلیارد دلار برسد.",
        ],
    ),
    NewsArticle(
        slug="fa/news/2002/book-fair",
        title="آغاز نمایشگاه بین‌المللی کتاب تهران با حضور ناشران خارجی",
        published="2024-05-08",
        agency="خبرگزاری تسنیم",
        style="tasnim",
        paragraphs=[
            "به گزارش تسنیم، سی و پنجمین نمایشگاه بین‌المللی کتاب تهران از روز چهارشنبه در مصلای امام خمینی آغاز به کار کرد و تا دهم اردیبهشت ادامه دارد.",
            "در این دوره بیش از دو هزار و ششصد ناشر داخلی و سیصد ناشر خارجی از بیست و هشت کشور حضور دارند و کشور مهمان ویژه نمایشگاه امسال عراق است.",
            "مدیر اجرایی نمایشگاه گفت که بخش مجازی نمایشگاه نیز همزمان فعال است و خریداران شهرستانی می‌توانند کتاب‌ها را با یارانه خرید به نشانی خود دریافت کنند.",
        ],
    ),
    NewsArticle(
        slug="Default.aspx?id=3003",
        title="بارش سنگین برف راه ارتباطی ۱۲۰ روستای اردبیل را مسدود کرد",
        published="2024-01-22",
        agency="پایگاه خبری اردبیل امروز",
        style="old",
        encoding="windows-1256",
        paragraphs=[
            "به گزارش اردبیل امروز، بارش سنگین برف از بامداد دوشنبه راه ارتباطی یکصد و بیست روستای استان اردبیل را مسدود کرد و ارتفاع برف در گردنه حیران به یک متر رسید.",
            "مدیرکل راهداری استان گفت که نود دستگاه ماشین‌آلات سنگین برای بازگشایی راه‌ها به کار گرفته شده و تردد در محور اردبیل به آستارا فقط با زنجیر چرخ ممکن است.",
            "او افزود که تا پیش از بازگشایی کامل گردنه، سفر غیرضروری به این مسیر توصیه نمی‌شود و رانندگان باید پیش از حرکت وضعیت راه‌ها را از سامانه ۱۴۱ بپرسند.",
        ],
    ),
    NewsArticle(
        slug="news/4004/metro-line-10",
        title="افتتاح نخستین بخش خط ۱۰ متروی تهران در اسفند",
        published="2024-02-10",
        agency="همشهری آنلاین",
        style="hamshahri",
        paragraphs=[
            "به گزارش همشهری آنلاین، مدیرعامل شرکت متروی تهران اعلام کرد که نخستین بخش خط ۱۰ متروی پایتخت به طول هشت کیلومتر در اسفند ماه به بهره‌برداری می‌رسد.",
            "این بخش شش ایستگاه دارد و میدان کتابی را به بزرگراه شهید همت متصل می‌کند؛ پیش‌بینی می‌شود روزانه شصت هزار مسافر از آن استفاده کنند.",
            "به گفته او، قطارهای این خط در چین ساخته شده‌اند و بیست و یک دستگاه واگن جدید تا پایان سال به تهران می‌رسد تا فاصله حرکت قطارها به هفت دقیقه کاهش یابد.",
        ],
    ),
]

NAV = ["صفحه اصلی", "سیاسی", "اقتصادی", "اجتماعی", "ورزشی", "فرهنگی", "بین‌الملل", "عکس", "فیلم"]
TICKER = "فوری: نشست هیئت دولت فردا به ریاست رئیس‌جمهور برگزار می‌شود"
RELATED = [
    "بازدید رئیس سازمان بنادر از اسکله شهید رجایی",
    "قیمت طلا و سکه در بازار امروز تهران اعلام شد",
    "برنامه پخش مسابقات لیگ برتر فوتبال در هفته بیستم",
]
COMMENTS = [
    "ممنون از گزارش خوبتان، کاش جزئیات بیشتری منتشر کنید.",
    "این خبر را دیروز هم در شبکه‌های اجتماعی دیده بودم.",
]
FOOTER = [
    "کلیه حقوق این سایت محفوظ است و نقل مطالب با ذکر منبع آزاد است.",
    "نشانی: تهران، خیابان آزادی، پلاک ۲۱۴ - تلفن تماس ۸۸۷۷۶۶۵۵",
]
# Single menu words also occur in bodies ("همکاری‌های اقتصادی"): the menu counts as
# leaked when its run of labels shows up.
CHROME = [
    " ".join(NAV[:3]), TICKER, *RELATED, *COMMENTS, *FOOTER, "اخبار مرتبط", "نظرات کاربران",
    "ارسال نظر", "پربازدیدترین‌ها", "آرشیو اخبار", "کد خبر", "برچسب‌ها",
]  # fmt: skip


def _chrome_top(agency: str) -> str:
    menu = "".join(f'<li><a href="/section/{i}">{escape(n)}</a></li>' for i, n in enumerate(NAV))
    return f"""<header class="site-header"><div class="logo"><a href="/">{escape(agency)}</a></div>
<nav class="main-menu"><ul>{menu}</ul></nav>
<div class="ticker"><span>{escape(TICKER)}</span></div>
<form class="search" action="/search"><input name="q" placeholder="جستجو"></form></header>"""


def _chrome_bottom() -> str:
    related = "".join(
        f'<li><a href="/news/9{i}">{escape(t)}</a></li>' for i, t in enumerate(RELATED)
    )
    comments = "".join(
        f'<div class="comment"><span class="author">کاربر {i}</span><p>{escape(c)}</p></div>'
        for i, c in enumerate(COMMENTS)
    )
    footer = "".join(f"<p>{escape(f)}</p>" for f in FOOTER)
    return f"""<section class="related-news"><h3>اخبار مرتبط</h3><ul>{related}</ul></section>
<section id="comments" class="comments"><h3>نظرات کاربران</h3>{comments}
<form class="comment-form"><textarea name="body"></textarea><button>ارسال نظر</button></form></section>
<footer class="site-footer">{footer}</footer>"""


def article_html(article: NewsArticle, base: str) -> str:
    """The page in its agency's markup; `base` is the site's origin for absolute links."""
    canonical = f"{base}/{article.slug}"
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in article.paragraphs)
    charset = article.encoding
    head = f"""<head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
<title>{escape(article.title)} | {escape(article.agency)}</title>
<meta property="og:site_name" content="{escape(article.agency)}">
<meta property="og:title" content="{escape(article.title)}">
<meta property="article:published_time" content="{article.published}T09:30:00+03:30">
<link rel="canonical" href="{escape(canonical)}"></head>"""
    if article.style == "tasnim":
        main = f"""<main><article class="single-news"><div class="news-head">
<h1 class="title">{escape(article.title)}</h1><time datetime="{article.published}">{article.published}</time></div>
<div class="story" itemprop="articleBody">{paragraphs}</div>
<div class="tags"><a href="/tag/1">برچسب‌ها</a> <a href="/tag/2">فرهنگی</a></div></article></main>"""
    elif article.style == "old":  # a table layout of an older site, no <article>
        main = f"""<table width="100%"><tr><td class="right-col"><a href="/section/1">آرشیو اخبار</a></td>
<td class="content"><div class="NewsTitle">{escape(article.title)}</div>
<div class="NewsDate">تاریخ انتشار: {article.published}</div>
<div class="NewsBody">{paragraphs}</div></td></tr></table>"""
    elif article.style == "hamshahri":
        main = f"""<div class="container"><div class="col-md-8"><div class="item-header">
<h1 class="first-title">{escape(article.title)}</h1><div class="item-date">{article.published}</div></div>
<div class="item-body"><div class="item-text">{paragraphs}</div></div></div>
<aside class="col-md-4"><div class="box">پربازدیدترین‌ها</div></aside></div>"""
    else:
        main = f"""<div class="wrapper"><article id="item"><h1>{escape(article.title)}</h1>
<p class="summary">{escape(article.paragraphs[0][:60])}…</p>
<div class="item-text" itemprop="articleBody">{paragraphs}</div>
<div class="item-code">کد خبر: {len(article.slug) * 7919}</div></article></div>"""
    return f"""<!DOCTYPE html><html lang="fa" dir="rtl">{head}
<body>{_chrome_top(article.agency)}{main}{_chrome_bottom()}</body></html>"""


def page_bytes(article: NewsArticle, base: str) -> bytes:
    """Windows-1256 has no Persian yeh or Persian digits: such sites wrote the Arabic yeh,
    and digits as character references."""
    html = article_html(article, base)
    if article.encoding == "windows-1256":
        html = html.replace("ی", "ي")
    return html.encode(article.encoding, errors="xmlcharrefreplace")


CITIES = ["تبریز", "شیراز", "مشهد", "اصفهان", "کرمان", "رشت", "یزد", "همدان", "زاهدان", "سنندج"]


def numbered_article(n: int) -> NewsArticle:
    """Many distinct small reports for the feed-of-50 test."""
    city = CITIES[n % len(CITIES)]
    return NewsArticle(
        slug=f"news/{5000 + n}/report",
        title=f"گزارش شماره {n}: طرح‌های عمرانی شهرداری {city}",
        published=f"2024-04-{1 + n % 28:02d}",
        agency="خبرگزاری نمونه",
        paragraphs=[
            f"به گزارش خبرگزاری نمونه، شهردار {city} اعلام کرد که {n + 3} طرح عمرانی در این شهر تا پایان سال به بهره‌برداری می‌رسد و اعتبار آن‌ها تأمین شده است.",
            f"او گفت که ساخت {n + 2} پارک محله‌ای و بازسازی {n * 2 + 5} کیلومتر از معابر فرسوده از مهم‌ترین این طرح‌هاست و کار بدون مشارکت شهروندان پیش نمی‌رود.",
            f"بر اساس این گزارش، شورای شهر {city} بودجه طرح شماره {n} را در جلسه هفته گذشته تصویب کرد.",
        ],
    )


def rss(
    items: list[tuple[str, NewsArticle]], title: str = "آخرین اخبار", texts: bool = True
) -> bytes:
    """RSS 2.0; each item is (page URL, article), its description the article's paragraphs
    as HTML (none when not `texts`)."""

    def description(a: NewsArticle) -> str:
        html = "<p>" + "</p><p>".join(a.paragraphs) + "</p>"
        return f"<description>{escape(html)}</description>" if texts else ""

    entries = "".join(
        f"""<item><title>{escape(a.title)}</title><link>{escape(url)}</link>
<guid isPermaLink="true">{escape(url)}</guid><pubDate>{rfc822(a.published)}</pubDate>
{description(a)}</item>"""
        for url, a in items
    )
    return f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
<title>{escape(title)}</title><link>http://127.0.0.1/</link><description>خبرها</description>
{entries}</channel></rss>""".encode()


def rfc822(day: str) -> str:
    """RSS dates are RFC 822: "Fri, 15 Mar 2024 09:30:00 +0330"."""
    from datetime import datetime, timedelta, timezone
    from email.utils import format_datetime

    moment = datetime.fromisoformat(day + "T09:30:00").replace(
        tzinfo=timezone(timedelta(hours=3, minutes=30))
    )
    return format_datetime(moment)


def atom(items: list[tuple[str, NewsArticle, str]], title: str = "خبرهای تازه") -> bytes:
    """Atom; each item is (page URL, article, updated timestamp)."""
    entries = "".join(
        f"""<entry><title>{escape(a.title)}</title><link rel="alternate" href="{escape(url)}"/>
<id>tag:news.test,2024:{escape(a.slug)}</id><updated>{updated}</updated>
<summary>{escape(a.paragraphs[0])}</summary></entry>"""
        for url, a, updated in items
    )
    return f"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>{escape(title)}</title><id>tag:news.test,2024:feed</id><updated>2024-05-08T00:00:00Z</updated>
{entries}</feed>""".encode()


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    send_length: bool = True
    fail_times: int = 0  # answer 503 this many times first


class NewsSite:
    """Serves `routes` on 127.0.0.1 (ETag and If-None-Match on every 200) and counts hits."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits[self.path] += 1
                route = site.routes.get(self.path)
                if route is None:
                    route = Route(b"<html><body>not found</body></html>", status=404)
                if route.fail_times > 0:
                    route.fail_times -= 1
                    route = Route(b"busy", status=503)
                etag = '"' + hashlib.sha1(route.body).hexdigest()[:12] + '"'
                if route.status == 200 and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.status == 200:
                    self.send_header("ETag", etag)
                if route.send_length:
                    self.send_header("Content-Length", str(len(route.body)))
                for key, value in route.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading (a body over its size limit)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base + (path if path.startswith("/") else "/" + path)

    def add_page(self, article: NewsArticle) -> str:
        charset = article.encoding
        # The old site sends no charset in its header: the page's meta must be read.
        content_type = "text/html" if article.style == "old" else f"text/html; charset={charset}"
        self.routes["/" + article.slug] = Route(page_bytes(article, self.base), content_type)
        return self.url(article.slug)

    def add(self, path: str, body: bytes, content_type: str = "text/html; charset=utf-8", **kw):
        self.routes[path] = Route(body, content_type, **kw)
        return self.url(path)

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        self.routes[path] = Route(b"", status=status, headers={"Location": to})
        return self.url(path)

    def page_hits(self) -> int:
        """Requests for article pages (not feeds, not robots.txt)."""
        return sum(n for p, n in self.hits.items() if "/news/" in p or "aspx" in p)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
