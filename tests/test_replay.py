"""backtest over stored history and detect over a CSV series."""
from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import random
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.cli import main
from monitor.simulator import Incident, Scenario, World
from monitor.simulator.world import MSK
from rules import detect
from tests.conftest import NOW


def test_backtest_replays_the_stop_at_the_hour_it_happened(synced_shop, capsys) -> None:
    settings, _, _ = synced_shop
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
    assert "Магазин «shop»: заказы ещё не загружены" in capsys.readouterr().err


def test_backtest_refuses_reversed_days_and_an_unknown_shop_and_reads_russian_dates(synced_shop, capsys) -> None:
    settings, _, _ = synced_shop
    config = str(settings.monitor.state_dir.parent / "config.toml")
    assert main(["backtest", "--config", config, "--from", "2026-11-05", "--to", "2026-11-01"]) == 2
    assert "--from 05.11.2026 позже --to 01.11.2026" in capsys.readouterr().err
    assert main(["backtest", "--config", config, "--from", "2026-11-01", "--to", "2026-11-02", "--account", "nope"]) == 2
    assert "Магазина «nope» нет в настройках; есть: " in capsys.readouterr().err
    day = NOW.astimezone(settings.monitor.tz).date()
    assert main(["backtest", "--config", config, "--from", f"{day - timedelta(days=400):%d.%m.%Y}",
                 "--to", f"{day:%d.%m.%Y}", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "sales_drop" in {e["rule"] for e in json.loads(out) if e["event"] == "fired"}
    assert "история есть только с " in err  # a year back was asked; the history is weeks


def hourly_csv(path: Path, incidents: list[Incident]) -> Path:
    world = World(Scenario(seed=5, skus=80, orders_per_day=240, incidents=incidents))
    start = NOW - timedelta(days=35)
    counts = Counter(int((o.created_at - start) / timedelta(hours=1)) for o in world.orders(start, NOW, NOW))
    lines = ["timestamp,value"] + [f"{(start + timedelta(hours=h)).isoformat()},{counts[h]}" for h in range(35 * 24)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def episodes(capsys, *args: str) -> dict:
    assert main(["detect", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_detect_finds_a_stop_in_an_hourly_csv_once_at_its_onset(tmp_path: Path, capsys) -> None:
    stop = NOW - timedelta(hours=6)
    path = hourly_csv(tmp_path / "orders.csv", [Incident("sales_stop", start=stop)])
    result = episodes(capsys, "--rule", "sales_drop", "--csv", str(path))
    [episode] = result["episodes"]
    assert episode["direction"] == "down" and episode["end"] is None  # still going at the end
    assert abs(datetime.fromisoformat(episode["onset"]) - stop) <= timedelta(hours=1)
    assert datetime.fromisoformat(episode["detected"]) <= stop + timedelta(hours=2)
    assert main(["detect", "--rule", "sales_drop", "--csv", str(path)]) == 0
    said = capsys.readouterr().out  # how long it has lasted by the end of the series, not by its detection
    assert re.search(r"остановка, было бы замечено .*; продолжается в конце ряда, уже [567] час", said), said


def test_detect_finds_a_90_percent_drop_over_six_evening_hours_with_its_end(tmp_path: Path, capsys) -> None:
    evening = datetime(2026, 11, 16, 17, 0, tzinfo=MSK)
    drop = Incident("sales_drop", start=evening, end=evening + timedelta(hours=6), factor=0.1)
    result = episodes(capsys, "--csv", str(hourly_csv(tmp_path / "orders.csv", [drop])))
    assert result["kind"] == "count"
    [episode] = result["episodes"]
    assert abs(datetime.fromisoformat(episode["onset"]) - evening) <= timedelta(hours=1)
    assert evening + timedelta(hours=6) <= datetime.fromisoformat(episode["end"]) <= evening + timedelta(hours=9)


def test_detect_is_quiet_on_a_normal_series(tmp_path: Path, capsys) -> None:
    path = hourly_csv(tmp_path / "orders.csv", [])
    assert main(["detect", str(path)]) == 0  # the file as sellers type it; --csv FILE is the same
    assert "найдено: 0 эпизодов" in capsys.readouterr().out
    assert main(["detect"]) == 2
    assert "Укажите файл выгрузки: ozon-monitor detect заказы.csv" in capsys.readouterr().err


def test_detect_reads_a_messy_export_as_the_clean_one(tmp_path: Path, capsys) -> None:
    """Local times without a zone across a daylight-saving change, semicolons, a header in
    Russian, an extra column, missing and repeated rows, shuffled: the same episode."""
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 9, 20, tzinfo=berlin).astimezone(timezone.utc)
    rng = np.random.default_rng(1)
    shape = np.array([0.2] * 7 + [1.5] * 12 + [1.0] * 5)
    drop = datetime(2026, 11, 6, 12, 0, tzinfo=berlin)
    rows = []
    for h in range(24 * 50):
        moment = (start + timedelta(hours=h)).astimezone(berlin)
        rate = 10 * shape[moment.hour] * (0.1 if drop <= moment < drop + timedelta(hours=8) else 1)
        rows.append((moment, int(rng.poisson(rate))))
    clean = tmp_path / "clean.csv"
    clean.write_text("".join(f"{m.isoformat()},{v}\n" for m, v in rows), encoding="utf-8")
    messy_rows = rows[:500] + rows[510:] + rows[700:705]
    random.Random(2).shuffle(messy_rows)
    messy = tmp_path / "messy.csv"
    messy.write_text("Дата;Заказы;Выручка\n" + "".join(f"{m.strftime('%d.%m.%Y %H:%M')};{v};{v * 990}\n"
                                                       for m, v in messy_rows), encoding="utf-8")
    want = episodes(capsys, "--csv", str(clean), "--tz", "Europe/Berlin")["episodes"]
    got = episodes(capsys, "--csv", str(messy), "--tz", "Europe/Berlin")
    assert len(got["episodes"]) == len(want) == 1
    assert got["episodes"][0]["onset"] == want[0]["onset"]
    assert abs(datetime.fromisoformat(want[0]["onset"]) - drop) <= timedelta(hours=1)
    notes = " ".join(got["notes"])
    assert "sorted" in notes and "repeated" in notes and "no value" in notes


def test_detect_finds_a_step_change_in_a_continuous_metric(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(3)
    values = 0.031 + 0.002 * rng.normal(size=120)
    values[100:] -= 0.012
    path = tmp_path / "conversion.csv"
    path.write_text("".join(f"{date(2026, 6, 1) + timedelta(days=i)},{v:.4f}\n" for i, v in enumerate(values)),
                    encoding="utf-8")
    result = episodes(capsys, "--csv", str(path))
    assert result["kind"] == "level"
    [episode] = [e for e in result["episodes"] if e["end"] is None]  # the step, still going
    assert episode["direction"] == "down"
    assert abs(date.fromisoformat(episode["onset"][:10]) - date(2026, 9, 9)) <= timedelta(days=1)
    assert main(["detect", "--csv", str(path)]) == 0  # a share is said with its digits, not as "0"
    assert re.search(r"\(к тому времени было 0,0[12]\d*, ожидалось 0,03\d*\)", capsys.readouterr().out)


def test_a_shift_is_dated_from_its_step_not_from_the_noise_before_it() -> None:
    """Four slightly low days start the CUSUM's sum without calling anything; the step comes
    after them. The episode begins on the step's day."""
    values = 100 + 2 * np.resize(np.array([-1, 1, -0.5, 0.5, 0.2]), 120)
    values[96:100] = 99.0
    values[100:] -= 40
    start = datetime(2026, 6, 1, tzinfo=timezone.utc)
    [episode] = detect.detect(detect.TimeSeries(start, timedelta(days=1), values), "level", timezone.utc, ("down",))
    assert episode.onset == episode.detected == start + timedelta(days=100)  # the CUSUM's last zero: day 95


def test_detect_reads_a_csv_as_russian_excel_saves_it(tmp_path: Path, capsys) -> None:
    """Windows-1251, `;`, a header in rubles, thousands apart by (no-break) spaces, decimal
    commas and a currency word: the same series as the plain file."""
    rng = np.random.default_rng(5)
    values = 78_000 + 900 * rng.normal(size=120)
    values[100:] -= 30_000
    days = [date(2026, 6, 1) + timedelta(days=i) for i in range(120)]
    plain = tmp_path / "plain.csv"
    plain.write_text("".join(f"{d},{v:.2f}\n" for d, v in zip(days, values)), encoding="utf-8")
    excel = tmp_path / "excel.csv"
    rows = [f"{d:%d.%m.%Y};" + f"{v:,.2f}".replace(",", "\u00a0").replace(".", ",") + (" р." if i % 2 else " руб.")
            for i, (d, v) in enumerate(zip(days, values))]
    excel.write_bytes(("Дата;Выручка, руб.\r\n" + "\r\n".join(rows) + "\r\n").encode("cp1251"))
    want = episodes(capsys, "--csv", str(plain))
    got = episodes(capsys, "--csv", str(excel))
    assert got["kind"] == want["kind"] == "level" and got["points"] == want["points"] == 120
    assert got["episodes"] == want["episodes"] and want["episodes"]
    assert any("Windows-1251" in note for note in got["notes"])


@pytest.mark.parametrize("content, args, message", [
    ("timestamp,value\n2026-11-01T00:00:00,1\nyesterday,2\n", [], "orders.csv, строка 3: в первых двух столбцах нужны дата и число"),
    ("2026-11-01T00:00:00,1\n", [], "нужно хотя бы 3 строки с данными, найдено 1"),
    ("2026-11-01,1\n2026-11-02,-2\n2026-11-03,1\n", ["--kind", "count"], "значения должны быть не меньше 0, а есть -2"),
    ("2026-11-01,1\n2026-11-02,2\n2026-11-03,1\n", ["--tz", "Mars/Olympus"], "неизвестный часовой пояс"),
    (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 40, [], "orders.csv — это книга Excel, а нужен CSV"),
])
def test_detect_names_the_problem_of_a_bad_csv(tmp_path: Path, capsys, content: str | bytes, args: list[str],
                                               message: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert main(["detect", "--csv", str(path), *args]) == 2
    assert message in capsys.readouterr().err


def test_detect_refuses_a_rule_without_a_series_detector(tmp_path: Path, capsys) -> None:
    assert main(["detect", "--rule", "card_problems", "--csv", str(tmp_path / "x.csv")]) == 2
    assert "нет детектора ряда; есть: sales_drop" in capsys.readouterr().err


def test_detect_spots_a_commission_jump_in_a_daily_series(tmp_path: Path, capsys) -> None:
    days = [datetime(2026, 10, 1, tzinfo=timezone.utc) + timedelta(days=d) for d in range(40)]
    shares = [0.15 + 0.004 * ((d * 7) % 5 - 2) for d in range(35)] + [0.24] * 5
    path = tmp_path / "commission.csv"
    path.write_text("\n".join(f"{t.isoformat()},{v}" for t, v in zip(days, shares)), encoding="utf-8")
    [episode] = episodes(capsys, "--rule", "finance_anomaly", "--csv", str(path))["episodes"]
    assert episode["direction"] == "up" and episode["detected"].startswith("2026-11-05")  # the day of the jump
    assert abs(date.fromisoformat(episode["onset"][:10]) - date(2026, 11, 5)) <= timedelta(days=1)


def test_detect_says_when_a_series_is_too_short_to_judge(tmp_path: Path, capsys) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("".join(f"2026-11-{d:02d},{d % 4}\n" for d in range(1, 11)), encoding="utf-8")
    result = episodes(capsys, "--csv", str(path))
    assert result["episodes"] == [] and any("nothing judged" in note for note in result["notes"])


def test_detect_keeps_a_two_day_step_and_reads_local_midnights_across_dst_as_daily(tmp_path: Path, capsys) -> None:
    every_other = tmp_path / "every_other.csv"
    every_other.write_text("".join(f"{date(2026, 6, 1) + timedelta(days=2 * i)},{i % 5}\n" for i in range(40)),
                           encoding="utf-8")
    assert episodes(capsys, "--csv", str(every_other))["step_seconds"] == 2 * 86400
    berlin = ZoneInfo("Europe/Berlin")  # 25 hours between two midnights on 25 October
    daily = tmp_path / "daily.csv"
    daily.write_text("".join(f"{datetime(2026, 10, 1, tzinfo=berlin) + timedelta(days=i)},{i % 5}\n"
                             for i in range(40)), encoding="utf-8")
    result = episodes(capsys, "--csv", str(daily), "--tz", "Europe/Berlin")
    assert result["step_seconds"] == 86400 and not any("nearest" in note for note in result["notes"])


def test_backtest_runs_the_live_alert_lifecycle_with_its_settings(synced_shop, capsys) -> None:
    """The replay goes through `alerts.reconcile`: an open alert is repeated after the
    configured `repeat_hours`, as the service would, and never fired twice."""
    settings, _, _ = synced_shop
    config = settings.monitor.state_dir.parent / "config.toml"
    config.write_text(config.read_text() + "\n[alerts]\nrepeat_hours = 1\nmax_repeat_hours = 1\n")
    day = NOW.astimezone(settings.monitor.tz).date()
    assert main(["backtest", "--config", str(config), "--from", str(day), "--to", str(day), "--json"]) == 0
    events = [(e["event"], e["fingerprint"]) for e in json.loads(capsys.readouterr().out)]
    fired = [fp for kind, fp in events if kind == "fired"]
    assert len(fired) == len(set(fired)) == 1
    assert [kind for kind, fp in events if fp == fired[0]][1:3] == ["repeat", "repeat"]  # hourly, as configured


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), per_day=st.sampled_from([3.0, 12.0, 60.0]), day_noise=st.sampled_from([0.1, 0.5]),
       onset_hour=st.integers(28 * 24, 62 * 24), factor=st.sampled_from([0.0, 0.3, 0.5, 2.0]))
def test_detect_judges_each_step_on_what_came_before_it(seed: int, per_day: float, day_noise: float,
                                                          onset_hour: int, factor: float) -> None:
    """Alarms before an onset do not depend on anything after it: a copy of the series changed
    from the onset on (a stop, a fall, a rise) has the same alarms up to the onset as the clean one."""
    rng = np.random.default_rng(seed)
    hours = 9 * 7 * 24
    shape = np.tile(np.concatenate((np.full(8, 0.2), np.full(16, 1.6))), hours // 24)
    day_level = np.repeat(rng.gamma(1 / day_noise**2, day_noise**2, hours // 24), 24)
    clean = rng.poisson(per_day / 24 * shape * day_level).astype(float)
    changed = clean.copy()
    changed[onset_hour:] = rng.poisson(per_day / 24 * factor * shape[onset_hour:] * day_level[onset_hour:])
    start = datetime(2026, 9, 7, tzinfo=timezone.utc)
    onset = start + timedelta(hours=onset_hour)

    def before_onset(values: np.ndarray) -> list[tuple[datetime, datetime, str, str]]:
        found = detect.detect(detect.TimeSeries(start, timedelta(hours=1), values), "count", MSK)
        return [(e.onset, e.detected, e.direction, e.what) for e in found if e.detected <= onset]
    assert before_onset(changed) == before_onset(clean)


def daily_shop(days: int, start: datetime, closed: tuple[int, ...] = (), per_day: float = 30.0) -> np.ndarray:
    """Hourly orders of a steady shop, nothing at all on the `closed` days (from `start`)."""
    rng = np.random.default_rng(9)
    shape = np.concatenate((np.full(8, 0.2), np.full(16, 1.4)))
    counts = rng.poisson(per_day / 24 * np.tile(shape, days)).astype(float)
    for day in closed:
        counts[day * 24:(day + 1) * 24] = 0
    return counts


def test_a_closed_day_is_not_a_stop_when_the_seller_names_it_and_is_one_when_unexpected() -> None:
    start = datetime(2026, 9, 6, 21, tzinfo=timezone.utc)  # local midnight in Moscow
    counts = daily_shop(70, start, closed=(60,))
    closure = (start + timedelta(days=60)).astimezone(MSK).date()
    series = detect.TimeSeries(start, timedelta(hours=1), counts)
    unexpected = detect.detect(series, "count", MSK, ("down",))
    named = detect.detect(series, "count", MSK, ("down",), closed=frozenset({closure}))
    assert [e.onset.astimezone(MSK).date() for e in unexpected] == [closure]
    assert named == []


def test_a_day_closed_a_year_before_is_expected_closed_again() -> None:
    start = datetime(2025, 9, 6, 21, tzinfo=timezone.utc)
    christmas = [(date(year, 12, 25) - date(2025, 9, 7)).days for year in (2025, 2026)]
    series = detect.TimeSeries(start, timedelta(hours=1), daily_shop(500, start, closed=tuple(christmas)))
    found = {e.onset.astimezone(MSK).date() for e in detect.detect(series, "count", MSK, ("down",))}
    assert found & {date(2025, 12, 25), date(2026, 12, 25)} == {date(2025, 12, 25)}  # the second was foretold


def test_detect_names_a_closed_list_it_cannot_read(tmp_path: Path, capsys) -> None:
    path = hourly_csv(tmp_path / "orders.csv", [])
    assert main(["detect", "--csv", str(path), "--closed", "2026-12-31,вчера"]) == 2
    assert "«вчера»" in capsys.readouterr().err
    assert detect.closed_days("31.12.2026,01.01.2027..08.01.2027") == \
        detect.closed_days("2026-12-31,2027-01-01..2027-01-08")  # as Russian sellers write dates


def test_detect_and_the_live_rule_call_the_same_stop_within_the_hour() -> None:
    """The same shop's orders, judged live every 20 minutes by `sales_drop` and exported hourly to
    `detect`: both call the stop, within an hour of each other, and neither calls anything before."""
    from rules import AccountData, Order
    from rules.sales import SalesDropConfig, sales_drop
    stop = NOW - timedelta(hours=20)
    world = World(Scenario(seed=8, skus=60, orders_per_day=60, incidents=[Incident("sales_stop", start=stop)]))
    start = NOW - timedelta(days=63)
    placed = world.orders(start, NOW, NOW)
    config = SalesDropConfig()
    live = None
    for k in range(-6, 3 * 20):
        moment = stop + timedelta(minutes=20 * k)
        orders = [Order(o.posting_number, o.created_at, (o.sku,)) for o in placed if o.created_at < moment]
        if sales_drop(AccountData("shop", 1, moment, orders, start, tz=MSK), config):
            live = moment
            break
    counts = Counter(int((o.created_at - start) / timedelta(hours=1)) for o in placed)
    hours = int((NOW - start) / timedelta(hours=1))
    series = detect.TimeSeries(start, timedelta(hours=1), np.array([float(counts[h]) for h in range(hours)]))
    found = detect.detect(series, "count", MSK, ("down",),
                          config.stop_false_alarms_per_month + config.drop_false_alarms_per_month)
    called = [e.detected for e in found if e.detected > start + timedelta(days=56)]
    assert live is not None and live > stop and called
    assert abs(called[0] - live) <= timedelta(hours=1) and called[0] > stop


def test_a_small_shops_days_without_an_order_are_a_stop_for_the_live_rule_as_for_detect() -> None:
    """Two orders a day that vary by half from day to day: a silence of days is judged day by day
    (each day's level its own draw), live as in `detect`, not as one slow day drawn once, under
    which this shop's stop was called after eight days (now four)."""
    from rules import AccountData, Order
    from rules.sales import SalesDropConfig, sales_drop
    stop = NOW - timedelta(days=10)
    world = World(Scenario(seed=5, skus=20, orders_per_day=2, day_noise=0.5,
                           incidents=[Incident("sales_stop", start=stop)]))
    start = NOW - timedelta(days=70)
    placed = world.orders(start, NOW, NOW)
    config = SalesDropConfig()
    live = next((moment for moment in (stop + timedelta(hours=6 * k) for k in range(-4, 40))
                 if sales_drop(AccountData("shop", 1, moment, [Order(o.posting_number, o.created_at, (o.sku,))
                                                                for o in placed if o.created_at < moment],
                                           start, tz=MSK), config)), None)
    counts = Counter(int((o.created_at - start) / timedelta(hours=1)) for o in placed)
    series = detect.TimeSeries(start, timedelta(hours=1), np.array([float(counts[h]) for h in
                                                                     range(int((NOW - start) / timedelta(hours=1)))]))
    called = [e.detected for e in detect.detect(series, "count", MSK, ("down",), config.stop_false_alarms_per_month)
              if e.detected > stop]
    assert live is not None and stop < live <= stop + timedelta(days=5)
    assert called and abs(called[0] - live) <= timedelta(days=1)


def found_in_a_week(per_day: float, variation: float, share: float, seeds: int) -> tuple[int, int]:
    """Daily series of `per_day` orders whose days vary by `variation`, cut to `share` from day
    100 on (a stop at 0): in how many `detect` finds it within a week, and
    how many false alarms it raised in the 44 days before it (after eight weeks of warm-up)."""
    start = datetime(2026, 1, 5, tzinfo=timezone.utc)
    found = false = 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        level = per_day * rng.gamma(1 / variation**2, variation**2, 130)
        level[100:114 if share else None] *= share  # a fall lasts two weeks, a stop to the end
        series = detect.TimeSeries(start, timedelta(days=1), rng.poisson(level).astype(float))
        seen = [(e.detected - start).days - 1 for e in detect.detect(series, "count", timezone.utc, ("down",), 0.2)]
        found += any(100 <= day < 107 for day in seen)
        false += sum(1 for day in seen if 56 <= day < 100)
    return found, false


def test_a_fall_is_judged_against_the_variation_known_before_it() -> None:
    """Ten orders a day varying by 30% from day to day, halved for two weeks: the days of the
    fall must not widen the variation it is judged against. Of 30 such series, `detect` finds
    the fall within a week in at least 20 (16 when each day was judged with the variation
    learnt up to it, the fall's own days included), within its false-alarm budget before it."""
    found, false = found_in_a_week(10.0, 0.3, 0.5, seeds=30)
    assert found >= 20
    assert false <= 0.2 * 30 * 44 / 30


def test_a_silence_is_judged_at_the_level_known_before_it() -> None:
    """One order a day varying by half from day to day, then none: the silence's own empty days
    must not lower the level it is judged against. Of 40 such series, `detect` calls the stop
    within a week in at least 33 (27 when each day of the silence was reckoned at the level
    learnt up to it, the silence included), within its false-alarm budget before it."""
    found, false = found_in_a_week(1.0, 0.5, 0.0, seeds=40)
    assert found >= 33
    assert false <= 0.2 * 40 * 44 / 30


def test_a_fall_to_nothing_is_told_as_a_stop() -> None:
    """Whichever detector sees it first, days with no order at all are a stop, not a fall."""
    start = datetime(2026, 1, 5, tzinfo=timezone.utc)
    values = np.random.default_rng(3).poisson(10.0, 80).astype(float)
    values[70:] = 0.0
    found = detect.detect(detect.TimeSeries(start, timedelta(days=1), values), "count", timezone.utc, ("down",), 0.2)
    late = [e for e in found if e.onset >= start + timedelta(days=60)]
    assert [(e.what, e.observed) for e in late] == [("stop", 0.0)]
