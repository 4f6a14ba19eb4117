"""backtest over stored history and detect over a CSV series."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import Settings
from monitor.cycle import run_cycle
from monitor.simulator import Incident, Scenario, World
from tests.conftest import NOW


def test_backtest_replays_the_stop_at_the_hour_it_happened(settings: Settings, capsys) -> None:
    run_cycle(settings, "shop", now=NOW)
    config = settings.monitor.state_dir.parent / "config.toml"
    day = NOW.astimezone(settings.monitor.tz).date()
    assert main(["backtest", "--config", str(config), "--from", str(day - timedelta(days=2)), "--to", str(day),
                 "--json"]) == 0
    events = json.loads(capsys.readouterr().out)
    fired = [e for e in events if e["event"] == "fired"]
    assert [e["rule"] for e in fired] == ["sales_drop"]  # the scripted stop and nothing else
    at = datetime.fromisoformat(fired[0]["at"])
    assert NOW - timedelta(hours=4) < at <= NOW  # within hours of the stop, from past data only


def test_backtest_without_synced_data_says_what_to_do(write_config, capsys) -> None:
    assert main(["backtest", "--config", str(write_config()), "--from", "2026-11-01", "--to", "2026-11-02"]) == 1
    assert "run `ozon-monitor check` first" in capsys.readouterr().err


def hourly_csv(path: Path, incidents: list[Incident]) -> Path:
    world = World(Scenario(seed=5, skus=80, orders_per_day=240, incidents=incidents))
    start = NOW - timedelta(days=35)
    counts = Counter(int((o.created_at - start) / timedelta(hours=1)) for o in world.orders(start, NOW, NOW))
    lines = ["timestamp,value"] + [f"{(start + timedelta(hours=h)).isoformat()},{counts[h]}" for h in range(35 * 24)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_detect_finds_a_drop_in_an_hourly_csv_and_only_there(tmp_path: Path, capsys) -> None:
    stop = NOW - timedelta(hours=6)
    path = hourly_csv(tmp_path / "orders.csv", [Incident("sales_stop", start=stop)])
    assert main(["detect", "--rule", "sales_drop", "--csv", str(path), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found and all(d["direction"] == "down" for d in found)
    assert all(datetime.fromisoformat(d["timestamp"]) >= stop - timedelta(hours=1) for d in found)


def test_detect_is_quiet_on_a_normal_series(tmp_path: Path, capsys) -> None:
    path = hourly_csv(tmp_path / "orders.csv", [])
    assert main(["detect", "--rule", "sales_drop", "--csv", str(path)]) == 0
    assert "0 detections" in capsys.readouterr().out


@pytest.mark.parametrize("content, message", [
    ("timestamp,value\n2026-11-01T00:00:00,1\nyesterday,2\n", "orders.csv:3: expected 'timestamp,value'"),
    ("2026-11-01T00:00:00,1\n2026-11-01T01:00:00,1\n2026-11-01T03:00:00,1\n", "regular step"),
])
def test_detect_names_the_line_of_a_bad_csv(tmp_path: Path, capsys, content: str, message: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(content, encoding="utf-8")
    assert main(["detect", "--rule", "sales_drop", "--csv", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_detect_refuses_a_rule_without_a_series_detector(tmp_path: Path, capsys) -> None:
    assert main(["detect", "--rule", "card_problems", "--csv", str(tmp_path / "x.csv")]) == 2
    assert "choose one of: sales_drop" in capsys.readouterr().err


def test_detect_spots_a_commission_jump_in_a_daily_series(tmp_path: Path, capsys) -> None:
    days = [datetime(2026, 10, 1, tzinfo=timezone.utc) + timedelta(days=d) for d in range(40)]
    shares = [0.15 + 0.004 * ((d * 7) % 5 - 2) for d in range(35)] + [0.24] * 5
    path = tmp_path / "commission.csv"
    path.write_text("\n".join(f"{t.isoformat()},{v}" for t, v in zip(days, shares)), encoding="utf-8")
    assert main(["detect", "--rule", "finance_anomaly", "--csv", str(path), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found[0]["timestamp"].startswith("2026-11-05") and found[0]["direction"] == "up"
