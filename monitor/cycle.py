"""One monitoring cycle for one account: sync, evaluate the rules, update alerts and enqueue
what must be said. Delivery is a separate step (`deliver_all`), run once after the cycles.

`check`, the daemon's jobs and `demo` all run exactly this."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from monitor import alerts, channels, drafts, facts, metrics, outbox, watchdog
from monitor.config import Settings
from monitor.message import Event
from monitor.ozon.client import OzonClient
from monitor.store import Store, iso, parse
from monitor.support import Rendered, fallback, render
from monitor.sources import TABLES, Interrupted, Progress, SyncReport, coverage, sync_account
from rules import RULES, Finding, run_rules
from rules.base import ErrorKind

log = logging.getLogger(__name__)


def rule_configs(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings.rules, name) for name in RULES}


@dataclass(frozen=True)
class Unchecked:
    """A source this cycle could not read: since when it has not been read, and why."""

    account: str
    source: str
    last_success: datetime | None
    kind: ErrorKind
    reason: str


@dataclass
class CycleResult:
    account: str
    sync: SyncReport
    findings: list[Finding] = field(default_factory=list)
    rendered: dict[str, Rendered] = field(default_factory=dict)
    notified: list[Event] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)
    interrupted: bool = False
    cpu: dict[str, float] = field(default_factory=dict)  # this thread's CPU seconds: sync, load, rules, alerts

    def findings_json(self) -> list[dict[str, Any]]:
        return [alerts.finding_json(f, self.rendered[f.fingerprint]) for f in self.findings]

    def unchecked_json(self) -> list[dict[str, Any]]:
        return [{"account": u.account, "source": u.source, "last_success": iso(u.last_success), "kind": u.kind,
                 "reason": u.reason}
                for u in self.unchecked]


def run_cycle(settings: Settings, account_name: str, *, now: datetime | None = None,
              stop: threading.Event | None = None, progress: Progress | None = None,
              transport: httpx.BaseTransport | None = None, clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> CycleResult:
    """One account's cycle. `clock` and `sleep` are the client's (its budgets and backoff), so
    a test can run a cycle's time budget on fake time."""
    now = now or datetime.now(timezone.utc)
    account = settings.account(account_name)
    cfg = settings.monitor
    store = Store.in_dir(cfg.state_dir)
    started, cpu = clock(), [time.thread_time()]

    def lap() -> float:
        cpu.append(time.thread_time())
        return round(cpu[-1] - cpu[-2], 3)
    failed_calls: list[tuple[datetime, str, str]] = []

    def count_call(method: str, outcome: str) -> None:
        metrics.API_CALLS.labels(account.name, method, outcome).inc()
        if not outcome.startswith(("2", "3")):
            failed_calls.append((datetime.now(timezone.utc), method, outcome))
    try:
        with OzonClient(account.base_url, account.client_id, account.secret().get_secret_value(),
                        timeout=account.timeout_seconds, transport=transport, stop=stop, clock=clock, sleep=sleep,
                        deadline=started + cfg.cycle_budget_seconds, on_call=count_call) as client:
            try:
                report = sync_account(client, store, account.name, cfg, now, stop, progress)
            except Interrupted:
                log.info("cycle interrupted: account=%s", account.name)
                return CycleResult(account.name, SyncReport(), interrupted=True)
            finally:
                store.log_api_errors(account.name, failed_calls)
        for source, seconds in report.seconds.items():
            metrics.SYNC_SECONDS.labels(account.name, source).observe(seconds)
        result = CycleResult(account.name, report)
        result.cpu["sync"] = lap()
        result.unchecked = [Unchecked(account.name, source, store.cursor(account.name, source).synced_until,
                                      error.kind, error.message) for source, error in report.unchecked.items()]
        history_since, synced_until = coverage(store, account.name)  # None: no postings synced yet
        if history_since and synced_until:  # the rules judge `history_days`, however long the file has kept more
            history_since = max(history_since, synced_until - timedelta(days=cfg.history_days))
        data = facts.account_data(store, account.name, account.client_id, synced_until or now, history_since,
                                  cfg.tz)
        result.cpu["load"] = lap()
        verdict = run_rules(data, rule_configs(settings), checked_at=now)
        result.cpu["rules"] = lap()
        for rule, error in verdict.errors.items():
            log.error("rule failed: account=%s rule=%s error=%s", account.name, rule, error)
        ran, result.findings = verdict.ran, [_first_start(store, f) for f in verdict.findings]
        metrics.record_findings(account.name, ran, (f.rule for f in result.findings))
        result.rendered = {f.fingerprint: render_safely(f, cfg.language, cfg.tz, synced_until or now)
                           for f in result.findings}
        result.notified = alerts.reconcile(store, account.name, ran, result.findings, result.rendered,
                                           settings.channels, settings.alerts, cfg, now)
        for finding in result.findings:  # a draft follows its alert's numbers while it is open
            draft = result.rendered[finding.fingerprint].draft
            if draft:
                drafts.save(cfg.state_dir, finding.rule, finding.account, finding.fingerprint, draft)
        for event in result.notified:
            if event.event == "resolved":
                drafts.mark_resolved(cfg.state_dir, event.fingerprint,
                                     f"{drafts.RESOLVED_MARK[cfg.language]}{event.explanation}")
        metrics.CYCLE_SECONDS.labels(account.name).observe(clock() - started)
        result.cpu["alerts"] = lap()
        return result
    finally:
        store.close()


def _first_start(store: Store, finding: Finding) -> Finding:
    """An open alert keeps the start it was first said with: its "since" does not wander from
    cycle to cycle as the rule re-estimates the onset."""
    row = store.alert(finding.fingerprint)
    started = parse(row["started_at"]) if row and row["status"] == "firing" else None
    return replace(finding, started_at=started) if started and started != finding.started_at else finding


def render_safely(finding: Finding, language: str, tz: ZoneInfo, now: datetime) -> Rendered:
    """A renderer that fails must not silence the alert: log it and say it in plain words."""
    try:
        return render(finding, language, tz, now)
    except Exception as exc:  # a bug in one text must not drop the others
        log.error("rendering failed: account=%s rule=%s error=%s: %s", finding.account, finding.rule,
                  type(exc).__name__, exc)
        return fallback(finding, language, tz)


def deliver_all(settings: Settings, now: datetime | None = None) -> outbox.Delivery:
    """The one delivery step: send every due message of every shop through its channel, then
    let the watchdog say what keeps the monitor blind or a channel stuck."""
    cfg = settings.monitor
    now = now or datetime.now(timezone.utc)
    store = Store.in_dir(cfg.state_dir)
    try:
        done = outbox.deliver(store, channels.build(settings.channels, cfg.tz), cfg.language, now,
                              settings.alerts.delivery_retry_hours, listed=settings.alerts.max_alerts_per_message)
        for channel, delivered in done.outcomes:
            metrics.NOTIFICATIONS.labels(channel, "delivered" if delivered else "failed").inc()
        watchdog.check(settings, store, now)
        return done
    finally:
        store.close()


def housekeeping(settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Drop what is past its keeping time (synced rows, alert history, resolved drafts), then
    let SQLite reclaim the space and refresh its statistics; return rows deleted per table."""
    cfg = settings.monitor
    now = now or datetime.now(timezone.utc)
    store = Store.in_dir(cfg.state_dir)
    try:
        deleted = store.prune(TABLES, now, timedelta(days=cfg.keep_raw_days), timedelta(days=cfg.keep_alerts_days))
        removed = drafts.prune(cfg.state_dir, now - timedelta(days=cfg.keep_alerts_days))
        store.maintain()
    finally:
        store.close()
    if removed:
        deleted["drafts"] = removed
    log.info("housekeeping done: deleted %s", ", ".join(f"{t}={n}" for t, n in deleted.items()) or "0")
    return deleted
