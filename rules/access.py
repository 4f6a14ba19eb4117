"""api_access: the API key expiring or lacking rights, a data source failing for hours, data
gone stale. Its findings on postings also hold back the rules that would read missing data as
missing sales."""
from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from rules.base import POSTINGS_SOURCES, AccountData, Finding, Rule, RuleConfig, finding


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
                evidence={"kind": "key_expiry", "expires_at": data.key_expires_at.isoformat(),
                          "days_left": round(left, 1)}, topic=None))
    for health in data.sources.values():
        postings = health.source in POSTINGS_SOURCES
        switched_off = health.disabled_until is not None and health.disabled_until > data.now
        silent = health.last_success is None or data.now - health.last_success > timedelta(hours=config.failing_hours)
        stale = postings and health.last_success is not None \
            and data.now - health.last_success > timedelta(minutes=config.stale_minutes)
        if not (switched_off or (health.last_error and silent) or stale):
            continue
        server_side = bool(health.last_error) and any(s in health.last_error for s in ("HTTP 5", "timed out"))
        findings.append(finding(
            "api_access", data, severity="critical" if postings else "warning", entity=f"source:{health.source}",
            started_at=health.last_success or data.now,
            evidence={"kind": "source_switched_off" if switched_off else "source_failing" if health.last_error
                      else "data_stale", "source": health.source, "error": health.last_error,
                      "last_success": health.last_success.isoformat() if health.last_success else None,
                      "switched_off_until": health.disabled_until.isoformat() if switched_off else None},
            topic="technical" if server_side else None))
    return findings


API_ACCESS = Rule("api_access", ApiAccessConfig, api_access)


def postings_blocked(findings: list[Finding]) -> bool:
    """True when the postings feed itself is failing or stale."""
    return any(f.rule == "api_access" and f.entity in {f"source:{s}" for s in POSTINGS_SOURCES} for f in findings)
