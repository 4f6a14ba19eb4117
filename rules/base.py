"""What every rule takes and returns."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict

Severity = Literal["warning", "critical"]
SupportTopic = Literal["technical", "logistics", "finance", "marketing"]


@dataclass(frozen=True)
class Order:
    """One posting as the rules see it: when it was placed and what it contained."""

    posting_number: str
    created_at: datetime
    skus: tuple[int, ...] = ()
    status: str = ""


@dataclass(frozen=True)
class AccountData:
    """Everything a rule may read about one account, as of `now` (the end of the synced data)."""

    account: str
    client_id: int
    now: datetime
    orders: list[Order]
    history_since: datetime | None  # the earliest moment the synced history covers


@dataclass(frozen=True)
class Finding:
    """One problem with one entity. `entity` makes the fingerprint stable while the problem lasts."""

    rule: str
    account: str
    client_id: int
    severity: Severity
    entity: str
    started_at: datetime
    evidence: dict[str, Any]
    topic: SupportTopic | None  # None: support cannot help, the text gives advice instead
    affected_postings: list[str] = field(default_factory=list)
    affected_skus: list[int] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.rule}|{self.account}|{self.entity}".encode()).hexdigest()[:16]


class RuleConfig(BaseModel):
    """Base of every `[rules.<name>]` table: unknown keys are errors, `enabled` is common."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True


@dataclass(frozen=True)
class Rule:
    name: str
    Config: type[RuleConfig]
    evaluate: Callable[[AccountData, Any], list[Finding]]
