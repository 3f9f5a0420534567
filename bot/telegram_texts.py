"""What the Telegram bot says, in Persian: fixed messages and the builders of longer ones.

Every builder returns Telegram HTML with all article and user text escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")

EXAMPLE_WORDS = 6


def index_examples(articles: Sequence, count: int = 3) -> tuple[str, ...]:
    """Example questions for /start drawn from what is indexed: one per article (the
    first few), about the opening words of its title. `PASOKH_EXAMPLE_QUESTIONS` overrides."""
    examples = []
    for article in articles:
        words = (getattr(article, "title", "") or "").rstrip("…. ").split()[:EXAMPLE_WORDS]
        if words:
            examples.append(f"درباره‌ی «{' '.join(words)}» چه می‌دانی؟")
        if len(examples) == count:
            break
    return tuple(examples)


COMMANDS = (
    ("start", "معرفی ربات و نمونه پرسش‌ها"),
    ("help", "راهنمای استفاده"),
    ("ask", "پرسیدن (در گروه‌ها): ‎/ask پرسش"),
    ("sources", "فهرست مقاله‌های نمایه‌شده"),
    ("new", "شروع گفت‌وگوی تازه"),
)
ADMIN_COMMANDS = (
    ("stats", "آمار نمایه و ربات (مدیران)"),
    ("reload", "بارگذاری دوباره‌ی نمایه (مدیران)"),
    ("feeds", "خوراک‌های خبری: فهرست، افزودن، حذف، به‌روزرسانی (مدیران)"),
)

NON_TEXT = "من فقط پیام متنی را می‌فهمم؛ لطفاً پرسش خود را به فارسی بنویسید."
NOT_PERSIAN = "لطفاً پرسش خود را به فارسی بنویسید."
TOO_LONG = "پرسش خیلی طولانی است؛ لطفاً کوتاه‌تر و در یک یا دو جمله بپرسید."
ASK_USAGE = "پرسش خود را بعد از ‎/ask بنویسید؛ مثلاً:\n‎/ask {example}"
NEW_CONVERSATION = "گفت‌وگوی تازه‌ای شروع شد؛ پرسش بعدی به پرسش‌های قبلی ربط داده نمی‌شود."
ERROR = "متأسفانه هنگام پاسخ‌دادن خطایی پیش آمد. لطفاً کمی بعد دوباره امتحان کنید."
ERROR_SHORT = "خطایی پیش آمد؛ لطفاً دوباره امتحان کنید."
ADMINS_ONLY = "این فرمان فقط برای مدیران ربات است."
STATS_PRIVATE_ONLY = (
    "آمار ربات فقط در گفت‌وگوی خصوصی نشان داده می‌شود؛ لطفاً ‎/stats را در پیام خصوصی به من بفرستید."
)
UPLOAD_ADMINS_ONLY = (
    "فقط مدیران ربات می‌توانند مقاله به نمایه اضافه کنند؛ این فایل خوانده و ذخیره نشد."
)
STALE_BUTTON = "این دکمه قدیمی شده است؛ لطفاً پرسش را دوباره بفرستید."
NO_MORE_SOURCES = "منبع دیگری برای این پاسخ پیدا نشد."
UPLOAD_FAILED = "افزودن فایل «{name}» به نمایه ناموفق بود: {reason}"
UPLOAD_BUSY = (
    "نمایه‌سازی دیگری (مثلاً pasokh index) در جریان است؛ فایل «{name}» افزوده نشد. "
    "لطفاً کمی بعد دوباره بفرستید."
)
RELOADED = "نمایه به نسخه‌ی {version} به‌روز شد ({articles} مقاله، {chunks} بخش)."
NOT_RELOADED = "نمایه تغییری نکرده است (نسخه‌ی {version})."


def fa(value: object) -> str:
    """Western digits as Persian digits."""
    return str(value).translate(_FA_DIGITS)


def esc(text: object) -> str:
    return html.escape(str(text), quote=False)


def rate_limited(wait_seconds: float, limit: int) -> str:
    return (
        f"پرسش‌های شما از حد مجاز ({fa(limit)} پرسش در دقیقه) گذشت؛ "
        f"لطفاً {fa(max(1, round(wait_seconds)))} ثانیه‌ی دیگر دوباره بپرسید."
    )


def article_dates(articles: Iterable) -> list[str]:
    """Each article's date: its published field, else the first date its text names."""
    dates: list[str] = []
    for article in articles:
        date = article.date
        if date and date not in dates:
            dates.append(date)
    return dates


def start_message(
    first_name: str,
    articles: Sequence,
    built_at: str,
    examples: Sequence[str],
    dates: Sequence[str] | None = None,
) -> str:
    """`dates`: article_dates(articles), computed once per index version by the caller
    (it reads every article's text); computed here when not given."""
    greeting = f"سلام {esc(first_name)}! " if first_name else "سلام! "
    lines = [
        greeting + "من «پاسخ» هستم: به پرسش‌های فارسی درباره‌ی سفرها و دیدارهای دیپلماتیک "
        "از روی مقاله‌های خبری پاسخ می‌دهم و منبع هر پاسخ را هم می‌گویم.",
        "",
        f"اکنون <b>{fa(len(articles))}</b> مقاله در نمایه دارم.",
    ]
    dates = article_dates(articles) if dates is None else dates
    if dates:
        shown = "، ".join(esc(d) for d in dates[:6]) + ("، …" if len(dates) > 6 else "")
        lines.append(f"تاریخ خبرها: {shown}")
    if built_at:
        lines.append(f"آخرین به‌روزرسانی نمایه: {fa(esc(built_at[:10]))}")
    if examples:
        lines += ["", "چند نمونه پرسش:"]
        lines += [f"• {esc(q)}" for q in examples]
    lines += ["", "پرسش خود را بنویسید. راهنما: ‎/help"]
    return "\n".join(lines)


def help_message(username: str, is_admin: bool, max_upload_mb: float) -> str:
    lines = [
        "<b>راهنما</b>",
        "• هر پرسشی را به فارسی بنویسید. پاسخ، جمله‌هایی از خودِ مقاله‌هاست با نام منبع و تاریخ؛ "
        "اگر پاسخ در مقاله‌ها نباشد همین را می‌گویم و چیزی از خودم نمی‌سازم.",
        "• پرسش بعدی («چه کسانی او را در این سفر همراهی کردند؟») به پرسش قبلی همین گفت‌وگو "
        "برمی‌گردد. ‎/new گفت‌وگو را از نو شروع می‌کند.",
        "• زیر هر پاسخ: «متن کامل» متن منبع را نشان می‌دهد و «منابع بیشتر» بخش‌های مرتبط دیگر را.",
        "• ‎/sources فهرست مقاله‌های نمایه‌شده را نشان می‌دهد.",
        f"• در گروه‌ها: مرا نام ببرید (@{esc(username)})، به پیام من پاسخ دهید یا بنویسید "
        "‎/ask و پرسش‌تان.",
    ]
    if is_admin:
        lines += [
            "",
            "<b>برای مدیران</b>",
            f"• فرستادن فایل ‎.txt، ‎.md، ‎.json یا ‎.jsonl (تا {fa(f'{max_upload_mb:g}')} مگابایت) "
            "مقاله‌های آن را به نمایه می‌افزاید.",
            "• ‎/stats آمار نمایه و ربات؛ ‎/reload بارگذاری نمایه‌ای که بیرون از ربات ساخته شده.",
            "• ‎/feeds خوراک‌های RSS و Atom: ‎/feeds add نشانی، ‎/feeds remove نشانی، "
            "‎/feeds sync؛ ربات آن‌ها را به‌طور منظم به‌روز می‌کند.",
        ]
    return "\n".join(lines)


# What one line of /sources may show, in UTF-16 units (Telegram's measure): 8 lines of at
# most ~400 units stay well inside a message's 4,096, whatever the articles hold.
SOURCE_TITLE_UNITS, SOURCE_META_UNITS, SOURCE_ID_UNITS = 200, 100, 64


def clip(text: str, units: int) -> str:
    """`text` cut to at most `units` UTF-16 units (an ellipsis marking the cut), never
    inside a surrogate pair."""
    if len(text) <= units // 2 or len(text.encode("utf-16-le")) // 2 <= units:
        return text
    kept, used = [], 1  # the ellipsis
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > units:
            break
        kept.append(ch)
    return "".join(kept).rstrip() + "…"


def sources_page(articles: Sequence, page: int, per_page: int) -> tuple[str, int, int]:
    """The HTML of one page of the article list; also the clamped page and the page count.
    Titles, sources and ids are clipped, so a page fits one message whatever they hold."""
    pages = max(1, -(-len(articles) // per_page))
    page = min(max(page, 0), pages - 1)
    lines = [f"<b>مقاله‌های نمایه‌شده</b> (صفحه‌ی {fa(page + 1)} از {fa(pages)})", ""]
    if not articles:
        lines.append("نمایه هنوز مقاله‌ای ندارد.")
    start = page * per_page
    dates = {}
    for article in articles[start : start + per_page]:
        dates[article.id] = next(iter(article_dates([article])), "")
    for number, article in enumerate(articles[start : start + per_page], start=start + 1):
        meta = "، ".join(x for x in (article.source, dates[article.id]) if x)
        lines.append(
            f"{fa(number)}. <b>{esc(clip(article.title, SOURCE_TITLE_UNITS))}</b>"
            + (f" — {esc(clip(meta, SOURCE_META_UNITS))}" if meta else "")
            + f" (شناسه: <code>{esc(clip(article.id, SOURCE_ID_UNITS))}</code>)"
        )
    return "\n".join(lines), page, pages


def full_passages(answer) -> str:
    blocks = []
    for number, part in enumerate(answer.parts, start=1):
        meta = "، ".join(x for x in (part.source, part.date) if x)
        head = f"<b>متن کامل منبع [{fa(number)}]</b>: {esc(part.title)}"
        if meta:
            head += f" — {esc(meta)}"
        blocks.append(head + "\n\n" + esc(part.passage.text))
    return "\n\n".join(blocks)


def more_sources(answer, limit: int = 5, snippet_chars: int = 280) -> str | None:
    """The retrieved passages that the answer did not quote, with a snippet of each."""
    shown = {(p.article_id, p.passage.start) for p in answer.parts}
    extra = [p for p in answer.passages if (p.article_id, p.start) not in shown][:limit]
    if not extra:
        return None
    lines = ["<b>منابع بیشتر</b>"]
    for number, passage in enumerate(extra, start=1):
        snippet = " ".join(passage.text.split())
        if len(snippet) > snippet_chars:
            snippet = snippet[:snippet_chars].rsplit(" ", 1)[0] + " …"
        meta = "، ".join(x for x in (passage.source, passage.published) if x)
        lines += [
            "",
            f"{fa(number)}. <b>{esc(passage.title)}</b>" + (f" — {esc(meta)}" if meta else ""),
            f"«{esc(snippet)}»",
        ]
    return "\n".join(lines)


def upload_report(display_name: str, result, report) -> str:
    """What an admin's upload added, changed, left alone and skipped (and why)."""
    name = esc(display_name)
    lines: list[str] = []
    if report is None:
        lines.append(f"از فایل «{name}» هیچ مقاله‌ای خوانده نشد؛ نمایه تغییری نکرد.")
    else:
        lines.append(
            f"فایل «{name}» به نمایه افزوده شد. نمایه‌ی تازه: نسخه‌ی <code>{esc(report.version)}</code>، "
            f"{fa(report.articles)} مقاله، {fa(report.chunks)} بخش."
        )
        for label, ids in (
            ("افزوده", report.added),
            ("تغییرکرده", report.changed),
            ("بدون تغییر", report.unchanged),
        ):
            if ids:
                shown = "، ".join(f"<code>{esc(i)}</code>" for i in ids[:20])
                more = f" و {fa(len(ids) - 20)} مقاله‌ی دیگر" if len(ids) > 20 else ""
                lines.append(f"{label} ({fa(len(ids))}): {shown}{more}")
    for note in result.notes:
        lines.append(f"یادداشت: {esc(note)}")
    if result.problems:
        lines.append(f"ردشده ({fa(len(result.problems))}):")
        lines += [f"• {esc(problem)}" for problem in result.problems[:30]]
        if len(result.problems) > 30:
            lines.append(f"• و {fa(len(result.problems) - 30)} مورد دیگر")
    return "\n".join(lines)


def upload_status(name: str, stage: str, done: int = 0, total: int = 0) -> str:
    """The plain-text status line of an upload being indexed (edited as it goes)."""
    lines = {
        "received": f"فایل «{name}» دریافت شد؛ در نوبت افزودن به نمایه…",
        "reading": f"خواندن فایل «{name}»…",
        "indexing": f"افزودن «{name}» به نمایه…",
        "done": f"افزودن «{name}» به پایان رسید.",
        "failed": f"افزودن «{name}» ناموفق بود.",
        "busy": f"افزودن «{name}» انجام نشد: نمایه‌سازی دیگری در جریان است.",
    }
    line = lines.get(stage, lines["received"])
    if stage == "indexing" and total:
        line += f" {fa(done)} از {fa(total)} بخش ({fa(done * 100 // total)}٪)"
    return line


def duration(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{fa(days)} روز")
    if hours:
        parts.append(f"{fa(hours)} ساعت")
    if minutes:
        parts.append(f"{fa(minutes)} دقیقه")
    if not parts:
        parts.append(f"{fa(secs)} ثانیه")
    return " و ".join(parts)


def stats_message(manifest: dict, uptime_seconds: float, stats: dict) -> str:
    lines = [
        "<b>آمار</b>",
        f"مقاله‌ها: {fa(manifest.get('articles', 0))}",
        f"بخش‌ها: {fa(manifest.get('chunks', 0))}",
        f"مدل: <code>{esc(manifest.get('model', ''))}</code>",
        f"نسخه‌ی نمایه: <code>{esc(manifest.get('version', ''))}</code>",
        f"ساخت نمایه: {esc(manifest.get('built_at', ''))}",
        f"زمان کارکرد: {duration(uptime_seconds)}",
        f"پرسش‌های پاسخ‌داده: {fa(stats['served'])} (بی‌پاسخ از مقاله‌ها: {fa(stats['declined'])})",
        f"زمان پاسخ: میانه {fa(round(stats['p50_ms']))} میلی‌ثانیه، "
        f"صدک ۹۵: {fa(round(stats['p95_ms']))} میلی‌ثانیه",
        f"پرسش‌های ردشده به خاطر محدودیت سرعت: {fa(stats['rate_limited'])}",
        f"بارگذاری‌های دوباره‌ی نمایه: {fa(stats['reloads'])}",
        f"خطاها: {fa(stats['errors'])}",
    ]
    return "\n".join(lines)
