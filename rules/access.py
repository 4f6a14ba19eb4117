"""api_access: the API key expiring or lacking rights, a data source failing for hours, data
gone stale. Its findings on postings also hold back the rules that would read missing data as
missing sales."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from rules.base import POSTINGS_SOURCES, AccountData, Finding, Rule, RuleConfig, finding


@dataclass(frozen=True)
class KeyExpiryEvidence:
    expires_at: datetime
    days_left: float
    kind: Literal["key_expiry"] = "key_expiry"


ErrorKind = Literal["key_rejected", "missing_role", "method_retired", "rate_limited", "server_error", "timeout",
                    "network", "bad_response", "other"]


@dataclass(frozen=True)
class SourceEvidence:
    kind: Literal["source_switched_off", "source_failing", "data_stale"]
    source: str
    error: str | None  # the raw error, for the webhook and the log; texts use `error_kind`
    error_kind: ErrorKind | None
    last_success: datetime | None
    switched_off_until: datetime | None


def error_kind(error: str | None) -> ErrorKind | None:
    """What kind of failure a sync error is, so texts can say it in the seller's language."""
    if not error:
        return None
    text = error.lower()
    for kind, marks in (("key_rejected", ("api-key", "api key", "http 401", "client-id")),
                        ("missing_role", ("role",)), ("method_retired", ("retired", "obsolete", "http 410")),
                        ("rate_limited", ("http 429", "rate limit")), ("timeout", ("timed out", "timeout")),
                        ("network", ("network error", "connect")), ("server_error", ("http 5",)),
                        ("bad_response", ("not valid json", "unexpected response", "response shape"))):
        if any(mark in text for mark in marks):
            return kind  # type: ignore[return-value]
    return "other"


class ApiAccessConfig(RuleConfig):
    key_warn_days: float = Field(14.0, gt=0, le=180)
    key_critical_days: float = Field(3.0, ge=0, le=60)
    failing_hours: float = Field(3.0, gt=0, le=168)
    stale_minutes: float = Field(90.0, gt=0, le=10080)


def api_access(data: AccountData, config: ApiAccessConfig) -> list[Finding]:
    """`data.now` here is the wall clock: staleness is measured against it."""
    findings = []
    if data.key_expires_at is not None:
        left = (data.key_expires_at - data.now).total_seconds() / 86400
        if left <= config.key_warn_days:
            findings.append(finding(
                "api_access", data, severity="critical" if left <= config.key_critical_days else "warning",
                entity="key_expiry", started_at=data.key_expires_at - timedelta(days=config.key_warn_days),
                evidence=KeyExpiryEvidence(data.key_expires_at, round(left, 1)), topic=None, checks=()))
    for health in data.sources.values():
        postings = health.source in POSTINGS_SOURCES
        switched_off = health.disabled_until is not None and health.disabled_until > data.now
        silent = health.last_success is None or data.now - health.last_success > timedelta(hours=config.failing_hours)
        stale = postings and health.last_success is not None \
            and data.now - health.last_success > timedelta(minutes=config.stale_minutes)
        if not (switched_off or (health.last_error and silent) or stale):
            continue
        kind = error_kind(health.last_error)
        server_side = kind in ("server_error", "timeout")
        findings.append(finding(
            "api_access", data, severity="critical" if postings else "warning", entity=f"source:{health.source}",
            started_at=health.last_success or data.now,
            evidence=SourceEvidence("source_switched_off" if switched_off else "source_failing" if health.last_error
                                    else "data_stale", health.source, health.last_error, kind, health.last_success,
                                    health.disabled_until if switched_off else None),
            topic="technical" if server_side else None, checks=()))
    return findings


API_ACCESS = Rule("api_access", ApiAccessConfig, api_access)


def postings_blocked(findings: list[Finding]) -> bool:
    """True when the postings feed itself is failing or stale."""
    return any(f.rule == "api_access" and f.entity in {f"source:{s}" for s in POSTINGS_SOURCES} for f in findings)
