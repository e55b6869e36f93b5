"""simulate_many: each row equals the single run of its column, and bad input is named."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from support.reference_engine import reference_single

from ktrdr.backtesting import VolatilityTarget, compute_metrics, simulate_many, simulate_positions
from ktrdr.errors import ValidationError


def assert_row_equals_metrics(row: pd.Series, metrics: dict) -> None:
    for name, value in metrics.items():
        got = row[name]
        if value is None:
            assert math.isnan(got), name
        else:
            assert got == value, name


@pytest.mark.parametrize("seed", range(4))
def test_each_row_equals_the_single_run(seed, random_bars):
    rng = np.random.default_rng(seed)
    bars = random_bars(int(rng.integers(30, 300)), seed)
    n, k = len(bars), 7
    targets = np.stack(
        [np.repeat(rng.integers(-1, 2, n), rng.integers(1, 8, n))[:n] for _ in range(k)], axis=1
    )
    stops = rng.uniform(0.01, 0.05, k)
    stops[2] = np.nan
    profits = rng.uniform(0.01, 0.08, k)
    kwargs = {"commission_bps": 3.0, "spread_bps": 2.0, "financing_bps_per_day": 1.0}
    sizing = VolatilityTarget(annual_vol=0.5, lookback=10) if seed % 2 else None
    table = simulate_many(
        bars, targets, stop_loss=stops, take_profit=profits, trailing_stop=0.04,
        sizing=sizing, **kwargs,
    )  # fmt: skip
    assert len(table) == k
    for j in range(k):
        single = simulate_positions(
            bars, targets[:, j],
            stop_loss=None if np.isnan(stops[j]) else stops[j],
            take_profit=profits[j], trailing_stop=0.04, sizing=sizing, **kwargs,
        )  # fmt: skip
        assert_row_equals_metrics(table.iloc[j], single.metrics)


def test_one_signal_is_swept_over_k_exit_pairs(random_bars):
    bars = random_bars(120, 8)
    signal = np.sign(np.sin(np.arange(120) / 5.0))
    stops, profits = np.array([0.01, 0.02, 0.05]), np.array([0.03, 0.02, np.nan])
    table = simulate_many(bars, signal[:, None], stop_loss=stops, take_profit=profits)
    assert len(table) == 3
    for j in range(3):
        single = simulate_positions(
            bars,
            signal,
            stop_loss=stops[j],
            take_profit=None if np.isnan(profits[j]) else profits[j],
        )
        assert_row_equals_metrics(table.iloc[j], single.metrics)


def test_dataframe_columns_name_the_rows(random_bars):
    bars = random_bars(40, 1)
    targets = pd.DataFrame({"long": np.ones(40), "flat": np.zeros(40)}, index=bars.index)
    table = simulate_many(bars, targets)
    assert list(table.index) == ["long", "flat"]
    assert table.loc["flat", "total_trades"] == 0
    assert table.loc["long", "total_trades"] == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_positions": np.zeros(5)}, "target_positions has shape"),
        ({"target_positions": np.full((5, 2), 2.0)}, "target_positions at bar 0.*column 0"),
        ({"stop_loss": [0.1, 0.2, 0.3]}, "stop_loss must be None, a fraction in \\(0, 1\\) or 2"),
        ({"take_profit": [0.1, 1.0]}, "take_profit must be a fraction in \\(0, 1\\), got 1.0"),
        (
            {"target_positions": np.zeros((5, 1)), "stop_loss": np.full(5, 0.02)},
            "an exit array has 5 values, one per bar, with one target column",
        ),
    ],
)
def test_invalid_arguments_name_the_input(kwargs, message, random_bars):
    bars = random_bars(5, 2)
    arguments = {"target_positions": np.zeros((5, 2)), **kwargs}
    with pytest.raises(ValidationError, match=message):
        simulate_many(bars, **arguments)


@pytest.mark.parametrize("seed", range(3))
def test_rows_match_the_metrics_of_the_reference_loop(seed, random_bars):
    rng = np.random.default_rng(seed + 100)
    bars = random_bars(int(rng.integers(40, 200)), seed)
    n, k = len(bars), 4
    targets = np.stack(
        [np.repeat(rng.integers(-1, 2, n), rng.integers(1, 8, n))[:n] for _ in range(k)], axis=1
    )
    stops = rng.uniform(0.01, 0.05, k)
    table = simulate_many(bars, targets, stop_loss=stops, trailing_stop=0.03, commission_bps=2.0)
    for j in range(k):
        trades, equity = reference_single(
            bars, targets[:, j], stop_loss=stops[j], trailing_stop=0.03, cost_rate=2e-4
        )
        expected = compute_metrics(pd.DataFrame(trades), pd.Series(equity, index=bars.index), bars)
        for name, value in expected.items():
            if value is None:
                assert math.isnan(table.iloc[j][name]), name
            else:
                assert table.iloc[j][name] == pytest.approx(value, rel=1e-9, abs=1e-12), name


@pytest.mark.parametrize("seed", range(3))
def test_random_exit_columns_match_the_reference_loop_one_depleted(seed, random_bars, caplog):
    rng = np.random.default_rng(seed + 200)
    bars = random_bars(int(rng.integers(80, 200)), seed).copy()
    n, k = len(bars), 6
    gap = n // 2
    for column in ("open", "high", "low", "close"):
        bars.iloc[gap:, bars.columns.get_loc(column)] *= 1.7  # a 70 % gap up at bar ``gap``
    targets = np.stack(
        [np.repeat(rng.integers(-1, 2, n), rng.integers(1, 8, n))[:n] for _ in range(k)], axis=1
    )
    targets[:, 0] = -1  # short through the gap at 2x: equity < 0, later entries refused
    targets[gap + 3 : gap + 6, 0] = 0
    columns = {
        name: np.where(rng.random(k) < 0.3, np.nan, rng.uniform(low, high, k))
        for name, low, high in (
            ("stop_loss", 0.01, 0.05),
            ("take_profit", 0.01, 0.08),
            ("trailing_stop", 0.01, 0.05),
        )
    }
    for name in columns:
        columns[name][0] = np.nan
    table = simulate_many(
        bars, targets, position_fraction=2.0, commission_bps=2.0, financing_bps_per_day=1.0,
        **columns,
    )  # fmt: skip
    assert table.iloc[0]["total_return"] < -1.0
    assert "equity fell to <= 0 at an entry fill in some columns" in caplog.text
    for j in range(k):
        exits = {name: None if np.isnan(v[j]) else float(v[j]) for name, v in columns.items()}
        trades, equity = reference_single(
            bars, targets[:, j], cost_rate=2e-4, financing_per_day=1e-4, fraction=2.0, **exits
        )
        expected = compute_metrics(pd.DataFrame(trades), pd.Series(equity, index=bars.index), bars)
        for name, value in expected.items():
            if value is None:
                assert math.isnan(table.iloc[j][name]), (j, name)
            else:
                assert table.iloc[j][name] == pytest.approx(value, rel=1e-9, abs=1e-12), (j, name)
