from __future__ import annotations

import os
import shutil
import socket
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

import pytest

from monitor.config import Settings, load_config
from monitor.simulator import Incident, Scenario, Simulator, SimulatorServer, World
from tests.receiver import Receiver, serve

ROOT = Path(__file__).resolve().parent.parent
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


def account(name: str = "shop", base_url: str = "http://127.0.0.1:9", key_file: str = "key.txt",
            timeout: float = 30.0, client_id: int = 123456) -> str:
    """One `[[accounts]]` block."""
    return (f'[[accounts]]\nname = "{name}"\nclient_id = {client_id}\napi_key_file = "{key_file}"\n'
            f'base_url = "{base_url}"\ntimeout_seconds = {timeout}\n\n')


def config_file(folder: Path, accounts: str, *, monitor: str = "", channels: str | None = None, body: str = "",
                key: str = "demo-key", name: str = "config.toml", digest: str = 'every = "off"') -> Path:
    """The one config writer: a `[monitor]` section (state in `folder/state`, 35 days of history,
    plus `monitor` lines), `[digest]` (off unless a test asks: a daemon under test must not meet
    09:00), the `accounts` blocks with their key in `folder/key.txt`, `channels` (default: a file
    channel into `folder/out`) and `body` appended."""
    (folder / "key.txt").write_text(key)
    if channels is None:
        channels = f'[[channels]]\ntype = "file"\ndirectory = "{folder / "out"}"\n'
    path = folder / name
    path.write_text(f'[monitor]\nstate_dir = "state"\nhistory_days = 35\n{monitor}\n[digest]\n{digest}\n\n'
                    f'{accounts}{channels}\n{body}',
                    encoding="utf-8")
    return path


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config file into tmp_path; `body` is appended to a valid minimal config."""
    def write(body: str = "", *, base_url: str = "http://127.0.0.1:9", accounts: bool = True,
              key: str = "demo-key", name: str = "config.toml", monitor: str = "", digest: str = 'every = "off"') -> Path:
        return config_file(tmp_path, account(base_url=base_url) if accounts else "", monitor=monitor, body=body,
                           key=key, name=name, digest=digest)
    return write


class Daemon:
    """`ozon-monitor run` in a subprocess with its output in `log`: wait for a line of it, stop
    it with SIGTERM and time the stop. The one harness of every test that runs the service."""

    def __init__(self, config: Path, *, verbose: bool = False, env: dict[str, str] | None = None,
                 log: Path | None = None) -> None:
        self.log = log or config.parent / "daemon.log"
        args = [sys.executable, "-m", "monitor", *(["-v"] if verbose else []), "run", "--config", str(config)]
        with open(self.log, "w") as sink:
            self.process = subprocess.Popen(args, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                                            stdout=sink, stderr=sink)

    @property
    def text(self) -> str:
        return self.log.read_text()

    def wait_for(self, condition: str | Callable[[], bool], timeout: float = 60) -> None:
        """Until the log holds `condition` (a line's text) or `condition()` is true."""
        check = condition if callable(condition) else lambda: condition in self.text
        deadline = time.monotonic() + timeout
        while not check():
            if self.process.poll() is not None or time.monotonic() > deadline:
                state = f"exited {self.process.returncode}" if self.process.poll() is not None else "still running"
                raise AssertionError(f"waited {timeout:.0f} s for {condition!r}; the daemon {state}; log:\n"
                                     f"{self.text[-2000:]}")
            time.sleep(0.05)

    def stop(self, timeout: float = 15) -> float:
        """SIGTERM and wait for the exit; return how long it took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout)
        return time.monotonic() - started

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def live_simulator() -> Iterator[SimulatorServer]:
    """The simulator on the real clock, for commands that read the clock themselves. A busy
    seller whose orders stopped 30 hours ago: the last 24 hours hold no order at all, so the stop
    is critical whatever the hour the suite runs at (a stop begun late in the evening is not
    visible in the small night-time windows until the morning)."""
    now = datetime.now(timezone.utc)
    scenario = Scenario(seed=5, skus=150, orders_per_day=150,
                        incidents=[Incident("sales_stop", start=now - timedelta(hours=30))])
    with SimulatorServer(Simulator(World(scenario))) as server:
        yield server


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


class SyncedWorld(NamedTuple):
    server: SimulatorServer
    clock: MovableClock
    state_dir: Path
    first_sync: list[tuple[str, dict]]  # the requests of the first sync, as the client sent them


@pytest.fixture(scope="session")
def synced_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncedWorld]:
    """The default scenario's simulator and a state directory synced from it once at NOW: tests
    that start from a synced shop copy it (`synced_shop`) instead of repeating the first sync."""
    from monitor.cycle import run_cycle
    clock = MovableClock(NOW)
    scenario = Scenario(seed=3, skus=120, orders_per_day=150, history_days=40,
                        incidents=[Incident("sales_stop", start=NOW - timedelta(hours=4))])
    with SimulatorServer(Simulator(World(scenario), clock=clock)) as server:
        folder = tmp_path_factory.mktemp("synced")
        settings = load_config(config_file(folder, account(base_url=server.base_url)))
        run_cycle(settings, "shop", now=NOW)
        yield SyncedWorld(server, clock, settings.monitor.state_dir, list(server.simulator.requests))


@pytest.fixture
def synced_shop(synced_world, tmp_path: Path) -> Iterator[tuple[Settings, SimulatorServer, MovableClock]]:
    """A shop synced at NOW (a copy of `synced_world`'s state) with its config and simulator;
    the simulator's faults and clock are reset afterwards."""
    server, clock, template, _ = synced_world
    shutil.copytree(template, tmp_path / "state")
    settings = load_config(config_file(tmp_path, account(base_url=server.base_url)))
    try:
        yield settings, server, clock
    finally:
        server.simulator.clear_faults()
        clock.now = NOW




class Drip:
    """A loopback server that answers every connection one byte a second (an HTTP answer, or
    an SMTP greeting), so no socket timeout ever fires."""

    def __init__(self, answer: bytes) -> None:
        self.answer, self.sock = answer, socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        try:
            for byte in self.answer:
                conn.send(bytes([byte]))
                time.sleep(1)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def drip_http() -> Iterator[Drip]:
    server = Drip(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 30\r\n\r\n" + b" " * 30)
    yield server
    server.close()


@pytest.fixture
def drip_smtp() -> Iterator[Drip]:
    server = Drip(b"220 mail.example ESMTP ready, one byte at a time" * 10 + b"\r\n")
    yield server
    server.close()
