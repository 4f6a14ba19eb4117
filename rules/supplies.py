"""Goods handed to Ozon: acceptance_acts (acts of shortage, defect or surplus waiting for the
seller's answer before a deadline, and FBS acts of mismatch to sign) and supplies_stuck (FBO
supplies that stay in transit or in acceptance)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import Field

from rules.base import AccountData, Act, ActLine, Finding, Rule, RuleConfig, Supply, at_stake, finding

WAITING = ("AWAITING_APPROVAL_BY_SELLER", "NEED_TO_SIGN")
TRANSIT = ("ACCEPTED_AT_SUPPLY_WAREHOUSE", "IN_TRANSIT")
ACCEPTANCE = ("ACCEPTANCE_AT_STORAGE_WAREHOUSE",)


@dataclass(frozen=True)
class AcceptanceActEvidence:
    act_id: int
    number: str
    kind: str
    supply: str
    deadline: datetime | None
    hours_left: float | None
    declared: int
    accepted: int
    units: int  # short, defective or surplus
    value: float  # of those units at the act's prices
    lines: tuple[ActLine, ...]  # the lines whose quantities differ


class AcceptanceActsConfig(RuleConfig):
    critical_hours: float = Field(24.0, ge=0, le=240)


def _differs(act: Act) -> tuple[ActLine, ...]:
    return tuple(line for line in act.lines if line.declared != line.accepted)


def acceptance_acts(data: AccountData, config: AcceptanceActsConfig) -> list[Finding]:
    """One finding per act waiting for the seller: an FBO act of shortage, defect or surplus
    with the units and rubles it disputes and the hours left to answer (after the deadline
    Ozon takes the act as agreed), or an FBS act of mismatch to sign."""
    findings = []
    for act in data.acts:
        if act.state not in WAITING or (act.deadline is not None and act.deadline <= data.now):
            continue
        lines = _differs(act)
        units = sum(abs(line.declared - line.accepted) for line in lines) or abs(act.declared - act.accepted)
        value = sum(abs(line.declared - line.accepted) * line.price for line in lines)
        left = (act.deadline - data.now).total_seconds() / 3600 if act.deadline else None
        findings.append(finding(
            "acceptance_acts", data, severity="critical" if left is not None and left < config.critical_hours
            else "warning", entity=f"act:{act.act_id}", started_at=act.created_at or data.now,
            evidence=AcceptanceActEvidence(act.act_id, act.number, act.kind, act.supply, act.deadline,
                                           round(left, 1) if left is not None else None, act.declared, act.accepted,
                                           units, round(value, 2), lines),
            topic="logistics", checks=(), affected_skus=[line.sku for line in lines],
            at_stake=at_stake(value, "value")))
    return findings


ACCEPTANCE_ACTS = Rule("acceptance_acts", AcceptanceActsConfig, acceptance_acts)


@dataclass(frozen=True)
class StuckSupply:
    number: str
    since: datetime
    units: int
    value: float


@dataclass(frozen=True)
class StuckSuppliesEvidence:
    state: str
    warehouse: str
    supplies: tuple[StuckSupply, ...]  # the longest stuck first
    units: int
    value: float


class SuppliesStuckConfig(RuleConfig):
    transit_days: float = Field(7.0, gt=0, le=90)
    acceptance_days: float = Field(4.0, gt=0, le=90)


def supplies_stuck(data: AccountData, config: SuppliesStuckConfig) -> list[Finding]:
    """FBO supplies whose state has not moved for `transit_days` on their way or
    `acceptance_days` in acceptance at the warehouse, with what they carry: one finding per
    state and drop-off point (one hold-up stops every supply that goes through it)."""
    stuck: dict[tuple[str, str], list[Supply]] = defaultdict(list)
    for supply in data.supplies:
        limit = config.transit_days if supply.state in TRANSIT else \
            config.acceptance_days if supply.state in ACCEPTANCE else None
        if limit is not None and data.now - supply.since >= timedelta(days=limit):
            stuck[(supply.state, supply.warehouse)].append(supply)
    findings = []
    for (state, warehouse), group in sorted(stuck.items()):
        group.sort(key=lambda x: x.since)
        limit = config.transit_days if state in TRANSIT else config.acceptance_days
        value = sum(x.value for x in group)
        findings.append(finding(
            "supplies_stuck", data, severity="warning", entity=f"supplies:{state}:{warehouse}",
            started_at=group[0].since + timedelta(days=limit),
            evidence=StuckSuppliesEvidence(state, warehouse, tuple(StuckSupply(x.number, x.since, x.units,
                                                                               round(x.value, 2)) for x in group),
                                           sum(x.units for x in group), round(value, 2)),
            topic="logistics", checks=(), at_stake=at_stake(value, "value")))
    return findings


SUPPLIES_STUCK = Rule("supplies_stuck", SuppliesStuckConfig, supplies_stuck)
