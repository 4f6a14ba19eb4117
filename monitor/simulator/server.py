"""The simulator's HTTP face: the Seller API paths and JSON shapes, served on loopback.

Requests are checked the way Ozon checks them (headers, required fields, page limits), and
every request is kept in `requests` so tests can validate what the client sent.
"""
from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from monitor.simulator.world import MSK, Fault, SimOrder, World, lifecycle

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else None


def _time(body: dict, *keys: str, required: bool = True) -> datetime | None:
    node: Any = body
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    if node in (None, ""):
        if required:
            raise ApiError(400, 3, f"{'.'.join(keys)} is required")
        return None
    try:
        return datetime.fromisoformat(str(node).replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, 3, f"{'.'.join(keys)}: invalid date-time {node!r}") from None


def _limit(body: dict, maximum: int) -> int:
    limit = body.get("limit")
    if not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise ApiError(400, 3, f"limit must be between 1 and {maximum}")
    return limit


def _read_cursor(body: dict, now: datetime) -> tuple[int, datetime]:
    """A cursor holds the offset and the moment of the first page, so later pages read the same
    snapshot (postings keep changing status while a client pages)."""
    cursor = body.get("cursor") or ""
    if not cursor:
        return 0, now
    try:
        state = json.loads(base64.b64decode(cursor))
        return int(state["offset"]), datetime.fromisoformat(state["at"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, 3, "invalid cursor") from None


def _page(items: list, offset: int, at: datetime, limit: int) -> dict:
    has_next = offset + limit < len(items)
    cursor = json.dumps({"offset": offset + limit, "at": at.isoformat()}).encode() if has_next else b""
    return {"cursor": base64.b64encode(cursor).decode(), "has_next": has_next, "postings": items[offset:offset + limit]}


class Simulator:
    """Answers Seller API calls from a `World` as of `clock()`."""

    def __init__(self, world: World, clock: Clock | None = None) -> None:
        self.world = world
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.requests: list[tuple[str, dict]] = []
        self._faults = [[fault, fault.times] for fault in world.scenario.faults]
        self._lock = threading.Lock()
        self._snapshots: OrderedDict[str, list[dict]] = OrderedDict()
        self.routes: dict[str, Callable[[dict, datetime], dict]] = {
            "/v4/posting/fbs/list": self.fbs_list,
            "/v3/posting/fbo/list": self.fbo_list,
            "/v1/analytics/data": self.analytics_data,
        }

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append([fault, fault.times])

    def take_fault(self, method: str) -> Fault | None:
        with self._lock:
            for entry in self._faults:
                fault, left = entry
                if left > 0 and fault.method in ("*", method):
                    entry[1] -= 1
                    return fault
        return None

    def handle(self, method: str, headers: dict[str, str], body: dict) -> dict:
        client_id = headers.get("client-id", "")
        if not client_id.isdigit() or int(client_id) <= 0:
            raise ApiError(400, 3, "Client-Id header value should be positive integer")
        if int(client_id) != self.world.scenario.client_id or headers.get("api-key") != self.world.scenario.api_key:
            raise ApiError(404, 5, "Invalid Api-Key, please check the key and try again")
        route = self.routes.get(method)
        if route is None:
            raise ApiError(404, 5, "Not Found")
        with self._lock:
            self.requests.append((method, body))
        return route(body, self.clock())

    # --- postings ------------------------------------------------------------------------

    def _postings(self, scheme: str, since: datetime, to: datetime, now: datetime) -> list[SimOrder]:
        return [o for o in self.world.orders(since, to, now) if o.scheme == scheme]

    def _snapshot(self, method: str, body: dict, build: Callable[[dict, datetime], list[dict]]) -> dict:
        """Page through one result list per (method, filter, first-page moment)."""
        limit = _limit(body, 100)
        offset, at = _read_cursor(body, self.clock())
        key = json.dumps([method, body.get("filter"), at.isoformat()], sort_keys=True)
        with self._lock:
            items = self._snapshots.get(key)
        if items is None:
            items = build(body, at)
            with self._lock:
                self._snapshots[key] = items
                while len(self._snapshots) > 16:
                    self._snapshots.popitem(last=False)
        return _page(items, offset, at, limit)

    def fbs_list(self, body: dict, now: datetime) -> dict:
        return self._snapshot("fbs", body, self._fbs_items)

    def fbo_list(self, body: dict, now: datetime) -> dict:
        return self._snapshot("fbo", body, self._fbo_items)

    def _fbs_items(self, body: dict, now: datetime) -> list[dict]:
        since, to = _time(body, "filter", "since"), _time(body, "filter", "to")
        if to - since > timedelta(days=366):  # type: ignore[operator]
            raise ApiError(400, 3, "PERIOD_IS_TOO_LONG")
        changed_from = _time(body, "filter", "last_changed_status_date", "from", required=False)
        changed_to = _time(body, "filter", "last_changed_status_date", "to", required=False)
        items = []
        for order in self._postings("fbs", since, to + timedelta(microseconds=1), now):  # type: ignore[arg-type]
            status, changed, handed = lifecycle(order, now)
            if changed_from and changed < changed_from or changed_to and changed > changed_to:
                continue
            items.append(self._posting_json(order, status, handed, fbs=True))
        return items

    def _fbo_items(self, body: dict, now: datetime) -> list[dict]:
        since = _time(body, "filter", "since", required=False) or now - timedelta(days=365)
        to = _time(body, "filter", "to", required=False) or now
        if to - since > timedelta(days=366):
            raise ApiError(400, 3, "PERIOD_IS_TOO_LONG")
        items = []
        for order in self._postings("fbo", since, to + timedelta(microseconds=1), now):
            status, _, handed = lifecycle(order, now)
            items.append(self._posting_json(order, status, handed, fbs=False))
        return items

    def _posting_json(self, order: SimOrder, status: str, handed: datetime | None, fbs: bool) -> dict:
        product = self.world.by_sku[order.sku]
        price = f"{product.price:.2f}"
        seller_fault = order.order_id % 3 == 0
        cancellation = {
            "cancel_reason_id": (352 if seller_fault else 401) if status == "cancelled" else 0,
            "cancel_reason": ("Товар закончился у продавца" if seller_fault else "Покупатель отменил заказ")
            if status == "cancelled" else "",
            "cancellation_type": ("seller" if seller_fault else "client") if status == "cancelled" else "",
            "cancellation_initiator": ("Продавец" if seller_fault else "Клиент") if status == "cancelled" else "",
            "cancelled_after_ship": False,
        }
        posting: dict[str, Any] = {
            "posting_number": order.posting_number, "order_id": order.order_id, "order_number": order.order_number,
            "status": status, "substatus": f"posting_{status}",
            "in_process_at": _iso(order.created_at),
            "products": [{"sku": product.sku, "offer_id": product.offer_id, "name": product.name,
                          "quantity": order.quantity, "price": {"amount": price, "currency": "RUB"},
                          "is_marketplace_buyout": False}],
        }
        if fbs:
            cancellation["affect_cancellation_rating"] = status == "cancelled" and seller_fault
            posting.update(delivery_schema="fbs", shipment_date=_iso(order.created_at + timedelta(hours=24)),
                           shipment_date_without_delay=_iso(order.created_at + timedelta(hours=24)),
                           tracking_number="", is_express=False, integration_type_flow="ozon",
                           delivery_method={"id": 1020000001, "name": "Доставка Ozon самостоятельно, Склад продавца",
                                            "warehouse_id": 1020000001, "tpl_provider": "Доставка Ozon",
                                            "tpl_provider_id": 24, "warehouse": "Склад продавца"})
            if handed:
                posting["delivering_date"] = _iso(handed)
        else:
            posting.update(created_at=_iso(order.created_at), cancel_reason_id=cancellation["cancel_reason_id"],
                           analytics_data={"warehouse_id": 15431806189000, "warehouse_name": "Хоругвино",
                                           "delivery_type": "PVZ", "city": "Москва", "is_premium": False,
                                           "payment_type_group_name": "Карты оплаты", "is_legal": False})
        posting["cancellation"] = cancellation
        return posting

    # --- analytics -----------------------------------------------------------------------

    def analytics_data(self, body: dict, now: datetime) -> dict:
        limit = _limit(body, 1000)
        for key in ("date_from", "date_to", "dimension", "metrics"):
            if key not in body:
                raise ApiError(400, 3, f"{key} is required")
        metrics, dims = body["metrics"], body["dimension"]
        if len(metrics) > 14 or not set(metrics) <= {"revenue", "ordered_units"}:
            raise ApiError(400, 3, "InvalidArgument: metrics not available for this subscription")
        if not set(dims) <= {"sku", "day"} or not dims:
            raise ApiError(400, 3, "InvalidArgument: unsupported dimension")
        start = date.fromisoformat(body["date_from"])
        end = date.fromisoformat(body["date_to"])
        lo = datetime.combine(start, datetime.min.time(), MSK)
        hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), MSK)
        totals: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for order in self.world.orders(lo, hi, now):
            key = tuple(str(order.sku) if d == "sku" else order.created_at.astimezone(MSK).date().isoformat()
                        for d in dims)
            totals[key][0] += self.world.by_sku[order.sku].price * order.quantity
            totals[key][1] += order.quantity
        rows = sorted(totals.items())
        offset = int(body.get("offset") or 0)
        data = [{"dimensions": [{"id": value, "name": self.world.by_sku[int(value)].name if d == "sku" else ""}
                                for d, value in zip(dims, key)],
                 "metrics": [round(values[0], 2) if m == "revenue" else values[1] for m in metrics]}
                for key, values in rows[offset:offset + limit]]
        sums = [round(sum(v[0] for _, v in rows), 2), sum(v[1] for _, v in rows)]
        return {"result": {"data": data, "totals": [sums[0] if m == "revenue" else sums[1] for m in metrics]},
                "timestamp": now.astimezone(MSK).strftime("%Y-%m-%d %H:%M:%S")}


class _Handler(BaseHTTPRequestHandler):
    server: SimulatorServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        sim = self.server.simulator
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fault = sim.take_fault(self.path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            body = fault.body if fault.body is not None else json.dumps(
                {"code": 8 if fault.status == 429 else 13, "message": "injected fault", "details": []})
            return self._send(fault.status, body.encode(), extra)
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ApiError(400, 3, "request body must be a JSON object")
            answer = sim.handle(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            self._send(200, json.dumps(answer, ensure_ascii=False).encode())
        except json.JSONDecodeError:
            self._send(400, json.dumps({"code": 3, "message": "invalid JSON", "details": []}).encode())
        except ApiError as exc:
            self._send(exc.status, json.dumps({"code": exc.code, "message": exc.message, "details": []},
                                              ensure_ascii=False).encode())

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

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
        return f"http://{host}:{port}"

    def __enter__(self) -> SimulatorServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
