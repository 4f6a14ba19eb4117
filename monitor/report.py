"""What `check` and `demo` print after the cycles: per shop what was synced, what failed, the
problems found and what was said, then what the delivery step did."""
from __future__ import annotations

import sys
from typing import TextIO

from monitor.cycle import CycleResult
from monitor.outbox import Delivery
from monitor.texts import SUMMARY, WORDS, count


def print_result(result: CycleResult, language: str, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    words = SUMMARY[language]
    fetched = ", ".join(f"{source}: {count(n, 'record', language, 0)}" for source, n in result.sync.fetched.items())
    print(f"{words['shop']} {result.account}: {words['synced']} {fetched or words['nothing_new']}", file=out)
    for source, error in result.sync.errors.items():
        print(f"  ! {source}: {error}", file=out)
    if result.interrupted:
        print(f"  {words['interrupted']}", file=out)
    elif not result.findings:
        print(f"  {words['no_problems']}", file=out)
    said = {e.fingerprint for e in result.notified}
    for finding in result.findings:
        rendered = result.rendered[finding.fingerprint]
        state = words["new"] if finding.fingerprint in said else words["still_open"]
        print(f"\n  [{WORDS[language][finding.severity]}] {finding.rule}: {rendered.title} ({state})", file=out)
        print("\n".join("  " + line for line in rendered.explanation.splitlines()), file=out)
        if rendered.support_request:
            print(f"\n  --- {words['request']} ---", file=out)
            print("\n".join("  " + line for line in rendered.support_request.splitlines()), file=out)
    for event in result.notified:
        if event.event == "resolved":
            print(f"\n  [{words['resolved']}] {event.rule}: {event.title}", file=out)
            print("\n".join("  " + line for line in event.explanation.splitlines()), file=out)


def print_delivery(delivery: Delivery, language: str, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    words = SUMMARY[language]
    if delivery.delivered:
        print(words["delivered"].format(count=count(delivery.delivered, "message", language, 0)), file=out)
    if delivery.failed:
        print(words["failed"].format(count=count(delivery.failed, "message", language, 0)), file=out)
