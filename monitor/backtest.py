"""`ozon-monitor backtest`: the stored history replayed through the rules as if live, step by
step, each step seeing only what was known by then, so a seller can tune thresholds before
trusting them. Each step goes through the live alert lifecycle (`alerts.reconcile`) on a
scratch state file: repeats, the damping of a finding hovering at its threshold and the
per-rule settings of `[alerts]` are the ones the service applies."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from monitor import alerts, facts
from monitor.config import Settings
from monitor.cycle import rule_configs
from monitor.store import Store
from monitor.support import render
from monitor.sources import coverage
from rules import run_rules
from rules.base import Keyed
from rules.replay import REPLAYABLE, as_of


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # "fired", "escalated", "repeat" or "resolved"
    rule: str
    severity: str
    fingerprint: str
    title: str


@dataclass(frozen=True)
class Replay:
    events: list[Event]
    since: datetime  # the stored history: what can be replayed at all
    until: datetime


def backtest(settings: Settings, account: str, start: datetime, end: datetime, step: timedelta) -> Replay:
    """Given stored history for `account`, return every alert the replayable rules would have
    raised, escalated or resolved between `start` and `end`, checking every `step`. Raises
    Keyed when nothing of the account has been synced yet."""
    store = Store.in_dir(settings.monitor.state_dir)
    try:
        since, until = coverage(store, account)
        if since is None or until is None:
            raise Keyed("cli.backtest_no_history", account=account)
        client_id = settings.account(account).client_id
        data = facts.account_data(store, account, client_id, until, since, settings.monitor.tz, replay=True)
    finally:
        store.close()
    configs = {name: config if name in REPLAYABLE else config.model_copy(update={"enabled": False})
               for name, config in rule_configs(settings).items()}
    kinds = {"firing": "fired", "escalated": "escalated", "repeat": "repeat", "resolved": "resolved"}
    events: list[Event] = []
    with tempfile.TemporaryDirectory(prefix="ozon-monitor-backtest-") as scratch:
        lifecycle = Store.in_dir(Path(scratch))
        try:
            moment = max(start, since)
            while moment <= min(end, until):
                verdict = run_rules(as_of(data, moment), configs)
                rendered = {f.fingerprint: render(f, settings.monitor.language, settings.monitor.tz, moment)
                            for f in verdict.findings}
                said = alerts.reconcile(lifecycle, account, verdict.ran, verdict.findings, rendered, [],
                                        settings.alerts, settings.monitor, moment)
                events += [Event(moment, kinds[e.event], e.rule, e.severity, e.fingerprint, e.title) for e in said]
                moment += step
        finally:
            lifecycle.close()
    return Replay(events, since, until)
