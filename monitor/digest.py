"""The daily summary: one short message per shop, so the seller knows the monitor is alive on
quiet days. Yesterday's orders and revenue against the usual for that weekday and the week so
far, returns and cancellations, Ozon's charges, open alerts with their age and money at stake,
what was resolved, the key's expiry when near, and the monitor's own health. Figures a blind
feed cannot vouch for are not shown as zeros: the summary says the feed is behind."""
from __future__ import annotations

import json
import uuid
import statistics
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor import texts
from monitor.channels.base import DIGEST_RULE
from monitor.config import Settings
from monitor.facts import account_data
from monitor.message import Event
from monitor.store import Store, iso, parse
from monitor.sources import coverage
from monitor.texts import count, money, number, rule_name, say, when
from rules.base import POSTINGS_SOURCES, AccountData

WEEKS = 4  # the usual: the same span of the last four weeks


def summary(settings: Settings, store: Store, account: str, now: datetime) -> Event:
    """The summary of `account` as of `now`, as the event a channel sends."""
    cfg, lang, tz = settings.monitor, settings.monitor.language, settings.monitor.tz
    acc = settings.account(account)
    since, until = coverage(store, account)
    start = now - timedelta(days=7 * WEEKS + 8)
    data = account_data(store, account, acc.client_id, now, max(since, start) if since else None, tz)
    day = now.astimezone(tz).date() - timedelta(days=1)
    lines = [*_figures(data, day, until, lang, tz), *_alerts(store, account, now, lang, tz)]
    if data.key_expires_at and data.key_expires_at - now < timedelta(days=30):
        lines.append(say(lang, "digest.key", days=count(max((data.key_expires_at - now).days, 0), "day", lang),
                         at=texts.day(data.key_expires_at.astimezone(tz).date(), lang)))
    lines.append(_health(store, account, lang, tz, now - timedelta(minutes=cfg.blind_after_minutes)))
    title = say(lang, "digest.title", day=texts.day(day, lang))
    return Event(event="firing", rule=DIGEST_RULE, severity="warning", fingerprint=f"digest-{day.isoformat()}",
                 account=account, client_id=acc.client_id, title=title, explanation="\n".join(lines),
                 started_at=iso(now) or "", notified_at=iso(now) or "", support_topic=None, support_request=None,
                 evidence={})


def _figures(data: AccountData, day: date, until: datetime | None, lang: str, tz: ZoneInfo) -> list[str]:
    """Orders, revenue, returns, cancellations and charges of `day` against the usual; or why not."""
    end = datetime.combine(day + timedelta(days=1), time(), tz)
    if until is None or until < end:
        return [say(lang, "digest.blind", day=texts.day(day, lang),
                    last=when(until, lang, tz) if until else say(lang, "cli.never"))]
    created, price = data.orders.created, data.orders.price
    cancelled = data.orders.status == "cancelled"

    def span(first: date, last: date) -> tuple[int, float, int]:
        lo = datetime.combine(first, time(), tz).timestamp()
        hi = datetime.combine(last + timedelta(days=1), time(), tz).timestamp()
        inside = (created >= lo) & (created < hi)
        return int(inside.sum()), float(price[inside].sum()), int((inside & cancelled).sum())

    def usual(first: date, last: date) -> tuple[float, float, float]:
        past = [span(first - timedelta(weeks=k), last - timedelta(weeks=k)) for k in range(1, WEEKS + 1)
                if data.history_since is None or datetime.combine(first - timedelta(weeks=k), time(), tz)
                >= data.history_since]
        if not past:
            return 0.0, 0.0, 0.0
        orders, revenue, cancels = (statistics.median(column) for column in zip(*past))
        return orders, revenue, cancels

    orders, revenue, cancels = span(day, day)
    usual_orders, usual_revenue, usual_cancels = usual(day, day)
    monday = day - timedelta(days=day.weekday())
    week, _, _ = span(monday, day)
    usual_week, _, _ = usual(monday, day)
    returns = sum(1 for r in data.returns if r.returned_at.astimezone(tz).date() == day)
    lines = [say(lang, "digest.orders", day=texts.day(day, lang), orders=count(orders, "order", lang),
                 usual=count(round(usual_orders), "order", lang), revenue=money(revenue, lang),
                 usual_revenue=money(usual_revenue, lang)),
             say(lang, "digest.week", orders=count(week, "order", lang), usual=count(round(usual_week), "order", lang)),
             say(lang, "digest.returns", returns=number(returns, lang),
                 cancels=number(cancels, lang), usual_cancels=number(round(usual_cancels), lang))]
    charges = next((m for m in data.money if m.day == day), None)
    if charges is not None:
        lines.append(say(lang, "digest.charges", charges=money(charges.commission + charges.delivery, lang),
                         sales=money(charges.sales, lang)))
    return lines


def _alerts(store: Store, account: str, now: datetime, lang: str, tz: ZoneInfo) -> list[str]:
    """Open alerts with their age and money at stake, and what resolved in the last day."""
    open_ = store.open_alerts(account)
    lines = [say(lang, "digest.open", count=len(open_))] if open_ else \
        [say(lang, "digest.none_open")]
    for row in open_:
        finding: dict[str, Any] = json.loads(row["finding"])
        age = texts.duration(now - (parse(row["started_at"]) or now), lang)
        lines.append(f"  {row['number'] or '-'}. [{texts.WORDS[lang][row['severity']]}] {rule_name(row['rule'], lang)}: "
                     f"{finding['title']} — {say(lang, 'digest.age', age=age)}")
    done = [r for r in store.alerts(include_resolved=True) if r["account"] == account and r["status"] == "resolved"
            and (parse(r["resolved_at"]) or now) >= now - timedelta(days=1)]
    for row in done:
        lines.append(say(lang, "digest.resolved", title=json.loads(row["finding"])["title"]))
    return lines


def _health(store: Store, account: str, lang: str, tz: ZoneInfo, fresh_after: datetime) -> str:
    """One line on the monitor itself: when its orders were last read, what it cannot read, or
    that the orders are not being updated at all."""
    cursors = store.cursors(account)
    failing = [texts.SOURCE_NAMES[lang].get(c["source"], c["source"]) for c in cursors if c["last_error"]]
    feed = [m for m in (parse(c["synced_until"]) for c in cursors if c["source"] in POSTINGS_SOURCES) if m]
    last = when(min(feed), lang, tz) if feed else say(lang, "cli.never")
    if failing:
        return say(lang, "digest.health_failing", sources=", ".join(failing), last=last)
    if not feed or min(feed) < fresh_after:
        return say(lang, "digest.health_stale", last=last)
    return say(lang, "digest.health", last=last)


def send_due(settings: Settings, now: datetime) -> int:
    """Put each shop's summary that is due into the outbox of its channels (quiet hours do not
    hold it); return how many shops' summaries were queued."""
    cfg = settings.digest
    store = Store.in_dir(settings.monitor.state_dir)
    try:  # read everything first, on a connection of its own: its snapshot never meets a write
        events = [summary(settings, store, account.name, now) for account in settings.accounts
                  if store.last_cycle(account.name).get("finished_at")  # not before the shop's first check
                  and due(cfg.every, cfg.at, settings.monitor.tz, store.digest_sent(account.name), now)]
    finally:
        store.close()
    if not events:
        return 0
    store = Store.in_dir(settings.monitor.state_dir)
    try:
        with store.transaction():
            for event in events:
                for channel in settings.channels:
                    if not cfg.channels or channel.name in cfg.channels:
                        store.enqueue(uuid.uuid4().hex[:20], channel.name, event.account, [event.to_json()], now, now)
                store.record_digest(event.account, now)
    finally:
        store.close()
    return len(events)


def due(every: str, at: str, tz: ZoneInfo, last_sent: datetime | None, now: datetime) -> bool:
    """Whether a summary is due at `now`: past today's `at` (the seller's time; Monday's for a
    weekly one) and none sent since that moment."""
    if every == "off":
        return False
    local = now.astimezone(tz)
    moment = datetime.combine(local.date(), time.fromisoformat(at), tz)
    if every == "weekly":
        moment -= timedelta(days=local.weekday())
    return now >= moment and (last_sent is None or last_sent < moment)
