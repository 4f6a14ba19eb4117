"""The long-running service: one APScheduler job per account, stopped cleanly by SIGTERM/SIGINT.

Jobs coalesce and never overlap, so a slow cycle delays the next one instead of stacking up.
On a stop signal the cycle in flight stops at the next page boundary: everything committed so
far stays, the rest is picked up by the next start.
"""
from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timezone

from apscheduler.schedulers.background import BackgroundScheduler

from monitor.config import Settings
from monitor.cycle import run_cycle

log = logging.getLogger(__name__)


def run(settings: Settings, stop: threading.Event | None = None) -> None:
    """Run until `stop` is set or SIGTERM/SIGINT arrives (only the main thread installs handlers)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: stop.set())
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    for account in settings.accounts:
        scheduler.add_job(
            _cycle_job, "interval", args=[settings, account.name, stop], id=f"cycle:{account.name}",
            minutes=settings.monitor.poll_minutes, next_run_time=datetime.now(timezone.utc),
            coalesce=True, max_instances=1, misfire_grace_time=settings.monitor.poll_minutes * 60,
        )
    scheduler.start()
    log.info("started: accounts=%s poll_minutes=%d", ",".join(a.name for a in settings.accounts),
             settings.monitor.poll_minutes)
    stop.wait()
    log.info("stopping: waiting for the cycle in flight")
    scheduler.shutdown(wait=True)
    log.info("stopped")


def _cycle_job(settings: Settings, account: str, stop: threading.Event) -> None:
    try:
        result = run_cycle(settings, account, stop=stop)
    except Exception:  # keep the daemon alive; the next cycle retries
        log.exception("cycle failed: account=%s", account)
        return
    log.info("cycle done: account=%s fetched=%s errors=%d findings=%d notified=%d", account,
             result.sync.fetched, len(result.sync.errors), len(result.findings), len(result.notified))
