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
import tomllib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor import drafts, logs, wizard
from monitor.alerts import silenced_by
from monitor.config import (CONFIG_PLACES, ConfigError, Settings, config_flag, default_config, load_config,
                            same_shop_twice, secret_problems)
from monitor.cycle import CycleResult, deliver_all, run_cycle
from monitor.i18n import LANGUAGES
from monitor.secrets import os_error
from monitor.report import print_delivery, print_result, print_status, status_of, unmatched_overrides
from monitor.store import BackupFailed, StorageError, Store, parse, state_dir_problem
from monitor.sources import Progress
from monitor.texts import SOURCE_NAMES, WORDS, Said, count, day, duration, measured, number, rule_name, say, when
from rules import RULES
from rules.base import Keyed, as_json, parse_day
from rules.detect import RULE_DEFAULTS, UnreadableSeries, closed_days, detect, read_series, russian_holidays


def main(argv: list[str] | None = None) -> int:
    lang = _language(_first_look(sys.argv[1:] if argv is None else argv))
    args = _parser(lang).parse_args(argv)
    logs.speak(lang)
    logs.setup(logging.DEBUG if args.verbose else logging.INFO if args.command == "run" else logging.WARNING)
    if not args.verbose:  # a line per HTTP request or per job run is noise in a service's log
        for noisy in ("httpx", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    if not _find_config(args):
        here, system = CONFIG_PLACES
        print(say(lang, "cli.no_config", here=here, system=system), file=sys.stderr)
        return 2
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(say(lang, "cli.config_error", problems=exc.text(lang)), file=sys.stderr)
        return 2
    except StorageError as exc:
        print(say(lang, "cli.state_error", error=exc.text(lang)), file=sys.stderr)
        return 3
    except sqlite3.Error as exc:  # a fault the store did not name (a read of a file damaged under it)
        print(say(lang, "cli.state_sqlite_error", error=exc), file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the interpreter flushes it at exit)
        return 1


def _find_config(args: argparse.Namespace) -> bool:
    """Fill in the config a command was not given (`--config`, `config validate`'s FILE); False
    if there is none to fill in."""
    slot = "file" if args.command == "config" else "config"
    if getattr(args, slot, False) is None:
        setattr(args, slot, default_config())
    return getattr(args, slot, False) is not None


def _first_look(argv: list[str]) -> argparse.Namespace:
    """--lang and the config (--config, or `config validate FILE`) before the command line is
    parsed, so that its help and errors are said in the language they ask for."""
    look = argparse.ArgumentParser(add_help=False)
    for option in ("--lang", "--config"):
        look.add_argument(option, nargs="?")
    known, rest = look.parse_known_args(argv)
    words = [word for word in rest if not word.startswith("-")]
    if words[:2] == ["config", "validate"] and len(words) > 2:
        known.file = words[2]
    if not known.config and not getattr(known, "file", None):
        known.config = default_config()
    return known


def _language(args: argparse.Namespace, settings: Settings | None = None) -> str:
    """The language a command speaks: --lang, then $OZON_MONITOR_LANG, then the config's
    `[monitor] language` (read leniently, so even a config error is said in it), then Russian."""
    forced = args.lang or os.environ.get("OZON_MONITOR_LANG")
    if forced in LANGUAGES:
        return forced
    if settings is not None:
        return settings.monitor.language
    path = getattr(args, "config", None) or getattr(args, "file", None)
    try:
        configured = tomllib.loads(Path(str(path)).read_text(encoding="utf-8-sig"))["monitor"]["language"]
    except (OSError, TypeError, KeyError, ValueError):
        configured = None
    return configured if configured in LANGUAGES else "ru"


def _settings(args: argparse.Namespace, *, require_secrets: bool = True) -> Settings:
    """The config, speaking the language --lang or $OZON_MONITOR_LANG asks for, alert texts too."""
    settings = load_config(args.config, require_secrets=require_secrets)
    logs.keep_time_in(settings.monitor.tz)
    lang = _language(args, settings)
    if lang == settings.monitor.language:
        return settings
    return settings.model_copy(update={"monitor": settings.monitor.model_copy(update={"language": lang})})


def _parser(lang: str) -> argparse.ArgumentParser:
    """The command line in `lang`: our help texts from the catalogue, argparse's own words
    (usage, its errors) through the gettext hook it calls them by."""
    words = LANGUAGES[lang].argparse
    argparse._ = lambda text: words.get(text, text)  # type: ignore[attr-defined]

    def h(key: str, **params: Any) -> str:
        return say(lang, f"help.{key}", **params)

    def m(key: str) -> str:
        return say(lang, f"metavar.{key}")

    parser = argparse.ArgumentParser(prog="ozon-monitor", description=h("description"), epilog=h("epilog"))
    parser.add_argument("-v", "--verbose", action="store_true", help=h("verbose"))
    parser.add_argument("--lang", choices=list(LANGUAGES), help=h("lang"))
    sub = parser.add_subparsers(dest="command", required=True, metavar=m("command"))

    def command(name: str, handler: Any, parent: Any = sub, help_key: str | None = None) -> argparse.ArgumentParser:
        said = h(help_key or name.replace("-", "_"))
        p = parent.add_parser(name, help=said, description=said)
        if handler:
            p.set_defaults(handler=handler)
        return p

    def config(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", type=Path, metavar=m("file"), help=h("config"))

    wizard.add_arguments(command("init", wizard.run), h, m)

    config(command("run", _run))

    p = command("check", _check)
    config(p)
    p.add_argument("--json", action="store_true", help=h("check_json"))

    p = command("backtest", _backtest)
    config(p)
    p.add_argument("--from", dest="start", required=True, type=partial(_date_arg, lang), metavar=m("date"), help=h("from"))
    p.add_argument("--to", dest="end", required=True, type=partial(_date_arg, lang), metavar=m("date"), help=h("to"))
    p.add_argument("--account", metavar=m("name"), help=h("account"))
    p.add_argument("--step-minutes", type=int, default=60, metavar=m("minutes"), help=h("step_minutes"))
    p.add_argument("--json", action="store_true", help=h("json"))

    p = command("detect", _detect)
    p.add_argument("file", nargs="?", type=Path, metavar=m("file"), help=h("csv"))
    p.add_argument("--csv", type=Path, metavar=m("file"), help=h("csv_option"))
    p.add_argument("--kind", choices=["count", "level"], help=h("kind"))
    p.add_argument("--direction", choices=["down", "up", "both"], help=h("direction"))
    p.add_argument("--rule", metavar=m("rule"), help=h("rule", rules=", ".join(RULE_DEFAULTS)))
    p.add_argument("--false-alarms", type=float, default=0.2, metavar=m("per_month"), help=h("false_alarms"))
    p.add_argument("--tz", default="Europe/Moscow", metavar=m("zone"), help=h("tz"))
    p.add_argument("--closed", default="", metavar=m("dates"), help=h("closed"))
    p.add_argument("--holidays", choices=["ru", "none"], default="ru", help=h("holidays"))
    p.add_argument("--json", action="store_true", help=h("json"))

    p = command("demo", _demo)
    p.add_argument("--output", type=Path, default=Path("demo-output"), metavar=m("folder"), help=h("output"))
    p.add_argument("--seed", type=int, default=7, metavar=m("number"), help=h("seed"))
    p.add_argument("--language", choices=list(LANGUAGES), default="ru", help=h("demo_language"))

    p = command("simulator", _simulator)
    p.add_argument("--port", type=int, default=8765, metavar=m("port"), help=h("port"))
    p.add_argument("--scenario", type=Path, metavar=m("file"), help=h("scenario"))
    p.add_argument("--seed", type=int, metavar=m("number"), help=h("seed"))

    p = command("alerts", None)
    alerts_sub = p.add_subparsers(dest="alerts_command", required=True, metavar=m("command"))
    a = command("list", _alerts_list, alerts_sub, "alerts_list")
    config(a)
    a.add_argument("--all", action="store_true", help=h("all"))
    a = command("ack", _alerts_ack, alerts_sub, "alerts_ack")
    a.add_argument("fingerprint", metavar=m("id"), help=h("fingerprint"))
    config(a)
    a.add_argument("--note", default="", metavar=m("text"), help=h("note"))
    a = command("silence", _alerts_silence, alerts_sub, "alerts_silence")
    config(a)
    a.add_argument("--rule", metavar=m("rule"), help=h("silence_rule"))
    a.add_argument("--sku", type=int, help=h("silence_sku"))
    a.add_argument("--account", metavar=m("name"), help=h("silence_account"))
    a.add_argument("--for", dest="duration", required=True, type=partial(_duration_arg, lang), metavar=m("duration"), help=h("silence_for"))
    a.add_argument("--reason", required=True, metavar=m("text"), help=h("reason"))
    config(command("silences", _alerts_silences, alerts_sub, "alerts_silences"))
    a = command("unsilence", _alerts_unsilence, alerts_sub, "alerts_unsilence")
    a.add_argument("id", type=int, metavar=m("id"), help=h("silence_id"))
    config(a)

    p = command("drafts", _drafts)
    p.add_argument("action", choices=["list", "show"], nargs="?", default="list", help=h("drafts_action"))
    p.add_argument("id", nargs="?", metavar=m("id"), help=h("draft_id"))
    config(p)

    p = command("digest", _digest)
    config(p)
    p.add_argument("--shop", metavar=m("name"), help=h("shop"))

    p = command("status", _status)
    config(p)
    p.add_argument("--json", action="store_true", help=h("json"))

    p = command("backup", _backup)
    p.add_argument("file", type=Path, metavar=m("file"), help=h("backup_file"))
    config(p)

    p = command("test-alert", _test_alert)
    config(p)
    p.add_argument("--channel", metavar=m("name"), help=h("channel"))

    p = command("config", None, help_key="config_tools")
    config_sub = p.add_subparsers(dest="config_command", required=True, metavar=m("command"))
    v = command("validate", _validate, config_sub)
    v.add_argument("file", type=Path, nargs="?", metavar=m("file"), help=h("config"))
    v.add_argument("--strict", action="store_true", help=h("strict"))
    return parser


def _validate(args: argparse.Namespace) -> int:
    """The file itself must be valid. A key that is not readable here (its environment variable or
    credential may exist only where the service runs) is a warning unless --strict."""
    settings = load_config(args.file, require_secrets=args.strict)
    lang = _language(args, settings)
    problem = state_dir_problem(settings.monitor.state_dir)
    if problem:
        raise ConfigError([Said("config.in_file", path=args.file, what=Said("config.at", where="monitor.state_dir",
                                                                             what=problem))])
    warned = False
    for warning in same_shop_twice(settings):
        print(warning.text(lang), file=sys.stderr)
        warned = True
    for problem in secret_problems(settings):
        print(say(lang, "config.secret_warning", problem=Said("config.in_file", path=args.file, what=problem).text(lang)),
              file=sys.stderr)
        warned = True
    if (settings.monitor.state_dir / Store.FILENAME).exists():  # after the first sync: overrides must name products
        try:
            store = Store.read_only(settings.monitor.state_dir)
        except StorageError:
            store = None  # a state file check or run will repair: not this command's business
        if store is not None:
            try:
                for warning in unmatched_overrides(settings, store):
                    print(warning.text(lang), file=sys.stderr)
                    warned = True
            finally:
                store.close()
    print(say(lang, "cli.config_warned" if warned else "cli.config_ok", file=args.file, accounts=count(len(settings.accounts), "shop", lang, 0),
              channels=count(len(settings.channels), "channel", lang, 0), state_dir=settings.monitor.state_dir))
    return 0


def _run(args: argparse.Namespace) -> int:
    from monitor import daemon

    try:
        clean = daemon.run(args.config.absolute())
    except daemon.AlreadyRunning as exc:
        print(say(_language(args), "cli.already_running", pid=exc.pid, state_dir=exc.state_dir), file=sys.stderr)
        return 3
    if not clean:
        logging.shutdown()
        os._exit(0)  # a worker thread is stuck in a network call: do not wait for it
    return 0


def _check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    language = _language(args, settings)

    def one(name: str, progress: Progress | None = None) -> CycleResult:
        started = datetime.now(timezone.utc)
        with logs.job("check", name):
            result = run_cycle(settings, name, progress=progress)
        store = Store.in_dir(settings.monitor.state_dir)  # `status` says when the shop was last checked
        try:
            store.record_cycle(name, started, datetime.now(timezone.utc), None)
        finally:
            store.close()
        return result
    if len(settings.accounts) == 1:
        results = [one(settings.accounts[0].name, _progress(language))]
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
            print_result(result, language, settings.monitor.tz, detail=args.verbose)
        print_delivery(delivery, language)
        store = Store.read_only(settings.monitor.state_dir)
        try:
            for problem in same_shop_twice(settings) + unmatched_overrides(settings, store):
                print(problem.text(language), file=sys.stderr)
        finally:
            store.close()
    return 1 if any(r.unchecked or r.interrupted for r in results) or delivery.failed else 0


def _progress(lang: str) -> Progress | None:
    """Page-by-page counts on a terminal (first backfill can take a while); silent otherwise."""
    if not sys.stderr.isatty():
        return None

    def show(source: str, done: int) -> None:
        print("\r  " + say(lang, "cli.syncing", source=SOURCE_NAMES[lang].get(source, source),
                            records=count(done, "record", lang, 0)), end="", file=sys.stderr, flush=True)
    return show


def _simulator(args: argparse.Namespace) -> int:
    import threading

    from monitor.simulator import Simulator, SimulatorServer, World, load_scenario

    try:
        scenario = load_scenario(args.scenario, datetime.now(timezone.utc), args.seed)
    except ConfigError as exc:
        print(say(_language(args), "cli.bad_scenario", problems=exc.text(_language(args))), file=sys.stderr)
        return 2
    with SimulatorServer(Simulator(World(scenario)), args.port) as server:
        print(say(_language(args), "cli.simulator", url=server.base_url, client_id=scenario.client_id,
                  api_key=scenario.api_key), flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


def _unknown_shop(settings: Settings, name: str | None, lang: str) -> bool:
    """Whether `name` is given and is no shop of the config; said, for the caller's exit 2."""
    names = [a.name for a in settings.accounts]
    if name is None or name in names:
        return False
    print(say(lang, "cli.unknown_shop", account=name, valid=", ".join(names)), file=sys.stderr)
    return True


def _date_arg(lang: str, value: str) -> date:
    try:
        return parse_day(value)
    except ValueError:
        raise argparse.ArgumentTypeError(say(lang, "cli.bad_date", value=value)) from None


def _backtest(args: argparse.Namespace) -> int:
    from monitor.backtest import backtest

    settings = _settings(args, require_secrets=False)
    lang, tz = _language(args, settings), settings.monitor.tz
    if args.end < args.start:
        print(say(lang, "cli.backtest_order", start=day(args.start, lang), end=day(args.end, lang)), file=sys.stderr)
        return 2
    if _unknown_shop(settings, args.account, lang):
        return 2
    names = [a.name for a in settings.accounts]
    start = datetime.combine(args.start, datetime.min.time(), tz)
    end = datetime.combine(args.end + timedelta(days=1), datetime.min.time(), tz)
    found: list[tuple[str, Any]] = []
    blind = False  # a shop with nothing synced: the others are still replayed
    for account in [args.account] if args.account else names:
        try:
            replay = backtest(settings, account, start, end, timedelta(minutes=args.step_minutes))
        except Keyed as refused:
            print(say(lang, refused.key, **refused.params), file=sys.stderr)
            blind = True
            continue
        found += [(account, e) for e in replay.events]
        if replay.since > start or replay.until < end:
            print(say(lang, "cli.backtest_history", account=account, since=when(replay.since, lang, tz),
                      until=when(replay.until, lang, tz)), file=sys.stderr)
    if args.json:
        print(json.dumps([{"account": account, "at": e.at.astimezone(tz).isoformat(), "event": e.kind, "rule": e.rule,
                           "severity": e.severity, "fingerprint": e.fingerprint, "title": e.title}
                          for account, e in found], ensure_ascii=False, indent=2))
        return 1 if blind else 0
    from rules.replay import REPLAYABLE

    print(say(lang, "cli.backtest", start=day(args.start, lang), end=day(args.end, lang),
              every=count(args.step_minutes, "minute", lang, 0),
              rules=", ".join(rule_name(r, lang) for r in REPLAYABLE)))
    happened = LANGUAGES[lang].alert_events
    for account, e in found:
        print(f"{when(e.at, lang, tz)}  {account}  {happened.get(e.kind, e.kind)}  "
              f"[{WORDS[lang][e.severity]}] {rule_name(e.rule, lang)}: {e.title}")
    fired = Counter(e.rule for _, e in found if e.kind == "fired")
    print(say(lang, "cli.backtest_total", per_rule=", ".join(f"{rule_name(rule, lang)} — {n}" for rule, n in
                                                              sorted(fired.items())) or say(lang, "cli.none")))
    return 1 if blind else 0


def _detect(args: argparse.Namespace) -> int:
    lang = _language(args)
    path = args.file or args.csv
    if path is None:
        print(say(lang, "cli.detect_no_file"), file=sys.stderr)
        return 2
    kind, directions = args.kind, None
    if args.rule is not None:
        if args.rule not in RULE_DEFAULTS:
            print(say(lang, "cli.detect_rule", rule=args.rule, valid=", ".join(RULE_DEFAULTS)), file=sys.stderr)
            return 2
        kind, directions = kind or RULE_DEFAULTS[args.rule][0], RULE_DEFAULTS[args.rule][1]
    if args.direction:
        directions = ("down", "up") if args.direction == "both" else (args.direction,)
    if not args.false_alarms > 0:
        print(say(lang, "cli.detect_budget"), file=sys.stderr)
        return 2
    try:
        tz = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        print(say(lang, "cli.detect_tz", tz=args.tz), file=sys.stderr)
        return 2
    try:
        closed = closed_days(args.closed)
    except ValueError as exc:
        print(say(lang, "cli.detect_closed", value=str(exc)), file=sys.stderr)
        return 2
    try:
        series, kind = read_series(path, tz, kind)
    except UnreadableSeries as exc:
        params = {k: os_error(v).text(lang) if isinstance(v, OSError) else v for k, v in exc.params.items()}
        print(say(lang, "cli.error", error=say(lang, exc.key, **params)), file=sys.stderr)
        return 2
    if args.holidays == "ru":
        closed |= russian_holidays(series.start.year, series.at(len(series.values)).year)
    found = detect(series, kind, tz, directions or ("down", "up"), args.false_alarms, closed=closed)
    if args.json:
        print(json.dumps({"kind": kind, "step_seconds": series.step.total_seconds(), "points": len(series.values),
                          "notes": [say("en", key, **params) for key, params in series.notes],
                          "episodes": [as_json(e) for e in found]}, indent=2))
        return 0
    step = duration(series.step, lang)
    print(say(lang, "cli.detect_read", points=len(series.values), step=step, start=when(series.start, lang, tz),
              kind=say(lang, f"cli.detect_{kind}"), episodes=count(len(found), "episode", lang, 0)))
    for key, params in series.notes:
        print("  " + say(lang, "cli.note", note=say(lang, key, **params)))
    series_end = series.at(len(series.values))
    for e in found:
        lasted = duration((e.end or series_end) - e.onset, lang)
        end = say(lang, "cli.detect_until", end=when(e.end, lang, tz), lasted=lasted) if e.end else \
            say(lang, "cli.detect_going", lasted=lasted)
        what = say(lang, f"cli.detect_{e.what}_{e.direction}")
        observed, expected = (count(e.observed, "order", lang, 0), count(e.expected, "order", lang, 0)) \
            if kind == "count" else (measured(e.observed, lang), measured(e.expected, lang))
        print(say(lang, "cli.detect_episode", onset=when(e.onset, lang, tz), what=what,
                  detected=when(e.detected, lang, tz), end=end, observed=observed, expected=expected))
    return 0


def _duration_arg(lang: str, value: str) -> timedelta:
    units = {"m": "minutes", "h": "hours", "d": "days"}
    try:
        return timedelta(**{units[value[-1]]: float(value[:-1])})
    except (KeyError, ValueError, IndexError):
        raise argparse.ArgumentTypeError(say(lang, "cli.bad_duration", value=value)) from None


def _store(args: argparse.Namespace, *, write: bool = False) -> tuple[Settings, Store, str]:
    """The settings, the state file and the language; a command that only reads never creates,
    upgrades or moves the file aside (a damaged file is named, exit 3, for `check` or `run` to repair)."""
    settings = _settings(args, require_secrets=False)
    state_dir = settings.monitor.state_dir
    return settings, Store.in_dir(state_dir) if write else Store.read_only(state_dir), _language(args, settings)


def _alerts_list(args: argparse.Namespace) -> int:
    settings, store, lang = _store(args)
    tz = settings.monitor.tz
    rows = store.alerts(include_resolved=args.all)
    silences = store.silences(datetime.now(timezone.utc))
    if not rows:
        print(say(lang, "cli.no_alerts" if args.all else "cli.no_open_alerts"))
    states = LANGUAGES[lang].alert_states
    for row in rows:
        finding = json.loads(row["finding"])
        state = states["acked" if row["acked_at"] and row["status"] == "firing" else row["status"]]
        flags = [say(lang, "cli.acked_at", at=when(parse(row["acked_at"]) or datetime.now(timezone.utc), lang, tz))] \
            if row["acked_at"] else []
        silence = silenced_by(row["rule"], row["account"], finding.get("affected_skus", []), silences)
        if silence:
            flags.append(say(lang, "cli.silenced_by", id=silence["id"]))
        started = parse(row["started_at"]) or datetime.now(timezone.utc)
        print(f"{row['number'] or '-':>3}. [{WORDS[lang][row['severity']]}] {state} · {row['account']} · "
              f"{rule_name(row['rule'], lang)}: {finding['title']}")
        print("     " + say(lang, "cli.alert_since", since=when(started, lang, tz), fingerprint=row["fingerprint"])
              + "".join(f"; {flag}" for flag in flags))
    if rows:
        print(say(lang, "cli.alerts_hint", config=config_flag(args.config)))
    return 0


def _alerts_ack(args: argparse.Namespace) -> int:
    settings, store, lang = _store(args, write=True)
    matches = store.open_alerts_matching(args.fingerprint)
    if len(matches) != 1:
        print(say(lang, "cli.ack_none" if not matches else "cli.ack_many", given=args.fingerprint, found=len(matches)),
              file=sys.stderr)
        return 1
    row = store.alert(matches[0]) or {}
    number = row.get("number") or matches[0]
    acked = parse(row.get("acked_at"))
    if acked:  # said once: acknowledging again would only move its time
        print(say(lang, "cli.acked_before", number=number, at=when(acked, lang, settings.monitor.tz)))
        return 0
    store.acknowledge(matches[0], datetime.now(timezone.utc), args.note)
    print(say(lang, "cli.acked", number=number))
    return 0


def _alerts_silence(args: argparse.Namespace) -> int:
    settings, store, lang = _store(args, write=True)
    if not (args.rule or args.sku or args.account):
        print(say(lang, "cli.silence_what"), file=sys.stderr)
        return 2
    if args.rule and args.rule not in RULES:
        print(say(lang, "cli.silence_rule", rule=args.rule, valid=", ".join(sorted(RULES))), file=sys.stderr)
        return 2
    if _unknown_shop(settings, args.account, lang):
        return 2
    now = datetime.now(timezone.utc)
    until = now + args.duration
    silence_id = store.add_silence(args.rule, args.sku, args.account, until, args.reason, now)
    print(say(lang, "cli.silenced", id=silence_id, until=when(until, lang, settings.monitor.tz)))
    return 0


def _alerts_silences(args: argparse.Namespace) -> int:
    settings, store, lang = _store(args)
    rows = store.silences(datetime.now(timezone.utc))
    for row in rows:
        what = [rule_name(row["rule"], lang)] if row["rule"] else []
        what += [f"SKU {row['sku']}"] if row["sku"] is not None else []
        what += [row["account"]] if row["account"] else []
        until = when(parse(row["until"]) or datetime.now(timezone.utc), lang, settings.monitor.tz)
        print(f"#{row['id']}  {', '.join(what)}  " + say(lang, "cli.silence_until", until=until) + f"  {row['reason']}")
    if not rows:
        print(say(lang, "cli.no_silences"))
    return 0


def _alerts_unsilence(args: argparse.Namespace) -> int:
    _, store, lang = _store(args, write=True)
    if not store.end_silence(args.id, datetime.now(timezone.utc)):
        print(say(lang, "cli.no_silence", id=args.id), file=sys.stderr)
        return 1
    print(say(lang, "cli.unsilenced", id=args.id))
    return 0


def _drafts(args: argparse.Namespace) -> int:
    settings = _settings(args, require_secrets=False)
    lang, state_dir = _language(args, settings), settings.monitor.state_dir
    if args.action == "list":
        found = drafts.listed(state_dir)
        states = LANGUAGES[lang].alert_states
        for draft in found:
            print(f"{draft.name}  {states['resolved' if draft.resolved else 'firing']}  {draft.subject}")
        print(say(lang, "cli.drafts_hint", folder=drafts.folder(state_dir)) if found else say(lang, "cli.no_drafts"))
        return 0
    key = args.id or ""
    if key.isdigit() and (state_dir / Store.FILENAME).exists():  # the number `alerts list` shows
        store = Store.read_only(state_dir)
        try:
            numbered = store.open_alerts_matching(key)
        finally:
            store.close()
        key = numbered[0] if len(numbered) == 1 else key
    matches = drafts.find(state_dir, key) if key else []
    if len(matches) != 1:
        print(say(lang, "cli.draft_none" if not matches else "cli.draft_many", given=args.id or "", found=len(matches)),
              file=sys.stderr)
        return 1
    print(matches[0].path.read_text(encoding="utf-8"), end="")
    return 0


def _status(args: argparse.Namespace) -> int:
    from monitor.daemon import running_pid

    settings, store, lang = _store(args)
    try:
        status = status_of(settings, store, datetime.now(timezone.utc), running_pid(settings.monitor.state_dir))
    finally:
        store.close()
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
    else:
        print_status(status, lang, settings.monitor.tz)
    return 1 if status["outbox"]["undeliverable"] else 0


def _digest(args: argparse.Namespace) -> int:
    from monitor.digest import summary

    settings, store, lang = _store(args)
    try:
        if _unknown_shop(settings, args.shop, lang):
            return 2
        for name in [args.shop] if args.shop else [a.name for a in settings.accounts]:
            event = summary(settings, store, name, datetime.now(timezone.utc))
            print(f"{say(lang, 'status.shop', name=name, client_id=settings.account(name).client_id)}: {event.title}")
            print(event.explanation + "\n")
    finally:
        store.close()
    return 0


def _backup(args: argparse.Namespace) -> int:
    settings, store, lang = _store(args)
    try:
        if args.file.is_dir():
            print(say(lang, "cli.backup_is_folder", file=args.file, example=args.file / "ozon-monitor-copy.db"),
                  file=sys.stderr)
            return 2
        store.backup(args.file)
    except BackupFailed as exc:
        why = os_error(exc.cause).text(lang) if isinstance(exc.cause, OSError) else f"SQLite: {exc.cause}"
        print(say(lang, "cli.backup_failed", file=args.file, why=why), file=sys.stderr)
        return 3
    finally:
        store.close()
    print(say(lang, "cli.backup", file=args.file, size=number(args.file.stat().st_size / 1e6, lang), state=store.path))
    return 0


def _test_alert(args: argparse.Namespace) -> int:
    from monitor.channels import FileConfig, send_test

    settings = _settings(args)
    lang = _language(args, settings)
    targets = [c for c in settings.channels if args.channel in (None, c.name)]
    if not targets:
        print(say(lang, "cli.no_channel", channel=args.channel, config=args.config) if args.channel else
              say(lang, "cli.no_channels", config=args.config), file=sys.stderr)
        return 2
    account = settings.accounts[0]
    outcome = send_test(targets, settings.monitor.tz, lang, account.name, account.client_id,
                        datetime.now(timezone.utc).isoformat())
    folders = {c.name: c.directory for c in targets if isinstance(c, FileConfig)}
    for name, error in outcome.items():
        print(say(lang, "cli.test_failed", channel=name, error=error) if error
              else say(lang, "cli.test_written", channel=name, folder=folders[name]) if name in folders
              else say(lang, "cli.test_sent", channel=name))
    return 1 if any(outcome.values()) else 0


def _demo(args: argparse.Namespace) -> int:
    from monitor.demo import run_demo

    return run_demo(args.output, args.seed, args.lang or args.language)
