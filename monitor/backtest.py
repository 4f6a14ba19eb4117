"""`ozon-monitor backtest`: the stored history replayed through the rules as if live, step by
step, each step seeing only what was known by then, so a seller can tune thresholds before
trusting them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor import facts
from monitor.config import Settings
from monitor.cycle import rule_configs
from monitor.store import Store
from monitor.support import render
from monitor.sources import coverage
from rules import run_rules
from rules.replay import REPLAYABLE, as_of


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # "fired", "escalated" or "resolved"
    rule: str
    severity: str
    fingerprint: str
    title: str


def backtest(settings: Settings, account: str, start: datetime, end: datetime, step: timedelta) -> list[Event]:
    """Given stored history for `account`, return every alert the replayable rules would have
    raised, escalated or resolved between `start` and `end`, checking every `step`."""
    store = Store.in_dir(settings.monitor.state_dir)
    try:
        since, until = coverage(store, account)
        if since is None or until is None:
            raise ValueError(f"no synced postings for account {account!r}: run `ozon-monitor check` first")
        client_id = settings.account(account).client_id
        data = facts.account_data(store, account, client_id, until, since, settings.monitor.tz, replay=True)
    finally:
        store.close()
    configs = {name: config if name in REPLAYABLE else config.model_copy(update={"enabled": False})
               for name, config in rule_configs(settings).items()}
    events: list[Event] = []
    open_alerts: dict[str, Event] = {}
    moment = max(start, since)
    while moment <= min(end, until):
        current = {f.fingerprint: f for f in run_rules(as_of(data, moment), configs).findings}
        for fingerprint, finding in current.items():
            before = open_alerts.get(fingerprint)
            if before is None or (before.severity == "warning" and finding.severity == "critical"):
                title = render(finding, settings.monitor.language, settings.monitor.tz, moment).title
                event = Event(moment, "fired" if before is None else "escalated", finding.rule, finding.severity,
                              fingerprint, title)
                events.append(event)
                open_alerts[fingerprint] = event
        for fingerprint in [f for f in open_alerts if f not in current]:
            gone = open_alerts.pop(fingerprint)
            events.append(Event(moment, "resolved", gone.rule, gone.severity, fingerprint, gone.title))
        moment += step
    return events
