"""The prompt guard: no holdout date ever; when blind, no date and no real symbol at all."""

from __future__ import annotations

import pandas as pd
import pytest

from ktrdr.agents.llm import PromptGuard
from ktrdr.agents.llm.prompts import strategy_tool_schema

HOLDOUT_START = pd.Timestamp("2017-12-08", tz="UTC")


def guard(blind: bool) -> PromptGuard:
    return PromptGuard.for_symbols(["EURUSD"], ["SP500", "EURUSD", "A"], HOLDOUT_START, blind=blind)


def test_the_design_market_is_asset_1_and_the_others_follow_sorted() -> None:
    assert dict(guard(True).aliases) == {"EURUSD": "ASSET_1", "A": "ASSET_2", "SP500": "ASSET_3"}
    assert guard(True).name("EURUSD") == "ASSET_1"
    assert guard(False).name("EURUSD") == "EURUSD"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("offline_eurusd_1h_t0003 on EURUSD", "offline_ASSET_1_1h_t0003 on ASSET_1"),
        ("EURUSDT and SP5000 are other words", "EURUSDT and SP5000 are other words"),
        ("a trade on A", "a trade on ASSET_2"),
        ("from 2017-11-01 to 2018-01-05T13:00:00+00:00", "from <date> to <date>"),
        ("in 2016, Sharpe 0.2018 over 2018.5 bars", "in <year>, Sharpe 0.2018 over 2018.5 bars"),
    ],
)
def test_a_blind_guard_hides_symbols_dates_and_years(text: str, expected: str) -> None:
    assert guard(True).text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("EURUSD from 2017-11-01 to 2017-12-07", "EURUSD from 2017-11-01 to 2017-12-07"),
        ("EURUSD from 2017-12-08 13:00 on", "EURUSD from <date> on"),
        ("2016 was calm, 2017 and 2018 not", "2016 was calm, <year> and <year> not"),
        ("month 13: 2016-13-01", "month 13: 2016-13-01"),
    ],
)
def test_an_open_guard_hides_only_what_touches_the_holdout(text: str, expected: str) -> None:
    assert guard(False).text(text) == expected


@pytest.mark.parametrize("written", ["ASSET_1", "asset_1", "EURUSD", "eurusd "])
def test_the_alias_or_the_real_name_means_the_market(written: str) -> None:
    assert guard(True).means(written, "EURUSD")


def test_another_alias_does_not_mean_the_market() -> None:
    assert not guard(True).means("ASSET_3", "EURUSD")


def test_tool_issues_are_scrubbed() -> None:
    issues = [{"path": "training_data", "message": "no EURUSD 5m data after 2018-01-01"}]

    assert guard(True).issues(issues) == [
        {"path": "training_data", "message": "no ASSET_1 5m data after <date>"}
    ]


def test_the_tool_schema_offers_no_date_range_and_names_no_symbol_when_scrubbed() -> None:
    schema = strategy_tool_schema(guard(True).text)
    text = str(schema)

    assert "DateRange" not in schema["$defs"]
    assert "date_range" not in schema["$defs"]["TrainingData"]["properties"]
    assert "date_range" not in schema["$defs"]["BacktestConfig"]["properties"]
    assert "EURUSD" not in text and "SP500" not in text
    assert "ASSET_1" in text


def test_counts_in_the_prompts_json_are_figures_not_years() -> None:
    text = '{"n_samples": {"train": 2045, "test": 1987}, "bars": 2017} in 2017'
    assert guard(True).text(text) == (
        '{"n_samples": {"train": 2045, "test": 1987}, "bars": 2017} in <year>'
    )
