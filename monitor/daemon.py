"""The long-running service: one APScheduler job per account, one delivery job, a daily
housekeeping job; systemd-native (Type=notify, watchdog, reload on SIGHUP).

Jobs coalesce and never overlap, so a slow cycle delays its own next run, never another
account's: each account's job runs in its own worker thread. Each cycle only enqueues; the
delivery job sends for every shop, once a minute and right after any cycle that enqueued
something. SIGHUP re-reads the config: a valid one takes effect at once (accounts added or
removed get or lose their jobs), an invalid one is refused and the running config is kept. On a
stop signal the cycle in flight stops at the next page boundary: everything committed so far
stays, the rest is picked up by the next start.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from monitor import digest, logs, metrics, watchdog
from monitor.bot import Bot
from monitor.channels import TelegramConfig
from monitor.config import ConfigError, Settings, load_config
from monitor.cycle import deliver_all, housekeeping, run_cycle
from monitor.secrets import os_error
from monitor.store import StorageError, Store
from monitor.texts import Said, say

log = logging.getLogger(__name__)
DELIVERY_JOB = "deliver"
HOUSEKEEPING_JOB = "housekeeping"
DIGEST_JOB = "digest"
DIGEST_CHECK_MINUTES = 5
DIGEST_FIRST_SECONDS = 10  # a summary owed since the service stopped goes out soon after a start
DELIVERY_SECONDS = 60
HOUSEKEEPING_HOURS = 24
STOP_GRACE_SECONDS = 8.0  # systemd gives 30 s; a stop must not wait on a hanging HTTP request
WORKERS = 256  # threads start only when needed; enough that no account ever waits for another's
START_SPACING_SECONDS = 5.0  # between the accounts' first cycles (less when the poll interval is short)


class AlreadyRunning(Exception):
    """Another daemon holds the state directory."""

    def __init__(self, pid: str, state_dir: Path) -> None:
        super().__init__(say("en", "cli.already_running", pid=pid, state_dir=state_dir))
        self.pid, self.state_dir = pid, state_dir


def notify(*states: str) -> bool:
    """Tell systemd (sd_notify) how the service is doing: READY=1, STATUS=..., WATCHDOG=1,
    STOPPING=1. A no-op outside a Type=notify unit (no $NOTIFY_SOCKET)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(states).encode(), address)
    except OSError as exc:
        log.warning("systemd notification failed: %s", exc)
        return False
    return True


def watchdog_seconds() -> float | None:
    """How often systemd wants a WATCHDOG=1 (half its WatchdogSec=), or None when it wants none."""
    usec, pid = os.environ.get("WATCHDOG_USEC"), os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    return max(int(usec) / 2e6, 0.5)


@contextmanager
def state_lock(state_dir: Path) -> Iterator[None]:
    """Hold `state_dir/daemon.lock` for the daemon's life, so a second daemon on the same state
    refuses to start and names the first; the kernel frees the lock if the process dies."""
    path = state_dir / "daemon.lock"
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")
    except OSError as exc:  # the state directory is broken: the cycles report that; there is nothing to guard
        log.warning("daemon lock not taken: %s: %s", path, os_error(exc))
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        other = handle.read().strip() or "unknown"
        handle.close()
        raise AlreadyRunning(other, state_dir) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    try:
        yield
    finally:
        handle.close()


def release_memory() -> None:
    """Hand the heap a finished cycle freed back to the system (glibc keeps it otherwise, and a
    big shop's cycle frees hundreds of megabytes): what an idle daemon holds stays small."""
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def running_pid(state_dir: Path) -> int | None:
    """The pid of the daemon holding `state_dir`, or None when none runs there."""
    path = state_dir / "daemon.lock"
    try:
        with open(path, encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = handle.read().strip()
                return int(text) if text.isdigit() else -1
            return None
    except OSError:
        return None


def run(config_path: Path) -> bool:
    """Load the config and run until SIGTERM/SIGINT arrives (from the main thread: it owns the
    signals). Return False when a job was still running `STOP_GRACE_SECONDS` after the stop:
    the caller then exits at once; what was committed stays, the uncommitted page is rolled back
    by SQLite."""
    settings = load_config(config_path)
    logs.keep_time_in(settings.monitor.tz)
    with state_lock(settings.monitor.state_dir), logs.job("daemon"):
        return Daemon(config_path, settings).serve()


class Daemon:
    def __init__(self, config_path: Path, settings: Settings) -> None:
        self.config_path, self.settings = config_path, settings
        self.stop = threading.Event()  # the jobs stop at their next page when it is set
        # The main thread sleeps reading this pair: a signal writes its number (set_wakeup_fd),
        # a job with news a zero. A Python signal handler runs inside whatever the main thread
        # was doing, even while it holds a lock, so the handlers do nothing and take no lock:
        # a second signal during the first one's handler (`timeout` sends two, a double Ctrl+C)
        # cannot deadlock the stop.
        self._woken, self._waker = socket.socketpair()
        self._waker.setblocking(False)
        self._deliver_now = False  # a cycle enqueued notifications: run the delivery job at once
        self._busy: set[str] = set()
        self._status_lock = threading.Lock()
        self._digest_lock = threading.Lock()  # the scheduled check and one after a cycle never overlap
        self.scheduler = BackgroundScheduler(timezone=timezone.utc,
                                             executors={"default": ThreadPoolExecutor(WORKERS)})

    def serve(self) -> bool:
        signal.set_wakeup_fd(self._waker.fileno(), warn_on_full_buffer=False)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda _signum, _frame: None)  # the number is on the wake-up socket
        state = self._open_state()
        metrics_server = self._start_metrics()
        self.scheduler.add_job(self._delivery_job, "interval", id=DELIVERY_JOB, seconds=DELIVERY_SECONDS,
                               coalesce=True, max_instances=1, misfire_grace_time=DELIVERY_SECONDS)
        self.scheduler.add_job(self._digest_job, "interval", id=DIGEST_JOB, minutes=DIGEST_CHECK_MINUTES,
                               next_run_time=datetime.now(timezone.utc) + timedelta(seconds=DIGEST_FIRST_SECONDS),
                               coalesce=True, max_instances=1, misfire_grace_time=3600)
        self.scheduler.add_job(self._housekeeping_job, "interval", id=HOUSEKEEPING_JOB, hours=HOUSEKEEPING_HOURS,
                               next_run_time=datetime.now(timezone.utc) + timedelta(minutes=5),
                               coalesce=True, max_instances=1, misfire_grace_time=3600)
        ping = watchdog_seconds()
        if ping:  # from a scheduler job: when the scheduler stalls, systemd restarts the service
            self.scheduler.add_job(lambda: notify("WATCHDOG=1"), "interval", id="watchdog", seconds=ping,
                                   coalesce=True, max_instances=1, misfire_grace_time=None)
        spacing = min(START_SPACING_SECONDS, self.settings.monitor.poll_minutes * 60 / len(self.settings.accounts))
        for index, account in enumerate(self.settings.accounts):  # staggered: many shops never start in one second
            self._add_cycle(account.name, index * spacing)
        self.scheduler.start()
        self._start_bots()
        log.info("started: accounts=%s poll_minutes=%s", self._names(),
                 ",".join(str(self._interval(self.settings, a.name)) for a in self.settings.accounts))
        notify("READY=1", f"STATUS={state or self._say('service.started', accounts=self._names())}")
        while not self.stop.is_set():
            woken_by = set(self._woken.recv(256))
            if woken_by & {signal.SIGTERM, signal.SIGINT}:
                self.stop.set()
                break
            if self._deliver_now:
                self._deliver_now = False
                self.scheduler.modify_job(DELIVERY_JOB, next_run_time=datetime.now(timezone.utc))  # say it now
            if signal.SIGHUP in woken_by:
                self.reload()
        signal.set_wakeup_fd(-1)
        # The stop is under way and bounded (STOP_GRACE_SECONDS): more signals add nothing, and
        # while the interpreter exits it would give them back their default action, death.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        notify("STOPPING=1", f"STATUS={self._say('service.stopping')}")
        log.info("stopping: waiting for the cycle in flight")
        if metrics_server:
            metrics_server.shutdown()
        done = threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True}, name="shutdown", daemon=True)
        done.start()
        done.join(STOP_GRACE_SECONDS)
        if done.is_alive():
            log.warning("stopped: a job was still waiting on the network after %.0f s; its uncommitted page is "
                        "dropped and the next start resumes from the last committed one", STOP_GRACE_SECONDS)
            return False
        log.info("stopped")
        return True

    def _wake(self) -> None:
        """From a job: the main loop has something to do now."""
        try:
            self._waker.send(b"\0")
        except BlockingIOError:  # the socket is full of wake-ups already: it will wake
            pass

    def _say(self, key: str, **params: str) -> str:
        """A systemd STATUS line (`systemctl status` shows it) in the seller's language."""
        return say(self.settings.monitor.language, key, **params)

    def _names(self) -> str:
        return ",".join(a.name for a in self.settings.accounts)

    def _open_state(self) -> str | None:
        """Open (and upgrade) the state file before saying READY and before any job holds it; a
        fault is said, not fatal: the cycles keep trying and the dead man's switch tells the seller."""
        try:
            store = Store.in_dir(self.settings.monitor.state_dir)
            try:
                started = time.monotonic()
                if store.convert_to_incremental_vacuum():
                    log.info("state file set to give freed space back (one full VACUUM, %.1f s)",
                             time.monotonic() - started)
            finally:
                store.close()
        except StorageError as exc:
            log.error("the state file cannot be used: %s", exc)
            return self._say("service.state_fails", error=exc.text(self.settings.monitor.language))
        return None

    def _start_metrics(self) -> metrics.Server | None:
        listen = self.settings.monitor.metrics_listen
        if not listen:
            return None
        try:
            server = metrics.serve(listen, lambda: self.settings)
        except OSError as exc:
            log.error("metrics not served: cannot listen on %s: %s; monitoring goes on without them", listen,
                      exc.strerror)
            return None
        log.info("metrics on http://%s/metrics, health on http://%s/healthz", listen, listen)
        return server

    def _interval(self, settings: Settings, account: str) -> int:
        return settings.account(account).poll_minutes or settings.monitor.poll_minutes

    def _add_cycle(self, account: str, delay: float = 0.0) -> None:
        minutes = self._interval(self.settings, account)
        self.scheduler.add_job(
            self._cycle_job, "interval", args=[account], id=f"cycle:{account}", minutes=minutes,
            next_run_time=datetime.now(timezone.utc) + timedelta(seconds=delay), coalesce=True, max_instances=1,
            misfire_grace_time=minutes * 60,
        )

    def reload(self) -> None:
        """Take the config file as it is now, or keep the running one and say exactly why not."""
        old = self.settings
        try:
            new = load_config(self.config_path)
            if new.monitor.state_dir != old.monitor.state_dir:
                raise ConfigError([Said("config.in_file", path=self.config_path, what=Said(
                    "config.at", where="monitor.state_dir", what=Said("config.state_dir_changed", old=old.monitor.state_dir,
                                                                      new=new.monitor.state_dir)))])
        except ConfigError as exc:
            log.error("reload refused, the running config is kept: %s", exc)
            reason = exc.text(self.settings.monitor.language).replace("\n", "; ")
            notify(f"STATUS={self._say('service.reload_refused', reason=reason)}")
            return
        self.settings = new
        logs.keep_time_in(new.monitor.tz)
        before, after = {a.name for a in old.accounts}, {a.name for a in new.accounts}
        for name in before - after:
            self.scheduler.remove_job(f"cycle:{name}")
        for name in sorted(after - before):
            self._add_cycle(name)
        for name in before & after:
            minutes = self._interval(new, name)
            if minutes != self._interval(old, name):
                self.scheduler.reschedule_job(f"cycle:{name}", trigger="interval", minutes=minutes)
        if new.monitor.metrics_listen != old.monitor.metrics_listen:
            log.warning("monitor.metrics_listen changes at the next restart")
        log.info("reloaded %s: accounts=%s added=%s removed=%s", self.config_path, self._names(),
                 ",".join(sorted(after - before)) or "-", ",".join(sorted(before - after)) or "-")
        self._status()

    def _status(self) -> None:
        with self._status_lock:
            busy = sorted(self._busy)
        said = self._say("service.syncing", busy=", ".join(busy), accounts=self._names()) if busy \
            else self._say("service.idle", accounts=self._names())
        notify(f"STATUS={said}")

    def _cycle_job(self, account: str) -> None:
        settings = self.settings  # a reload mid-cycle takes effect at the next one
        if account not in {a.name for a in settings.accounts}:
            return
        with logs.job("cycle", account):
            with self._status_lock:
                self._busy.add(account)
            self._status()
            try:
                self._cycle(settings, account)
            finally:
                with self._status_lock:
                    self._busy.discard(account)
                    idle = not self._busy
                self._status()
                if idle:
                    release_memory()

    def _cycle(self, settings: Settings, account: str) -> None:
        started = datetime.now(timezone.utc)
        log.debug("cycle started: account=%s", account)
        try:
            result = run_cycle(settings, account, stop=self.stop)
        except StorageError as exc:  # said to the seller without the state file; the next cycle retries
            watchdog.storage_fault(settings, exc)
            return
        except Exception:  # keep the daemon alive; the next cycle retries
            log.exception("cycle failed: account=%s", account)
            return
        log.info("cycle done: account=%s fetched=%s unchecked=%s findings=%d notified=%d cpu=%s", account,
                 ",".join(f"{k}:{v}" for k, v in result.sync.fetched.items()) or "-",
                 ",".join(result.sync.unchecked) or "-", len(result.findings), len(result.notified),
                 ",".join(f"{k}:{v:.2f}" for k, v in result.cpu.items()))
        # No scheduler call from a job: a stopping scheduler holds its locks while it waits for the
        # jobs, so a job asking it anything would wait for the shutdown that waits for the job.
        next_run = None if self.stop.is_set() else started + timedelta(minutes=self._interval(settings, account))
        try:
            store = Store.in_dir(settings.monitor.state_dir)
            try:
                store.record_cycle(account, started, datetime.now(timezone.utc), next_run)
            finally:
                store.close()
        except StorageError as exc:
            log.warning("cycle not recorded for status: %s", exc)
        if result.notified:
            self._deliver_now = True
            self._wake()
        self._digest_job()  # a summary that waited for the shop's first check goes now, not minutes later

    def _delivery_job(self) -> None:
        settings = self.settings
        with logs.job("deliver"):
            try:
                done = deliver_all(settings)
            except StorageError as exc:
                watchdog.storage_fault(settings, exc)
                return
            except Exception:  # keep the daemon alive; the next run retries
                log.exception("delivery failed")
                return
            if done.delivered or done.failed:
                log.info("delivery done: delivered=%d failed=%d", done.delivered, done.failed)

    def _start_bots(self) -> None:
        """One poller thread per Telegram bot token, hearing its chats' commands and buttons until
        the daemon stops (each long poll is a few seconds, so SIGTERM is heard in them)."""
        tokens: set[str] = set()
        for channel in self.settings.channels:
            if not isinstance(channel, TelegramConfig):
                continue
            try:
                token = channel.token()
            except ValueError:
                continue  # the channel's own delivery says why
            if token and token not in tokens:
                tokens.add(token)
                poller = Bot(self.settings, channel, token)
                threading.Thread(target=poller.run, args=(self.stop,), name=f"bot:{channel.name}", daemon=True).start()

    def _digest_job(self) -> None:
        """Queue each shop's summary once its hour has come (checked every few minutes and after
        each cycle, so a restart or a sleeping machine sends it late rather than never), then
        deliver it."""
        settings = self.settings
        with logs.job("digest"), self._digest_lock:
            try:
                queued = digest.send_due(settings, datetime.now(timezone.utc))
            except StorageError as exc:
                if exc.kind == "locked":  # a cycle's long write: the summary waits for the next check
                    log.warning("digest postponed: %s", exc)
                    return
                watchdog.storage_fault(settings, exc)
                return
            except Exception:
                log.exception("digest failed")
                return
        if queued:
            self._deliver_now = True
            self._wake()

    def _housekeeping_job(self) -> None:
        settings = self.settings
        with logs.job("housekeeping"):
            try:
                housekeeping(settings)
            except StorageError as exc:
                watchdog.storage_fault(settings, exc)
            except Exception:
                log.exception("housekeeping failed")
