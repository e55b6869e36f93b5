"""No look-ahead and honest warm-up for every catalogue indicator and some talib.<NAME>."""

from __future__ import annotations

import numpy as np
import pytest

from ktrdr.features.indicators import compute_indicator
from ktrdr.strategy.indicator_specs import list_indicator_specs, warmup_bars

CATALOGUE = [spec.name for spec in list_indicator_specs()]
TALIB_SAMPLES = ["talib.KAMA", "talib.STOCHRSI", "talib.HT_TRENDLINE", "talib.CDLENGULFING"]
PREFIXES = [0, 1, 3, 17, 60, 151, 333]

# non-default parameters, so that warm-up formulas are checked away from the defaults
NON_DEFAULT = {
    "rsi": {"period": 5},
    "stochastic": {"k_period": 5, "d_period": 2, "smooth_k": 4},
    "rvi": {"period": 6, "signal_period": 3},
    "fishertransform": {"period": 7, "smoothing": 5},
    "keltnerchannels": {"period": 8, "atr_period": 15},
    "squeezeintensity": {"bb_period": 10, "kc_period": 12, "kc_atr_period": 14},
    "macd": {"fast_period": 5, "slow_period": 13, "signal_period": 4},
    "adx": {"period": 7},
    "ichimoku": {"tenkan_period": 30, "kijun_period": 10, "senkou_b_period": 20},
    "vwap": {"period": 3},
    "supertrend": {"period": 3, "multiplier": 1.0},
}


def _leading_nans(values: np.ndarray) -> int:
    finite = np.flatnonzero(~np.isnan(values))
    return int(finite[0]) if finite.size else len(values)


@pytest.mark.parametrize("type_name", CATALOGUE + TALIB_SAMPLES)
def test_prefix_gives_the_same_values(bars, type_name):
    full = compute_indicator(type_name, {}, bars)
    for k in PREFIXES:
        partial = compute_indicator(type_name, {}, bars.iloc[:k])
        assert partial.keys() == full.keys()
        for name, values in partial.items():
            assert values.shape == (k,)
            np.testing.assert_array_equal(values, full[name][:k], err_msg=f"{name} at k={k}")


@pytest.mark.parametrize("type_name", CATALOGUE)
def test_changing_later_bars_changes_no_earlier_value(bars, type_name):
    k = 200
    params = NON_DEFAULT.get(type_name, {})
    changed = bars.copy()
    rng = np.random.default_rng(3)
    shock = 1 + rng.normal(0, 0.05, len(bars) - k)
    for column in ("open", "high", "low", "close", "volume"):
        changed.iloc[k:, changed.columns.get_loc(column)] *= shock
    original = compute_indicator(type_name, params, bars)
    perturbed = compute_indicator(type_name, params, changed)
    for name in original:
        np.testing.assert_array_equal(perturbed[name][:k], original[name][:k], err_msg=name)
        assert not np.array_equal(perturbed[name][k:], original[name][k:], equal_nan=True), (
            f"{name}: the perturbation after bar {k} should show up"
        )


@pytest.mark.parametrize("type_name", CATALOGUE + TALIB_SAMPLES)
@pytest.mark.parametrize("non_default", [False, True])
def test_warmup_bounds_the_leading_nans(bars, type_name, non_default):
    params = NON_DEFAULT.get(type_name, {}) if non_default else {}
    warmup = warmup_bars(type_name, params)
    outputs = compute_indicator(type_name, params, bars)
    assert max(_leading_nans(values) for values in outputs.values()) == warmup
    for name, values in outputs.items():
        assert np.isfinite(values[warmup:]).all(), f"{name} has gaps after the warm-up {warmup}"
