"""The console through a pseudo-terminal (pexpect) and through a pipe, as a user runs it."""

import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from bot.answering import Answerer
from bot.console import ConsoleSession

ROOT = Path(__file__).resolve().parents[2]
PASOKH = [sys.executable, "-m", "bot.cli"]


def _env(index_dir: Path) -> dict:
    return {**os.environ, "PASOKH_INDEX_DIR": str(index_dir), "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(ROOT), "PASOKH_HISTORY_FILE": str(index_dir / "history")}  # fmt: skip


@pytest.fixture(scope="module")
def session_answerer(seed_kb):
    return Answerer(seed_kb)


def test_commands(session_answerer):
    session = ConsoleSession(session_answerer)
    assert ":sources" in session.handle(":help")
    sources = session.handle(":sources")
    assert "2 مقاله" in sources and "000_42826dca8da319ad" in sources
    assert "هنوز پاسخی نیست" in session.handle(":more")
    answer = session.handle("علیرضا حقیقیان چه سمتی دارد؟")
    assert "اوراسیا" in answer and "منابع:" in answer
    more = session.handle(":more")
    assert "علیرضا حقیقیان" in more and len(more) > len(answer) / 2
    assert "تازه" in session.handle(":new")
    assert session.handle(":quit") is None
    assert "ناشناخته" in session.handle(":foo")


def test_bidi_reorders_for_plain_terminals(session_answerer):
    plain = ConsoleSession(session_answerer).handle(":help")
    visual = ConsoleSession(session_answerer, bidi=True).handle(":help")
    assert plain != visual and sorted(plain.replace("\n", "")) == sorted(visual.replace("\n", ""))


@pytest.mark.timeout(180)
def test_pipe_answers_each_line_and_exits_at_eof(seed_index_dir):
    result = subprocess.run(
        [*PASOKH, "console"],
        input="حق مشروع سوری‌ها چیست؟\n:sources\n",
        capture_output=True, text=True, env=_env(seed_index_dir), timeout=170, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "تعیین مستقل آینده کشورشان" in result.stdout
    assert "2 مقاله" in result.stdout


@pytest.mark.timeout(180)
def test_interactive_terminal_session(seed_index_dir):
    child = pexpect.spawn(
        PASOKH[0], [*PASOKH[1:], "console"], env=_env(seed_index_dir), cwd=str(ROOT),
        encoding="utf-8", timeout=120, dimensions=(40, 160),
    )  # fmt: skip
    try:
        child.expect("پرسش> ")
        child.sendline("امیرعبداللهیان در سفر فروردین به مسکو چه گفت؟")
        child.expect("منابع:")
        child.expect("پرسش> ")
        child.sendline("چه کسانی او را در این سفر همراهی کردند؟")
        child.expect("ناصر کنعانی")
        child.expect("پرسش> ")
        child.sendline(":more")
        child.expect("همراهی میکنند")
        child.expect("پرسش> ")
        child.sendline(":quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
