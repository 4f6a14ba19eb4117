"""rating_risk: a seller-rating indicator in warning or critical, the penalty score exceeded, or
a trend that will cross the account's own threshold soon."""
from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from rules.base import AccountData, Finding, Rule, RuleConfig, finding
from rules.stats import days_to_cross


@dataclass(frozen=True)
class PenaltyScoreEvidence:
    penalty_score_exceeded: bool = True


@dataclass(frozen=True)
class RatingRiskEvidence:
    rating: str
    name: str
    status: str  # Ozon's: OK, WARNING, CRITICAL
    reason: str  # critical, warning, warning_heading_to_danger, trend
    value: float | None
    warning_threshold: float
    danger_threshold: float
    higher_is_better: bool
    days_to_warning: float | None
    days_to_danger: float | None
    recent_values: tuple[float, ...]


class RatingRiskConfig(RuleConfig):
    forecast_days: float = Field(7.0, gt=0, le=60)
    trend_days: int = Field(7, ge=5, le=60)


def rating_risk(data: AccountData, config: RatingRiskConfig) -> list[Finding]:
    """Status comes from Ozon; thresholds from `/v1/rating/history` (never hard-coded). The
    trend is a least-squares line over the last `trend_days` daily values; it must be
    significant and heading for the threshold within `forecast_days`."""
    findings = []
    if data.penalty_score_exceeded:
        findings.append(finding("rating_risk", data, severity="critical", entity="penalty_score",
                                started_at=data.now, evidence=PenaltyScoreEvidence(), topic=None, checks=()))
    for series in data.ratings:
        values = series.values[-config.trend_days:]
        if not values or series.warning is None or series.danger is None:
            continue
        start = values[0][0]
        days = [(moment - start).total_seconds() / 86400 for moment, _ in values]
        numbers = [value for _, value in values]
        to_warning = days_to_cross(days, numbers, series.warning, series.higher_is_better)
        to_danger = days_to_cross(days, numbers, series.danger, series.higher_is_better)
        status = series.status.upper()
        if status == "CRITICAL":
            severity, reason = "critical", "critical"
        elif status == "WARNING":
            severity, reason = ("critical", "warning_heading_to_danger") if to_danger is not None \
                and to_danger <= config.forecast_days else ("warning", "warning")
        elif to_warning is not None and to_warning <= config.forecast_days:
            severity, reason = "warning", "trend"
        else:
            continue
        findings.append(finding(
            "rating_risk", data, severity=severity, entity=f"rating:{series.rating}", started_at=values[0][0]
            if reason == "trend" else values[-1][0],
            evidence=RatingRiskEvidence(series.rating, series.name, status, reason, series.current, series.warning,
                                        series.danger, series.higher_is_better,
                                        None if to_warning is None else round(to_warning, 1),
                                        None if to_danger is None else round(to_danger, 1), tuple(numbers[-7:])),
            topic=None, checks=()))
    return findings


RATING_RISK = Rule("rating_risk", RatingRiskConfig, rating_risk)
