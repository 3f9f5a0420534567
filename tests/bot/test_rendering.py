"""Message splitting for Telegram's 4,096-character limit, and escaping."""

from types import SimpleNamespace

import pytest

from bot.console import ConsoleSession
from bot.rendering import render_answer_text, split_message, terminal_safe


def test_short_message_untouched():
    assert split_message("سلام") == ["سلام"]


def test_splits_at_sentence_or_line_never_inside_a_word():
    sentence = "امیرعبداللهیان و لاوروف درباره موافقتنامه جامع همکاریهای بلندمدت گفتوگو کردند. "
    text = sentence * 120
    pieces = split_message(text, limit=1000)
    assert all(len(p) <= 1000 for p in pieces)
    assert "".join(p + " " for p in pieces).split() == text.split()
    assert all(p.endswith(".") for p in pieces[:-1])


@pytest.mark.parametrize("limit", [50, 64, 97, 200])
def test_never_inside_a_tag_or_entity_and_tags_balanced(limit):
    text = ("<b>منابع:</b> &lt;نام&gt; " + "کلمه " * 12 + "\n") * 10
    pieces = split_message(text, limit=limit)
    for piece in pieces:
        assert len(piece) <= limit
        assert piece.count("<b>") == piece.count("</b>")
        assert piece.count("<") == piece.count(">")
        assert "&lt" not in piece.replace("&lt;", "")


def test_giant_word_is_cut_somewhere_safe():
    pieces = split_message("<i>" + "ب" * 300 + "</i>", limit=100)
    assert all(len(p) <= 100 for p in pieces)
    assert "".join(p.replace("<i>", "").replace("</i>", "") for p in pieces) == "ب" * 300


# -- terminal output (issue 10): article text must not drive the terminal --------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("عنوان\x1b]0;pwned\x07 خبر", "عنوان خبر"),  # window title (OSC … BEL)
        ("عنوان\x1b]8;;http://x\x1b\\پیوند\x1b]8;;\x1b\\", "عنوانپیوند"),  # hyperlink, ST
        ("\x1b[2J\x1b[1;1Hسلام", "سلام"),  # clear screen, move cursor
        ("سلام\x9b31mقرمز", "سلامقرمز"),  # C1 CSI
        ("درست\rغلط", "درستغلط"),  # carriage return would overwrite the line
        ("زنگ\x07\x08\x7f", "زنگ"),
        ("\u202eنام\u202c", "نام"),  # right-to-left override
        ("می\u200cخواهم \u200fو\u200e\u200d", "می\u200cخواهم \u200fو\u200e\u200d"),  # kept
        ("سطر\tیک\nسطر\u2028دو\r\n", "سطر\tیک\nسطر\nدو\n"),
        ("\x1b]0;" + "x" * 600 + "\x07آ", "0;" + "x" * 600 + "آ"),  # unterminated: ESC, BEL go
    ],
    ids=["osc-title", "osc-link", "csi", "c1-csi", "cr", "bel-bs-del", "rlo", "persian-marks",
         "separators", "long-osc"],
)  # fmt: skip
def test_terminal_safe(text, expected):
    assert terminal_safe(text) == expected


def _answer(title: str, text: str) -> SimpleNamespace:
    part = SimpleNamespace(title=title, source="ایرنا\x1b[31m", date="", article_id="a\x1b[2J")
    return SimpleNamespace(text=text, parts=[part])


@pytest.mark.parametrize("bidi", [False, True])
def test_answers_printed_to_a_terminal_carry_no_escape_sequences(bidi):
    rendered = render_answer_text(_answer("خبر\x1b]0;pwned\x07", "پاسخ\x1b[2J\r"), bidi=bidi)
    assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in rendered)
    assert "pwned" not in rendered and ("خبر" in rendered or "ربخ" in rendered)


def test_console_listings_are_terminal_safe():
    session = ConsoleSession.__new__(ConsoleSession)
    session.bidi = False
    assert session.show("مقاله\x1b]0;pwned\x07") == "مقاله"


def _with_url(url: str) -> SimpleNamespace:
    part = SimpleNamespace(
        title="سفر وزیر به مسقط", source="ایرنا", date="", article_id="web_1", url=url
    )
    return SimpleNamespace(text="دو میلیارد دلار", parts=[part])


@pytest.mark.parametrize(
    ("url", "html_tail"),
    [
        ("", "(شناسه: web_1)"),
        (
            "https://www.irna.ir/news/85412345/سفر?a=1&b=2",
            '(شناسه: web_1) <a href="https://www.irna.ir/news/85412345/سفر?a=1&amp;b=2">پیوند</a>',
        ),
        (
            'http://x.ir/"><script>',
            '(شناسه: web_1) <a href="http://x.ir/&quot;&gt;&lt;script&gt;">پیوند</a>',
        ),
        ("javascript:alert(1)", "(شناسه: web_1)"),  # only http(s) is linked
        ("file:///etc/passwd", "(شناسه: web_1)"),
    ],
)
def test_citation_urls_linked_in_telegram_only_when_http_and_escaped(url, html_tail):
    from bot.rendering import render_answer_html

    html_text = render_answer_html(_with_url(url))
    assert html_text.splitlines()[-1].endswith(html_tail)
    assert html_text.count("<a ") == (1 if url.startswith("http") else 0)


@pytest.mark.parametrize(
    ("url", "lines_after_source"),
    [("", []), ("https://www.irna.ir/news/1/", ["    https://www.irna.ir/news/1/"])],
)
@pytest.mark.parametrize("bidi", [False, True])
def test_citation_url_printed_under_its_source_line(url, lines_after_source, bidi):
    lines = render_answer_text(_with_url(url), bidi=bidi).split("\n")
    source = next(i for i, line in enumerate(lines) if "web_1" in line)
    assert lines[source + 1 :] == lines_after_source
