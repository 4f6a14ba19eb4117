"""The simulator's HTTP face: serves `routes.SellerApi` on loopback.

Headers are checked the way Ozon checks them (Client-Id, Api-Key), every request is kept in
`requests` so tests can validate what the client sent, and faults from the scenario (or added by
a test) replace answers: error statuses, delays, malformed bodies, extra fields.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from monitor.ozon.endpoints import GET_METHODS
from monitor.simulator.routes import ApiError, Clock, SellerApi
from monitor.simulator.world import Fault, World

log = logging.getLogger(__name__)
TIMEOUT_FAULT_SECONDS = 45.0  # outlasts the client's default 30 s timeout
FAULT_ANSWERS = {  # kind -> (status, body)
    "auth": (404, {"code": 5, "message": "Invalid Api-Key, please check the key and try again", "details": []}),
    "blocked": (403, {"code": 7, "message": "Company is blocked, please contact support", "details": []}),
    "missing_role": (403, {"code": 7, "message": "Api-Key is missing a required role for a method", "details": []}),
    "gone": (404, {"code": 12, "message": "method is not allowed", "details": []}),
}


class Simulator:
    """Answers Seller API calls from a `World` as of `clock()`: checks the credentials, records
    the request, applies no faults (the HTTP handler takes those)."""

    def __init__(self, world: World, clock: Clock | None = None) -> None:
        self.world = world
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.requests: list[tuple[str, dict]] = []
        self.faulted: list[str] = []  # the methods of the calls a fault answered, in order
        self._faults: list[list[Any]] = [[fault, fault.times] for fault in world.scenario.faults]  # [fault, left]
        self._lock = threading.Lock()
        self.api = SellerApi(world, self.clock)

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append([fault, fault.times])

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def take_fault(self, method: str) -> Fault | None:
        with self._lock:
            for entry in self._faults:
                fault, left = entry
                if left > 0 and fault.method in ("*", method):
                    entry[1] -= 1
                    self.faulted.append(method)
                    return fault
        return None

    def calls(self, method: str | None = None) -> list[dict]:
        with self._lock:
            return [body for m, body in self.requests if method is None or m == method]

    def handle(self, method: str, headers: dict[str, str], body: dict) -> dict:
        client_id = headers.get("client-id", "")
        if not client_id.isdigit() or int(client_id) <= 0:
            raise ApiError(400, 3, "Client-Id header value should be positive integer")
        if int(client_id) != self.world.scenario.client_id or headers.get("api-key") != self.world.scenario.api_key:
            raise ApiError(404, 5, "Invalid Api-Key, please check the key and try again")
        route = self.api.routes.get(method)
        if route is None:
            raise ApiError(404, 5, "Not Found")
        with self._lock:
            self.requests.append((method, body))
        return route(body, self.clock())


def _with_extra_fields(answer: Any) -> Any:
    """Add fields Ozon might add tomorrow, at the top and inside list items."""
    if isinstance(answer, dict):
        return {**{k: _with_extra_fields(v) for k, v in answer.items()}, "x_new_field": {"since": "2027-01-01"}}
    if isinstance(answer, list):
        return [_with_extra_fields(v) for v in answer]
    return answer


class _Handler(BaseHTTPRequestHandler):
    server: SimulatorServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't let them wait on ACKs

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path not in GET_METHODS:
            return self._send(404, json.dumps({"code": 5, "message": "Not Found", "details": []}).encode())
        self._answer(b"")

    def do_POST(self) -> None:  # noqa: N802
        if self.path in GET_METHODS:
            return self._send(405, json.dumps({"code": 12, "message": "method is not allowed", "details": []}).encode())
        self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _answer(self, raw: bytes) -> None:
        sim = self.server.simulator
        fault = sim.take_fault(self.path)
        if fault is not None and fault.kind != "extra_fields":
            return self._fault(fault)
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ApiError(400, 3, "request body must be a JSON object")
            answer = sim.handle(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            if fault is not None:
                answer = _with_extra_fields(answer)
            self._send(200, json.dumps(answer, ensure_ascii=False).encode())
        except json.JSONDecodeError:
            self._send(400, json.dumps({"code": 3, "message": "invalid JSON", "details": []}).encode())
        except ApiError as exc:
            self._send(exc.status, json.dumps({"code": exc.code, "message": exc.message, "details": []},
                                              ensure_ascii=False).encode())

    def _fault(self, fault: Fault) -> None:
        if fault.delay or fault.kind == "timeout":
            time.sleep(fault.delay or TIMEOUT_FAULT_SECONDS)
        status, body = FAULT_ANSWERS.get(fault.kind, (fault.status, None))
        text = fault.body if fault.body is not None else '{"postings": [{"posting_number": "01' \
            if fault.kind == "malformed" else json.dumps(body or {
                "code": 8 if status == 429 else 13, "message": "injected fault", "details": []})
        extra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        self._send(200 if fault.kind in ("malformed", "timeout") else status, text.encode(), extra)

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("simulator: " + format, *args)


class SimulatorServer(ThreadingHTTPServer):
    """`with SimulatorServer(sim) as server:` serves on 127.0.0.1 in a background thread."""

    daemon_threads = True

    def __init__(self, simulator: Simulator, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.simulator = simulator
        self._thread = threading.Thread(target=self.serve_forever, name="ozon-simulator", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> SimulatorServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
