"""api_access: the API key expiring or lacking rights, a data source failing for hours, data
gone stale. Its findings on postings also hold back the rules that would read missing data as
missing sales."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from rules.base import POSTINGS_SOURCES, AccountData, ErrorKind, Finding, Rule, RuleConfig, SourceHealth, finding


@dataclass(frozen=True)
class KeyExpiryEvidence:
    expires_at: datetime
    days_left: float
    kind: Literal["key_expiry"] = "key_expiry"


BLOCKING = ("key_rejected", "account_blocked")  # nothing can be read until the seller acts


@dataclass(frozen=True)
class SourceEvidence:
    kind: Literal["source_switched_off", "source_failing", "data_stale", "access_rejected"]
    source: str  # the source named in the text (the first of `sources`)
    error: str | None  # the English message, for the webhook and the log; texts use `error_kind`
    error_kind: ErrorKind | None
    last_success: datetime | None
    switched_off_until: datetime | None
    sources: tuple[str, ...] = ()  # every source this finding covers
    methods: tuple[str, ...] = ()  # the Seller API methods that failed (none for sources not tried)


class ApiAccessConfig(RuleConfig):
    key_warn_days: float = Field(14.0, gt=0, le=180)
    key_critical_days: float = Field(3.0, ge=0, le=60)
    failing_hours: float = Field(3.0, gt=0, le=168)
    stale_minutes: float = Field(90.0, gt=0, le=10080)


def api_access(data: AccountData, config: ApiAccessConfig) -> list[Finding]:
    """What blinds the monitor, said at once: a rejected key or a blocked account (one critical
    finding), the postings feed failing or stale (one critical finding: the monitor cannot see
    sales); and, after `failing_hours`, any other source failing or switched off (a warning
    each). Plus the key's expiry. `data.now` here is the wall clock."""
    findings = []
    if data.key_expires_at is not None:
        left = (data.key_expires_at - data.now).total_seconds() / 86400
        if left <= config.key_warn_days:
            findings.append(finding(
                "api_access", data, severity="critical" if left <= config.key_critical_days else "warning",
                entity="key_expiry", started_at=data.key_expires_at - timedelta(days=config.key_warn_days),
                evidence=KeyExpiryEvidence(data.key_expires_at, round(left, 1)), topic=None, checks=()))
    failing = {h.source: h for h in data.sources.values() if h.last_error}
    kinds: dict[str, ErrorKind] = {name: h.error_kind or "other" for name, h in failing.items()}
    rejected = [failing[name] for name, kind in kinds.items() if kind in BLOCKING]
    if rejected:
        first = rejected[0]
        kind = kinds[first.source]
        findings.append(finding(
            "api_access", data, severity="critical", entity=str(kind), started_at=_since(rejected, data),
            evidence=SourceEvidence("access_rejected", first.source, first.last_error, kind, _last(rejected), None,
                                    tuple(h.source for h in rejected), _methods(rejected)),
            topic="technical" if kind == "account_blocked" else None, checks=()))
    feed = [h for h in data.sources.values() if h.source in POSTINGS_SOURCES]
    broken = [h for h in feed if h.last_error and kinds[h.source] not in BLOCKING]
    stale = [h for h in feed if h.last_success is not None and not h.last_error
             and data.now - h.last_success > timedelta(minutes=config.stale_minutes)]
    if (broken or stale) and not rejected:
        worst = (broken or stale)[0]
        feed_kind = kinds.get(worst.source)
        findings.append(finding(
            "api_access", data, severity="critical", entity="postings", started_at=_since(broken or stale, data),
            evidence=SourceEvidence("source_failing" if broken else "data_stale", worst.source, worst.last_error, feed_kind,
                                    _last(broken or stale), None, tuple(h.source for h in broken or stale),
                                    _methods(broken or stale)),
            topic="technical" if feed_kind in ("server_error", "timeout") else None, checks=()))
    by_cause: dict[str, list[SourceHealth]] = {}
    for health in data.sources.values():
        if health.source in POSTINGS_SOURCES or kinds.get(health.source) in BLOCKING:
            continue
        switched_off = health.disabled_until is not None and health.disabled_until > data.now
        silent = health.last_success is None or data.now - health.last_success > timedelta(hours=config.failing_hours)
        if switched_off or (health.last_error and silent):
            by_cause.setdefault(str(kinds.get(health.source)), []).append(health)
    postings_cause = str(kinds.get(findings[-1].evidence_as(SourceEvidence).source)) \
        if findings and findings[-1].entity == "postings" else None
    for cause, group in by_cause.items():  # one warning per cause, however many sources it stops
        if cause == postings_cause:
            continue  # the critical finding on the postings feed already says it
        first = group[0]
        switched_off = first.disabled_until is not None and first.disabled_until > data.now
        findings.append(finding(
            "api_access", data, severity="warning", entity=f"sources:{cause}", started_at=_since(group, data),
            evidence=SourceEvidence("source_switched_off" if switched_off else "source_failing", first.source,
                                    first.last_error, kinds.get(first.source), _last(group),
                                    first.disabled_until if switched_off else None, tuple(h.source for h in group),
                                    _methods(group)),
            topic="technical" if cause in ("server_error", "timeout") else None, checks=()))
    return findings


def _methods(sources: list[SourceHealth]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(h.error_method for h in sources if h.error_method))


def _last(sources: list[SourceHealth]) -> datetime | None:
    """When these sources last all answered."""
    moments = [h.last_success for h in sources if h.last_success is not None]
    return min(moments) if moments and len(moments) == len(sources) else None


def _since(sources: list[SourceHealth], data: AccountData) -> datetime:
    return _last(sources) or data.now


API_ACCESS = Rule("api_access", ApiAccessConfig, api_access)


def postings_blocked(findings: list[Finding]) -> bool:
    """True when the postings feed is failing or stale, or nothing can be read at all."""
    return any(f.rule == "api_access" and f.entity in ("postings", *BLOCKING) for f in findings)
