"""The optional language model, against a small fake OpenAI-compatible server on loopback."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from bot.answering import Answerer
from bot.llm import LlmPhraser


class FakeOpenAI(BaseHTTPRequestHandler):
    mode = "ok"
    requests: ClassVar[list[dict]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAI.requests.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        if self.mode == "error":
            self.send_response(500)
            self.end_headers()
            return
        if self.mode == "slow":
            threading.Event().wait(2)
        excerpt = body["messages"][-1]["content"].split("\n")[1]
        cite = " [1]"
        if self.mode == "uncited":  # no [n] anywhere, not even the excerpt's own number
            excerpt, cite = re.sub(r"\[\d+\]\s*", "", excerpt), ""
        reply = {"choices": [{"message": {"content": f"به گفته‌ی منبع: {excerpt[:60]}{cite}"}}]}
        data = json.dumps(reply, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    FakeOpenAI.requests.clear()
    FakeOpenAI.mode = "ok"
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


QUESTION = "علیرضا حقیقیان چه سمتی دارد؟"


def test_phrased_from_cited_passages_only(server, seed_kb, monkeypatch):
    monkeypatch.setenv("PASOKH_LLM_BASE_URL", server)
    monkeypatch.setenv("PASOKH_LLM_MODEL", "fake-model")
    monkeypatch.setenv("PASOKH_LLM_API_KEY", "k")
    answerer = Answerer.from_env(seed_kb)
    answer = answerer.answer(QUESTION)
    assert answer.phrased_by == "llm" and "[1]" in answer.text
    (request,) = FakeOpenAI.requests
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer k"
    prompt = request["body"]["messages"][-1]["content"]
    assert QUESTION in prompt
    for i, part in enumerate(answer.parts, start=1):  # every cited passage, numbered …
        assert f"[{i}] ({part.source}" in prompt and part.text in prompt
    assert f"[{len(answer.parts) + 1}]" not in prompt  # … and nothing else


def test_missing_citations_are_added(server, seed_kb):
    """A reply without any [n] gets one citation per passage it was given."""
    FakeOpenAI.mode = "uncited"
    answer = Answerer(seed_kb, LlmPhraser(server, "fake-model")).answer(QUESTION)
    assert answer.phrased_by == "llm" and answer.parts
    expected = " ".join(f"[{i}]" for i in range(1, len(answer.parts) + 1))
    assert answer.text.startswith("به گفته‌ی منبع: ") and answer.text.endswith(" " + expected)


@pytest.mark.parametrize("mode", ["error", "slow"])
def test_falls_back_to_extractive_on_error_or_timeout(server, seed_kb, mode):
    FakeOpenAI.mode = mode
    answerer = Answerer(seed_kb, LlmPhraser(server, "fake-model", timeout=0.5))
    answer = answerer.answer(QUESTION)
    assert answer.phrased_by == "extractive" and "اوراسیا" in answer.text


def test_off_by_default(seed_kb, monkeypatch):
    monkeypatch.delenv("PASOKH_LLM_BASE_URL", raising=False)
    assert Answerer.from_env(seed_kb).phraser is None


def test_declined_questions_never_reach_the_model(server, seed_kb):
    answerer = Answerer(seed_kb, LlmPhraser(server, "fake-model"))
    assert answerer.answer("قیمت دلار امروز چقدر است؟").abstained
    assert FakeOpenAI.requests == []
