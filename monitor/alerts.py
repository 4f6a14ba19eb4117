"""From findings to notifications.

One alert per fingerprint. It is notified when it starts firing, when its severity rises, again
after `repeat_hours` while it stays open (the wait doubling each time up to
`max_repeat_hours`), and once when it resolves. What one cycle has to say for an account goes
to each channel as one digest. The alert state change and the outbox rows are written in one
transaction, so a crash can neither lose a notification nor make one twice; delivery marks a
row delivered only after the channel took it, and every message carries a stable id so a
receiver can drop a repeat after a crash in between. Silences and acknowledgements suppress
notifications (each suppression is logged with its reason); quiet hours in the seller's
timezone hold back digests without a critical alert until morning.
"""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import asdict
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from monitor.channels import Channel, DeliveryError
from monitor.config import AlertsSection, ChannelBase, MonitorSection
from monitor.store import Store, iso, parse
from monitor.support import Rendered
from rules import Finding

log = logging.getLogger(__name__)
SEVERITY_RANK = {"warning": 1, "critical": 2}
MAX_BACKOFF = timedelta(hours=1)


def finding_json(finding: Finding, rendered: Rendered) -> dict[str, Any]:
    data = asdict(finding)
    data.update(fingerprint=finding.fingerprint, started_at=iso(finding.started_at), title=rendered.title,
                explanation=rendered.explanation, support_request=rendered.support_request)
    return data


def _event(kind: str, alert: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {**alert, "event": kind, "status": "resolved" if kind == "resolved" else "firing",
            "id": f"{alert['fingerprint']}.{kind}.{int(now.timestamp())}", "created_at": iso(now)}


def _silenced_by(finding: dict[str, Any], silences: list[dict[str, Any]]) -> dict[str, Any] | None:
    for silence in silences:
        if (silence["rule"] is None or silence["rule"] == finding["rule"]) \
                and (silence["account"] is None or silence["account"] == finding["account"]) \
                and (silence["sku"] is None or silence["sku"] in finding.get("affected_skus", [])):
            return silence
    return None


def reconcile(store: Store, account: str, rules_ran: set[str], findings: list[Finding],
              rendered: dict[str, Rendered], channels: list[ChannelBase], cfg: AlertsSection,
              monitor: MonitorSection, now: datetime) -> list[dict[str, Any]]:
    """Update alert state for one account's cycle and enqueue one digest per channel with what
    must be said; return the events said (before per-channel filtering). Alerts of rules that
    did not run stay exactly as they are."""
    events: list[dict[str, Any]] = []
    current = {f.fingerprint: f for f in findings}
    with store.transaction():
        silences = store.silences(now)

        def say(kind: str, alert: dict[str, Any], acked: bool = False) -> None:
            silence = _silenced_by(alert, silences)
            reason = (f"silence #{silence['id']} until {silence['until']}: {silence['reason']}" if silence
                      else "acknowledged" if acked else None)
            if reason:
                store.log_suppressed(now, account, alert["fingerprint"], alert["rule"], kind, reason)
            else:
                events.append(_event(kind, alert, now))

        for fingerprint, finding in current.items():
            row = store.alert(fingerprint)
            body = finding_json(finding, rendered[fingerprint])
            state = {"fingerprint": fingerprint, "account": account, "rule": finding.rule, "entity": finding.entity,
                     "status": "firing", "severity": finding.severity, "resolved_at": None,
                     "finding": json.dumps(body, ensure_ascii=False), "last_seen": iso(now)}
            if row is None or row["status"] != "firing":
                state.update(first_seen=iso(now), started_at=iso(finding.started_at), last_notified=iso(now),
                             repeats=0, acked_at=None, ack_note=None)
                say("firing", body)
            elif SEVERITY_RANK[finding.severity] > SEVERITY_RANK[row["severity"]]:
                state.update(last_notified=iso(now), repeats=0, acked_at=None, ack_note=None)
                say("escalated", body)
            else:
                wait = min(_rule(cfg, finding.rule, "repeat_hours") * 2 ** (row["repeats"] or 0), cfg.max_repeat_hours)
                if now - (parse(row["last_notified"]) or now) >= timedelta(hours=wait):
                    state.update(last_notified=iso(now), repeats=(row["repeats"] or 0) + 1)
                    say("repeat", body, acked=bool(row["acked_at"]))
            store.save_alert(state)
        for row in store.open_alerts(account):
            if row["rule"] in rules_ran and row["fingerprint"] not in current:
                store.save_alert({"fingerprint": row["fingerprint"], "status": "resolved", "resolved_at": iso(now),
                                  "acked_at": None})
                if _rule(cfg, row["rule"], "notify_resolved"):
                    say("resolved", json.loads(row["finding"]))
        _enqueue(store, account, events, channels, cfg, monitor, now)
    return events


def _rule(cfg: AlertsSection, rule: str, key: str) -> Any:
    override = cfg.rules.get(rule)
    value = getattr(override, key) if override is not None else None
    return getattr(cfg, key) if value is None else value


def _enqueue(store: Store, account: str, events: list[dict[str, Any]], channels: list[ChannelBase],
             cfg: AlertsSection, monitor: MonitorSection, now: datetime) -> None:
    for channel in channels:
        picked = [e for e in events if SEVERITY_RANK[e["severity"]] >= SEVERITY_RANK[channel.min_severity]
                  and (e["event"] != "resolved" or channel.notify_resolved)]
        if not picked:
            continue
        urgent = any(e["severity"] == "critical" and e["event"] != "resolved" for e in picked)
        not_before = now if urgent else quiet_hours_end(cfg.quiet_hours, monitor,
                                                         now + timedelta(minutes=cfg.group_wait_minutes))
        store.enqueue(uuid.uuid4().hex[:20], channel.name, account, {"events": picked}, now, not_before)


def quiet_hours_end(quiet: str, monitor: MonitorSection, now: datetime) -> datetime:
    """`now` outside quiet hours ("22:00-08:00" in the seller's timezone), else when they end."""
    if not quiet:
        return now
    start, end = (time.fromisoformat(part) for part in quiet.split("-"))
    local = now.astimezone(monitor.tz)
    inside = (start <= local.time() < end) if start < end else (local.time() >= start or local.time() < end)
    if not inside:
        return now
    ends = datetime.combine(local.date(), end, monitor.tz)
    return ends if ends > local else ends + timedelta(days=1)


def deliver(store: Store, channels: dict[str, Channel], language: str, now: datetime,
            retry_hours: float) -> tuple[int, int]:
    """Send what is due, one message per channel (a backlog is merged into one digest rather
    than flooding the receiver; held-back digests of that channel ride along). Return (messages
    delivered, failures). A failure is retried
    with exponential backoff (honouring a channel's retry-after) until `retry_hours` after the
    oldest row, then parked; a permanent failure is parked at once. A failing channel never
    stops the others."""
    delivered = failed = 0
    for name in dict.fromkeys(row["channel"] for row in store.due_messages(now)):
        rows = store.waiting(name, now)  # digests held back (group wait, quiet hours) ride along
        ids = [r["id"] for r in rows]
        channel = channels.get(name)
        if channel is None:
            store.mark_failed(ids, f"channel {name!r} is no longer in the config", None, now)
            failed += 1
            continue
        message = merge(rows, language)
        try:
            channel.send(message)
        except DeliveryError as exc:
            oldest = min(parse(r["created_at"]) for r in rows)  # type: ignore[type-var]
            attempts = max(r["attempts"] for r in rows)
            backoff = timedelta(seconds=exc.retry_after) if exc.retry_after else \
                min(timedelta(minutes=2 ** attempts), MAX_BACKOFF)
            give_up = exc.permanent or now + backoff - oldest > timedelta(hours=retry_hours)
            log.warning("delivery failed: channel=%s message=%s error=%s%s", name, message["id"], exc,
                        " (parked)" if give_up else f" (retry in {backoff})")
            store.mark_failed(ids, str(exc), None if give_up else now + backoff, now if give_up else None)
            failed += 1
        else:
            store.mark_delivered(ids, now)
            delivered += 1
    return delivered, failed


def merge(rows: list[dict[str, Any]], language: str) -> dict[str, Any]:
    """One message from one or more outbox rows of a channel; its id is stable for the same rows,
    so a resend after a crash carries the same id."""
    payloads = [json.loads(r["payload"]) for r in rows]
    ids = [r["id"] for r in rows]
    return {"id": ids[0] if len(ids) == 1 else hashlib.sha256("|".join(ids).encode()).hexdigest()[:20],
            "account": rows[0]["account"], "created_at": rows[-1]["created_at"], "language": language,
            "events": [e for p in payloads for e in p["events"]], "parts": ids}


def save_draft(drafts_dir: Path, finding: Finding, rendered: Rendered) -> Path | None:
    """Keep the support request as a file the seller can open and paste; one file per problem."""
    if rendered.support_request is None:
        return None
    drafts_dir.mkdir(parents=True, exist_ok=True)
    path = drafts_dir / f"{finding.rule}-{finding.account}-{finding.fingerprint}.txt"
    path.write_text(rendered.support_request + "\n", encoding="utf-8")
    return path
