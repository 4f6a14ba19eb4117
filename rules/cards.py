"""card_problems: product cards that failed, were declined by moderation, carry errors, were
archived by Ozon or made unavailable, with Ozon's own reason text."""
from __future__ import annotations

from dataclasses import dataclass

from rules.base import AccountData, Finding, Rule, RuleConfig, finding


@dataclass(frozen=True)
class CardProblemsEvidence:
    sku: int
    offer_id: str
    name: str
    kinds: tuple[str, ...]  # declined, unavailable, errors, autoarchived
    status: str
    status_name: str
    moderate_status: str
    status_failed: str
    reasons: tuple[str, ...]  # why Ozon made it unavailable, in Ozon's words
    errors: tuple[str, ...]


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
            evidence=CardProblemsEvidence(card.sku, card.offer_id, card.name, tuple(kinds), card.status,
                                          card.status_name, card.moderate_status, card.status_failed,
                                          card.unavailable_reasons, card.errors),
            topic="technical", affected_skus=[card.sku]))
    return findings


CARD_PROBLEMS = Rule("card_problems", CardProblemsConfig, card_problems)
