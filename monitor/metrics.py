"""Prometheus metrics and a health check on a loopback port (`[monitor] metrics_listen`).

Counters and histograms are kept by the process as cycles and deliveries run; what the state
file knows (backlog, last successful sync, open alerts) is read from it at each scrape, so it
is right from the first scrape after a restart. `/healthz` answers 503 with the reasons when
the dead man's switch would fire or the state file cannot be used.
"""
from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram,
                               disable_created_metrics, generate_latest)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from monitor.config import Settings

log = logging.getLogger(__name__)
disable_created_metrics()  # a `_created` series per counter only doubles the scrape
REGISTRY = CollectorRegistry()
API_CALLS = Counter("ozon_monitor_api_calls", "Seller API requests by method and outcome (HTTP status, "
                    "timeout, unreachable, network)", ["account", "method", "outcome"], registry=REGISTRY)
SYNC_SECONDS = Histogram("ozon_monitor_sync_seconds", "Time to sync one data source", ["account", "source"],
                         buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120), registry=REGISTRY)
CYCLE_SECONDS = Histogram("ozon_monitor_cycle_seconds", "Time of one account's whole cycle", ["account"],
                          buckets=(0.5, 1, 2, 5, 10, 30, 60, 90, 180, 600), registry=REGISTRY)
FINDINGS = Gauge("ozon_monitor_findings", "Findings of the last cycle by rule", ["account", "rule"],
                 registry=REGISTRY)
NOTIFICATIONS = Counter("ozon_monitor_notifications", "Messages by channel and outcome (delivered, failed)",
                        ["channel", "outcome"], registry=REGISTRY)


def record_findings(account: str, rules: Iterable[str], findings: Iterable[str]) -> None:
    """Set the per-rule finding count for every rule that ran (0 when it found nothing)."""
    counts = dict.fromkeys(rules, 0)
    for rule in findings:
        counts[rule] = counts.get(rule, 0) + 1
    for rule, count in counts.items():
        FINDINGS.labels(account, rule).set(count)


class _FromState(Collector):
    """What the state file says, read at scrape time."""

    def __init__(self, settings: Callable[[], Settings]) -> None:
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from monitor.store import StorageError, Store, parse

        settings = self.settings()
        synced = GaugeMetricFamily("ozon_monitor_last_sync_timestamp_seconds",
                                   "When each data source was last read successfully", labels=["account", "source"])
        alerts = GaugeMetricFamily("ozon_monitor_open_alerts", "Open alerts by severity",
                                   labels=["account", "severity"])
        backlog = GaugeMetricFamily("ozon_monitor_outbox_backlog", "Messages waiting to be sent (state: waiting, "
                                    "undeliverable)", labels=["channel", "state"])
        size = GaugeMetricFamily("ozon_monitor_state_file_bytes", "Size of the state file")
        up = GaugeMetricFamily("ozon_monitor_state_file_ok", "1 when the state file can be used")
        try:
            store = Store.read_only(settings.monitor.state_dir)
        except StorageError:
            up.add_metric([], 0)
            yield up
            return
        try:
            for account in settings.accounts:
                for row in store.cursors(account.name):
                    moment = parse(row["synced_until"])
                    if moment:
                        synced.add_metric([account.name, row["source"]], moment.timestamp())
                for severity, count in store.alert_counts(account.name).items():
                    alerts.add_metric([account.name, severity], count)
            waiting: dict[tuple[str, str], int] = {}
            for row in store.undelivered():
                key = (row["channel"], "undeliverable" if row["parked_at"] else "waiting")
                waiting[key] = waiting.get(key, 0) + 1
            for channel in settings.channels:
                for state in ("waiting", "undeliverable"):
                    backlog.add_metric([channel.name, state], waiting.get((channel.name, state), 0))
            size.add_metric([], store.size_bytes())
            up.add_metric([], 1)
        finally:
            store.close()
        yield from (synced, alerts, backlog, size, up)


def health(settings: Settings) -> list[str]:
    """Why the monitor is not healthy (empty when it is): what the dead man's switch would say."""
    from monitor import watchdog
    from monitor.store import StorageError, Store

    try:  # not read-only: the watchdog marks when it first saw a trouble
        store = Store.in_dir(settings.monitor.state_dir)
    except StorageError as exc:
        return [f"state file: {exc}"]
    try:
        return [f"{t.key}: {t.text}" for t in watchdog.troubles(settings, store, datetime.now(timezone.utc))]
    finally:
        store.close()


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # scrapes are not events
        pass


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def serve(listen: str, settings: Callable[[], Settings]) -> Server:
    """Serve /metrics and /healthz on `listen` ("127.0.0.1:9108") in a thread; raise OSError
    when the address cannot be bound. `settings` gives the current config (it changes on reload)."""
    state = CollectorRegistry()
    state.register(_FromState(settings))

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path == "/healthz":
            problems = health(settings())
            body = ("\n".join(problems) if problems else "ok").encode() + b"\n"
            start_response("503 Service Unavailable" if problems else "200 OK",
                           [("Content-Type", "text/plain; charset=utf-8")])
            return [body]
        if path == "/metrics":
            body = generate_latest(REGISTRY) + generate_latest(state)
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"try /metrics or /healthz\n"]

    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    family = type("Server", (Server,), {"address_family": socket.AF_INET6 if ":" in host else socket.AF_INET})
    server: Server = make_server(host, int(port), app, server_class=family, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
