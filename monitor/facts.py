"""Stored rows -> the rules' input (`AccountData`), each part read by the source that stored it
(`monitor/sources/`), plus what only the cursors know: how each source's sync stands."""
from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from monitor.sources import analytics, finance, postings, products, promos, rating, returns, stocks, supplies
from monitor.sources.base import account_info
from monitor.sources.fbs_index import fbs_index
from monitor.store import Store, parse
from rules import AccountData, Orders, SourceHealth


CHARGE_DAYS = 35  # the charges rule compares a day with the four weeks before it
PRICE_DAYS = 7  # a price index or tariff is compared with a week before


def account_data(store: Store, account: str, client_id: int, now: datetime, history_since: datetime | None,
                 tz: tzinfo, replay: bool = False) -> AccountData:
    """Everything the rules read about one account, as of `now`, from the stored data (no
    orders when no postings were ever synced: `history_since` None). The daily stock history
    (one row per SKU and day) is read only to `replay` the past: live rules read today's stock."""
    info = account_info(store, account)
    cursors = store.cursors(account)
    money_from = next((c["covered_since"] for c in cursors if c["source"] == "finance"), None)
    return AccountData(
        account=account, client_id=client_id, now=now, history_since=history_since, tz=tz,
        orders=postings.orders(postings.postings_since(store, account, history_since)) if history_since
        else Orders.of([]),
        returns=returns.returns_since(store, account, history_since) if history_since else [],
        cards=list(products.cards(store, account)),
        stocks=stocks.stocks(store, account, now.astimezone(tz).date()),
        ratings=rating.ratings(store, account),
        penalty_score_exceeded=bool(info.get("penalty_score_exceeded")),
        money=finance.money_days(store, account),
        payouts=finance.payouts(store, account),
        money_since=date.fromisoformat(money_from[:10]) if money_from else None,
        traffic=analytics.traffic(store, account),
        sources={c["source"]: SourceHealth(c["source"], parse(c["synced_until"]), c["last_error"], c["error_kind"],
                                           c["error_method"], parse(c["disabled_until"])) for c in cursors},
        key_expires_at=parse(info.get("key_expires_at")),
        fbs_index=fbs_index(store, account),
        stock_history=stocks.stock_days(store, account) if replay else [],
        charges=finance.charges(store, account, history_since.date() if replay and history_since
                                else now.astimezone(tz).date() - timedelta(days=CHARGE_DAYS)),
        price_moves=products.price_moves(store, account, now.astimezone(tz).date() - timedelta(days=PRICE_DAYS)),
        promotions=promos.promotions(store, account),
        promo_products=promos.promo_products(store, account),
        prices=promos.prices(store, account),
        supplies=supplies.supplies(store, account),
        acts=supplies.acts(store, account),
    )
