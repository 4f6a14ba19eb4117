"""The `ozon-monitor` command. Thin: parses arguments and calls the modules that do the work.

Exit status: 0 done, 1 done but a data source failed (see the message), 2 bad config or usage.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from monitor.config import ConfigError, load_config, secret_problems
from monitor.cycle import CycleResult, run_cycle


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO if args.command == "run"
                        else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(f"config error:\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ozon-monitor", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the monitoring daemon until SIGTERM/SIGINT")
    p.add_argument("--config", required=True, type=Path)
    p.set_defaults(handler=_run)

    p = sub.add_parser("check", help="run one sync + evaluation cycle for every account, then exit")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--json", action="store_true", help="print the findings as a JSON array")
    p.set_defaults(handler=_check)

    p = sub.add_parser("demo", help="run the monitor against the built-in simulator and show what it raises")
    p.add_argument("--output", type=Path, default=Path("demo-output"), help="folder for state, alerts and drafts")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--language", choices=["ru", "en"], default="ru")
    p.set_defaults(handler=_demo)

    p = sub.add_parser("simulator", help="serve the Ozon Seller API simulator on loopback")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--scenario", type=Path, help="scenario TOML (docs/SIMULATOR.md)")
    p.add_argument("--seed", type=int)
    p.set_defaults(handler=_simulator)

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
    for problem in secret_problems(settings):
        print(f"warning: {args.file}: {problem}; run and check will fail until it is readable", file=sys.stderr)
    print(f"{args.file}: OK ({len(settings.accounts)} account(s), {len(settings.channels)} channel(s), "
          f"state in {settings.monitor.state_dir})")
    return 0


def _run(args: argparse.Namespace) -> int:
    from monitor import daemon

    daemon.run(load_config(args.config))
    return 0


def _check(args: argparse.Namespace) -> int:
    settings = load_config(args.config)
    results = [run_cycle(settings, a.name, progress=_progress()) for a in settings.accounts]
    if args.json:
        print(json.dumps([f for r in results for f in r.findings_json()], ensure_ascii=False, indent=2))
    else:
        for result in results:
            print_result(result)
    return 1 if any(r.sync.errors for r in results) else 0


def print_result(result: CycleResult, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    fetched = ", ".join(f"{k}={v}" for k, v in result.sync.fetched.items()) or "nothing new"
    print(f"{result.account}: synced {fetched}", file=out)
    for source, error in result.sync.errors.items():
        print(f"  ! {source}: {error}", file=out)
    if not result.findings:
        print("  no problems found", file=out)
    sent = {m["fingerprint"] for m in result.notified}
    for finding in result.findings:
        rendered = result.rendered[finding.fingerprint]
        state = "new" if finding.fingerprint in sent else "still open, already reported"
        print(f"\n  [{finding.severity.upper()}] {finding.rule}: {rendered.title} ({state})", file=out)
        print("\n".join("  " + line for line in rendered.explanation.splitlines()), file=out)
        if rendered.support_request:
            print("\n  --- support request ---", file=out)
            print("\n".join("  " + line for line in rendered.support_request.splitlines()), file=out)
    resolved = [m for m in result.notified if m["event"] == "resolved"]
    for message in resolved:
        print(f"\n  [RESOLVED] {message['rule']}: {message['title']}", file=out)


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

    scenario = load_scenario(args.scenario, datetime.now(timezone.utc), args.seed)
    with SimulatorServer(Simulator(World(scenario)), args.port) as server:
        print(f"Ozon Seller API simulator on {server.base_url} (Client-Id {scenario.client_id}, "
              f"Api-Key {scenario.api_key!r}); Ctrl+C to stop", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


def _demo(args: argparse.Namespace) -> int:
    from monitor.demo import run_demo

    return run_demo(args.output, args.seed, args.language)
