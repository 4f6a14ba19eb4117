"""A real webhook receiver on loopback: records every request, can refuse the first ones, hold
a request for a while, and check Standard Webhooks signatures on its own."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def id(self) -> str:
        return self.headers.get("webhook-id") or self.body.get("id", "")


@dataclass
class Receiver:
    """Answers 204, or `refuse_status` to the first `refuse_first` requests; with `secret` set,
    answers 401 to a request whose signature does not verify. An accepted request is recorded
    at once, then answered after `delay` seconds (the first one after `hold_first` more)."""

    refuse_first: int = 0
    refuse_status: int = 503
    hold_first: float = 0.0
    delay: float = 0.0
    secret: str | None = None
    received: list[Received] = field(default_factory=list)
    refused: int = 0
    rejected: int = 0
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> list[str]:
        return [r.id for r in self.received]

    def accepted(self) -> dict[str, dict[str, Any]]:
        """Each delivered message once, by id (what a de-duplicating receiver keeps)."""
        return {r.id: r.body for r in self.received}

    def verifies(self, headers: dict[str, str], raw: bytes) -> bool:
        assert self.secret is not None
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + raw
        expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, headers.get("webhook-signature", ""))

    def handle(self, headers: dict[str, str], raw: bytes) -> int:
        """Record the request (when accepted), then hold it as told before answering."""
        with self._lock:
            first = not self.received and not self.refused and not self.rejected
            if self.refused < self.refuse_first:
                self.refused += 1
                return self.refuse_status
            if self.secret is not None and not self.verifies(headers, raw):
                self.rejected += 1
                return 401
            self.received.append(Received(headers, json.loads(raw)))
        time.sleep(self.delay + (self.hold_first if first else 0.0))
        return 204


def serve(receiver: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's hook name)
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            status = receiver.handle({k.lower(): v for k, v in self.headers.items()}, raw)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a sender killed mid-request resets the connection: that is the point of some tests

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    return server
