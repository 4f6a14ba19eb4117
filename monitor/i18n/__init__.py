"""Seller-facing text in the seller's language: one catalogue module per language (`ru.py`,
`en.py`) holding every message by id, the tables of words, the plural rule and the number and
date formats. A small module of our own rather than Babel: for two languages it is 40 lines,
where Babel adds 36 MB on disk, 11 MB resident and 0.15 s to the first text."""
from __future__ import annotations

from monitor.i18n import en, ru
from monitor.i18n.base import Language

LANGUAGES: dict[str, Language] = {"ru": ru.LANGUAGE, "en": en.LANGUAGE}

__all__ = ["LANGUAGES", "Language"]
