"""The Telegram bot, run for real (python-telegram-bot over HTTP) against a stand-in Bot API
server on loopback: no Telegram, the real model, the seed index."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import telegram_texts as texts
from bot.answering import Answerer
from bot.errors import ConfigError
from bot.rendering import render_answer_html, split_message
from bot.telegram.app import PasokhBot, build_application
from bot.telegram.settings import TelegramSettings, install_log_redaction, redact
from bot.telegram.stores import UserRateLimit
from index.readers import Article, content_id
from index.search import KnowledgeBase
from index.store import current_version, update_index
from tests.support import telegram_stub_server as stub
from tests.support.telegram import running

StubBotApi = stub.StubBotApi

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "1234567890:AAH-test_Secret-Token_never_in_logs"
ADMIN, USER, OTHER = 42, 1001, 1002
Q_LEFT = "امیرعبداللهیان کی تهران را به مقصد مسکو ترک کرد؟"
Q_FOLLOW = "چه کسانی او را در این سفر همراهی کردند؟"
SEED_A, SEED_B = "000_42826dca8da319ad", "004_87a0e038c51b7fc2"


# -- harness -------------------------------------------------------------------------
@pytest.fixture()
def api():
    with StubBotApi(TOKEN) as server:
        yield server


@pytest.fixture()
def kb(seed_index_copy, embedder) -> KnowledgeBase:
    return KnowledgeBase(seed_index_copy, embedder)


def run_bot(
    api,
    answerer,
    scenario: Callable[[PasokhBot], None],
    env: dict[str, str] | None = None,
    configure: Callable[[PasokhBot], None] | None = None,
) -> PasokhBot:
    """Run the bot against `api` while `scenario` (blocking: it pushes updates and waits for
    calls) runs in a worker thread; stop it cleanly afterwards."""
    settings = TelegramSettings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": api.base_url,
            "PASOKH_ADMIN_IDS": str(ADMIN),
            "PASOKH_TYPING_DELAY": "0",  # "typing…" at once: several tests wait for it
            **(env or {}),
        }
    )
    app = build_application(settings, answerer)
    pasokh = app.bot_data["pasokh"]
    if configure is not None:
        configure(pasokh)

    async def main() -> None:
        async with running(app, poll_timeout=1.0):
            await asyncio.to_thread(scenario, pasokh)

    asyncio.run(main())
    return pasokh


def replies_to(api, message: dict, count: int = 1, timeout: float = 60.0) -> list:
    """The sendMessage calls that answer `message` (the first piece quotes it)."""
    chat_id = message["chat"]["id"]
    first = api.wait_for_call(
        "sendMessage",
        where=lambda c: (
            c.chat_id == chat_id
            and (c.json_param("reply_parameters") or {}).get("message_id") == message["message_id"]
        ),
        timeout=timeout,
    )
    if count == 1:
        return first
    start = first[0]
    return api.wait_for_call(
        "sendMessage", where=lambda c: c.chat_id == chat_id and c.at >= start.at, count=count
    )


def buttons(call) -> dict[str, str]:
    markup = call.json_param("reply_markup") or {"inline_keyboard": []}
    return {b["text"]: b["callback_data"] for row in markup["inline_keyboard"] for b in row}


def sent_message(call) -> dict:
    """The message the bot sent with `call`, as Telegram would show it in an update."""
    return {
        "message_id": 5_000_000 + len(call.text),
        "date": int(time.time()),
        "chat": {"id": call.chat_id, "type": "private"},
        "from": {"id": stub.BOT_ID, "is_bot": True, "first_name": "Pasokh"},
        "text": call.text,
    }


# -- answering -----------------------------------------------------------------------
@pytest.mark.timeout(120)
def test_question_answered_from_seeds_with_buttons_and_no_token_in_logs(api, kb, caplog):
    caplog.set_level(logging.DEBUG)
    answerer = Answerer(kb)

    def scenario(pasokh):
        question = api.push_text(USER, text=Q_LEFT)
        (answer,) = replies_to(api, question)
        assert "بامداد سه شنبه" in answer.text
        assert "<b>منابع:</b>" in answer.text and "خبرمهم" in answer.text
        assert answer.params["parse_mode"] == "HTML"
        typing = api.calls("sendChatAction")
        assert typing and typing[0].params["action"] == "typing" and typing[0].at < answer.at
        keys = buttons(answer)
        assert set(keys) == {"متن کامل", "منابع بیشتر"}

        shown = sent_message(answer)
        api.push_callback(USER, shown, keys["متن کامل"])
        passage = api.wait_for_call("sendMessage", where=lambda c: "متن کامل منبع" in c.text)[0]
        assert "در راس هیأتی بلندپایه" in passage.text
        api.push_callback(USER, shown, keys["منابع بیشتر"])
        more = api.wait_for_call("sendMessage", where=lambda c: "منابع بیشتر" in c.text)[0]
        assert "«" in more.text
        api.push_callback(USER, shown, "p:no-such-answer")
        stale = api.wait_for_call(
            "answerCallbackQuery", where=lambda c: c.params.get("text") == texts.STALE_BUTTON
        )[0]
        assert stale.params.get("show_alert") in ("true", True)
        api.wait_for_call("answerCallbackQuery", count=3)

    pasokh = run_bot(api, answerer, scenario)
    assert pasokh.stats.served == 1 and len(pasokh.stats.latencies_ms) == 1
    commands = api.calls("setMyCommands")
    everyone = json.loads(commands[0].params["commands"])
    assert {c["command"] for c in everyone} == {"start", "help", "ask", "sources", "new"}
    assert all(re.search(r"[\u0600-\u06FF]", c["description"]) for c in everyone)
    assert any(json.loads(c.params.get("scope", "{}")).get("chat_id") == ADMIN for c in commands)
    # httpx logs every request URL, which holds the token: it is replaced everywhere.
    assert "getUpdates" in caplog.text and "<token>" in caplog.text
    assert TOKEN not in caplog.text
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


@pytest.mark.timeout(120)
def test_start_help_sources_and_new(api, kb):
    def scenario(pasokh):
        start = api.push_text(USER, text="/start")
        (reply,) = replies_to(api, start)
        assert "<b>۲</b> مقاله" in reply.text and "۱۵ مارس" in reply.text
        example = "درباره‌ی «حسین امیرعبداللهیان وزیر امور خارجه کشورمان» چه می‌دانی؟"
        assert texts.index_examples(kb.articles())[0] == example  # from the indexed title
        assert example in reply.text

        help_ = api.push_text(USER, text="/help")
        (reply,) = replies_to(api, help_)
        assert "/new" in reply.text and "@" + stub.BOT_USERNAME in reply.text
        assert "مدیران" not in reply.text
        admin_help = api.push_text(ADMIN, text="/help")
        assert "مدیران" in replies_to(api, admin_help)[0].text

        sources = api.push_text(USER, text="/sources")
        (reply,) = replies_to(api, sources)
        assert SEED_A in reply.text and SEED_B in reply.text and "صفحه‌ی ۱ از ۱" in reply.text

        new = api.push_text(USER, text="/new")
        assert replies_to(api, new)[0].text == texts.NEW_CONVERSATION

    run_bot(api, Answerer(kb), scenario)


@pytest.mark.timeout(120)
def test_sources_are_paged_with_buttons(api, seed_index_copy, embedder):
    articles = [
        Article(
            id=f"page-{i:02d}",
            title=f"دیدار شماره {i} وزیران",
            text=f"وزیر خارجه در دیدار شماره {i} با همتای خود درباره همکاری‌های اقتصادی گفت‌وگو کرد.",
            sources=["خبرگزاری آزمایشی"],
        )
        for i in range(10)
    ]
    update_index(seed_index_copy, embedder, articles)
    answerer = Answerer(KnowledgeBase(seed_index_copy, embedder))

    def scenario(pasokh):
        sources = api.push_text(USER, text="/sources")
        (page1,) = replies_to(api, sources)
        assert "صفحه‌ی ۱ از ۲" in page1.text
        keys = buttons(page1)
        assert list(keys.values()) == ["src:1"]
        api.push_callback(USER, sent_message(page1), "src:1")
        (edit,) = api.wait_for_call("editMessageText")
        assert "صفحه‌ی ۲ از ۲" in edit.text and buttons(edit) == {"→ قبلی": "src:0"}
        api.wait_for_call("answerCallbackQuery")

    run_bot(api, answerer, scenario)


@pytest.mark.timeout(180)
def test_sources_page_with_a_huge_title_fits_one_message(api, seed_index_copy, embedder):
    articles = [
        Article(
            id=f"page-{i:02d}",
            title=("سفر وزیر " * 3000)[:24_000] if i == 9 else f"دیدار شماره {i} وزیران",
            text=f"وزیر خارجه در دیدار شماره {i} با همتای خود درباره همکاری‌های اقتصادی گفت‌وگو کرد.",
            sources=["خبرگزاری آزمایشی " * 200 if i == 9 else "خبرگزاری آزمایشی"],
        )
        for i in range(10)
    ]
    update_index(seed_index_copy, embedder, articles)
    answerer = Answerer(KnowledgeBase(seed_index_copy, embedder))

    def scenario(pasokh):
        sources = api.push_text(USER, text="/sources")
        (page1,) = replies_to(api, sources)
        api.push_callback(USER, sent_message(page1), "src:1")
        (edit,) = api.wait_for_call("editMessageText")  # the stand-in refuses > 4,096
        assert "صفحه‌ی ۲ از ۲" in edit.text and "page-09" in edit.text
        assert stub.check_telegram_html(edit.text) <= 4096
        assert "سفر وزیر سفر وزیر" in edit.text and "…" in edit.text  # clipped, not dropped
        assert not [c for c in api.calls() if c.status != 200]

    run_bot(api, answerer, scenario)


@pytest.mark.parametrize(
    ("text", "units", "expected"),
    [
        ("سفر کوتاه", 200, "سفر کوتاه"),
        ("سفر وزیر خارجه", 8, "سفر وزی…"),
        ("😀😀😀😀", 5, "😀😀…"),  # two units each: never half a pair
        ("", 10, ""),
    ],
)
def test_clip_counts_utf16_units(text, units, expected):
    clipped = texts.clip(text, units)
    assert clipped == expected and len(clipped.encode("utf-16-le")) // 2 <= units


@pytest.mark.timeout(120)
def test_html_in_question_and_article_is_escaped(api, seed_index_copy, embedder):
    article = Article(
        id="html-article",
        title="<b>سفر</b> وزیر خارجه ونزوئلا به کامپالا & <script>",
        text=(
            "به گزارش <i>خبرگزاری</i> آزمایشی، وزیر امور خارجه ونزوئلا روز دوشنبه برای دیدار با "
            "همتای <b>اوگاندایی</b> خود به کامپالا سفر کرد & گفت <script>alert(1)</script> "
            "این سفر آغاز همکاری تازه است.\n"
            "دو وزیر درباره گسترش تجارت قهوه و نفت میان دو کشور گفت‌وگو کردند."
        ),
        sources=["<a href='x'>منبع</a>"],
    )
    update_index(seed_index_copy, embedder, [article])
    answerer = Answerer(KnowledgeBase(seed_index_copy, embedder))

    def scenario(pasokh):
        question = api.push_text(
            USER, text="<b>وزیر امور خارجه ونزوئلا</b> برای دیدار با چه کسی به کامپالا سفر کرد؟ &"
        )
        (reply,) = replies_to(api, question)  # the stand-in refuses HTML that does not parse
        assert "کامپالا" in reply.text
        assert "&lt;script&gt;" in reply.text and "<script>" not in reply.text
        assert "&amp;" in reply.text and "&lt;b&gt;سفر&lt;/b&gt;" in reply.text
        stub.check_telegram_html(reply.text)
        shown = sent_message(reply)
        api.push_callback(USER, shown, buttons(reply)["متن کامل"])
        passage = api.wait_for_call("sendMessage", where=lambda c: "متن کامل منبع" in c.text)[0]
        assert "&lt;i&gt;خبرگزاری&lt;/i&gt;" in passage.text

    run_bot(api, answerer, scenario)
    assert not [c for c in api.calls("sendMessage") if c.status != 200]


class _LongPhraser:
    """Stands in for a language model that writes a very long answer."""

    sentence = "وزیر امور خارجه در این سفر با همتای خود درباره <همکاری> & تجارت گفت‌وگو کرد. "

    def phrase(self, question, parts):
        return "\n".join(self.sentence * 12 for _ in range(9))


@pytest.mark.timeout(120)
def test_long_answer_is_split_at_boundaries(api, kb):
    answerer = Answerer(kb, phraser=_LongPhraser())

    def scenario(pasokh):
        question = api.push_text(USER, text=Q_LEFT)
        api.wait_for_call("sendMessage", where=lambda c: c.chat_id == USER and buttons(c))
        pieces = [c for c in api.calls("sendMessage") if c.chat_id == USER]
        assert len(pieces) >= 3 and all(c.status == 200 for c in pieces)
        first_reply = pieces[0].json_param("reply_parameters")
        assert first_reply["message_id"] == question["message_id"]
        assert all(not c.params.get("reply_parameters") for c in pieces[1:])
        assert all(not buttons(c) for c in pieces[:-1]) and buttons(pieces[-1])
        for piece in pieces:
            assert stub.check_telegram_html(piece.text) <= 4096
        words = " ".join(c.text for c in pieces).split()
        expected = render_answer_html(answerer.answer(Q_LEFT)).split()
        assert words == expected  # nothing lost, no word cut in two

    run_bot(api, answerer, scenario)


def test_split_message_keeps_tags_and_words_whole():
    line = "<b>سفر</b> وزیر &amp; هیأت به مسکو رفت. " * 40
    text = "\n".join([line] * 6) + "<b>" + "کلمه‌ای " * 900 + "</b>"
    pieces = split_message(text)
    assert len(pieces) > 2
    for piece in pieces:
        assert len(piece) <= 4096
        stub.check_telegram_html(piece)  # balanced tags, no cut entity
    rejoined = " ".join(pieces)
    for tag in ("<b>", "</b>"):
        rejoined = rejoined.replace(tag, " ")
    assert rejoined.split() == text.replace("<b>", " ").replace("</b>", " ").split()
    assert split_message("کوتاه") == ["کوتاه"]


# -- flood control and server errors -------------------------------------------------
@pytest.mark.timeout(120)
@pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")
def test_429_and_500_survived_with_the_answer_delivered(api, kb):
    def scenario(pasokh):
        api.fail_next("sendMessage", 1, 429, retry_after=1)
        question = api.push_text(USER, text=Q_LEFT)
        (reply,) = replies_to(api, question)
        refused = [c for c in api.calls("sendMessage") if c.status == 429]
        # the stub refuses a retry made before retry_after ran out, as Telegram does
        assert len(refused) == 1 and [c.status for c in api.calls("sendMessage")] == [429, 200]
        assert "بامداد سه شنبه" in reply.text

        api.fail_next("sendMessage", 2, 500)
        question = api.push_text(OTHER, text="علیرضا حقیقیان چه سمتی دارد؟")
        (reply,) = replies_to(api, question)
        assert len([c for c in api.calls("sendMessage") if c.status == 500]) == 2
        assert "حقیقیان" in reply.text

    pasokh = run_bot(api, Answerer(kb), scenario)
    assert pasokh.stats.served == 2


# -- a slow language model holds up nobody else ------------------------------------
_FENCE_RE = re.compile(r"<<<گزیده \d+ (\w+)>>>\n\(.*?\) (.*?)\n<<<پایان \1>>>", re.S)


class _HeldLlm:
    """An OpenAI-compatible server on loopback that echoes the first excerpt (a grounded
    reply) at once, except for questions holding `slow_word`: those wait for `release`."""

    def __init__(self, slow_word: str) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.slow_word, self.release = slow_word, threading.Event()
        self.held = threading.Event()  # a slow request has arrived and is being held
        llm = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"]
                if llm.slow_word in prompt.rsplit("پرسش:", 1)[-1]:
                    llm.held.set()
                    assert llm.release.wait(60), "never released"
                content = _FENCE_RE.search(prompt).group(2) + " [1]"
                data = json.dumps({"choices": [{"message": {"content": content}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.timeout(120)
def test_a_slow_language_model_reply_does_not_stall_other_users(api, kb):
    from bot.llm import LlmPhraser

    llm = _HeldLlm("امیرعبداللهیان")
    answerer = Answerer(kb, LlmPhraser(llm.url, "fake-model", timeout=60))

    def scenario(pasokh):
        slow = api.push_text(USER, text=Q_LEFT)
        assert llm.held.wait(30)  # USER's reply is with the model, which holds it
        other = api.push_text(OTHER, text="علیرضا حقیقیان چه سمتی دارد؟")
        (reply,) = replies_to(api, other)  # answered (and phrased) meanwhile
        assert "حقیقیان" in reply.text and "[1]" in reply.text
        assert not [c for c in api.calls("sendMessage") if c.chat_id == USER]
        llm.release.set()
        (late,) = replies_to(api, slow)
        assert "بامداد سه شنبه" in late.text and "[1]" in late.text

    try:
        pasokh = run_bot(api, answerer, scenario)
    finally:
        llm.close()
    assert pasokh.stats.served == 2


# -- per-user rate limit -------------------------------------------------------------
@pytest.mark.timeout(120)
def test_rate_limited_user_gets_a_polite_message(api, kb):
    def scenario(pasokh):
        asked = [api.push_text(USER, text=Q_LEFT) for _ in range(3)]
        replies = [replies_to(api, m)[0] for m in asked]
        limited = [r for r in replies if "حد مجاز" in r.text]
        assert len(limited) == 1 and "۲ پرسش در دقیقه" in limited[0].text
        other = api.push_text(OTHER, text=Q_LEFT)
        assert "بامداد سه شنبه" in replies_to(api, other)[0].text

    pasokh = run_bot(api, Answerer(kb), scenario, env={"PASOKH_RATE_LIMIT_PER_MINUTE": "2"})
    assert pasokh.stats.rate_limited == 1 and pasokh.stats.served == 3


def test_user_rate_limit_window():
    now = [0.0]
    limit = UserRateLimit(2, clock=lambda: now[0])
    assert limit.check(1) == 0 and limit.check(1) == 0
    assert limit.check(1) == pytest.approx(60.0)
    assert limit.check(2) == 0
    now[0] = 30.0
    assert limit.check(1) == pytest.approx(30.0)
    now[0] = 60.0
    assert limit.check(1) == 0
    assert UserRateLimit(0).check(1) == 0


# -- admins add articles -------------------------------------------------------------
NEW_ARTICLE = (
    "سفر وزیر خارجه به ابوجا\n"
    "به گزارش خبرگزاری آزمایشی، وزیر امور خارجه روز چهارشنبه برای گفت‌وگو درباره همکاری‌های "
    "کشاورزی به ابوجا پایتخت نیجریه سفر کرد.\n"
    "در این سفر وزیر با رئیس‌جمهور نیجریه درباره صادرات گندم و کود شیمیایی گفت‌وگو کرد.\n"
)


@pytest.mark.timeout(180)
def test_admin_upload_lands_in_the_index_and_a_non_admins_does_not(api, kb):
    before = kb.version

    def scenario(pasokh):
        refused = api.push_document(
            OTHER, OTHER, "../../etc/nigeria-visit.txt", NEW_ARTICLE.encode()
        )
        assert replies_to(api, refused)[0].text == texts.UPLOAD_ADMINS_ONLY
        assert not api.calls("getFile") and not api.calls("download")
        assert kb.version == before

        upload = api.push_document(
            ADMIN, ADMIN, "../../etc/nigeria-visit.txt", NEW_ARTICLE.encode()
        )
        (report,) = replies_to(api, upload, timeout=90)
        assert "افزوده (۱)" in report.text and "nigeria-visit" in report.text
        assert "../" not in report.text and "etc" not in report.text
        assert api.calls("getFile") and api.calls("download")
        # an upload's id comes from its text, never its (sender-chosen, not unique) name
        assert kb.version != before and kb.article(content_id(NEW_ARTICLE)) is not None
        assert kb.article("nigeria-visit") is None

        question = api.push_text(
            USER, text="وزیر امور خارجه برای گفت‌وگو درباره چه همکاری‌هایی به ابوجا سفر کرد؟"
        )
        assert "کشاورزی" in replies_to(api, question)[0].text

        bad = b'{"id": "ok-1", "title": "\xd8\xaa", "text": "%s"}\n{not json\n' % (
            "وزیر خارجه به لیما سفر کرد و با همتای خود دیدار کرد.".encode()
        )
        mixed = api.push_document(ADMIN, ADMIN, "batch.jsonl", bad)
        (report,) = replies_to(api, mixed, timeout=90)
        assert (
            "ok-1" in report.text and "ردشده (۱)" in report.text and "batch.jsonl:2" in report.text
        )

        big = api.push_document(ADMIN, ADMIN, "big.txt", NEW_ARTICLE.encode() * 10)
        (report,) = replies_to(api, big)
        assert "over the" in report.text and "limit" in report.text
        assert len(api.calls("getFile")) == 2  # refused by its announced size, not downloaded

        pdf = api.push_document(ADMIN, ADMIN, "<scan> & co.pdf", b"%PDF-1.4")
        (report,) = replies_to(api, pdf)
        assert (
            "unsupported file type .pdf" in report.text
            and "&lt;scan&gt; &amp; co.pdf" in report.text
        )
        assert len(api.calls("getFile")) == 2  # the .pdf was never downloaded

    def configure(pasokh):
        pasokh.max_upload_bytes = 4000

    run_bot(api, Answerer(kb), scenario, configure=configure)
    assert current_version(kb.index_dir) == kb.version
    assert kb.article("ok-1") is not None


class _BlockingEmbedder:
    """The index's embedder, but embedding an upload waits for `release`: a long indexing
    run, without sleeps. Questions use the knowledge base's own embedder, not this one."""

    def __init__(self, inner) -> None:
        self.inner, self.started, self.release = inner, threading.Event(), threading.Event()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def _hold(self) -> None:
        self.started.set()
        assert self.release.wait(60), "never released"

    def encode_passages(self, texts):
        self._hold()
        return self.inner.encode_passages(texts)

    def encode_passages_with_spans(self, texts, spans):
        self._hold()
        return self.inner.encode_passages_with_spans(texts, spans)


@pytest.mark.timeout(180)
def test_questions_are_answered_while_an_upload_is_indexed(api, kb, embedder, tmp_path):
    heartbeat = tmp_path / "heartbeat"
    blocking = _BlockingEmbedder(embedder)
    before = kb.version

    def configure(pasokh):
        pasokh.index_embedder = blocking
        pasokh.progress_interval = 0.2

    def scenario(pasokh):
        # one invalid byte (replaced and named) and one record that is skipped, by name
        data = (
            json.dumps(
                {"title": "سفر وزیر خارجه به ابوجا", "text": NEW_ARTICLE}, ensure_ascii=False
            )
            .encode()
            .replace("ابوجا".encode(), "ابوجا".encode() + b"\xff", 1)
            + b"\n"
            + json.dumps({"id": "bad", "title": "ت", "text": "متن", "source": 5}).encode()
            + b"\n"
        )
        upload = api.push_document(ADMIN, ADMIN, "news.jsonl", data)
        assert blocking.started.wait(60)  # the upload is being embedded, and held there
        (status,) = api.wait_for_call("sendMessage", where=lambda c: c.chat_id == ADMIN)
        assert "news.jsonl" in status.text and not status.params.get("reply_parameters")

        beats = pasokh.stats.heartbeats  # the event loop runs: the heartbeat goes on
        question = api.push_text(USER, text=Q_LEFT)
        (answer,) = replies_to(api, question)  # answered from the live version meanwhile
        assert "بامداد سه شنبه" in answer.text and kb.version == before
        assert pasokh.stats.wait_for(lambda stats: stats.heartbeats > beats, timeout=20)
        progress = api.wait_for_call(
            "editMessageText", where=lambda c: c.chat_id == ADMIN and "افزودن" in c.text
        )
        assert all(c.params["message_id"] == progress[0].params["message_id"] for c in progress)

        blocking.release.set()
        (report,) = replies_to(api, upload, timeout=90)
        assert "افزوده (۱)" in report.text
        assert "news.jsonl: 1 invalid UTF-8 byte" in report.text  # the replaced byte, named
        assert "ردشده (۱)" in report.text and "news.jsonl:2" in report.text
        done = api.wait_for_call("editMessageText", where=lambda c: "به پایان رسید" in c.text)
        assert done[0].params["message_id"] == progress[0].params["message_id"]

    env = {"PASOKH_RELOAD_SECONDS": "0.5", "PASOKH_HEARTBEAT_FILE": str(heartbeat)}
    pasokh = run_bot(api, Answerer(kb), scenario, env=env, configure=configure)
    assert kb.version != before and pasokh.stats.served == 1


@pytest.mark.timeout(180)
def test_upload_during_another_indexing_run_gives_up_with_a_clear_message(api, kb):
    from index.versions import writer_lock

    before = kb.version

    def configure(pasokh):
        pasokh.lock_timeout = 1.0

    def scenario(pasokh):
        with writer_lock(kb.index_dir):  # `pasokh index build` is running
            upload = api.push_document(ADMIN, ADMIN, "news.txt", NEW_ARTICLE.encode())
            (reply,) = replies_to(api, upload, timeout=60)
        assert reply.text == texts.UPLOAD_BUSY.format(name="news.txt", reason="")
        assert api.wait_for_call("editMessageText", where=lambda c: "در جریان است" in c.text)
        question = api.push_text(USER, text=Q_LEFT)
        assert "بامداد سه شنبه" in replies_to(api, question)[0].text

    run_bot(api, Answerer(kb), scenario, configure=configure)
    assert kb.version == before and current_version(kb.index_dir) == before


def test_upload_progress_is_throttled():
    from bot.telegram.handlers.uploads import UploadProgress

    now = [0.0]
    progress = UploadProgress("news.json", interval=5.0, clock=lambda: now[0])
    assert progress.due() is None  # nothing new since the "received" line
    progress.stage = "indexing"
    progress.advance(10, 200)
    assert progress.due() is None  # news, but too soon
    now[0] = 5.0
    assert progress.due() == "افزودن «news.json» به نمایه… ۱۰ از ۲۰۰ بخش (۵٪)"
    progress.advance(20, 200)
    now[0] = 6.0
    assert progress.due() is None
    progress.stage = "done"
    assert progress.due(final=True) == "افزودن «news.json» به پایان رسید."  # final: at once
    now[0] = 60.0
    assert progress.due() is None  # shown already


@pytest.mark.timeout(120)
def test_admin_commands_refused_to_others_and_stats_and_reload(api, kb, embedder):
    def scenario(pasokh):
        for command in ("/stats", "/reload"):
            refused = api.push_text(USER, text=command)
            assert replies_to(api, refused)[0].text == texts.ADMINS_ONLY
        question = api.push_text(ADMIN, text=Q_LEFT)
        replies_to(api, question)
        # counted once the send has returned, a moment after it arrives
        assert pasokh.stats.wait_for(lambda stats: stats.served == 1, timeout=10)
        stats = api.push_text(ADMIN, text="/stats")
        (reply,) = replies_to(api, stats)
        assert "مقاله‌ها: ۲" in reply.text and "پرسش‌های پاسخ‌داده: ۱" in reply.text
        assert (
            "میانه" in reply.text
            and kb.version in reply.text
            and "multilingual-e5-small" in reply.text
        )

        # another process (`pasokh index add`) writes a new version; /reload picks it up
        update_index(kb.index_dir, embedder, [Article(id="extra", title="ت", text=NEW_ARTICLE)])
        reload_ = api.push_text(ADMIN, text="/reload")
        (reply,) = replies_to(api, reload_)
        assert "به‌روز شد" in reply.text and "۳ مقاله" in reply.text
        again = api.push_text(ADMIN, text="/reload")
        assert "تغییری نکرده" in replies_to(api, again)[0].text

    run_bot(api, Answerer(kb), scenario, env={"PASOKH_RELOAD_SECONDS": "3600"})


@pytest.mark.timeout(120)
def test_admins_stats_in_a_group_points_to_a_private_chat(api, kb):
    def scenario(pasokh):
        in_group = api.push_text(GROUP, ADMIN, "/stats", chat_type="supergroup")
        (reply,) = replies_to(api, in_group)
        assert reply.text == texts.STATS_PRIVATE_ONLY
        assert kb.version not in reply.text and "multilingual" not in reply.text
        private = api.push_text(ADMIN, text="/stats")
        assert kb.version in replies_to(api, private)[0].text

    run_bot(api, Answerer(kb), scenario)


@pytest.mark.timeout(120)
def test_start_reads_article_dates_once_per_version_off_the_event_loop(api, kb, monkeypatch):
    """The dates /start shows read every article's text: never on the event loop (a long
    text would stall every chat), and once per index version, not per /start."""
    import index.snapshot

    calls: list[bool] = []  # per call: was it on a thread running an event loop?
    real = index.snapshot.first_date_mention

    def watched(text):
        calls.append(asyncio._get_running_loop() is not None)
        return real(text)

    monkeypatch.setattr(index.snapshot, "first_date_mention", watched)

    def scenario(pasokh):
        for _ in range(3):
            start = api.push_text(USER, text="/start")
            assert "۱۵ مارس" in replies_to(api, start)[0].text

    run_bot(api, Answerer(kb), scenario)
    assert calls and not any(calls)
    assert len(calls) <= len(kb.articles())


@pytest.mark.timeout(120)
def test_watcher_swaps_to_a_new_index_version_without_failing_a_question(
    api, kb, embedder, tmp_path
):
    heartbeat = tmp_path / "heartbeat"
    before = kb.version

    def scenario(pasokh):
        assert heartbeat.exists()
        first_beat = heartbeat.stat().st_mtime_ns
        question = api.push_text(USER, text=Q_LEFT)
        api.wait_for_call("sendChatAction")  # the question is in flight
        update_index(kb.index_dir, embedder, [Article(id="extra", title="ت", text=NEW_ARTICLE)])
        assert "بامداد سه شنبه" in replies_to(api, question)[0].text
        assert pasokh.stats.wait_for(lambda stats: stats.reloads >= 1, timeout=20)
        assert kb.version != before and kb.article("extra") is not None
        assert pasokh.stats.reloads == 1
        beats = pasokh.stats.heartbeats
        assert pasokh.stats.wait_for(lambda stats: stats.heartbeats > beats, timeout=20)
        assert heartbeat.stat().st_mtime_ns > first_beat
        later = api.push_text(
            USER, text="وزیر امور خارجه برای گفت‌وگو درباره چه همکاری‌هایی به ابوجا سفر کرد؟"
        )
        assert "کشاورزی" in replies_to(api, later)[0].text

    env = {"PASOKH_RELOAD_SECONDS": "0.5", "PASOKH_HEARTBEAT_FILE": str(heartbeat)}
    run_bot(api, Answerer(kb), scenario, env=env)


# -- conversations -------------------------------------------------------------------
def _source_ids(text: str) -> set[str]:
    return set(re.findall(r"شناسه: (\S+?)\)", text))


@pytest.mark.timeout(120)
def test_follow_up_in_the_same_chat(api, kb):
    def scenario(pasokh):
        first = api.push_text(USER, text=Q_LEFT)
        assert _source_ids(replies_to(api, first)[0].text) == {SEED_A}
        follow = api.push_text(USER, text=Q_FOLLOW)
        assert _source_ids(replies_to(api, follow)[0].text) == {SEED_A}  # "this trip"

        fresh = api.push_text(OTHER, text=Q_FOLLOW)  # no earlier question in this chat
        assert _source_ids(replies_to(api, fresh)[0].text) == {SEED_A, SEED_B}

        replies_to(api, api.push_text(USER, text="/new"))
        after_new = api.push_text(USER, text=Q_FOLLOW)
        assert _source_ids(replies_to(api, after_new)[0].text) == {SEED_A, SEED_B}

    run_bot(api, Answerer(kb), scenario)


# -- groups and other messages -------------------------------------------------------
GROUP = -100123


@pytest.mark.timeout(120)
def test_groups_answer_only_when_addressed(api, kb):
    mention = "@" + stub.BOT_USERNAME

    def scenario(pasokh):
        quiet = api.push_text(GROUP, USER, Q_LEFT, chat_type="supergroup")
        sticker_fields = {"sticker": {"file_id": "S", "file_unique_id": "S", "type": "regular",
                                      "width": 1, "height": 1, "is_animated": False,
                                      "is_video": False}}  # fmt: skip
        api.push_message(api.message(GROUP, USER, "supergroup", **sticker_fields))
        text = f"{mention} {Q_LEFT}"
        mentioned = api.push_text(
            GROUP, USER, text, chat_type="supergroup",
            entities=[{"type": "mention", "offset": 0, "length": len(mention)}],
        )  # fmt: skip
        (reply,) = replies_to(api, mentioned)
        assert "بامداد سه شنبه" in reply.text

        bot_message = {**sent_message(reply), "chat": {"id": GROUP, "type": "supergroup"}}
        follow = api.push_text(GROUP, OTHER, Q_FOLLOW, chat_type="supergroup", reply_to=bot_message)
        assert _source_ids(replies_to(api, follow)[0].text) == {SEED_A}

        ask = api.push_text(GROUP, USER, f"/ask@{stub.BOT_USERNAME} علیرضا حقیقیان چه سمتی دارد؟",
                            chat_type="supergroup")  # fmt: skip
        assert "حقیقیان" in replies_to(api, ask)[0].text
        empty_ask = api.push_text(GROUP, USER, "/ask", chat_type="supergroup")
        assert "/ask" in replies_to(api, empty_ask)[0].text

        in_group = [c for c in api.calls("sendMessage") if c.chat_id == GROUP]
        quoted = [(c.json_param("reply_parameters") or {}).get("message_id") for c in in_group]
        assert quiet["message_id"] not in quoted and len(in_group) == 4

    run_bot(api, Answerer(kb), scenario)


@pytest.mark.timeout(120)
def test_non_text_messages_get_a_short_polite_reply(api, kb):
    kinds = {
        "sticker": {"file_id": "S", "file_unique_id": "S", "type": "regular", "width": 1,
                    "height": 1, "is_animated": False, "is_video": False},
        "photo": [{"file_id": "P", "file_unique_id": "P", "width": 1, "height": 1}],
        "voice": {"file_id": "V", "file_unique_id": "V", "duration": 2},
    }  # fmt: skip

    def scenario(pasokh):
        for kind, value in kinds.items():
            message = api.message(USER, USER, **{kind: value})
            api.push_message(message)
            assert replies_to(api, message)[0].text == texts.NON_TEXT
        english = api.push_text(USER, text="hello, who are you?")
        assert replies_to(api, english)[0].text == texts.NOT_PERSIAN

    run_bot(api, Answerer(kb), scenario)


# -- errors --------------------------------------------------------------------------
class _Exploding:
    """An answerer that fails on one question, as a bug would."""

    def __init__(self, inner):
        self.inner, self.kb = inner, inner.kb

    def answer(self, question, conversation=None, top_k=5):
        if "منفجر" in question:
            raise RuntimeError(f"boom {TOKEN}")
        return self.inner.answer(question, conversation, top_k)


@pytest.mark.timeout(120)
def test_a_failing_update_is_reported_and_the_bot_goes_on(api, kb, caplog):
    def scenario(pasokh):
        bad = api.push_text(USER, text="این پرسش منفجر می‌شود؟")
        assert replies_to(api, bad)[0].text == texts.ERROR
        good = api.push_text(USER, text=Q_LEFT)
        assert "بامداد سه شنبه" in replies_to(api, good)[0].text

    pasokh = run_bot(api, _Exploding(Answerer(kb)), scenario)
    assert pasokh.stats.errors == 1
    assert "boom <token>" in caplog.text and TOKEN not in caplog.text


class _Held:
    """An answerer that holds each answer until `release` is set: long work, no sleeps."""

    def __init__(self, inner):
        self.inner, self.kb, self.release = inner, inner.kb, threading.Event()

    def answer(self, question, conversation=None, top_k=5):
        assert self.release.wait(60), "never released"
        return self.inner.answer(question, conversation, top_k)


@pytest.mark.timeout(120)
def test_typing_is_resent_during_long_work(api, kb):
    def configure(pasokh):
        pasokh.typing_interval = 0.4

    held = _Held(Answerer(kb))

    def scenario(pasokh):
        question = api.push_text(USER, text=Q_LEFT)
        api.wait_for_call("sendChatAction", count=4)  # re-sent while the answer is held
        assert api.calls("sendMessage") == []
        held.release.set()
        (reply,) = replies_to(api, question)
        typing = [c for c in api.calls("sendChatAction") if c.at < reply.at]
        assert len(typing) >= 4

    run_bot(api, held, scenario, configure=configure)


@pytest.mark.timeout(120)
def test_typing_only_for_an_answer_slower_than_the_delay(api, kb):
    """A fast answer goes out without a "typing…" request; a slow one gets it after the delay."""
    held = _Held(Answerer(kb))

    def scenario(pasokh):
        held.release.set()
        fast = api.push_text(USER, text=Q_LEFT)
        replies_to(api, fast)
        assert api.calls("sendChatAction") == []
        held.release.clear()
        slow = api.push_text(OTHER, text=Q_LEFT)
        (typing,) = api.wait_for_call("sendChatAction", where=lambda c: c.chat_id == OTHER)
        assert typing.at - api.delivered_at(api.update_id_of(slow)) >= 1.9
        held.release.set()
        replies_to(api, slow)

    run_bot(api, held, scenario, env={"PASOKH_TYPING_DELAY": "2"})


# -- settings ------------------------------------------------------------------------
def test_settings_from_env(tmp_path):
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    settings = TelegramSettings.from_env(
        {
            "TELEGRAM_BOT_TOKEN_FILE": str(secret),
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot/",
            "PASOKH_ADMIN_IDS": " 1, 22 ,333",
        }
    )
    assert settings.token == TOKEN and TOKEN not in repr(settings)
    assert settings.api_base_url == "http://127.0.0.1:8081"
    assert settings.admin_ids == {1, 22, 333} and settings.rate_limit_per_minute == 10
    assert settings.webhook_listen == "127.0.0.1"  # a TLS proxy on the host forwards to it
    env_wins = TelegramSettings.from_env(
        {"TELEGRAM_BOT_TOKEN": "1:env", "TELEGRAM_BOT_TOKEN_FILE": str(secret)}
    )
    assert env_wins.token == "1:env" and env_wins.admin_ids == frozenset()
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        TelegramSettings.from_env({})
    with pytest.raises(ConfigError, match="PASOKH_ADMIN_IDS"):
        TelegramSettings.from_env({"TELEGRAM_BOT_TOKEN": "1:x", "PASOKH_ADMIN_IDS": "me"})
    with pytest.raises(ConfigError, match="TOKEN_FILE") as err:
        TelegramSettings.from_env({"TELEGRAM_BOT_TOKEN_FILE": str(tmp_path / "missing")})
    assert TOKEN not in str(err.value)
    install_log_redaction(TOKEN)  # what run_telegram does with the token it reads
    assert redact(f"url /bot{TOKEN}/getMe") == "url /bot<token>/getMe"


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("setWebhook با رمز %s", "generated-webhook-secret_0123456789abcdef"),
        ("کلید مدل زبانی: %s", "sk-llm-key-that-must-not-show"),
        (
            "توکن دیگری در پیام خطا: %s",
            "5555555:AAAbbbCCCdddEEEfffGGGhhhIIIjjjKKK00",
        ),  # token-shaped
    ],
)
def test_log_records_use_the_shared_redaction(caplog, message, secret):
    """Log records go through bot.redaction: secrets registered at run time (the generated
    webhook secret) and anything shaped like a Bot API token, in messages and tracebacks."""
    from bot.redaction import register_secret

    install_log_redaction(TOKEN)
    if ":" not in secret:
        register_secret(secret)
    logger = logging.getLogger("pasokh.test.redaction")
    with caplog.at_level(logging.INFO, logger="pasokh.test.redaction"):
        logger.warning(message, secret)
        try:
            raise RuntimeError(f"request to /bot{TOKEN}/setWebhook?secret_token={secret}")
        except RuntimeError:
            logger.exception("failed")
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert secret not in text and TOKEN not in text
    assert text.count("<token>") >= 3


# -- the real command, as a process ----------------------------------------------------
def _pasokh(
    api, index_dir: Path, *extra: str, token: str = TOKEN, env: dict[str, str] | None = None
) -> subprocess.Popen:
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "PASOKH_ADMIN_IDS": str(ADMIN),
        "TELEGRAM_POLL_TIMEOUT": "1",
        "PASOKH_TYPING_DELAY": "0",
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "telegram", "--index-dir", str(index_dir), *extra],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _drain(process: subprocess.Popen, sink: list[str]) -> threading.Thread:
    thread = threading.Thread(target=lambda: sink.extend(process.stderr), daemon=True)
    thread.start()
    return thread


@pytest.mark.timeout(180)
def test_sigterm_stops_cleanly_after_the_update_in_hand(api, seed_index_copy):
    process = _pasokh(api, seed_index_copy, "--debug")
    stderr: list[str] = []
    reader = _drain(process, stderr)
    try:
        api.wait_for_call("getUpdates", timeout=120)
        first = api.push_text(USER, text=Q_LEFT)
        assert "بامداد سه شنبه" in replies_to(api, first)[0].text
        second = api.push_text(OTHER, text="علیرضا حقیقیان چه سمتی دارد؟")
        api.wait_delivered(api.update_id_of(second), timeout=30)
        api.wait_for_call("sendChatAction", where=lambda c: c.chat_id == OTHER)
        process.send_signal(signal.SIGTERM)  # the second question is being answered
        assert process.wait(timeout=60) == 0
        assert "حقیقیان" in replies_to(api, second, timeout=1)[0].text
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=5)
    log_text = "".join(stderr)
    assert "running as @" + stub.BOT_USERNAME in log_text
    assert "<token>" in log_text and TOKEN not in log_text  # --debug logs every request URL


@pytest.mark.timeout(180)
def test_rejected_token_is_not_printed(api, seed_index_copy):
    wrong = "999999:wrong-Token-that-must-not-show"
    process = _pasokh(api, seed_index_copy, token=wrong)
    try:
        _, err = process.communicate(timeout=150)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 2
    assert "pasokh: error: InvalidToken" in err and "<token>" in err
    assert wrong not in err


@pytest.mark.timeout(180)
def test_rejected_token_is_not_printed_under_debug(api, seed_index_copy):
    """--debug prints the traceback and logs every request URL: both redacted."""
    wrong = "999999:wrong-Token-that-must-not-show"
    process = _pasokh(api, seed_index_copy, "--debug", token=wrong)
    try:
        _, err = process.communicate(timeout=150)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 2
    assert "Traceback" in err and "InvalidToken" in err and "/bot<token>/getMe" in err
    assert wrong not in err and wrong.split(":")[1] not in err


@pytest.mark.timeout(180)
def test_webhook_mode_answers_a_posted_update(api, seed_index_copy):
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/pasokh-hook"
    env = {"TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1", "TELEGRAM_WEBHOOK_SECRET": "s3cret"}
    process = _pasokh(api, seed_index_copy, "--webhook-url", url, "--port", str(port), env=env)
    try:
        (hook,) = api.wait_for_call("setWebhook", timeout=120)
        assert hook.params["url"] == url and hook.params["secret_token"] == "s3cret"
        message = api.message(USER, USER, text=Q_LEFT)
        body = json.dumps({"update_id": 1, "message": message}).encode()

        def post(secret: str) -> int:
            request = urllib.request.Request(
                url,
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": secret,
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status
            except urllib.error.HTTPError as err:
                return err.code

        deadline = time.monotonic() + 30
        while True:  # setWebhook may come a moment before the server listens
            try:
                first = post("wrong")
                break
            except urllib.error.URLError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert first == 403
        assert post("s3cret") == 200
        assert "بامداد سه شنبه" in replies_to(api, message)[0].text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _post_update(url: str, update: dict, secret: str | None) -> int:
    """POST `update` to the webhook as Telegram would (or as a forger would); the status."""
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, data=json.dumps(update).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.timeout(180)
def test_webhook_without_a_configured_secret_refuses_forged_updates(api, seed_index_copy):
    """No TELEGRAM_WEBHOOK_SECRET, no TELEGRAM_WEBHOOK_LISTEN: a secret is made up, given to
    Telegram, and a forged admin /stats without it (or with a wrong one) is refused."""
    import socket
    import urllib.error

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook"
    env = {"TELEGRAM_WEBHOOK_SECRET": "", "TELEGRAM_WEBHOOK_LISTEN": ""}
    process = _pasokh(api, seed_index_copy, "--webhook-url", url, "--port", str(port), env=env)
    stderr: list[str] = []
    reader = _drain(process, stderr)
    try:
        (hook,) = api.wait_for_call("setWebhook", timeout=120)
        secret = hook.params.get("secret_token") or ""
        assert len(secret) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", secret)
        forged = api.message(ADMIN, ADMIN, text="/stats")
        forged["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
        update = {"update_id": 7, "message": forged}
        deadline = time.monotonic() + 30
        while True:  # setWebhook may come a moment before the server listens
            try:
                unsigned = _post_update(url, update, None)
                break
            except urllib.error.URLError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert unsigned == 403
        assert _post_update(url, update, "not-the-secret") == 403
        assert _post_update(url, {**update, "update_id": 8}, secret[:-1]) == 403
        time.sleep(1.0)  # not a timing assertion: room for a wrongly accepted update to act
        assert api.calls("sendMessage") == []

        assert _post_update(url, {**update, "update_id": 9}, secret) == 200
        (stats,) = replies_to(api, forged)
        assert "مقاله‌ها: ۲" in stats.text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=5)
    assert secret not in "".join(stderr)
