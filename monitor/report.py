"""What `check` and `demo` print after the cycles: per shop what was synced, what failed, the
problems found and what was said, then what the delivery step did."""
from __future__ import annotations

import sys
from typing import TextIO

from zoneinfo import ZoneInfo

from monitor.cycle import CycleResult, Unchecked
from monitor.outbox import Delivery
from monitor.texts import ERROR_KINDS, SOURCE_NAMES, SUMMARY, WORDS, count, when
from rules.access import error_kind


def print_result(result: CycleResult, language: str, tz: ZoneInfo, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    words = SUMMARY[language]
    fetched = ", ".join(f"{source}: {count(n, 'record', language, 0)}" for source, n in result.sync.fetched.items())
    print(f"{words['shop']} {result.account}: {words['synced']} {fetched or words['nothing_new']}", file=out)
    print_unchecked(result.unchecked, language, tz, out)
    if result.interrupted:
        print(f"  {words['interrupted']}", file=out)
    elif result.unchecked and not result.findings:
        print(f"  {words['incomplete'].format(count=count(len(result.unchecked), 'source', language, 0))}", file=out)
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


def print_unchecked(unchecked: list[Unchecked], language: str, tz: ZoneInfo, out: TextIO) -> None:
    """One line per cause: which sources could not be read, since when, and why."""
    words, names = SUMMARY[language], SOURCE_NAMES[language]
    by_cause: dict[str, list[Unchecked]] = {}
    for item in unchecked:
        by_cause.setdefault(str(error_kind(item.reason)), []).append(item)
    for kind, items in by_cause.items():
        reason = items[0].reason.removeprefix("not tried: ")
        why = ERROR_KINDS[language].get(kind, reason)
        moments = [i.last_success for i in items]
        since = words["never"] if any(m is None for m in moments) else when(min(moments), language, tz)  # type: ignore[type-var]
        sources = ", ".join(names.get(i.source, i.source) for i in items)
        print(f"  ! {words['unchecked']}: {sources} — {why}; {words['last_read']}: {since}\n    ({reason})", file=out)


def print_delivery(delivery: Delivery, language: str, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    words = SUMMARY[language]
    if delivery.delivered:
        print(words["delivered"].format(count=count(delivery.delivered, "message", language, 0)), file=out)
    if delivery.failed:
        print(words["failed"].format(count=count(delivery.failed, "message", language, 0)), file=out)
