"""What goes out: an `Event` is one alert's state change, a `Message` is what one channel
receives for one shop at once (one or more events). Both are plain frozen data; the outbox
stores them as JSON and the channels read their attributes."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from rules.base import Product, Series

EventKind = Literal["firing", "escalated", "repeat", "resolved"]


@dataclass(frozen=True)
class Event:
    """One alert's state change, with its texts in the seller's language."""

    event: EventKind
    rule: str
    severity: str
    fingerprint: str
    account: str
    client_id: int
    title: str
    explanation: str
    started_at: str  # when the problem started, as far as the data shows (ISO-8601 UTC)
    notified_at: str  # when this change was decided
    support_topic: str | None
    support_request: str | None
    evidence: dict[str, Any]  # the rule's numbers, as JSON
    affected_postings: tuple[str, ...] = ()
    affected_skus: tuple[int, ...] = ()
    products: tuple[Product, ...] = ()  # the affected SKUs with article (offer id) and name
    ended_at: str | None = None  # resolved: when the problem was last seen
    series: Series | None = None  # for a chart, where the rule has one
    at_stake_rubles: float | None = None  # what the problem costs, where the data tells (`at_stake_kind`)
    at_stake_kind: str | None = None  # missed, value, charged, per_day

    @property
    def status(self) -> str:
        return "resolved" if self.event == "resolved" else "firing"

    @property
    def is_open(self) -> bool:
        return self.event != "resolved"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values.setdefault("support_topic", data.get("topic"))  # state files written before 0.2
        values.setdefault("notified_at", data.get("started_at", ""))
        values.setdefault("event", "firing")
        series = values.get("series")
        values.update(affected_postings=tuple(values.get("affected_postings", ())),
                      affected_skus=tuple(values.get("affected_skus", ())),
                      products=tuple(Product(**p) for p in values.get("products", ())),
                      series=Series(**_tuples(series)) if series else None)
        return cls(**values)


def _tuples(stored: dict[str, Any]) -> dict[str, Any]:
    """A series read back from JSON: its lists as the tuples `Series` holds."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in stored.items()}


MAX_IN_FULL = 10  # [alerts] max_alerts_per_message


@dataclass(frozen=True)
class Message:
    """What one channel receives for one shop: its id is the same on every retry."""

    id: str
    account: str
    client_id: int
    created_at: str
    language: str
    events: tuple[Event, ...]
    parts: tuple[str, ...] = field(default=())  # the outbox rows it carries
    progress: dict[str, Any] = field(default_factory=dict)  # what an earlier try got through (channel's own)
    listed: int = MAX_IN_FULL  # alerts shown in full; the rest are counted (`alerts list`, the drafts)

    @property
    def shown(self) -> tuple[Event, ...]:
        """The events a reader gets in full: critical first, at most `listed` of them."""
        ranked = sorted(self.events, key=lambda e: (not e.is_open, e.severity != "critical"))
        return tuple(ranked[:self.listed])

    @property
    def unlisted(self) -> int:
        return max(len(self.events) - self.listed, 0)
