"""From findings to notifications: one alert per fingerprint, notified when it starts firing,
when its severity rises and once when it resolves. State change and outgoing messages are
written in one transaction, so a crash can neither lose a message nor send one twice."""
from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.channels import Channel, DeliveryError
from monitor.store import Store, iso
from monitor.support import Rendered
from rules import Finding

log = logging.getLogger(__name__)
SEVERITY_RANK = {"warning": 1, "critical": 2}


def message(event: str, finding: Finding, rendered: Rendered, now: datetime) -> dict[str, Any]:
    return {
        "id": f"{finding.fingerprint}.{event}.{int(now.timestamp())}", "event": event,
        "account": finding.account, "client_id": finding.client_id, "rule": finding.rule,
        "severity": finding.severity, "fingerprint": finding.fingerprint, "title": rendered.title,
        "explanation": rendered.explanation, "support_request": rendered.support_request,
        "started_at": iso(finding.started_at), "evidence": finding.evidence, "created_at": iso(now),
    }


def reconcile(store: Store, account: str, rules_ran: set[str], findings: list[Finding],
              rendered: dict[str, Rendered], channels: list[str], now: datetime) -> list[dict[str, Any]]:
    """Update alert state for one account's cycle and enqueue what must be said; return the
    messages enqueued. Alerts of rules that did not run stay as they are."""
    messages = []
    current = {f.fingerprint for f in findings}
    with store.transaction():
        for finding in findings:
            row = store.alert(finding.fingerprint)
            event = None
            if row is None or row["status"] != "firing":
                event = "firing"
            elif SEVERITY_RANK[finding.severity] > SEVERITY_RANK[row["severity"]]:
                event = "escalated"
            store.save_alert({
                "fingerprint": finding.fingerprint, "account": account, "rule": finding.rule,
                "entity": finding.entity, "status": "firing", "severity": finding.severity,
                "started_at": iso(finding.started_at),
                "first_seen": row["first_seen"] if row and row["status"] == "firing" else iso(now),
                "last_seen": iso(now), "resolved_at": None,
                "finding": json.dumps(finding_json(finding, rendered[finding.fingerprint]), ensure_ascii=False),
            })
            if event:
                messages.append(message(event, finding, rendered[finding.fingerprint], now))
        for row in store.open_alerts(account):
            if row["rule"] in rules_ran and row["fingerprint"] not in current:
                store.save_alert({**row, "status": "resolved", "resolved_at": iso(now)})
                stored = json.loads(row["finding"])
                messages.append({**stored, "id": f"{row['fingerprint']}.resolved.{int(now.timestamp())}",
                                 "event": "resolved", "created_at": iso(now)})
        for msg in messages:
            for channel in channels:
                store.enqueue(f"{msg['id']}@{channel}", channel, msg["fingerprint"], account, msg["event"], msg, now)
    return messages


def deliver(store: Store, channels: dict[str, Channel], now: datetime) -> tuple[int, int]:
    """Send every pending outbox message; return (delivered, failed). A failed message stays
    pending with its error recorded; a channel failure never stops the others."""
    delivered = failed = 0
    for row in store.pending_messages():
        channel = channels.get(row["channel"])
        if channel is None:
            store.mark_failed(row["id"], f"channel {row['channel']!r} is no longer in the config")
            failed += 1
            continue
        try:
            channel.send(json.loads(row["payload"]))
        except DeliveryError as exc:
            log.warning("delivery failed: channel=%s message=%s error=%s", row["channel"], row["id"], exc)
            store.mark_failed(row["id"], str(exc))
            failed += 1
        else:
            store.mark_delivered(row["id"], now)
            delivered += 1
    return delivered, failed


def save_draft(drafts_dir: Path, finding: Finding, rendered: Rendered) -> Path | None:
    """Keep the support request as a file the seller can open and paste; one file per problem."""
    if rendered.support_request is None:
        return None
    drafts_dir.mkdir(parents=True, exist_ok=True)
    path = drafts_dir / f"{finding.rule}-{finding.account}-{finding.fingerprint}.txt"
    path.write_text(rendered.support_request + "\n", encoding="utf-8")
    return path


def finding_json(finding: Finding, rendered: Rendered) -> dict[str, Any]:
    data = asdict(finding)
    data.update(fingerprint=finding.fingerprint, started_at=iso(finding.started_at), title=rendered.title,
                explanation=rendered.explanation, support_request=rendered.support_request)
    return data

