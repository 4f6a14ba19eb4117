"""The `ozon-monitor` command. Thin: parses arguments and calls the modules that do the work.

Exit status: 0 done, 1 done but a data source or channel failed (see the message), 2 bad config or usage,
3 the state file or its folder cannot be used (the message names the path and the fix), or another
daemon runs on the same state directory.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor import drafts, logs, wizard
from monitor.alerts import silenced_by
from monitor.config import ConfigError, Settings, load_config, secret_problems
from monitor.cycle import CycleResult, deliver_all, run_cycle
from monitor.i18n import LANGUAGES
from monitor.report import print_delivery, print_result, print_status, status_of
from monitor.store import StorageError, Store, state_dir_problem
from monitor.sources import Progress
from rules import RULES
from rules.base import as_json
from rules.detect import RULE_DEFAULTS, detect, read_series


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logs.setup(logging.DEBUG if args.verbose else logging.INFO if args.command == "run" else logging.WARNING)
    if not args.verbose:  # a line per HTTP request or per job run is noise in a service's log
        for noisy in ("httpx", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(f"config error:\n{exc}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"state file error: {exc}", file=sys.stderr)
        return 3
    except sqlite3.Error as exc:  # a fault the store did not name (a read of a file damaged under it)
        print(f"state file error: {exc}; check the disk and the state directory", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the interpreter flushes it at exit)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ozon-monitor", description="Watches an Ozon seller account through the Seller API and warns before "
        "problems escalate, each warning with a ready request to Ozon seller support.",
        epilog="Exit status: 0 done; 1 done, but a data source or channel failed; 2 bad config or usage; "
               "3 the state file or its folder cannot be used.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="first run: ask for the account and one channel, check the key, write the "
                       "config and key files, send a test notification")
    wizard.add_arguments(p)
    p.set_defaults(handler=wizard.run)

    p = sub.add_parser("run", help="run the monitoring daemon until SIGTERM/SIGINT")
    p.add_argument("--config", required=True, type=Path)
    p.set_defaults(handler=_run)

    p = sub.add_parser("check", help="run one sync + evaluation cycle for every account, then exit")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--json", action="store_true", help="print the findings as a JSON array")
    p.set_defaults(handler=_check)

    p = sub.add_parser("backtest", help="replay stored history through the rules as if live")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--from", dest="start", required=True, type=_date_arg, help="YYYY-MM-DD (seller's timezone)")
    p.add_argument("--to", dest="end", required=True, type=_date_arg, help="YYYY-MM-DD, inclusive")
    p.add_argument("--account", help="account name (default: every account)")
    p.add_argument("--step-minutes", type=int, default=60, help="how often to evaluate (default 60)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_backtest)

    p = sub.add_parser("detect", help="run the monitor's detectors over an exported time series (CSV)")
    p.add_argument("--csv", required=True, type=Path, help="timestamp and value in the first two columns")
    p.add_argument("--kind", choices=["count", "level"],
                   help="count (orders, returns) or level (revenue, a share, a price); default: guessed")
    p.add_argument("--direction", choices=["down", "up", "both"], help="default: both")
    p.add_argument("--rule", help=f"judge as this rule would: one of {', '.join(RULE_DEFAULTS)}")
    p.add_argument("--false-alarms", type=float, default=0.2, metavar="PER_MONTH",
                   help="budget of false alarms per month of series (default 0.2)")
    p.add_argument("--tz", default="Europe/Moscow", help="zone of timestamps without one (default Europe/Moscow)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_detect)

    p = sub.add_parser("demo", help="run the monitor against the built-in simulator and show what it raises")
    p.add_argument("--output", type=Path, default=Path("demo-output"), help="folder for state, alerts and drafts")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--language", choices=list(LANGUAGES), default="ru")
    p.set_defaults(handler=_demo)

    p = sub.add_parser("simulator", help="serve the Ozon Seller API simulator on loopback")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--scenario", type=Path, help="scenario TOML (docs/SIMULATOR.md)")
    p.add_argument("--seed", type=int)
    p.set_defaults(handler=_simulator)

    p = sub.add_parser("alerts", help="list, acknowledge and silence alerts")
    alerts_sub = p.add_subparsers(dest="alerts_command", required=True)
    a = alerts_sub.add_parser("list", help="open alerts (--all: resolved too)")
    a.add_argument("--config", required=True, type=Path)
    a.add_argument("--all", action="store_true")
    a.set_defaults(handler=_alerts_list)
    a = alerts_sub.add_parser("ack", help="acknowledge an alert: no repeats until it gets worse or resolves")
    a.add_argument("fingerprint")
    a.add_argument("--config", required=True, type=Path)
    a.add_argument("--note", default="")
    a.set_defaults(handler=_alerts_ack)
    a = alerts_sub.add_parser("silence", help="suppress notifications matching a rule, SKU and/or account")
    a.add_argument("--config", required=True, type=Path)
    a.add_argument("--rule")
    a.add_argument("--sku", type=int)
    a.add_argument("--account")
    a.add_argument("--for", dest="duration", required=True, type=_duration_arg, help="e.g. 90m, 12h, 3d")
    a.add_argument("--reason", required=True)
    a.set_defaults(handler=_alerts_silence)
    a = alerts_sub.add_parser("silences", help="active silences")
    a.add_argument("--config", required=True, type=Path)
    a.set_defaults(handler=_alerts_silences)
    a = alerts_sub.add_parser("unsilence", help="end a silence now")
    a.add_argument("id", type=int)
    a.add_argument("--config", required=True, type=Path)
    a.set_defaults(handler=_alerts_unsilence)

    p = sub.add_parser("drafts", help="support-request drafts saved under the state directory")
    p.add_argument("action", choices=["list", "show"], nargs="?", default="list")
    p.add_argument("id", nargs="?", help="for show: a draft's file name or fingerprint (a prefix is enough)")
    p.add_argument("--config", required=True, type=Path)
    p.set_defaults(handler=_drafts)

    p = sub.add_parser("status", help="per account: data sources, next run, open alerts, API errors, key expiry; "
                       "the outbox and the state file")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_status)

    p = sub.add_parser("backup", help="copy the state file while the daemon runs (SQLite online backup)")
    p.add_argument("file", type=Path, help="where to write the copy (replaced if it exists)")
    p.add_argument("--config", required=True, type=Path)
    p.set_defaults(handler=_backup)

    p = sub.add_parser("test-alert", help="send a test message through each channel and report the outcome")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--channel", help="only this channel")
    p.set_defaults(handler=_test_alert)

    p = sub.add_parser("config", help="config file tools")
    config_sub = p.add_subparsers(dest="config_command", required=True)
    v = config_sub.add_parser("validate", help="check a config file and every API key source")
    v.add_argument("file", type=Path)
    v.add_argument("--strict", action="store_true",
                   help="also fail (exit 2) when an API key cannot be read here, as run and check do")
    v.set_defaults(handler=_validate)
    return parser


def _validate(args: argparse.Namespace) -> int:
    """The file itself must be valid. A key that is not readable here (its environment variable or
    credential may exist only where the service runs) is a warning unless --strict."""
    settings = load_config(args.file, require_secrets=args.strict)
    problem = state_dir_problem(settings.monitor.state_dir)
    if problem:
        print(f"config error:\n{args.file}: monitor.state_dir: {problem}", file=sys.stderr)
        return 2
    for problem in secret_problems(settings):
        print(f"warning: {args.file}: {problem}; run and check will fail until it is readable", file=sys.stderr)
    print(f"{args.file}: OK ({len(settings.accounts)} account(s), {len(settings.channels)} channel(s), "
          f"state in {settings.monitor.state_dir})")
    return 0


def _run(args: argparse.Namespace) -> int:
    from monitor import daemon

    try:
        clean = daemon.run(args.config.absolute())
    except daemon.AlreadyRunning as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    if not clean:
        logging.shutdown()
        os._exit(0)  # a worker thread is stuck in a network call: do not wait for it
    return 0


def _check(args: argparse.Namespace) -> int:
    settings = load_config(args.config)
    language = settings.monitor.language
    def one(name: str, progress: Progress | None = None) -> CycleResult:
        with logs.job("check", name):
            return run_cycle(settings, name, progress=progress)
    if len(settings.accounts) == 1:
        results = [one(settings.accounts[0].name, _progress())]
    else:  # side by side, so a hanging shop costs one cycle budget, not one per shop after it
        with ThreadPoolExecutor(len(settings.accounts)) as pool:
            results = list(pool.map(one, [a.name for a in settings.accounts]))
    delivery = deliver_all(settings)
    if args.json:
        print(json.dumps({"findings": [f for r in results for f in r.findings_json()],
                          "unchecked": [u for r in results for u in r.unchecked_json()],
                          "delivery": {"delivered": delivery.delivered, "failed": delivery.failed}},
                         ensure_ascii=False, indent=2))
    else:
        for result in results:
            print_result(result, language, settings.monitor.tz)
        print_delivery(delivery, language)
    return 1 if any(r.unchecked or r.interrupted for r in results) or delivery.failed else 0


def _progress():
    """Page-by-page counts on a terminal (first backfill can take a while); silent otherwise."""
    if not sys.stderr.isatty():
        return None

    def show(source: str, count: int) -> None:
        print(f"\r  syncing {source}: {count} records", end="", file=sys.stderr, flush=True)
    return show


def _simulator(args: argparse.Namespace) -> int:
    import threading

    from monitor.simulator import Simulator, SimulatorServer, World, load_scenario

    try:
        scenario = load_scenario(args.scenario, datetime.now(timezone.utc), args.seed)
    except (ValueError, TypeError, OSError) as exc:
        print(f"error: scenario {args.scenario}: {exc}", file=sys.stderr)
        return 2
    with SimulatorServer(Simulator(World(scenario)), args.port) as server:
        print(f"Ozon Seller API simulator on {server.base_url} (Client-Id {scenario.client_id}, "
              f"Api-Key {scenario.api_key!r}); Ctrl+C to stop", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


def _date_arg(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; expected YYYY-MM-DD") from None


def _backtest(args: argparse.Namespace) -> int:
    from monitor.backtest import backtest

    settings = load_config(args.config, require_secrets=False)
    tz = settings.monitor.tz
    start = datetime.combine(args.start, datetime.min.time(), tz)
    end = datetime.combine(args.end + timedelta(days=1), datetime.min.time(), tz)
    accounts = [args.account] if args.account else [a.name for a in settings.accounts]
    rows = []
    for account in accounts:
        try:
            events = backtest(settings, account, start, end, timedelta(minutes=args.step_minutes))
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        rows += [{"account": account, "at": e.at.astimezone(tz).isoformat(), "event": e.kind, "rule": e.rule,
                  "severity": e.severity, "fingerprint": e.fingerprint, "title": e.title} for e in events]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    from rules.replay import REPLAYABLE

    print(f"Replayed {args.start}..{args.end} every {args.step_minutes} min with: {', '.join(REPLAYABLE)}")
    for row in rows:
        print(f"{row['at'][:16].replace('T', ' ')}  {row['account']}  {row['event']:<9} {row['severity']:<8} "
              f"{row['rule']:<16} {row['title']}")
    fired = Counter(r["rule"] for r in rows if r["event"] == "fired")
    print("alerts per rule: " + (", ".join(f"{rule}={n}" for rule, n in sorted(fired.items())) or "none"))
    return 0


def _detect(args: argparse.Namespace) -> int:
    kind, directions = args.kind, None
    if args.rule is not None:
        if args.rule not in RULE_DEFAULTS:
            print(f"error: --rule {args.rule!r} has no series detector; choose one of: {', '.join(RULE_DEFAULTS)}",
                  file=sys.stderr)
            return 2
        kind, directions = kind or RULE_DEFAULTS[args.rule][0], RULE_DEFAULTS[args.rule][1]
    if args.direction:
        directions = ("down", "up") if args.direction == "both" else (args.direction,)
    if not args.false_alarms > 0:
        print("error: --false-alarms must be above 0", file=sys.stderr)
        return 2
    try:
        tz = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"error: --tz {args.tz!r} is not a known time zone (e.g. Europe/Moscow)", file=sys.stderr)
        return 2
    try:
        series, kind = read_series(args.csv, tz, kind)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    found = detect(series, kind, tz, directions or ("down", "up"), args.false_alarms)
    if args.json:
        print(json.dumps({"kind": kind, "step_seconds": series.step.total_seconds(), "points": len(series.values),
                          "notes": series.notes, "episodes": [as_json(e) for e in found]}, indent=2))
        return 0
    print(f"{len(series.values)} steps of {series.step} from {series.start.astimezone(tz).isoformat()}, read as "
          f"{'counts' if kind == 'count' else 'levels'}; {len(found)} episodes")
    for note in series.notes:
        print(f"  note: {note}")
    for e in found:
        end = e.end.astimezone(tz).isoformat() if e.end else "still going"
        print(f"{e.onset.astimezone(tz).isoformat()}  {e.direction:<4} {e.what:<6} seen at "
              f"{e.detected.astimezone(tz).isoformat()}, until {end}; observed {e.observed:g}, expected {e.expected:g}")
    return 0


def _duration_arg(value: str) -> timedelta:
    units = {"m": "minutes", "h": "hours", "d": "days"}
    try:
        return timedelta(**{units[value[-1]]: float(value[:-1])})
    except (KeyError, ValueError):
        raise argparse.ArgumentTypeError(f"{value!r} is not a duration; expected e.g. 90m, 12h or 3d") from None


def _store(args: argparse.Namespace, *, write: bool = False) -> tuple[Settings, Store]:
    """The settings and the state file; a command that only reads never creates, upgrades or
    moves the file aside (a damaged file is named, exit 3, for `check` or `run` to repair)."""
    settings = load_config(args.config, require_secrets=False)
    state_dir = settings.monitor.state_dir
    return settings, Store.in_dir(state_dir) if write else Store.read_only(state_dir)


def _alerts_list(args: argparse.Namespace) -> int:
    settings, store = _store(args)
    tz = settings.monitor.tz
    rows = store.alerts(include_resolved=args.all)
    silences = store.silences(datetime.now(timezone.utc))
    if not rows:
        print("no open alerts" if not args.all else "no alerts")
    for row in rows:
        finding = json.loads(row["finding"])
        flags = [f"acked {row['acked_at'][:16]}"] if row["acked_at"] else []
        silence = silenced_by(row["rule"], row["account"], finding.get("affected_skus", []), silences)
        if silence:
            flags.append(f"silenced by #{silence['id']}")
        since = datetime.fromisoformat(row["started_at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M")
        print(f"{row['fingerprint']}  {row['status']:<8} {row['severity']:<8} {row['account']:<12} "
              f"{row['rule']:<17} since {since}  {finding['title']}" + (f"  [{', '.join(flags)}]" if flags else ""))
    return 0


def _alerts_ack(args: argparse.Namespace) -> int:
    _, store = _store(args, write=True)
    matches = store.open_alerts_matching(args.fingerprint)
    if len(matches) != 1:
        print(f"error: {len(matches)} open alerts match {args.fingerprint!r}; see `ozon-monitor alerts list`",
              file=sys.stderr)
        return 1
    store.acknowledge(matches[0], datetime.now(timezone.utc), args.note)
    print(f"acknowledged {matches[0]}: no repeats until it gets worse or resolves")
    return 0


def _alerts_silence(args: argparse.Namespace) -> int:
    if not (args.rule or args.sku or args.account):
        print("error: give at least one of --rule, --sku, --account", file=sys.stderr)
        return 2
    settings, store = _store(args, write=True)
    if args.rule and args.rule not in RULES:
        print(f"error: unknown rule {args.rule!r}; valid rules: {', '.join(sorted(RULES))}", file=sys.stderr)
        return 2
    if args.account and args.account not in {a.name for a in settings.accounts}:
        print(f"error: unknown account {args.account!r}", file=sys.stderr)
        return 2
    now = datetime.now(timezone.utc)
    until = now + args.duration
    silence_id = store.add_silence(args.rule, args.sku, args.account, until, args.reason, now)
    print(f"silence #{silence_id} until {until.astimezone(settings.monitor.tz):%Y-%m-%d %H:%M}")
    return 0


def _alerts_silences(args: argparse.Namespace) -> int:
    settings, store = _store(args)
    rows = store.silences(datetime.now(timezone.utc))
    for row in rows:
        what = ", ".join(f"{k}={row[k]}" for k in ("rule", "sku", "account") if row[k] is not None)
        until = datetime.fromisoformat(row["until"]).astimezone(settings.monitor.tz)
        print(f"#{row['id']}  {what}  until {until:%Y-%m-%d %H:%M}  {row['reason']}")
    if not rows:
        print("no active silences")
    return 0


def _alerts_unsilence(args: argparse.Namespace) -> int:
    _, store = _store(args, write=True)
    if not store.end_silence(args.id, datetime.now(timezone.utc)):
        print(f"error: no silence #{args.id}", file=sys.stderr)
        return 1
    print(f"silence #{args.id} ended")
    return 0


def _drafts(args: argparse.Namespace) -> int:
    settings = load_config(args.config, require_secrets=False)
    state_dir = settings.monitor.state_dir
    if args.action == "list":
        found = drafts.listed(state_dir)
        for draft in found:
            print(f"{draft.name}  {'resolved' if draft.resolved else 'open    '}  {draft.subject}")
        if not found:
            print("no drafts yet")
        return 0
    matches = drafts.find(state_dir, args.id) if args.id else []
    if len(matches) != 1:
        print(f"error: {len(matches)} drafts match {args.id!r}; see `ozon-monitor drafts list`", file=sys.stderr)
        return 1
    print(matches[0].path.read_text(encoding="utf-8"), end="")
    return 0


def _status(args: argparse.Namespace) -> int:
    from monitor.daemon import running_pid

    settings, store = _store(args)
    try:
        status = status_of(settings, store, datetime.now(timezone.utc), running_pid(settings.monitor.state_dir))
    finally:
        store.close()
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
    else:
        print_status(status, settings.monitor.tz)
    return 1 if status["outbox"]["undeliverable"] else 0


def _backup(args: argparse.Namespace) -> int:
    settings, store = _store(args)
    try:
        store.backup(args.file)
    finally:
        store.close()
    print(f"state file copied to {args.file} ({args.file.stat().st_size / 1e6:.1f} MB); restore: stop the daemon, "
          f"copy it to {store.path}, start the daemon")
    return 0


def _test_alert(args: argparse.Namespace) -> int:
    from monitor.channels import send_test

    settings = load_config(args.config)
    targets = [c for c in settings.channels if args.channel in (None, c.name)]
    if not targets:
        print(f"error: no channel {args.channel!r} in {args.config}" if args.channel else
              f"error: {args.config} has no [[channels]]", file=sys.stderr)
        return 2
    account = settings.accounts[0]
    outcome = send_test(targets, settings.monitor.tz, settings.monitor.language, account.name, account.client_id,
                        datetime.now(timezone.utc).isoformat())
    for name, error in outcome.items():
        print(f"{name}: FAILED: {error}" if error else f"{name}: sent")
    return 1 if any(outcome.values()) else 0


def _demo(args: argparse.Namespace) -> int:
    from monitor.demo import run_demo

    return run_demo(args.output, args.seed, args.language)
