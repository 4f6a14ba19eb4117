"""Each scripted incident shows through the simulator's API the way it would on Ozon, and the
scenario file is read as documented."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest

from monitor.ozon import endpoints as api
from monitor.ozon.client import OzonClient
from monitor.cli import main
from monitor.simulator import Incident, Scenario, Simulator, SimulatorServer, World, load_scenario
from monitor.simulator.world import MSK, RETURN_REASONS
from tests.conftest import NOW

HEADERS = {"Client-Id": "123456", "Api-Key": "demo-key"}
BUSY = 1  # index of a product that sells


@pytest.fixture
def serve() -> Iterator:
    servers: list[SimulatorServer] = []

    def start(*incidents: Incident, **scenario: object) -> tuple[SimulatorServer, World]:
        world = World(Scenario(seed=11, skus=60, orders_per_day=300, incidents=list(incidents), **scenario))
        server = SimulatorServer(Simulator(world, clock=lambda: NOW)).__enter__()
        servers.append(server)
        return server, world
    yield start
    for server in servers:
        server.__exit__()


def call(server: SimulatorServer, method: str, body: dict) -> dict:
    response = httpx.post(server.base_url + method, json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    return response.json()


def top_sku(world: World) -> int:
    return max(world.products, key=lambda p: p.weight).sku


def test_returns_spike_shows_the_dominant_reason_for_the_sku(serve) -> None:
    probe = World(Scenario(seed=11, skus=60, orders_per_day=300))
    sku = top_sku(probe)
    server, _ = serve(Incident("returns_spike", start=NOW - timedelta(days=20), skus=(sku,), rate=0.5,
                               reason=RETURN_REASONS[3]))
    client = OzonClient(server.base_url, 123456, "demo-key")
    returns = [r.model_dump(by_alias=True) for page in api.returns(client, NOW - timedelta(days=20), NOW)
               for r in page]
    reasons = Counter(r["return_reason_name"] for r in returns if r["product"]["sku"] == sku)
    others = sum(1 for r in returns if r["product"]["sku"] != sku)
    assert reasons.most_common(1)[0][0] == RETURN_REASONS[3]
    assert sum(reasons.values()) > others / 2  # one SKU out of 60 makes a large share of the returns


def test_late_shipments_leave_postings_unfulfilled_past_their_deadline(serve) -> None:
    server, _ = serve(Incident("late_shipments", start=NOW - timedelta(days=2), delay_hours=30))
    body = {"filter": {"cutoff_from": (NOW - timedelta(days=5)).isoformat(), "cutoff_to": NOW.isoformat()},
            "limit": 100}
    late = call(server, "/v4/posting/fbs/unfulfilled/list", body)
    assert late["count"] > 20
    assert all(datetime.fromisoformat(p["shipment_date"].replace("Z", "+00:00")) <= NOW for p in late["postings"])
    index = call(server, "/v1/rating/index/fbs/posting/list", {
        "filter": {"date_from": (NOW - timedelta(days=3)).isoformat(), "date_to": NOW.isoformat()}, "limit": 1000})
    assert Counter(e["posting_error_type"] for e in index["errors"])["SELLER_DELAY"] > 20


def test_seller_cancellations_raise_the_error_index(serve) -> None:
    calm, _ = serve()
    server, _ = serve(Incident("seller_cancellations", start=NOW - timedelta(days=10), rate=0.2))
    assert call(server, "/v1/rating/index/fbs/info", {})["index"] > 4 * max(
        call(calm, "/v1/rating/index/fbs/info", {})["index"], 1)


def test_stock_out_runs_fbs_stock_down_to_zero_and_fbs_sales_stop(serve) -> None:
    sku = top_sku(World(Scenario(seed=11, skus=60, orders_per_day=300)))
    server, world = serve(Incident("stock_out", start=NOW - timedelta(days=4), skus=(sku,), days_left=2))
    items = call(server, "/v4/product/info/stocks", {"filter": {"visibility": "ALL"}, "limit": 1000})["items"]
    stock = next(s for i in items for s in i["stocks"] if s["sku"] == sku)
    assert stock["present"] - stock["reserved"] == 0
    assert [o for o in world.orders(NOW - timedelta(days=1), NOW, NOW) if o.sku == sku and o.scheme == "fbs"] == []
    earlier = [o for o in world.orders(NOW - timedelta(days=4), NOW - timedelta(days=3), NOW)
               if o.sku == sku and o.scheme == "fbs"]
    assert earlier  # it sold until the stock ran out


def test_blocked_card_fails_moderation_with_a_reason_and_stops_selling(serve) -> None:
    sku = top_sku(World(Scenario(seed=11, skus=60, orders_per_day=300)))
    server, world = serve(Incident("card_blocked", start=NOW - timedelta(hours=10), skus=(sku,)))
    card = call(server, "/v3/product/info/list", {"sku": [str(sku)]})["items"][0]
    assert card["statuses"]["moderate_status"] == "declined" and card["errors"]
    assert card["availabilities"][0]["reasons"][0]["human_text"]["text"]
    assert [o for o in world.orders(NOW - timedelta(hours=9), NOW, NOW) if o.sku == sku] == []


def test_rating_slide_reaches_the_danger_threshold_in_the_given_days(serve) -> None:
    server, _ = serve(Incident("rating_slide", start=NOW - timedelta(days=10), rating="rating_on_time", days=10))
    history = call(server, "/v1/rating/history", {
        "date_from": (NOW - timedelta(days=20)).isoformat(), "date_to": NOW.isoformat(),
        "ratings": ["rating_on_time"]})["ratings"][0]
    values = [v["value"] for v in history["values"]]
    assert values[0] > history["warning_threshold"] and values[-1] <= history["danger_threshold"] + 0.5
    summary = call(server, "/v1/rating/summary", {})
    item = next(i for g in summary["groups"] for i in g["items"] if i["rating"] == "rating_on_time")
    assert item["status"] in ("WARNING", "CRITICAL") and item["change"]["meaning"] == "MEANING_BAD"


def test_commission_jump_shows_in_the_accruals(serve) -> None:
    server, _ = serve(Incident("commission_jump", start=NOW - timedelta(days=3), factor=0.25))

    def ratio(day: datetime) -> float:
        accruals = call(server, "/v1/finance/accrual/by-day", {"date": day.date().isoformat(), "last_id": ""})
        return float(accruals["accruals"][0]["posting"]["products"][0]["commission"]["commission_ratio"])
    assert ratio(NOW - timedelta(days=10)) == pytest.approx(0.15, abs=0.001)
    assert ratio(NOW - timedelta(days=1)) == pytest.approx(0.25, abs=0.001)


def test_key_expiry_sets_the_roles_expiry_date(serve) -> None:
    server, _ = serve(Incident("key_expiry", start=NOW - timedelta(days=1), days_left=4))
    expires = call(server, "/v1/roles", {})["expires_at"]
    assert datetime.fromisoformat(expires.replace("Z", "+00:00")) == NOW + timedelta(days=3)


def test_scenario_file_reads_relative_times_faults_and_ground_truth(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text('seed = 9\norders_per_day = 50\n\n[[incidents]]\nkind = "sales_drop"\nstart = "-6h"\n'
                    'factor = 0.3\nskus = [1]\n\n[[faults]]\nmethod = "/v1/roles"\nkind = "auth"\n', encoding="utf-8")
    scenario = load_scenario(path, NOW)
    assert scenario.seed == 9 and scenario.faults[0].kind == "auth"
    assert World(scenario).ground_truth() == [{"kind": "sales_drop", "start": (NOW - timedelta(hours=6)).isoformat(),
                                               "end": None, "skus": [1], "factor": 0.3}]


@pytest.mark.parametrize("content, said", [
    ('[[incidents]]\nkind = "meteor"\nstart = "-1h"\n', "incidents[0].kind: такого происшествия нет; есть: sales_stop,"),
    ('[[incidents]]\nkind = "sales_stop"\n', "incidents[0].start: обязательный ключ не указан"),
    ('[[incidents]]\nkind = "sales_stop"\nstart = "yesterday"\n', "incidents[0].start: не время: нужно ISO-8601"),
    ('skus = "many"\n', "skus: нужно целое число"),
    ('skuz = 5\n', "skuz: такого ключа нет — сверьте написание с docs/SIMULATOR.md"),
    ('incidents = 5\n', "incidents: нужен список"),
    ('[[faults]]\nmethod = "/v1/roles"\ntimes = 2\nstatuss = 500\n', "faults[0].statuss: такого ключа нет"),
])
def test_a_bad_scenario_is_refused_naming_the_file_and_key(tmp_path: Path, capsys, content: str, said: str) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text(content, encoding="utf-8")
    assert main(["simulator", "--port", "0", "--scenario", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Ошибка в сценарии симулятора:\n") and f"{path}: {said}" in err and "Traceback" not in err


def _daily(world: World, days: int = 84) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    start = datetime(2026, 3, 2, tzinfo=MSK)
    orders = world.orders(start, start + timedelta(days=days), start + timedelta(days=days))
    day = np.array([int((o.created_at - start) / timedelta(days=1)) for o in orders])
    return day, np.array([o.sku for o in orders]), np.array([o.quantity for o in orders])


def test_irregular_demand_is_as_uneven_as_real_shops_and_the_regular_world_is_unchanged() -> None:
    regular = World(Scenario(seed=8, skus=150, orders_per_day=200))
    assert [o.posting_number for o in regular.orders(NOW - timedelta(days=1), NOW, NOW)] == \
        [o.posting_number for o in World(Scenario(seed=8, skus=150, orders_per_day=200, demand="regular"))
         .orders(NOW - timedelta(days=1), NOW, NOW)]
    shop_cv, sku_cv, bulk = [], [], 0
    for world in (regular, World(Scenario(seed=8, skus=150, orders_per_day=200, demand="irregular"))):
        day, sku, units = _daily(world)
        totals = np.bincount(day, minlength=84)
        shop_cv.append(totals.std() / totals.mean())
        top = np.bincount(day[sku == np.bincount(sku - sku.min()).argmax() + sku.min()], minlength=84)
        sku_cv.append(top.std() / top.mean())
        bulk = int((units >= 10).sum())
    assert shop_cv[0] < 0.25 < shop_cv[1] and sku_cv[1] > 1.5 * sku_cv[0]  # days vary far more
    assert bulk > 0  # bulk orders of many units, in the irregular world only


def test_an_unknown_demand_model_is_refused() -> None:
    with pytest.raises(ValueError, match="demand must be one of regular, irregular"):
        World(Scenario(demand="chaotic"))
