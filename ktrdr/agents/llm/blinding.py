"""What an LLM may read: no holdout date ever; when blind, no date and no real symbol either.

DESIGN §11 "LLM blinding" (``KTRDR_LLM_BLIND``, default true): an LLM may remember what EURUSD
did in 2018, so a blind prompt names each market by an alias (``ASSET_1``) and gives times as bar
counts. Independently of blinding, nothing at or after the holdout start may reach a designer.
A :class:`PromptGuard` applies both rules to every text built from data, memory or errors before
it goes into a prompt or a tool result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

ALIAS_PREFIX = "ASSET_"
HIDDEN_DATE = "<date>"
HIDDEN_YEAR = "<year>"
# 2018-01-05, 2018-01-05T13:00:00, 2018-01-05 13:00:00+00:00 (a time and zone are optional).
ISO_DATE = re.compile(
    r"(?<![\d.])(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
)
# A bare year such as "2018" (not part of a date, a decimal or a longer number, and not a JSON
# value such as "n_samples": 2045: figures in the prompts' JSON are counts, never years).
YEAR = re.compile(r"(?<![0-9.\-])(?<!\": )(?:19|20)\d{2}(?![0-9\-]|\.\d)")
SHORT_SYMBOL = 3  # shorter symbols are matched in upper case only ("A" must not eat the article)


@dataclass(frozen=True)
class PromptGuard:
    """Scrubs prompt texts: holdout dates always; when ``blind``, every date and real symbol.

    A bare year counts as a date: hidden when blind, else when it is the holdout's year or later
    (the year 2017 is hidden for a holdout from 2017-12-08: part of it is the holdout).

    ``aliases`` maps each real symbol to its alias, e.g. ``{"EURUSD": "ASSET_1"}``.
    """

    holdout_start: pd.Timestamp
    blind: bool = True
    aliases: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def for_symbols(
        cls,
        symbols: Sequence[str],
        known: Iterable[str],
        holdout_start: pd.Timestamp,
        *,
        blind: bool,
    ) -> PromptGuard:
        """``symbols`` (the design's market first) get ASSET_1, ASSET_2 ...; then ``known``."""
        ordered = list(dict.fromkeys([*symbols, *sorted(set(known) - set(symbols))]))
        aliases = {symbol: f"{ALIAS_PREFIX}{number}" for number, symbol in enumerate(ordered, 1)}
        return cls(holdout_start=holdout_start, blind=blind, aliases=aliases)

    def name(self, symbol: str) -> str:
        """How prompts name ``symbol``: its alias when blind, else itself."""
        return self.aliases.get(symbol, symbol) if self.blind else symbol

    def means(self, written: str, symbol: str) -> bool:
        """Whether a designer's ``written`` symbol names ``symbol`` (its alias or real name)."""
        return written.strip().upper() in {symbol.upper(), self.aliases.get(symbol, symbol)}

    def text(self, text: str) -> str:
        """``text`` with the dates (and, when blind, the symbols) a designer must not read."""
        text = ISO_DATE.sub(self._date, text)
        text = YEAR.sub(self._year, text)
        if self.blind:
            for symbol, alias in self.aliases.items():
                text = _symbol_pattern(symbol).sub(alias, text)
        return text

    def issues(self, issues: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
        """Tool-result issues with their messages scrubbed."""
        return [{**issue, "message": self.text(str(issue.get("message", "")))} for issue in issues]

    def _date(self, match: re.Match[str]) -> str:
        if self.blind:
            return HIDDEN_DATE
        try:
            day = pd.Timestamp(int(match[1]), int(match[2]), int(match[3]), tz="UTC")
        except ValueError:
            return match[0]  # not a calendar date (e.g. month 13): not a date at all
        return HIDDEN_DATE if day >= self.holdout_start.normalize() else match[0]

    def _year(self, match: re.Match[str]) -> str:
        hidden = self.blind or int(match[0]) >= self.holdout_start.year
        return HIDDEN_YEAR if hidden else match[0]


def _symbol_pattern(symbol: str) -> re.Pattern[str]:
    flags = re.IGNORECASE if len(symbol) >= SHORT_SYMBOL else 0
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(symbol)}(?![A-Za-z0-9])", flags)
