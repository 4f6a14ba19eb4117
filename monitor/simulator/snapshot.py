"""The world as the rules would see it at a moment, without HTTP or a database: for rule tests
and the detection benchmark, which replay thousands of moments. The end-to-end tests cover the
real path (simulator -> client -> store -> rules)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from monitor.simulator.world import (ACCRUAL_TYPES, DROP_OFF, FINE_TYPE, MSK, RATINGS, RETURN_STATUSES,
                                     STORAGE_TYPE, World)
from rules import (AccountData, Act, ActLine, Card, Charge, MoneyDay, Order, Price, PriceMove, PromoProduct, Promotion,
                   RatingSeries, Return, SourceHealth, Stock, Supply, TrafficDay)
from rules.base import Orders

IDLE = ("SURPLUS", "NO_SALES")
WEEK = 7  # days of price index, tariff and grade history the monitor compares with (monitor.facts)


def fbo_grades(world: World, now: datetime) -> dict[int, tuple[str, int]]:
    """Each SKU's FBO turnover grade and surplus units at `now`, as /v1/analytics/stocks gives them."""
    levels = world.stock_levels(now)
    sold: dict[int, int] = defaultdict(int)
    for o in world.orders(now - timedelta(days=28), now, now):
        if o.scheme == "fbo":
            sold[o.sku] += o.quantity
    return {p.sku: world.turnover_grade(p.sku, now, levels[(p.sku, "fbo")] / (sold[p.sku] / 28) if sold[p.sku] else 0.0,
                                        bool(sold[p.sku])) for p in world.products if not p.archived}


def account_data(world: World, now: datetime, history_days: int = 35, account: str = "sim") -> AccountData:
    since = now - timedelta(days=history_days)
    placed = world.orders(since, now, now)
    orders = []
    for o in placed:
        state = world.status(o, now)
        orders.append(Order(o.posting_number, o.created_at, (o.sku,), state.status, o.scheme, o.quantity,
                            world.by_sku[o.sku].price * o.quantity,
                            world.shipment_deadline(o) if o.scheme == "fbs" else None, state.handed_over,
                            state.cancelled_by))
    returns = []
    for o in world.orders(since - timedelta(days=30), now, now):
        back = world.return_of(o, now)
        if back is not None:
            status, changed = world.return_state(o, back[0], now)
            left = world.left_at_place(back[0])
            returns.append(Return(o.posting_number, o.sku, back[1], back[0], status, RETURN_STATUSES[status][0], changed,
                                  world.by_sku[o.sku].price * o.quantity, "СЦ Хоругвино Возвраты", 0.0,
                                  back[0] + timedelta(days=1 if left else 5),
                                  back[0] + timedelta(days=left.days_left if left else 30)))
    cards = []
    for p in world.products:
        problem = world.card_problem(p.sku, now)
        cards.append(Card(p.sku, p.offer_id, p.name, "failed_moderation" if problem else "price_sent",
                          "Не прошёл модерацию" if problem else "Продается", "declined" if problem else "approved",
                          "failed_moderation" if problem else "",
                          (f"Товар не прошёл модерацию: {problem.moderation}",) if problem else (),
                          ("Товар заблокирован модерацией",) if problem else (), p.archived, False,
                          problem.start if problem else None, p.price, *world.price_index(p.sku, now),
                          tuple((scheme, world.commission_percent(p.sku, now)) for scheme in ("fbo", "fbs")),
                          (("fbo", 60.0), ("fbs", 60.0))))
    levels = world.stock_levels(now)
    fbo_sold: dict[int, int] = defaultdict(int)
    for o in world.orders(now - timedelta(days=28), now, now):
        if o.scheme == "fbo":
            fbo_sold[o.sku] += o.quantity
    today = now.astimezone(MSK).date()
    grades = fbo_grades(world, now)
    history = [fbo_grades(world, now - timedelta(days=k)) for k in range(1, WEEK + 1)]  # yesterday first
    stocks = []
    for p in world.products:
        if p.archived:
            continue
        stocks.append(Stock(p.sku, "fbs", levels[(p.sku, "fbs")]))
        ads = fbo_sold[p.sku] / 28
        grade, surplus = grades[p.sku]
        turned = next((today - timedelta(days=k - 1) for k, past in enumerate(history, 1)
                       if past[p.sku][0] not in IDLE), None) if grade in IDLE else None
        stocks.append(Stock(p.sku, "fbo", levels[(p.sku, "fbo")], levels[(p.sku, "fbo")] / ads if ads else None, ads,
                            grade, turned, excess=surplus))
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
    charges = []
    for k in range(1, 36):
        day = today - timedelta(days=k)
        charges += [Charge(day, a.order.posting_number, FINE_TYPE, ACCRUAL_TYPES[FINE_TYPE], fine)
                    for a in world.accruals(day, now) if (fine := world.fined(a))]
        charges.append(Charge(day, f"storage-{day}", STORAGE_TYPE, ACCRUAL_TYPES[STORAGE_TYPE],
                              world.storage_charge(day)))
    week_ago = now - timedelta(days=WEEK)
    moves = [PriceMove(c.sku, today - timedelta(days=WEEK), "", tuple((s, world.commission_percent(c.sku, week_ago))
                                                                   for s in ("fbo", "fbs")), c.logistics)
             for c in cards if world.commission_percent(c.sku, week_ago) != world.commission_percent(c.sku, now)]
    for c in cards:
        if c.color_index in ("YELLOW", "RED"):
            good = next((k for k in range(1, WEEK + 1)
                         if world.price_index(c.sku, now - timedelta(days=k))[0] in ("SUPER", "GREEN")), None)
            if good is not None:
                was = world.price_index(c.sku, now - timedelta(days=good))[0]
                moves.append(PriceMove(c.sku, today - timedelta(days=good), was, (), ()))
    promos = world.promotions(now)
    lines = [(promo, p, price) for promo in promos for p, price in world.promo_lines(promo, now)]
    guards = {p.sku: world.price_guard(p, now) for p in world.products}
    supplies = [x for x in world.supplies(now) if x.state not in ("READY_TO_SUPPLY", "COMPLETED")]
    return AccountData(
        account=account, client_id=world.scenario.client_id, now=now, orders=Orders.of(orders), history_since=since, tz=MSK,
        returns=returns, cards=cards, stocks=stocks, ratings=ratings,
        penalty_score_exceeded=any(r.status == "CRITICAL" for r in ratings), money=sorted(money, key=lambda m: m.day),
        payouts=payouts, money_since=today - timedelta(days=31), traffic=traffic,
        sources={s: SourceHealth(s, now, None) for s in ("fbs", "fbo")}, key_expires_at=world.key_expires_at(now),
        charges=charges, price_moves=moves,
        promotions=[Promotion(x.action_id, x.title, x.start, x.end, (x.auto_add_at,), x.freeze_at) for x in promos],
        promo_products=[PromoProduct(promo.action_id, p.sku, price, now >= promo.auto_add_at,
                                     None if now >= promo.auto_add_at else promo.auto_add_at)
                        for promo, p, price in lines],
        prices=[Price(p.sku, p.price, *world.floor_prices(p), 0, world.auto_actions(p),
                      *guards[p.sku]) for p in world.products if not p.archived],
        supplies=[Supply(x.order_id, x.number, x.state, x.since, DROP_OFF, sum(q for _, q in x.items),
                         sum(q * world.by_sku[sku].price for sku, q in x.items)) for x in supplies],
        acts=[Act(x.act.act_id, x.act.number, x.act.kind, x.act.state, x.number, x.act.created, x.act.deadline,
                  sum(d for _, d, _ in x.act.lines), sum(a for _, _, a in x.act.lines),
                  tuple(ActLine(sku, d, a, round(world.by_sku[sku].price / 1.2, 2)) for sku, d, a in x.act.lines))
              for x in supplies if x.act is not None]
             + [Act(i, str(i), "FBS_MISMATCH", status, str(i), departure, None, 0, 0)
                for i, departure, status in world.fbs_acts(now - timedelta(days=7), now, now) if status])
