"""Detection rules: pure functions of plain data that return findings. Never imports `monitor`."""
from __future__ import annotations

from rules.base import AccountData, Finding, Order, Rule
from rules.sales import SALES_DROP

RULES: dict[str, Rule] = {rule.name: rule for rule in (SALES_DROP,)}

__all__ = ["RULES", "AccountData", "Finding", "Order", "Rule"]
