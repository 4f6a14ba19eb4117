"""card_problems: product cards that failed, were declined by moderation, carry errors, were
archived by Ozon or made unavailable, with Ozon's own reason text."""
from __future__ import annotations

from rules.base import AccountData, Finding, Rule, RuleConfig, finding


class CardProblemsConfig(RuleConfig):
    include_warnings: bool = True  # cards with errors that do not stop sales, and auto-archived ones


def card_problems(data: AccountData, config: CardProblemsConfig) -> list[Finding]:
    """One finding per card; critical when the card cannot sell (failed, declined, unavailable)."""
    findings = []
    for card in data.cards:
        if card.archived and not card.autoarchived:
            continue  # archived by the seller: a choice, not a problem
        kinds = []
        if card.status_failed or card.moderate_status == "declined":
            kinds.append("declined")
        if card.unavailable_reasons:
            kinds.append("unavailable")
        if card.errors:
            kinds.append("errors")
        if card.autoarchived:
            kinds.append("autoarchived")
        blocking = {"declined", "unavailable"} & set(kinds)
        if not kinds or (not blocking and not config.include_warnings):
            continue
        findings.append(finding(
            "card_problems", data, severity="critical" if blocking else "warning", entity=f"sku:{card.sku}",
            started_at=card.changed_at or data.now,
            evidence={"sku": card.sku, "offer_id": card.offer_id, "name": card.name, "kinds": kinds,
                      "status": card.status, "status_name": card.status_name,
                      "moderate_status": card.moderate_status, "status_failed": card.status_failed,
                      "reasons": list(card.unavailable_reasons), "errors": list(card.errors)},
            topic="technical", affected_skus=[card.sku]))
    return findings


CARD_PROBLEMS = Rule("card_problems", CardProblemsConfig, card_problems)
