"""`pasokh serve`: the HTTP API answers like `pasokh ask --json`, over real loopback HTTP."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from bot.answering import Answerer
from bot.serve import make_server


@pytest.fixture(scope="module")
def answerer(seed_kb):
    return Answerer(seed_kb)


@pytest.fixture(scope="module")
def base_url(answerer):
    server = make_server(answerer, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize(
    "question",
    ["علیرضا حقیقیان چه سمتی دارد؟", "امیرعبداللهیان کی تهران را به مقصد مسکو ترک کرد؟"],
)
def test_ask_returns_the_ask_json_shape(base_url, answerer, question):
    status, data = _post(f"{base_url}/ask", json.dumps({"question": question}).encode())
    assert status == 200
    expected = answerer.answer(question).as_dict()
    data.pop("timings_ms"), expected.pop("timings_ms")
    assert data == json.loads(json.dumps(expected, ensure_ascii=False))


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 400),
        (b"not json", 400),
        (json.dumps({"question": ""}).encode(), 400),
        (json.dumps({"question": "سلام", "top_k": 0}).encode(), 400),
        (json.dumps({"text": "سلام"}).encode(), 400),
    ],
)
def test_bad_requests_get_one_clear_error(base_url, body, status):
    code, data = _post(f"{base_url}/ask", body)
    assert code == status and data["error"]


def test_health_and_unknown_route(base_url, seed_kb):
    with urllib.request.urlopen(f"{base_url}/health", timeout=10) as response:
        assert json.loads(response.read()) == {"ok": True, "index_version": seed_kb.version}
    code, data = _post(f"{base_url}/nowhere", b"{}")
    assert code == 404 and "/ask" in data["error"]


def test_requests_at_once_get_the_answers_asked_alone(base_url, answerer, dev_questions):
    """Several answers run at once (and their vectors are prefetched): none changes."""
    from concurrent.futures import ThreadPoolExecutor

    questions = [q["question"] for q in dev_questions]

    def ask(question: str) -> dict:
        status, data = _post(f"{base_url}/ask", json.dumps({"question": question}).encode())
        assert status == 200
        data.pop("timings_ms")
        return data

    with ThreadPoolExecutor(len(questions)) as pool:
        together = list(pool.map(ask, questions))
    for question, data in zip(questions, together, strict=True):
        expected = answerer.answer(question).as_dict()
        expected.pop("timings_ms")
        assert data == json.loads(json.dumps(expected, ensure_ascii=False)), question
