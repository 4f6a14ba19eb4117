"""The state file's schema history: sqlite-utils migrations, applied in order when a file is
opened for writing, so an older file is upgraded in place. Each is history: never edited once
released. A source's own tables are declared with the source (`Table`); a migration makes
them too, so a migrated file holds the whole schema (a test compares the two)."""
from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("ozon-monitor")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db.table("postings").create({
        "posting_number": str, "account": str, "scheme": str, "status": str, "substatus": str,
        "order_number": str, "created_at": str, "in_process_at": str, "shipment_date": str,
        "delivering_date": str, "cancel_type": str, "cancel_initiator": str, "cancel_reason": str,
        "affects_cancellation_rating": int, "products": str, "synced_at": str,
    }, pk="posting_number")
    db.table("postings").create_index(["account", "created_at"])
    db.table("analytics_daily").create({"account": str, "day": str, "revenue": float, "ordered_units": float,
                                  "synced_at": str}, pk=("account", "day"))
    db.table("cursors").create({"account": str, "source": str, "covered_since": str, "synced_until": str,
                          "updated_at": str, "last_error": str}, pk=("account", "source"))
    db.table("alerts").create({"fingerprint": str, "account": str, "rule": str, "entity": str, "status": str,
                         "severity": str, "started_at": str, "first_seen": str, "last_seen": str,
                         "resolved_at": str, "finding": str}, pk="fingerprint")
    db.table("outbox").create({"id": str, "channel": str, "fingerprint": str, "account": str, "event": str,
                         "created_at": str, "payload": str, "attempts": int, "last_error": str,
                         "delivered_at": str}, pk="id")
    db.table("outbox").create_index(["delivered_at"])


@migrations()
def m002_all_sources(db: sqlite_utils.Database) -> None:
    """Every data source of the Seller API the rules read, plus per-source paging state."""
    db.table("cursors").add_column("disabled_until", str)
    db.table("cursors").add_column("state", str)
    db.table("account_info").create({"account": str, "company": str, "subscription": str, "is_premium": int,
                               "key_expires_at": str, "roles": str, "penalty_score_exceeded": int,
                               "fbs_error_index": float, "updated_at": str}, pk="account")
    metrics = {name: float for name in ("revenue", "ordered_units", "hits_view", "hits_tocart", "session_view",
                                        "conv_tocart", "returns", "cancellations", "delivered_units")}
    db.table("analytics_sku_daily").create({"account": str, "sku": int, "day": str, **metrics, "synced_at": str},
                                     pk=("account", "sku", "day"))
    db.table("returns").create({"id": int, "account": str, "posting_number": str, "order_number": str, "sku": int,
                          "offer_id": str, "quantity": int, "price": float, "reason": str, "type": str,
                          "schema": str, "return_date": str, "status": str, "status_name": str,
                          "status_changed_at": str, "synced_at": str}, pk="id")
    db.table("returns").create_index(["account", "return_date"])
    db.table("stocks").create({"account": str, "sku": int, "type": str, "product_id": int, "offer_id": str,
                         "present": int, "reserved": int, "synced_at": str}, pk=("account", "sku", "type"))
    db.table("stock_history").create({"account": str, "sku": int, "type": str, "day": str, "present": int,
                                "reserved": int}, pk=("account", "sku", "type", "day"))
    db.table("fbo_stocks").create({"account": str, "sku": int, "warehouse_id": int, "offer_id": str,
                             "warehouse_name": str, "cluster_id": int, "cluster_name": str, "available": int,
                             "transit": int, "ads": float, "idc": float, "days_without_sales": int,
                             "turnover_grade": str, "synced_at": str}, pk=("account", "sku", "warehouse_id"))
    db.table("products").create({"account": str, "product_id": int, "sku": int, "offer_id": str, "name": str,
                           "price": float, "archived": int, "autoarchived": int, "status": str,
                           "status_name": str, "status_description": str, "moderate_status": str,
                           "validation_status": str, "status_failed": str, "status_updated_at": str,
                           "errors": str, "availability": str, "has_price": int, "has_stock": int,
                           "updated_at": str, "synced_at": str}, pk=("account", "product_id"))
    db.table("rating_summary").create({"account": str, "rating": str, "name": str, "group_name": str,
                                 "current_value": float, "past_value": float, "status": str, "value_type": str,
                                 "direction": str, "synced_at": str}, pk=("account", "rating"))
    db.table("rating_thresholds").create({"account": str, "rating": str, "danger": float, "warning": float,
                                    "premium": float, "synced_at": str}, pk=("account", "rating"))
    db.table("rating_history").create({"account": str, "rating": str, "date_from": str, "date_to": str, "value": float,
                                 "danger": int, "warning": int}, pk=("account", "rating", "date_from"))
    db.table("fbs_index_days").create({"account": str, "date": str, "index_by_date": float, "costs": float},
                                pk=("account", "date"))
    db.table("fbs_index_postings").create({"posting_number": str, "error_type": str, "account": str, "error_at": str,
                                     "idx": float, "charge_percent": float, "charge_price": float,
                                     "product_price": float, "delivery_schema": str},
                                    pk=("posting_number", "error_type"))
    db.table("accruals").create({"accrual_id": int, "account": str, "date": str, "category": str, "unit_number": str,
                           "total": float, "sale_amount": float, "commission": float, "delivery": float,
                           "skus": str, "synced_at": str}, pk="accrual_id")
    db.table("accruals").create_index(["account", "date"])
    db.table("balances").create({"account": str, "day": str, "opening": float, "closing": float, "accrued": float,
                           "payments": float, "sales": float, "sales_fee": float, "returns": float,
                           "synced_at": str}, pk=("account", "day"))


@migrations()
def m003_alert_lifecycle(db: sqlite_utils.Database) -> None:
    """Repeats, acknowledgements, silences, a log of suppressed notifications, and an outbox of
    per-channel digests that are retried with backoff and parked when undeliverable."""
    for column, kind in (("last_notified", str), ("repeats", int), ("acked_at", str), ("ack_note", str)):
        db.table("alerts").add_column(column, kind)
    for column in ("not_before", "next_attempt_at", "parked_at"):
        db.table("outbox").add_column(column, str)
    db.table("silences").create({"id": int, "rule": str, "sku": int, "account": str, "until": str, "reason": str,
                           "created_at": str}, pk="id")
    db.table("suppressed").create({"id": int, "at": str, "account": str, "fingerprint": str, "rule": str, "event": str,
                             "reason": str}, pk="id")


@migrations()
def m004_outbox_claims(db: sqlite_utils.Database) -> None:
    """A worker claims outbox rows before it sends them; a message keeps its id and rows once tried."""
    for column in ("claimed_by", "claimed_until", "message_id"):
        db.table("outbox").add_column(column, str)
    db.table("outbox").create_index(["channel", "account", "delivered_at"])


@migrations()
def m005_keys_per_account(db: sqlite_utils.Database) -> None:
    """Shops in one state file never overwrite each other's rows: every synced table is keyed by
    account first (the simulator, unlike Ozon, reuses numbers across shops)."""
    db.table("postings").transform(pk=("account", "posting_number"))
    db.table("returns").transform(pk=("account", "id"))
    db.table("accruals").transform(pk=("account", "accrual_id"))
    db.table("fbs_index_postings").transform(pk=("account", "posting_number", "error_type"))


@migrations()
def m006_no_daily_analytics(db: sqlite_utils.Database) -> None:
    """Account totals per day were pulled but read by no rule: the analytics budget goes to SKUs."""
    db.table("analytics_daily").drop(ignore=True)


@migrations()
def m007_health(db: sqlite_utils.Database) -> None:
    """The monitor's own troubles (dead man's switch): since when each has lasted and, once told
    to the seller, when, so each is said once."""
    db.table("health").create({"key": str, "account": str, "since": str, "notified_at": str}, pk="key")


@migrations()
def m008_service(db: sqlite_utils.Database) -> None:
    """What `status` and the metrics tell of a running service: each account's last cycle and
    next run, and the Seller API calls that failed (kept a week)."""
    db.table("cycles").create({"account": str, "started_at": str, "finished_at": str, "next_run_at": str}, pk="account")
    db.table("api_errors").create({"id": int, "account": str, "at": str, "method": str, "outcome": str}, pk="id")
    db.table("api_errors").create_index(["account", "at"])


@migrations()
def m009_posting_totals(db: sqlite_utils.Database) -> None:
    """A posting's SKUs, units and amount as columns, so loading orders parses no JSON."""
    for column, kind in (("skus", str), ("units", int), ("amount", float)):
        db.table("postings").add_column(column, kind)
    db.execute("update postings set "
               "skus = (select group_concat(json_extract(value, '$.sku'), ',') from json_each(postings.products)), "
               "units = (select sum(coalesce(json_extract(value, '$.quantity'), 1)) from json_each(postings.products)), "
               "amount = (select sum(coalesce(json_extract(value, '$.quantity'), 1) * "
               "coalesce(json_extract(value, '$.price.amount'), 0)) from json_each(postings.products))")


@migrations()
def m010_error_kinds(db: sqlite_utils.Database) -> None:
    """Why a source failed, as the client's error class said it, and the method that failed: the
    rules read these columns, never the English text beside them (for the log and the webhook)."""
    db.table("cursors").add_column("error_kind", str)
    db.table("cursors").add_column("error_method", str)
    db.execute("update cursors set error_kind = 'other' where last_error is not null")


@migrations()
def m011_delivery_progress(db: sqlite_utils.Database) -> None:
    """What of a message got through before a failure (the recipients that took an e-mail, the
    parts of a long Telegram message), so a retry sends only the rest."""
    db.table("outbox").add_column("progress", str)


@migrations()
def m012_alert_numbers(db: sqlite_utils.Database) -> None:
    """A short number per alert a seller can type ("alerts ack 3"), in the order they began, and
    the count of affected postings or products when the alert was last said, so a count that
    grows past a step is said again as a worsening."""
    db.table("alerts").add_column("number", int)
    db.table("alerts").add_column("said_size", int)
    db.execute("update alerts set number = (select count(*) from alerts a where a.first_seen < alerts.first_seen "
               "or (a.first_seen = alerts.first_seen and a.rowid <= alerts.rowid))")


@migrations()
def m013_digest(db: sqlite_utils.Database) -> None:
    """When each shop's daily summary was last sent, so a restart neither skips nor repeats it."""
    db.table("cycles").add_column("digest_sent_at", str)


@migrations()
def m014_bot_offsets(db: sqlite_utils.Database) -> None:
    """Where each Telegram bot's updates were read up to, so a restart neither loses nor repeats
    a seller's command or button press."""
    db.table("bot_offsets").create({"bot": str, "next_update": int}, pk="bot")


@migrations()
def m015_tickets(db: sqlite_utils.Database) -> None:
    """The number of the support request a seller sent for an alert (from the bot's "Отправил в
    поддержку"), when, and when they were reminded that the problem persists; and which chat the
    bot asked for a number."""
    for column in ("ticket", "ticket_at", "ticket_reminded_at"):
        db.table("alerts").add_column(column, str)
    db.table("bot_pending").create({"chat": str, "fingerprint": str, "asked_at": str}, pk="chat")


@migrations()
def m016_money_leaks(db: sqlite_utils.Database) -> None:
    """What the money rules read: a return's place, paid storage, planned disposal and
    compensation; FBO units to take away; a card's price index and tariffs, and their daily
    history with the FBO turnover grades'; every charge line with its type, and the types' names."""
    for column, kind in (("place", str), ("storage_sum", float), ("storage_since", str), ("disposal_at", str),
                         ("compensation", str)):
        db.table("returns").add_column(column, kind)
    for column in ("excess", "defect", "expiring", "waiting_docs"):
        db.table("fbo_stocks").add_column(column, int)
    for column, kind in (("color_index", str), ("competitor_price", float), ("tariffs", str)):
        db.table("products").add_column(column, kind)
    db.table("products").create_index(["account", "sku"], if_not_exists=True)
    db.table("price_history").create({"account": str, "sku": int, "day": str, "color_index": str, "tariffs": str},
                                     pk=("account", "sku", "day"), if_not_exists=True)
    db.table("price_history").create_index(["account", "day"], if_not_exists=True)
    db.table("fbo_grades").create({"account": str, "sku": int, "day": str, "grade": str},
                                  pk=("account", "sku", "day"), if_not_exists=True)
    db.table("fees").create({"account": str, "accrual_id": int, "line": int, "date": str, "category": str,
                             "unit_number": str, "type_id": int, "sku": int, "amount": float, "synced_at": str},
                            pk=("account", "accrual_id", "line"), if_not_exists=True)
    db.table("fees").create_index(["account", "date"], if_not_exists=True)
    db.table("accrual_types").create({"account": str, "id": int, "name": str, "description": str,
                                      "synced_at": str}, pk=("account", "id"), if_not_exists=True)


@migrations()
def m017_deadlines(db: sqlite_utils.Database) -> None:
    """What the deadline rules read: a card's Ozon category (a promotions floor may be set per
    category), product prices and their minimum-price timers, promotions and their products,
    FBO supply orders, what they carry, and the acts waiting for the seller."""
    db.table("products").add_column("category_id", int)
    db.table("prices").create({"account": str, "product_id": int, "offer_id": str, "price": float,
                               "min_price": float, "net_price": float, "auto_actions": int, "synced_at": str},
                              pk=("account", "product_id"), if_not_exists=True)
    db.table("price_timers").create({"account": str, "product_id": int, "guard_on": int, "expires_at": str,
                                     "synced_at": str}, pk=("account", "product_id"), if_not_exists=True)
    db.table("promotions").create({"account": str, "action_id": int, "title": str, "date_start": str,
                                   "date_end": str, "auto_add_dates": str, "freeze_date": str, "synced_at": str},
                                  pk=("account", "action_id"), if_not_exists=True)
    db.table("promo_products").create({"account": str, "action_id": int, "product_id": int, "entered": int,
                                       "action_price": float, "auto_add_date": str},
                                      pk=("account", "action_id", "product_id", "entered"), if_not_exists=True)
    db.table("supply_orders").create({"account": str, "order_id": int, "number": str, "state": str,
                                      "state_since": str, "created_at": str, "warehouse": str, "bundles": str,
                                      "supplies": str, "synced_at": str}, pk=("account", "order_id"),
                                     if_not_exists=True)
    db.table("supply_items").create({"account": str, "bundle_id": str, "sku": int, "quantity": int},
                                    pk=("account", "bundle_id", "sku"), if_not_exists=True)
    db.table("acts").create({"account": str, "act_id": int, "scheme": str, "number": str, "kind": str, "state": str,
                             "supply": str, "created_at": str, "deadline": str, "declared": int, "accepted": int,
                             "lines": str, "synced_at": str}, pk=("account", "act_id", "scheme"), if_not_exists=True)
