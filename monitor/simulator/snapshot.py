"""The world as the rules would see it at a moment, without HTTP or a database: for rule tests
and the detection benchmark, which replay thousands of moments. The end-to-end tests cover the
real path (simulator -> client -> store -> rules)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from monitor.simulator.world import MSK, RATINGS, World
from rules import AccountData, Card, MoneyDay, Order, RatingSeries, Return, SourceHealth, Stock, TrafficDay
from rules.base import Orders


def account_data(world: World, now: datetime, history_days: int = 35, account: str = "sim") -> AccountData:
    since = now - timedelta(days=history_days)
    placed = world.orders(since, now, now)
    orders = []
    for o in placed:
        state = world.status(o, now)
        orders.append(Order(o.posting_number, o.created_at, (o.sku,), state.status, o.scheme, o.quantity,
                            world.by_sku[o.sku].price * o.quantity,
                            world.shipment_deadline(o) if o.scheme == "fbs" else None, state.handed_over,
                            state.status == "cancelled" and state.cancelled_by_seller))
    returns = []
    for o in world.orders(since - timedelta(days=30), now, now):
        back = world.return_of(o, now)
        if back is not None:
            returns.append(Return(o.posting_number, o.sku, back[1], back[0]))
    cards = []
    for p in world.products:
        problem = world.card_problem(p.sku, now)
        cards.append(Card(p.sku, p.offer_id, p.name, "failed_moderation" if problem else "price_sent",
                          "Не прошёл модерацию" if problem else "Продается", "declined" if problem else "approved",
                          "failed_moderation" if problem else "",
                          (f"Товар не прошёл модерацию: {problem.moderation}",) if problem else (),
                          ("Товар заблокирован модерацией",) if problem else (), p.archived, False,
                          problem.start if problem else None))
    levels = world.stock_levels(now)
    fbo_sold: dict[int, int] = defaultdict(int)
    for o in world.orders(now - timedelta(days=28), now, now):
        if o.scheme == "fbo":
            fbo_sold[o.sku] += o.quantity
    stocks = []
    for p in world.products:
        if p.archived:
            continue
        stocks.append(Stock(p.sku, "fbs", levels[(p.sku, "fbs")]))
        ads = fbo_sold[p.sku] / 28
        stocks.append(Stock(p.sku, "fbo", levels[(p.sku, "fbo")], levels[(p.sku, "fbo")] / ads if ads else None, ads))
    today = now.astimezone(MSK).date()
    ratings = []
    for r in RATINGS:
        values = tuple((datetime.combine(today - timedelta(days=k), datetime.min.time(), MSK),
                        world.rating_value(r, today - timedelta(days=k))) for k in range(29, -1, -1))
        ratings.append(RatingSeries(r.rating, r.name, world.rating_status(r, values[-1][1]), r.higher_is_better,
                                    r.warning, r.danger, values))
    money, payouts = [], {}
    for k in range(1, 32):
        day = today - timedelta(days=k)
        accrued = world.accruals(day, now)
        money.append(MoneyDay(day, len(accrued), sum(a.sale for a in accrued), sum(a.commission for a in accrued),
                              sum(a.delivery for a in accrued)))
        payouts[day] = world.payout(day, now)
    traffic = []
    if world.scenario.subscription in ("PREMIUM_PLUS", "PREMIUM_PRO"):
        traffic = [TrafficDay(p.sku, today - timedelta(days=k), *world.traffic(p.sku, today - timedelta(days=k)))
                   for p in world.products if not p.archived for k in range(1, 16)]
    return AccountData(
        account=account, client_id=world.scenario.client_id, now=now, orders=Orders.of(orders), history_since=since, tz=MSK,
        returns=returns, cards=cards, stocks=stocks, ratings=ratings,
        penalty_score_exceeded=any(r.status == "CRITICAL" for r in ratings), money=sorted(money, key=lambda m: m.day),
        payouts=payouts, money_since=today - timedelta(days=31), traffic=traffic,
        sources={s: SourceHealth(s, now, None) for s in ("fbs", "fbo")}, key_expires_at=world.key_expires_at(now))
