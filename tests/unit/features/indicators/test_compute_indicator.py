from __future__ import annotations

import warnings
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
import talib

import ktrdr.features.fuzzy as fuzzy_package
import ktrdr.features.indicators as indicators_package
from ktrdr.errors import DataError, ValidationError
from ktrdr.features.indicators import compute_indicator
from ktrdr.features.indicators._compute import INDICATOR_FUNCTIONS
from ktrdr.strategy.indicator_specs import list_indicator_specs, warmup_bars


@pytest.mark.parametrize(
    ("package", "expected"),
    [(indicators_package, ["compute_indicator"]), (fuzzy_package, ["membership_degrees"])],
)
def test_public_names_match_all(package, expected):
    public = sorted(
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and name != "annotations" and not isinstance(value, ModuleType)
    )
    assert sorted(package.__all__) == expected
    assert public == expected


def test_every_catalogue_indicator_has_exactly_one_implementation():
    assert sorted(INDICATOR_FUNCTIONS) == sorted(spec.name for spec in list_indicator_specs())


@pytest.mark.parametrize("spec", list_indicator_specs(), ids=lambda spec: spec.name)
def test_output_keys_follow_the_spec(bars, spec):
    outputs = compute_indicator(spec.name, {}, bars)
    assert tuple(outputs) == (spec.outputs or ("value",))
    for values in outputs.values():
        assert values.dtype == np.float64
        assert values.shape == (len(bars),)


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("BBands", "bollingerbands"),
        ("Bollinger_Bands", "bollingerbands"),
        ("SMA", "sma"),
        ("SimpleMovingAverage", "sma"),
        ("ExponentialMovingAverage", "ema"),
        ("WilliamsR", "williamsr"),
        ("weighted_moving_average", "wma"),
        ("DistanceFromMA", "distancefromma"),
    ],
)
def test_aliases_and_case_give_the_same_values(bars, alias, canonical):
    ours = compute_indicator(alias, {}, bars)
    theirs = compute_indicator(canonical, {}, bars)
    for name in theirs:
        np.testing.assert_array_equal(ours[name], theirs[name])


def test_source_selects_the_price_column(bars):
    on_high = compute_indicator("sma", {"period": 5, "source": "HIGH"}, bars)["value"]
    np.testing.assert_allclose(on_high[4:], bars["high"].rolling(5).mean().to_numpy()[4:])


def test_talib_passthrough_uses_talib_names(bars):
    kama = compute_indicator("talib.KAMA", {"timeperiod": 10}, bars)["value"]
    settled = warmup_bars("talib.KAMA", {"timeperiod": 10})  # NaN until it forgets its start
    assert np.isnan(kama[:settled]).all()
    np.testing.assert_array_equal(
        kama[settled:], talib.KAMA(bars["close"].to_numpy(), 10)[settled:]
    )
    bands = compute_indicator("talib.bbands", {"timeperiod": 10, "nbdevup": 1.0}, bars)
    assert list(bands) == ["upperband", "middleband", "lowerband"]
    upper, _, _ = talib.BBANDS(bars["close"].to_numpy(), 10, 1.0, 2.0)
    np.testing.assert_array_equal(bands["upperband"], upper)


def test_missing_column_is_a_data_error(bars):
    with pytest.raises(DataError, match=r"needs bar columns \['volume'\]"):
        compute_indicator("obv", {}, bars.drop(columns="volume"))


def test_bars_must_be_a_dataframe():
    with pytest.raises(DataError, match="DataFrame"):
        compute_indicator("rsi", {}, np.ones((10, 5)))


@pytest.mark.parametrize(
    ("type_name", "params", "fragment"),
    [
        ("rsi", {"period": 1}, "period: must be between 2 and 500, got 1"),
        ("rsi", {"length": 14}, "length: unknown parameter for rsi"),
        ("macd", {"fast_period": 30, "slow_period": 20}, "fast_period: must be less than"),
        ("zigzag", {}, "peeks into the future"),
        ("talib.KAMA", {"timeperiod": 0}, "TA_BAD_PARAM"),
    ],
)
def test_bad_requests_are_validation_errors(bars, type_name, params, fragment):
    with pytest.raises(ValidationError, match=fragment):
        compute_indicator(type_name, params, bars)


@pytest.mark.parametrize("spec", list_indicator_specs(), ids=lambda spec: spec.name)
def test_flat_bars_with_zero_volume_raise_no_warning(spec):
    index = pd.date_range("2022-01-01", periods=80, freq="h", tz="UTC", name="timestamp")
    flat = pd.DataFrame(
        {"open": 1.5, "high": 1.5, "low": 1.5, "close": 1.5, "volume": 0.0}, index=index
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outputs = compute_indicator(spec.name, {}, flat)
    assert all(values.shape == (80,) for values in outputs.values())


def test_flat_bars_give_neutral_oscillators():
    index = pd.date_range("2022-01-01", periods=200, freq="h", tz="UTC", name="timestamp")
    flat = pd.DataFrame(
        {"open": 2.0, "high": 2.0, "low": 2.0, "close": 2.0, "volume": 5.0}, index=index
    )
    rvi = compute_indicator("rvi", {}, flat)
    assert (rvi["rvi"][15:] == 0).all() and (rvi["signal"][15:] == 0).all()
    assert (compute_indicator("fisher", {}, flat)["fisher"][warmup_bars("fisher", {}) :] == 0).all()
    assert (compute_indicator("cmf", {}, flat)["value"][19:] == 0).all()
    squeeze = compute_indicator("squeezeintensity", {}, flat)["value"]
    assert (squeeze[warmup_bars("squeezeintensity", {}) :] == 0).all()
