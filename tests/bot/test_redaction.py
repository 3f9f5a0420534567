"""Secrets stay out of what pasokh prints, tracebacks under --debug included (issue 10)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import cli
from bot.redaction import format_exception, redact, register_secret
from tests.support import telegram_stub_server as stub

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "999999:wrong-Token-that-must-not-show"


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        (f"url /bot{TOKEN}/getMe", {"TELEGRAM_BOT_TOKEN": TOKEN}, "url /bot<token>/getMe"),
        ("q=999999%3Awrong-Token-that-must-not-show", {"TELEGRAM_BOT_TOKEN": TOKEN}, "q=<token>"),
        ("کلید sk-local-abc123 رد شد", {"PASOKH_LLM_API_KEY": "sk-local-abc123"}, "کلید <token> رد شد"),
        ("bot1234567:AAH-abcdefghijklmnopqrstuvwxyz0123456/x", {}, "bot<token>/x"),  # by shape
        ("a short value: abc", {"TELEGRAM_WEBHOOK_SECRET": "abc"}, "a short value: abc"),
    ],
    ids=["env-token", "url-quoted", "llm-key", "token-shape", "too-short-to-redact"],
)  # fmt: skip
def test_redact(text, env, expected):
    assert redact(text, env) == expected


def test_token_file_and_registered_secrets(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    assert redact(f"x {TOKEN} y", {"TELEGRAM_BOT_TOKEN_FILE": str(token_file)}) == "x <token> y"
    register_secret("generated-webhook-secret-42")
    assert redact("s=generated-webhook-secret-42", {}) == "s=<token>"


def test_chained_traceback_is_redacted(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    try:
        try:
            raise ConnectionError(f"GET https://api.telegram.org/bot{TOKEN}/getMe")
        except ConnectionError as inner:
            raise RuntimeError("rejected") from inner
    except RuntimeError as err:
        text = format_exception(err)
    assert "Traceback" in text and "/bot<token>/getMe" in text and TOKEN not in text


def test_debug_traceback_from_the_cli_hides_the_token(monkeypatch, capsys):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)

    def rejected(args):
        raise ValueError(f"The token `{TOKEN}` was rejected by the server.")

    monkeypatch.setattr(cli, "cmd_index_stats", rejected)
    assert cli.main(["index", "stats", "--debug"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert "Traceback" in err and "The token `<token>` was rejected" in err
    assert TOKEN not in err


@pytest.mark.timeout(180)
def test_rejected_token_under_debug_is_not_printed(seed_index_copy):
    """The real path: the Bot API refuses the token, pasokh runs with --debug."""
    with stub.StubBotApi("1234567890:AAH-the-right-token-is-another-one") as api:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.base_url}
        process = subprocess.run(
            [sys.executable, "-m", "bot.cli", "telegram", "--index-dir", str(seed_index_copy),
             "--debug"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=150,
        )  # fmt: skip
    assert process.returncode == cli.EXIT_ERROR
    assert "Traceback" in process.stderr and "InvalidToken" in process.stderr
    assert TOKEN not in process.stderr
