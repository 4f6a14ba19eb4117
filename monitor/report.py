"""What `check` and `demo` print after the cycles: per shop what was synced, what failed, the
problems found and what was said, then what the delivery step did; and what `status` tells."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import numpy as np

from monitor.config import Settings
from monitor.cycle import CycleResult, Unchecked
from monitor.outbox import Delivery
from monitor.store import Store
from monitor.sources import coverage
from monitor.sources.base import account_info
from monitor.sources.postings import order_times
from monitor.sources.products import cards
from monitor.texts import ERROR_KINDS, Said, SOURCE_NAMES, SUMMARY, WORDS, count, count_of, number, rule_name, say, when
from rules import RULES
from rules.sales import SalesDropConfig, detection_floor


def print_result(result: CycleResult, language: str, tz: ZoneInfo, out: TextIO | None = None,
                 detail: bool = False) -> None:
    """What one shop's cycle found; `detail` adds each failure as the API said it (--verbose)."""
    out = out or sys.stdout
    words = SUMMARY[language]
    names = SOURCE_NAMES[language]
    fetched = ", ".join(f"{names.get(source, source)} — {count(n, 'record', language, 0)}"
                        for source, n in result.sync.fetched.items())
    shop = WORDS[language]['shop'].format(account=result.account)
    if not fetched and result.unchecked:  # nothing read: not "nothing new"
        print(f"{shop}: {words['nothing_read']}", file=out)
    else:
        print(f"{shop}: {words['synced']}: {fetched or words['nothing_new']}", file=out)
    print_unchecked(result.unchecked, language, tz, out, detail)
    if result.interrupted:
        print(f"  {words['interrupted']}", file=out)
    elif result.unchecked and not result.findings:
        print(f"  {words['incomplete'].format(count=count(len(result.unchecked), 'source', language, 0))}", file=out)
    elif not result.findings:
        print(f"  {words['no_problems']}", file=out)
    said = {e.fingerprint for e in result.notified}
    for finding in result.findings:
        rendered = result.rendered[finding.fingerprint]
        state = words["new"] if finding.fingerprint in said else words["still_open"]
        print(f"\n  [{WORDS[language][finding.severity]}] {rule_name(finding.rule, language)}: "
              f"{rendered.title} ({state})", file=out)
        print("\n".join("  " + line for line in rendered.explanation.splitlines()), file=out)
        if rendered.support_request:
            print(f"\n  --- {words['request']} ---", file=out)
            print("\n".join("  " + line for line in rendered.support_request.splitlines()), file=out)
    for event in result.notified:
        if event.event == "resolved":
            print(f"\n  [{words['resolved']}] {rule_name(event.rule, language)}: {event.title}", file=out)
            print("\n".join("  " + line for line in event.explanation.splitlines()), file=out)


def print_unchecked(unchecked: list[Unchecked], language: str, tz: ZoneInfo, out: TextIO, detail: bool = False) -> None:
    """One line per cause: which sources could not be read, since when, and why."""
    words, names = SUMMARY[language], SOURCE_NAMES[language]
    by_cause: dict[str, list[Unchecked]] = {}
    for item in unchecked:
        by_cause.setdefault(item.kind, []).append(item)
    for kind, items in by_cause.items():
        reason = items[0].reason.removeprefix("not tried: ")
        why = ERROR_KINDS[language].get(kind, reason)
        moments = [i.last_success for i in items if i.last_success is not None]
        since = when(min(moments), language, tz) if len(moments) == len(items) else words["never"]
        sources = ", ".join(names.get(i.source, i.source) for i in items)
        print(f"  ! {words['unchecked']}: {sources} — {why}; {words['last_read']}: {since}", file=out)
        if detail:
            print(f"    ({reason})", file=out)


def unmatched_overrides(settings: Settings, store: Store) -> list[Said]:
    """Overrides that name products none of the synced shops has (a typo, or a product gone):
    said as warnings once the cards are synced."""
    found = []
    for account in settings.accounts:
        known = list(cards(store, account.name))
        if not known:
            continue  # not synced yet: nothing to say
        skus, offers = {c.sku for c in known}, {c.offer_id for c in known}
        for name, config in ((n, getattr(settings.rules, n)) for n in RULES):
            for index, override in enumerate(config.overrides):
                missing = [str(s) for s in override.skus if s not in skus] + \
                          [o for o in override.offer_ids if o not in offers]
                if missing:
                    found.append(Said("config.override_unmatched", where=f"rules.{name}.overrides[{index}]",
                                      products=", ".join(missing), shop=account.name))
    return found


def print_delivery(delivery: Delivery, language: str, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    words = SUMMARY[language]
    if delivery.delivered:
        print(words["delivered"].format(count=count(delivery.delivered, "message", language, 0)), file=out)
    if delivery.failed:
        print(words["failed"].format(count=count(delivery.failed, "message", language, 0)), file=out)


def status_of(settings: Settings, store: Store, now: datetime, daemon_pid: int | None) -> dict[str, Any]:
    """Everything `status` tells, as plain data (its --json form)."""
    accounts = []
    for account in settings.accounts:
        info, cycle = account_info(store, account.name), store.last_cycle(account.name)
        accounts.append({
            "name": account.name, "client_id": account.client_id,
            "key_expires_at": info.get("key_expires_at"),
            "sources": [{"source": r["source"], "last_success": r["synced_until"], "error": r["last_error"],
                         "error_kind": r.get("error_kind"), "error_method": r.get("error_method")}
                        for r in store.cursors(account.name)],
            "last_cycle": {"started_at": cycle.get("started_at"), "finished_at": cycle.get("finished_at")},
            "next_run_at": cycle.get("next_run_at") if daemon_pid else None,
            "open_alerts": store.alert_counts(account.name),
            "api_errors_24h": [{"method": r["method"], "outcome": r["outcome"], "count": r["n"], "last": r["last"]}
                               for r in store.api_errors_since(account.name, now - timedelta(hours=24))],
            "detection_floor": _floor(settings, store, account.name, now),
        })
    pending = store.undelivered()
    return {
        "daemon": {"running": daemon_pid is not None, "pid": daemon_pid if daemon_pid and daemon_pid > 0 else None},
        "state_file": {"path": str(store.path), "bytes": store.size_bytes()},
        "accounts": accounts,
        "outbox": {
            "waiting": sum(1 for r in pending if not r["parked_at"]),
            "undeliverable": sum(1 for r in pending if r["parked_at"]),
            "messages": [{"id": r["id"], "channel": r["channel"], "account": r["account"],
                          "events": len(json.loads(r["payload"])["events"]), "attempts": r["attempts"],
                          "undeliverable": bool(r["parked_at"]), "next_attempt_at": r["next_attempt_at"] or r["not_before"],
                          "last_error": r["last_error"]} for r in pending],
        },
    }


def _floor(settings: Settings, store: Store, account: str, now: datetime) -> dict[str, float] | None:
    """The account's own detection floor from its stored orders (None until weeks are synced)."""
    history_since, _ = coverage(store, account)
    if history_since is None:
        return None
    config = settings.rules.sales_drop
    assert isinstance(config, SalesDropConfig)
    since = max(history_since, now - timedelta(days=config.history_days + 9))
    times = np.array([datetime.fromisoformat(t).timestamp() for t in order_times(store, account, since)])
    floor = detection_floor(times, history_since.timestamp(), now.timestamp(), config, settings.monitor.tz) \
        if len(times) else None
    return asdict(floor) if floor else None


def print_status(status: dict[str, Any], lang: str, tz: ZoneInfo, out: TextIO | None = None) -> None:
    out = out or sys.stdout

    def at(value: str | None) -> str:
        return when(datetime.fromisoformat(value), lang, tz) if value else say(lang, "cli.never")

    def line(key: str, **params: Any) -> None:
        print(say(lang, key, **params), file=out)
    daemon = status["daemon"]
    line("status.daemon_running" if daemon["running"] else "status.daemon_stopped", pid=daemon["pid"] or "-")
    line("status.state_file", path=status["state_file"]["path"],
         size=number(status["state_file"]["bytes"] / 1e6, lang))
    names, kinds = SOURCE_NAMES[lang], ERROR_KINDS[lang]
    for account in status["accounts"]:
        line("status.shop", name=account["name"], client_id=account["client_id"])
        line("status.key_expires", at=at(account["key_expires_at"]) if account["key_expires_at"]
             else say(lang, "status.unknown"))
        line("status.cycle", last=at(account["last_cycle"]["finished_at"]),
             next=at(account["next_run_at"]) if account["next_run_at"] else
             say(lang, "status.next_unknown" if status["daemon"]["running"] else "status.next_when_started"))
        for source in account["sources"]:
            state = say(lang, "status.source_ok") if not source["error"] else \
                kinds.get(source["error_kind"] or "other", kinds["other"]) + \
                (f" ({source['error_method']})" if source["error_method"] else "")
            line("status.source", source=names.get(source["source"], source["source"]),
                 at=at(source["last_success"]), state=state)
        alerts = account["open_alerts"]
        if alerts:
            line("status.alerts", count=sum(alerts.values()), detail=", ".join(
                f"{WORDS[lang][s].lower()} — {n}" for s, n in sorted(alerts.items())))
        else:
            line("status.no_alerts")
        floor = account["detection_floor"]
        if floor:
            line("status.floor", orders=count_of(round(floor["orders_per_day"]), "order", lang),
                 stop=count(round(floor["stop_hours"]), "hour", lang, 0),
                 half=count(round(floor["half_hours"]), "hour", lang, 0))
        else:
            line("status.floor_unknown")
        errors = account["api_errors_24h"]
        line("status.api_errors", count=sum(e["count"] for e in errors))
        for e in errors:
            outcome = ERROR_KINDS[lang].get(e["outcome"], f"HTTP {e['outcome']}")  # a kind, else a status code
            line("status.api_error", method=e["method"], outcome=outcome, count=e["count"], last=at(e["last"]))
    box = status["outbox"]
    line("status.outbox", waiting=box["waiting"], undeliverable=box["undeliverable"])
    for m in box["messages"]:
        state = say(lang, "status.undeliverable") if m["undeliverable"] else \
            say(lang, "status.next_try", at=at(m["next_attempt_at"]))
        line("status.message", id=m["id"][:8], channel=m["channel"], account=m["account"],
             attempts=count(m["attempts"], "attempt", lang, 0), state=state,
             error=say(lang, "status.last_error", error=m["last_error"]) if m["last_error"] else "")
