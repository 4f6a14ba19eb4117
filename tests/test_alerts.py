"""Alert lifecycle, digests, silences, quiet hours and the outbox, on a real SQLite file."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from monitor import alerts, outbox
from monitor.channels import DeliveryError, FileChannel, FileConfig
from monitor.config import AlertsSection, MonitorSection, RuleAlerting
from monitor.message import Message
from monitor.store import Store
from monitor.texts import Said
from monitor.support import render
from rules import Finding
from tests.samples import samples

NOW = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)  # 12:00 in Moscow
MONITOR = MonitorSection()


EVIDENCE = {"sales_drop": samples()["sales_drop/partial"].evidence, "stock_out": samples()["stock_out/empty"].evidence}


def finding(rule: str = "sales_drop", severity: str = "warning", entity: str = "account",
            skus: list[int] | None = None) -> Finding:
    return Finding(rule=rule, account="shop", client_id=1, severity=severity, entity=entity, started_at=NOW,
                   evidence=EVIDENCE[rule], topic="technical" if rule == "sales_drop" else None,
                   affected_skus=skus or [])


class Recorder:
    """A channel that keeps what it is given, or fails as told."""

    def __init__(self, name: str = "rec", fail: DeliveryError | None = None) -> None:
        self.name, self.fail, self.sent = name, fail, []

    def send(self, message: Message) -> None:
        if self.fail:
            raise self.fail
        self.sent.append(message)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


def cycle(store: Store, findings: list[Finding], now: datetime, cfg: AlertsSection | None = None,
          ran: set[str] | None = None, channels: list | None = None) -> list[str]:
    rendered = {f.fingerprint: render(f, "ru", MONITOR.tz, now) for f in findings}
    events = alerts.reconcile(store, "shop", ran if ran is not None else {"sales_drop", "stock_out"}, findings,
                              rendered, channels or [FileConfig(type="file", name="rec")], cfg or AlertsSection(),
                              MONITOR, now)
    return [e.event for e in events]


def deliver(store: Store, channels: dict[str, Any], now: datetime) -> tuple[int, int]:
    """(messages delivered, failures) of one delivery step."""
    done = outbox.deliver(store, channels, "ru", now, 24)
    return done.delivered, done.failed


def test_an_alert_is_sent_when_it_starts_and_not_again_while_it_stays_the_same(store: Store) -> None:
    assert cycle(store, [finding()], NOW) == ["firing"]
    assert cycle(store, [finding()], NOW + timedelta(minutes=10)) == []
    assert cycle(store, [finding(severity="critical")], NOW + timedelta(minutes=20)) == ["escalated"]


def test_open_alerts_repeat_with_a_doubling_wait_up_to_max_repeat_hours(store: Store) -> None:
    cfg = AlertsSection(repeat_hours=6, max_repeat_hours=24)
    cycle(store, [finding()], NOW, cfg)
    sent = [(hours, cycle(store, [finding()], NOW + timedelta(hours=hours), cfg)) for hours in range(1, 120)]
    # waits of 6, 12 and 24 h, then 24 h for good: the doubling stops at max_repeat_hours
    assert [hours for hours, events in sent if events == ["repeat"]] == [6, 18, 42, 66, 90, 114]


def test_per_rule_repeat_interval_overrides_the_default(store: Store) -> None:
    cfg = AlertsSection(rules={"sales_drop": RuleAlerting(repeat_hours=2)})
    cycle(store, [finding()], NOW, cfg)
    assert cycle(store, [finding()], NOW + timedelta(hours=2), cfg) == ["repeat"]


def test_resolved_once_and_only_for_rules_that_ran(store: Store) -> None:
    cycle(store, [finding()], NOW)
    assert cycle(store, [], NOW + timedelta(minutes=70), ran={"stock_out"}) == []  # sales_drop held back
    assert cycle(store, [], NOW + timedelta(minutes=80)) == ["resolved"]
    assert cycle(store, [], NOW + timedelta(minutes=90)) == []
    assert cycle(store, [finding()], NOW + timedelta(minutes=100)) == ["firing"]  # a new occurrence


def test_flapping_is_damped(store: Store) -> None:
    """A series at its threshold: seen one cycle, gone the next, for a day of 10-minute cycles."""
    said = []
    for step in range(144):
        present = step % 2 == 0 or step % 7 == 3
        said += cycle(store, [finding()] if present else [], NOW + timedelta(minutes=10 * step))
    assert said == ["firing"]  # no resolved/firing pair per cycle
    for step in range(144, 160):  # then it stays clear
        said += cycle(store, [], NOW + timedelta(minutes=10 * step))
    assert said == ["firing", "resolved"]


def test_resolved_messages_can_be_switched_off_per_rule(store: Store) -> None:
    cfg = AlertsSection(rules={"sales_drop": RuleAlerting(notify_resolved=False)})
    cycle(store, [finding()], NOW, cfg)
    assert cycle(store, [], NOW + timedelta(minutes=90), cfg) == []
    assert store.open_alerts("shop") == []  # resolved, just not said


def test_silence_and_ack_suppress_and_the_log_says_why(store: Store) -> None:
    store.add_silence("stock_out", None, None, NOW + timedelta(days=3), "supply on its way", NOW)
    store.add_silence(None, 77, None, NOW + timedelta(days=2), "SKU being replaced", NOW)
    three = [finding("stock_out", entity="sku:5:fbs", skus=[5]), finding(entity="sku:77", skus=[77]), finding()]
    assert cycle(store, three, NOW) == ["firing"]
    store.save_alert({"fingerprint": finding().fingerprint, "acked_at": NOW.isoformat()})
    assert cycle(store, three, NOW + timedelta(hours=25)) == []  # all three repeats are suppressed
    log = [(r["rule"], r["event"], r["reason"]) for r in store.suppressed()]
    assert log[:2] == [("stock_out", "firing", "silence #1 until 2026-11-21T09:00:00+00:00: supply on its way"),
                       ("sales_drop", "firing", "silence #2 until 2026-11-20T09:00:00+00:00: SKU being replaced")]
    assert ("sales_drop", "repeat", "acknowledged") in log and len(log) == 5
    assert cycle(store, [finding(severity="critical")], NOW + timedelta(hours=26)) == ["escalated"]  # ack ends


def test_one_digest_per_channel_per_cycle_filtered_by_channel_settings(store: Store) -> None:
    channels = [FileConfig(type="file", name="all"), FileConfig(type="file", name="urgent", min_severity="critical")]
    cycle(store, [finding(), finding("stock_out", "critical", "sku:1:fbs", [1])], NOW, channels=channels)
    rows = {r["channel"]: json.loads(r["payload"])["events"] for r in store.undelivered()}
    assert [e["rule"] for e in rows["all"]] == ["sales_drop", "stock_out"]
    assert [e["rule"] for e in rows["urgent"]] == ["stock_out"]


@pytest.mark.parametrize("moscow_hour, severity, held_until_hour", [(23, "warning", 8), (3, "warning", 8),
                                                                     (23, "critical", None), (12, "warning", None)])
def test_quiet_hours_hold_non_critical_digests_until_morning(store: Store, moscow_hour: int, severity: str,
                                                             held_until_hour: int | None) -> None:
    now = datetime(2026, 11, 18, moscow_hour, 0, tzinfo=MONITOR.tz).astimezone(timezone.utc)
    cycle(store, [finding(severity=severity)], now, AlertsSection(quiet_hours="22:00-08:00"))
    not_before = datetime.fromisoformat(store.undelivered()[0]["not_before"])
    if held_until_hour is None:
        assert not_before == now
    else:
        assert not_before.astimezone(MONITOR.tz).hour == held_until_hour and not_before > now
        assert deliver(store, {"rec": Recorder()}, now) == (0, 0)


def test_group_wait_lets_the_next_cycles_warnings_join_the_digest(store: Store) -> None:
    cfg = AlertsSection(group_wait_minutes=15)
    cycle(store, [finding()], NOW, cfg)
    channel = Recorder()
    assert deliver(store, {"rec": channel}, NOW + timedelta(minutes=10)) == (0, 0)
    cycle(store, [finding(), finding(entity="second")], NOW + timedelta(minutes=10), cfg)
    cycle(store, [finding(), finding(entity="second"), finding("stock_out", "critical", "sku:5:fbs", [5])],
          NOW + timedelta(minutes=20), cfg)  # a critical alert is not held
    assert deliver(store, {"rec": channel}, NOW + timedelta(minutes=20)) == (1, 0)
    assert [e.fingerprint for e in channel.sent[0].events] == [
        finding().fingerprint, finding(entity="second").fingerprint, finding("stock_out", "critical", "sku:5:fbs").fingerprint]


def test_a_backlog_goes_out_as_one_message_with_a_stable_id(store: Store) -> None:
    for minutes in (0, 10, 20):
        cycle(store, [finding(entity=f"e{m}") for m in range(0, minutes + 1, 10)], NOW + timedelta(minutes=minutes))
    first, second = Recorder(), Recorder()
    assert deliver(store, {"rec": first}, NOW + timedelta(hours=1)) == (1, 0)
    assert len(first.sent) == 1 and len(first.sent[0].events) == 3
    rows = store.undelivered()
    assert rows == [] and len(first.sent[0].parts) == 3
    assert deliver(store, {"rec": second}, NOW + timedelta(hours=2)) == (0, 0)  # nothing resent


def test_failures_back_off_then_park_and_permanent_errors_park_at_once(store: Store, caplog) -> None:
    cycle(store, [finding()], NOW)
    flaky = Recorder(fail=DeliveryError(Said("delivery.no_connection", where="SMTP mail:25", error="down")))
    assert deliver(store, {"rec": flaky}, NOW) == (0, 1)
    [said] = [r for r in caplog.records if r.msg.startswith("delivery failed")]
    assert said.msg.startswith("delivery failed, retry in %d min") and said.args[0] == 1  # a number the log translates
    row = store.undelivered()[0]
    assert row["next_attempt_at"] > NOW.isoformat() and row["parked_at"] is None
    assert deliver(store, {"rec": flaky}, NOW + timedelta(seconds=30)) == (0, 0)  # not yet due
    moment = NOW
    while store.undelivered()[0]["parked_at"] is None:
        moment = datetime.fromisoformat(store.undelivered()[0]["next_attempt_at"])
        deliver(store, {"rec": flaky}, moment)
    assert timedelta(hours=23) <= moment - NOW <= timedelta(hours=24)
    cycle(store, [finding(entity="other")], NOW)
    broken = Recorder(fail=DeliveryError(Said("delivery.refused", where="POST hook", status=404, reply=""), permanent=True))
    caplog.clear()
    deliver(store, {"rec": broken}, NOW)
    assert all(r["parked_at"] for r in store.undelivered())
    assert [r.msg for r in caplog.records if r.msg.startswith("delivery failed")] == [
        "delivery failed, parked: channel=%s account=%s message=%s error=%s"]


def test_a_crash_between_state_change_and_delivery_loses_nothing_and_sends_once(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    crashed = Store(path)
    cycle(crashed, [finding()], NOW)  # committed, then the process dies before delivering
    crashed.db.conn.close()
    channel = FileChannel(FileConfig(type="file", name="rec", directory=tmp_path / "out"))
    restarted = Store(path)
    assert cycle(restarted, [finding()], NOW + timedelta(minutes=10)) == []  # the alert is already known
    assert deliver(restarted, {"rec": channel}, NOW + timedelta(minutes=10)) == (1, 0)
    # A crash after sending but before bookkeeping: the same message again is dropped by its id.
    restarted.db.execute("update outbox set delivered_at = null")
    assert deliver(restarted, {"rec": channel}, NOW + timedelta(minutes=20)) == (1, 0)
    lines = (tmp_path / "out" / "notifications.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["events"][0]["event"] == "firing"
