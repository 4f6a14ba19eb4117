from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.config import Settings, load_config
from monitor.simulator import Incident, Scenario, Simulator, SimulatorServer, World
from tests.receiver import Receiver, serve

# A Wednesday, 15:00 in Moscow: daytime, so a sales stop is visible within hours.
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=timezone.utc)


class FakeTime:
    """A clock that moves only when the client sleeps, so backoff is tested without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def scenario() -> Scenario:
    """A mid-size seller whose orders stopped four hours before NOW."""
    return Scenario(seed=3, skus=120, orders_per_day=150, history_days=40,
                    incidents=[Incident("sales_stop", start=NOW - timedelta(hours=4))])


@pytest.fixture
def simulator(scenario: Scenario) -> Iterator[SimulatorServer]:
    """The simulator on a loopback port, its clock frozen at NOW."""
    with SimulatorServer(Simulator(World(scenario), clock=lambda: NOW)) as server:
        yield server


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config file into tmp_path; `body` is appended to a valid minimal config."""
    def write(body: str = "", *, base_url: str = "http://127.0.0.1:9", accounts: bool = True,
              key: str = "demo-key", name: str = "config.toml") -> Path:
        (tmp_path / "key.txt").write_text(key)
        account = (f'[[accounts]]\nname = "shop"\nclient_id = 123456\napi_key_file = "key.txt"\n'
                   f'base_url = "{base_url}"\n') if accounts else ""
        path = tmp_path / name
        path.write_text(f'[monitor]\nstate_dir = "state"\nhistory_days = 35\n\n{account}\n'
                        f'[[channels]]\ntype = "file"\ndirectory = "{tmp_path / "out"}"\n\n{body}', encoding="utf-8")
        return path
    return write


@pytest.fixture
def settings(simulator: SimulatorServer, write_config: Callable[..., Path]) -> Settings:
    return load_config(write_config(base_url=simulator.base_url))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a loopback port; set its knobs (refuse_first, hold_first, secret)
    before the first request."""
    box = Receiver()
    server = serve(box)
    yield box
    server.shutdown()


class MovableClock:
    """The simulator's clock, moved by the test (a shared world serves several moments)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="session")
def synced_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimulatorServer, MovableClock, Path]]:
    """The default scenario's simulator and a state directory synced from it once at NOW: tests
    that start from a synced shop copy it (`synced_shop`) instead of repeating the first sync."""
    from monitor.cycle import run_cycle
    clock = MovableClock(NOW)
    scenario = Scenario(seed=3, skus=120, orders_per_day=150, history_days=40,
                        incidents=[Incident("sales_stop", start=NOW - timedelta(hours=4))])
    with SimulatorServer(Simulator(World(scenario), clock=clock)) as server:
        folder = tmp_path_factory.mktemp("synced")
        settings = load_config(_config(folder, server.base_url))
        run_cycle(settings, "shop", now=NOW)
        yield server, clock, settings.monitor.state_dir


@pytest.fixture
def synced_shop(synced_world, tmp_path: Path) -> Iterator[tuple[Settings, SimulatorServer, MovableClock]]:
    """A shop synced at NOW (a copy of `synced_world`'s state) with its config and simulator;
    the simulator's faults and clock are reset afterwards."""
    server, clock, template = synced_world
    shutil.copytree(template, tmp_path / "state")
    settings = load_config(_config(tmp_path, server.base_url))
    try:
        yield settings, server, clock
    finally:
        server.simulator.clear_faults()
        clock.now = NOW


def _config(folder: Path, base_url: str, body: str = "") -> Path:
    (folder / "key.txt").write_text("demo-key")
    path = folder / "config.toml"
    path.write_text(f'[monitor]\nstate_dir = "state"\nhistory_days = 35\n\n[[accounts]]\nname = "shop"\n'
                    f'client_id = 123456\napi_key_file = "key.txt"\nbase_url = "{base_url}"\n\n'
                    f'[[channels]]\ntype = "file"\ndirectory = "{folder / "out"}"\n\n{body}', encoding="utf-8")
    return path
