"""Print what the rules find on a state file at evenly spaced moments, one line per finding
(rule, entity, severity, title, explanation), for a before/after comparison of a change that
must not change a finding: run it with the old and the new code on the same file and diff.

    .venv/bin/ozon-monitor demo --output /tmp/demo
    .venv/bin/python bench/findings_at_moments.py /tmp/demo/state > after.txt
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor import facts  # noqa: E402
from monitor.sources import coverage  # noqa: E402
from monitor.store import Store  # noqa: E402
from monitor.support import render  # noqa: E402
from rules import RULES, run_rules  # noqa: E402
from rules.replay import as_of  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("state_dir", type=Path)
    parser.add_argument("--moments", type=int, default=50)
    args = parser.parse_args()
    tz = ZoneInfo("Europe/Moscow")
    store = Store.read_only(args.state_dir)
    configs = {name: rule.Config() for name, rule in RULES.items()}
    with sqlite3.connect(f"file:{args.state_dir / Store.FILENAME}?mode=ro", uri=True) as db:
        accounts = [row[0] for row in db.execute("select distinct account from cursors order by account")]
    for account in accounts:
        since, until = coverage(store, account)
        if since is None or until is None:
            continue
        data = facts.account_data(store, account, 1, until, since, tz, replay=True)
        span = (until - since) / args.moments
        for k in range(1, args.moments + 1):
            moment = since + span * k
            view = data if k == args.moments else as_of(data, moment)
            for f in sorted(run_rules(view, configs, checked_at=moment).findings, key=lambda f: f.fingerprint):
                said = render(f, "ru", tz, moment)
                print(f"{account} {moment:%Y-%m-%d %H:%M} {f.rule} {f.entity} {f.severity} | {said.title} | "
                      f"{said.explanation}".replace("\n", " / "))
    store.close()


if __name__ == "__main__":
    main()
