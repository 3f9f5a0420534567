"""A stand-in Telegram Bot API server for tests and benchmarks: stdlib only, loopback only.

Serves ``POST /bot<TOKEN>/<method>`` (getMe, getUpdates with long polling and offsets,
sendMessage, sendChatAction, setMyCommands, deleteWebhook, answerCallbackQuery,
editMessageText, getFile, and a plain ``true`` for anything else) and
``GET /file/bot<TOKEN>/<path>`` for downloads. Every call is recorded with its
parameters and arrival time. Like Telegram, it refuses HTML that does not parse and
texts longer than 4,096 characters, and it can be told to fail the next N calls of a
method with a 429 (with ``retry_after``) or a 500. Like Telegram, a call made before a
429's ``retry_after`` has run out is refused with another 429.

    with StubBotApi(token) as api:
        api.push_text(chat_id=1, user_id=1, text="سلام")
        call = api.wait_for_call("sendMessage", timeout=30)
"""

from __future__ import annotations

import html.parser
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

BOT_ID = 777000111
BOT_USERNAME = "pasokh_test_bot"
LONG_POLL_CAP = 1.0  # seconds a getUpdates may wait at most, whatever timeout it asks
MESSAGE_LIMIT = 4096
_ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.perf_counter() on arrival
    status: int = 200

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value not in (None, "") else None

    def json_param(self, name: str) -> Any:
        value = self.params.get(name)
        return json.loads(value) if isinstance(value, str) else value


@dataclass
class _Failure:
    status: int
    remaining: int
    retry_after: int = 1


@dataclass
class _State:
    updates: list[dict] = field(default_factory=list)
    delivered_at: dict[int, float] = field(default_factory=dict)  # update_id -> perf_counter
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, _Failure] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file_id -> (path, data)
    chats: dict[int, dict] = field(default_factory=dict)
    flood_until: dict[str, float] = field(default_factory=dict)  # method -> perf_counter


class TelegramHtmlError(ValueError):
    pass


class _HtmlChecker(html.parser.HTMLParser):
    """Telegram's HTML rules: known tags, properly nested, no bare < or &."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.visible = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in _ALLOWED_TAGS:
            raise TelegramHtmlError(f'Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise TelegramHtmlError(f'Unmatched end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or "&" in data:
            raise TelegramHtmlError("Unexpected character in text; escape < and &")
        self.visible += len(data.encode("utf-16-le")) // 2

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            raise TelegramHtmlError(f"Unsupported entity &{name};")
        self.visible += 1

    def handle_charref(self, name: str) -> None:
        self.visible += 1


def check_telegram_html(text: str) -> int:
    """The visible length (UTF-16 units) of Telegram HTML; TelegramHtmlError if invalid."""
    if re.search(r"&(?![a-zA-Z]+;|#\d+;|#x[0-9a-fA-F]+;)", text):
        raise TelegramHtmlError("Unexpected character '&'; escape it as &amp;")
    checker = _HtmlChecker()
    checker.feed(text)
    checker.close()
    if checker.stack:
        raise TelegramHtmlError(
            f'Can\'t find end tag corresponding to start tag "{checker.stack[-1]}"'
        )
    return checker.visible


class StubBotApi:
    def __init__(self, token: str, bot_id: int = BOT_ID, username: str = BOT_USERNAME) -> None:
        self.token = token
        self.bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Pasokh",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._state = _State()
        self._cond = threading.Condition()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._file_ids = itertools.count(1)
        self._update_of_message: dict[int, int] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.closed = False

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> StubBotApi:
        api = self

        class Handler(_Handler):
            stub = api

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> StubBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- what the tests push -------------------------------------------------------------
    def _push(self, update: dict) -> int:
        with self._cond:
            update["update_id"] = next(self._update_ids)
            self._state.updates.append(update)
            self._cond.notify_all()
        return update["update_id"]

    def chat(self, chat_id: int, chat_type: str = "private", title: str = "گروه") -> dict:
        chat = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = f"user{chat_id}"
        else:
            chat["title"] = title
        self._state.chats[chat_id] = chat
        return chat

    @staticmethod
    def user(user_id: int) -> dict:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": f"کاربر{user_id}",
            "language_code": "fa",
        }

    def message(
        self,
        chat_id: int,
        user_id: int,
        chat_type: str = "private",
        **fields: Any,
    ) -> dict:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id, chat_type),
            "from": self.user(user_id),
            **fields,
        }

    def push_message(self, message: dict) -> int:
        """Queue an update carrying `message`; returns its update_id."""
        update_id = self._push({"message": message})
        with self._cond:
            self._update_of_message[message["message_id"]] = update_id
        return update_id

    def update_id_of(self, message: dict) -> int:
        with self._cond:
            return self._update_of_message[message["message_id"]]

    def push_text(
        self,
        chat_id: int,
        user_id: int | None = None,
        text: str = "",
        chat_type: str = "private",
        reply_to: dict | None = None,
        entities: list[dict] | None = None,
    ) -> dict:
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            fields["entities"] = [
                {
                    "type": "bot_command",
                    "offset": 0,
                    "length": len(command.encode("utf-16-le")) // 2,
                }
            ]
        if entities:
            fields["entities"] = fields.get("entities", []) + entities
        if reply_to is not None:
            fields["reply_to_message"] = reply_to
        message = self.message(
            chat_id, user_id if user_id is not None else chat_id, chat_type, **fields
        )
        self.push_message(message)
        return message

    def add_file(self, data: bytes, extension: str = "txt") -> dict:
        """Store a file for download; returns its Document fields (without file_name)."""
        number = next(self._file_ids)
        file_id = f"FILE{number}"
        with self._cond:
            self._state.files[file_id] = (f"documents/file_{number}.{extension}", data)
        return {"file_id": file_id, "file_unique_id": f"U{number}", "file_size": len(data)}

    def push_document(
        self, chat_id: int, user_id: int, file_name: str, data: bytes, chat_type: str = "private"
    ) -> dict:
        document = {**self.add_file(data, "bin"), "file_name": file_name, "mime_type": "text/plain"}
        message = self.message(chat_id, user_id, chat_type, document=document)
        self.push_message(message)
        return message

    def push_callback(self, user_id: int, message: dict, data: str) -> int:
        return self._push(
            {
                "callback_query": {
                    "id": f"cb{next(self._file_ids)}",
                    "from": self.user(user_id),
                    "chat_instance": "ci",
                    "message": message,
                    "data": data,
                }
            }
        )

    def fail_next(self, method: str, count: int, status: int, retry_after: int = 1) -> None:
        """The next `count` calls of `method` fail with `status` (429 carries retry_after)."""
        with self._cond:
            self._state.failures[method] = _Failure(status, count, retry_after)

    # -- what the tests read -------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        with self._cond:
            return [c for c in self._state.calls if method is None or c.method == method]

    def delivered_at(self, update_id: int) -> float | None:
        with self._cond:
            return self._state.delivered_at.get(update_id)

    def wait_delivered(self, update_id: int, timeout: float = 30.0) -> float:
        """Block until the bot has fetched update `update_id`; when it was (perf_counter)."""
        with self._cond:
            if not self._cond.wait_for(
                lambda: update_id in self._state.delivered_at, timeout=timeout
            ):
                raise TimeoutError(f"update {update_id} not fetched within {timeout} s")
            return self._state.delivered_at[update_id]

    def wait_for_call(
        self,
        method: str,
        where: Any = None,
        count: int = 1,
        timeout: float = 30.0,
        ok_only: bool = True,
    ) -> list[Call]:
        """Block until `count` calls of `method` (matching `where`) were recorded."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    c
                    for c in self._state.calls
                    if c.method == method
                    and (not ok_only or c.status == 200)
                    and (where is None or where(c))
                ]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(c.method, c.status, c.text[:80]) for c in self._state.calls[-15:]]
                    raise TimeoutError(
                        f"no {count}x {method} within {timeout} s; last calls: {seen}"
                    )
                self._cond.wait(min(remaining, 0.2))

    # -- serving -------------------------------------------------------------------------
    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict]:
        with self._cond:
            call = Call(method, params, time.perf_counter())
            failure = self._state.failures.get(method)
            flood_until = self._state.flood_until.get(method, 0.0)
            if call.at < flood_until:  # retried before retry_after ran out: refused again
                call.status = 429
                self._record(call)
                wait = max(1, round(flood_until - call.at))
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {wait}",
                    "parameters": {"retry_after": wait},
                }
            if failure and failure.remaining > 0:
                failure.remaining -= 1
                call.status = failure.status
                self._record(call)
                if failure.status == 429:
                    self._state.flood_until[method] = call.at + failure.retry_after
                    return 429, {
                        "ok": False,
                        "error_code": 429,
                        "description": f"Too Many Requests: retry after {failure.retry_after}",
                        "parameters": {"retry_after": failure.retry_after},
                    }
                return failure.status, {
                    "ok": False,
                    "error_code": failure.status,
                    "description": "Internal Server Error",
                }
        if method == "getUpdates":
            return self._get_updates(call)
        handler = getattr(self, f"_m_{method}", None)
        try:
            result = handler(params) if handler else True
        except TelegramHtmlError as err:
            call.status = 400
            with self._cond:
                self._record(call)
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": f"Bad Request: can't parse entities: {err}",
            }
        except _BadRequest as err:
            call.status = 400
            with self._cond:
                self._record(call)
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {err}"}
        with self._cond:
            self._record(call)
        return 200, {"ok": True, "result": result}

    def _record(self, call: Call) -> None:
        self._state.calls.append(call)
        self._cond.notify_all()

    def _get_updates(self, call: Call) -> tuple[int, dict]:
        offset = int(call.params.get("offset") or 0)
        wait = min(float(call.params.get("timeout") or 0), LONG_POLL_CAP)
        limit = int(call.params.get("limit") or 100)
        deadline = time.monotonic() + wait
        with self._cond:
            self._record(call)
            while True:
                if offset:
                    self._state.updates = [
                        u for u in self._state.updates if u["update_id"] >= offset
                    ]
                ready = self._state.updates[:limit]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0 or self.closed:
                    break
                self._cond.wait(remaining)
            now = time.perf_counter()
            for update in ready:
                self._state.delivered_at.setdefault(update["update_id"], now)
            self._cond.notify_all()
        return 200, {"ok": True, "result": ready}

    def _m_getMe(self, params: dict) -> dict:
        return self.bot_user

    def _sent_message(self, params: dict, **extra: Any) -> dict:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._state.chats.get(chat_id, {"id": chat_id, "type": "private"}),
            "from": self.bot_user,
            **extra,
        }
        if "text" in params:
            message["text"] = params["text"]
        if params.get("reply_markup"):
            message["reply_markup"] = json.loads(params["reply_markup"])
        return message

    def _check_text(self, params: dict) -> None:
        text = params.get("text", "")
        if not text.strip():
            raise _BadRequest("message text is empty")
        if params.get("parse_mode") == "HTML":
            length = check_telegram_html(text)
        else:
            length = len(text.encode("utf-16-le")) // 2
        if length > MESSAGE_LIMIT:
            raise _BadRequest("message is too long")

    def _m_sendMessage(self, params: dict) -> dict:
        self._check_text(params)
        return self._sent_message(params)

    def _m_editMessageText(self, params: dict) -> dict:
        self._check_text(params)
        return self._sent_message(params)

    def _m_getFile(self, params: dict) -> dict:
        file_id = params.get("file_id", "")
        with self._cond:
            if file_id not in self._state.files:
                raise _BadRequest("wrong file_id or the file is temporarily unavailable")
            path, data = self._state.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"U{file_id}",
            "file_size": len(data),
            "file_path": path,
        }

    def file_bytes(self, path: str) -> bytes | None:
        with self._cond:
            self._state.calls.append(Call("download", {"path": path}, time.perf_counter()))
            self._cond.notify_all()
            for stored_path, data in self._state.files.values():
                if stored_path == path:
                    return data
        return None


class _BadRequest(Exception):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that went away
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    stub: StubBotApi
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a cancelled poll)
            self.close_connection = True

    def _json(self, status: int, payload: dict) -> None:
        self._reply(status, json.dumps(payload, ensure_ascii=False).encode())

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = unquote(urlsplit(self.path).path)
        prefix = f"/bot{self.stub.token}/"
        if not path.startswith(prefix):
            self._json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        method = path[len(prefix) :]
        content_type = self.headers.get("Content-Type", "")
        params: dict[str, Any] = {}
        if body and "json" in content_type:
            params = json.loads(body)
        elif body:
            params = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        status, payload = self.stub.handle(method, params)
        self._json(status, payload)

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        prefix = f"/file/bot{self.stub.token}/"
        if path.startswith(f"/bot{self.stub.token}/"):
            method = path.split("/")[-1]
            status, payload = self.stub.handle(method, {})
            self._json(status, payload)
            return
        data = self.stub.file_bytes(path[len(prefix) :]) if path.startswith(prefix) else None
        if data is None:
            self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        self._reply(200, data, "application/octet-stream")
