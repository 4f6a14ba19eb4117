"""A Telegram Bot API on loopback: hands out queued updates by offset (at once, no long wait,
none at all for the first `quiet_polls` polls), records every call (sendMessage,
answerCallbackQuery, ...), answers 401 to another `token` when one is set, and can answer 429 a
few times. It also serves as an HTTP proxy to an address it stands in for (an absolute URL)."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class BotApi:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.throttle = 0  # answer this many next calls with 429
        self.quiet_polls = 0  # polls answered with no update, as if nobody had written to the bot yet
        self.token: str | None = None
        self.url = ""
        self.lock = threading.Lock()

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [body for name, body in self.calls if name == method]

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        token, _, method = urlparse(path).path.removeprefix("/bot").partition("/")
        with self.lock:
            if self.token is not None and token != self.token:
                return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            if self.throttle:
                self.throttle -= 1
                return 429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 1}}
            if method == "getMe":
                return 200, {"ok": True, "result": {"id": 1, "is_bot": True, "username": "shop_alerts_bot"}}
            if method == "getUpdates":
                if self.quiet_polls:
                    self.quiet_polls -= 1
                    return 200, {"ok": True, "result": []}
                offset = int(body.get("offset", 0))
                return 200, {"ok": True, "result": [u for u in self.updates if u["update_id"] >= offset]}
            self.calls.append((method, body))
            return 200, {"ok": True, "result": {"message_id": len(self.calls)}}


@contextmanager
def bot_api() -> Iterator[BotApi]:
    api = BotApi()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, body: dict[str, Any]) -> None:
            status, answer = api.answer(self.path, body)
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:  # noqa: N802
            self._reply({k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.headers.get("Content-Type", "").startswith("multipart/"):  # a document or a photo
                self._reply({"multipart": raw})
            else:
                self._reply(json.loads(raw or b"{}"))

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
