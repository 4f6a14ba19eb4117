"""From findings to alert state changes.

One alert per fingerprint. It is notified when it starts firing, when it gets worse (its
severity rises, or its affected postings or products grow by half), again after `repeat_hours`
while it stays open (the wait doubling each time up to `max_repeat_hours`), and once when it
resolves: after it has not been seen for `resolve_after_minutes`, so a finding hovering at its
threshold stays one alert. What one cycle has to say for an account is
enqueued in the outbox (one row per channel) in the same transaction as the alert state, so a
crash can neither lose a notification nor make one twice. Silences and acknowledgements
suppress notifications (each suppression is logged with its reason).
"""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor import outbox, texts
from monitor.channels import ChannelConfig
from monitor.config import AlertsSection, MonitorSection
from monitor.message import Event, EventKind
from monitor.store import Store, iso, parse
from monitor.support import Rendered
from monitor.texts import WORDS
from rules import Finding
from rules.base import Series, as_json

log = logging.getLogger(__name__)
SEVERITY_RANK = outbox.SEVERITY_RANK


def finding_json(finding: Finding, rendered: Rendered) -> dict[str, Any]:
    """A finding with its texts, as `check --json` prints it."""
    data = as_json(finding)
    data.update(fingerprint=finding.fingerprint, title=rendered.title, explanation=rendered.explanation,
                support_request=rendered.support_request)  # `at_stake` comes with the finding: {rubles, kind}
    return data


def _series(evidence: object) -> Series | None:
    """The hourly series an evidence carries for a chart, if it carries one."""
    series = getattr(evidence, "series", None)
    return series if isinstance(series, Series) else None


def event_for(kind: EventKind, finding: Finding, rendered: Rendered, now: datetime) -> Event:
    evidence = as_json(finding.evidence)
    evidence.pop("series", None)  # carried typed, for charts
    return Event(event=kind, rule=finding.rule, severity=finding.severity, fingerprint=finding.fingerprint,
                 account=finding.account, client_id=finding.client_id, title=rendered.title,
                 explanation=rendered.explanation, started_at=iso(finding.started_at) or "", notified_at=iso(now) or "",
                 support_topic=finding.topic, support_request=rendered.support_request, evidence=evidence,
                 affected_postings=tuple(finding.affected_postings), affected_skus=tuple(finding.affected_skus),
                 products=finding.products, series=_series(finding.evidence),
                 at_stake_rubles=finding.at_stake.rubles if finding.at_stake else None,
                 at_stake_kind=finding.at_stake.kind if finding.at_stake else None)


def resolved(last: Event, ended_at: datetime, now: datetime, language: str, tz: ZoneInfo) -> Event:
    """The "resolved" news of an alert: when it ended and how long it lasted."""
    started = datetime.fromisoformat(last.started_at)
    text = WORDS[language]["ended"].format(checked=texts.when(now, language, tz), end=texts.when(ended_at, language, tz),
                                           duration=texts.duration(ended_at - started, language))
    return replace(last, event="resolved", notified_at=iso(now) or "", ended_at=iso(ended_at), explanation=text,
                   support_request=None)


WORSENING_STEP = 1.5


def grew(said: int | None, size: int) -> bool:
    """Whether the affected postings or products grew by a step since the alert was last said
    (47 overdue postings become 70): news even at the same severity."""
    return bool(said) and size > (said or 0) and size >= int((said or 0) * WORSENING_STEP)


def silenced_by(rule: str, account: str, skus: tuple[int, ...] | list[int],
                silences: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first active silence that matches an alert of `rule` on `account` touching `skus`."""
    for silence in silences:
        if silence["rule"] in (None, rule) and silence["account"] in (None, account) \
                and (silence["sku"] is None or silence["sku"] in skus):
            return silence
    return None


def reconcile(store: Store, account: str, rules_ran: set[str], findings: list[Finding],
              rendered: dict[str, Rendered], channels: list[ChannelConfig], cfg: AlertsSection,
              monitor: MonitorSection, now: datetime) -> list[Event]:
    """Update alert state for one account's cycle and enqueue what must be said; return the
    events said (before per-channel filtering). Alerts of rules that did not run stay exactly
    as they are."""
    events: list[Event] = []
    current = {f.fingerprint: f for f in findings}
    with store.transaction():
        silences = store.silences(now)

        def say(event: Event, acked: bool = False) -> None:
            silence = silenced_by(event.rule, event.account, event.affected_skus, silences)
            reason = (f"silence #{silence['id']} until {silence['until']}: {silence['reason']}" if silence
                      else "acknowledged" if acked else None)
            if reason:
                store.log_suppressed(now, account, event.fingerprint, event.rule, event.event, reason)
            else:
                events.append(event)

        for fingerprint, finding in current.items():
            row = store.alert(fingerprint)
            firing = event_for("firing", finding, rendered[fingerprint], now)
            state: dict[str, Any] = {"fingerprint": fingerprint, "account": account, "rule": finding.rule, "entity": finding.entity,
                     "status": "firing", "severity": finding.severity, "resolved_at": None,
                     "finding": json.dumps(firing.to_json(), ensure_ascii=False), "last_seen": iso(now)}
            size = len(finding.affected_postings) or len(finding.affected_skus)
            if row is None:
                state["number"] = store.next_alert_number()
            if row is None or row["status"] != "firing":
                state.update(first_seen=iso(now), started_at=iso(finding.started_at), last_notified=iso(now),
                             repeats=0, acked_at=None, ack_note=None, said_size=size)
                say(firing)
            elif SEVERITY_RANK[finding.severity] > SEVERITY_RANK[row["severity"]] or grew(row["said_size"], size):
                state.update(last_notified=iso(now), repeats=0, acked_at=None, ack_note=None, said_size=size)
                say(replace(firing, event="escalated"))
            else:
                wait = min(_rule(cfg, finding.rule, "repeat_hours") * 2 ** (row["repeats"] or 0), cfg.max_repeat_hours)
                if now - (parse(row["last_notified"]) or now) >= timedelta(hours=wait):
                    state.update(last_notified=iso(now), repeats=(row["repeats"] or 0) + 1)
                    say(replace(firing, event="repeat"), acked=bool(row["acked_at"]))
            store.save_alert(state)
        calm = timedelta(minutes=cfg.resolve_after_minutes)
        for row in store.open_alerts(account):
            if row["rule"] in rules_ran and row["fingerprint"] not in current \
                    and now - (parse(row["last_seen"]) or now) >= calm:  # clear long enough: not a flicker
                store.save_alert({"fingerprint": row["fingerprint"], "status": "resolved", "resolved_at": iso(now),
                                  "acked_at": None})
                if _rule(cfg, row["rule"], "notify_resolved"):
                    say(resolved(Event.from_json(json.loads(row["finding"])), parse(row["last_seen"]) or now, now,
                                 monitor.language, monitor.tz))
        outbox.enqueue(store, account, events, channels, cfg, monitor.tz, now)
    return events


def _rule(cfg: AlertsSection, rule: str, key: str) -> Any:
    override = cfg.rules.get(rule)
    value = getattr(override, key) if override is not None else None
    return getattr(cfg, key) if value is None else value
