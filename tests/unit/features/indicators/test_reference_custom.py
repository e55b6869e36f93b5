"""Indicators TA-Lib lacks (numpy/numba), checked against plain-Python loops of their formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ktrdr.features.indicators import compute_indicator
from ktrdr.strategy.indicator_specs import warmup_bars

NAN = math.nan


def _run(type_name, params, bars):
    return compute_indicator(type_name, params, bars), warmup_bars(type_name, params)


def _weighted_1221(x):
    return [NAN] * 3 + [
        (x[i] + 2 * x[i - 1] + 2 * x[i - 2] + x[i - 3]) / 6 for i in range(3, len(x))
    ]


def test_rvi(bars, columns, ref, check):
    period, signal_period = 10, 4
    ours, warmup = _run("rvi", {"period": period, "signal_period": signal_period}, bars)
    body = [c - o for c, o in zip(columns.close, columns.open, strict=True)]
    span = [h - lo for h, lo in zip(columns.high, columns.low, strict=True)]
    numerator = [NAN] * 3 + ref.sma(_weighted_1221(body)[3:], period)
    denominator = [NAN] * 3 + ref.sma(_weighted_1221(span)[3:], period)
    rvi = [a / b for a, b in zip(numerator, denominator, strict=True)]
    first = 3 + period - 1
    signal = [NAN] * first + ref.sma(rvi[first:], signal_period)
    check(ours["rvi"], rvi, warmup)
    check(ours["signal"], signal, warmup)


@pytest.mark.parametrize(("period", "smoothing"), [(10, 3), (9, 1)])
def test_fisher_transform(bars, columns, ref, check, period, smoothing):
    ours, warmup = _run("fishertransform", {"period": period, "smoothing": smoothing}, bars)
    hh, ll = ref.highest(columns.high, period), ref.lowest(columns.low, period)
    raw = [NAN] * len(hh)
    for i in range(period - 1, len(hh)):
        median = (columns.high[i] + columns.low[i]) / 2
        position = min(max(2 * (median - ll[i]) / (hh[i] - ll[i]) - 1, -0.999), 0.999)
        raw[i] = 0.5 * math.log((1 + position) / (1 - position))
    fisher = raw if smoothing == 1 else ref.ema(raw, smoothing)
    check(ours["fisher"], fisher, warmup)
    check(ours["signal"], [NAN, *fisher[:-1]], warmup)


def test_bollinger_band_width(bars, columns, ref, check):
    ours, warmup = _run("bollingerbandwidth", {"period": 15, "multiplier": 1.5}, bars)
    middle, std = ref.sma(columns.close, 15), ref.pstd(columns.close, 15)
    check(ours["value"], [2 * 1.5 * s / m for m, s in zip(middle, std, strict=True)], warmup)


def _keltner(columns, ref, period, atr_period, multiplier):
    middle = ref.ema(columns.close, period)
    atr = ref.atr(columns.high, columns.low, columns.close, atr_period)
    upper = [m + multiplier * a for m, a in zip(middle, atr, strict=True)]
    lower = [m - multiplier * a for m, a in zip(middle, atr, strict=True)]
    return upper, middle, lower


def test_keltner_channels(bars, columns, ref, check):
    ours, warmup = _run("keltnerchannels", {"period": 20, "atr_period": 10}, bars)
    upper, middle, lower = _keltner(columns, ref, 20, 10, 2.0)
    check(ours["upper"], upper, warmup)
    check(ours["middle"], middle, warmup)
    check(ours["lower"], lower, warmup)


def test_donchian_channels(bars, columns, ref, check):
    ours, warmup = _run("donchian", {"period": 20}, bars)
    upper, lower = ref.highest(columns.high, 20), ref.lowest(columns.low, 20)
    check(ours["upper"], upper, warmup)
    check(ours["lower"], lower, warmup)
    check(ours["middle"], [(u + lo) / 2 for u, lo in zip(upper, lower, strict=True)], warmup)


def _supertrend(columns, atr, multiplier, start):
    high, low, close = columns.high, columns.low, columns.close
    trend, direction = [NAN] * len(close), [NAN] * len(close)
    final_upper = final_lower = None
    for i in range(start, len(close)):
        mid = (high[i] + low[i]) / 2
        basic_upper, basic_lower = mid + multiplier * atr[i], mid - multiplier * atr[i]
        if final_upper is None:
            final_upper, final_lower = basic_upper, basic_lower
            up = close[i] > final_lower
        else:
            if basic_upper < final_upper or close[i - 1] > final_upper:
                final_upper = basic_upper
            if basic_lower > final_lower or close[i - 1] < final_lower:
                final_lower = basic_lower
            up = close[i] >= final_lower if up else close[i] > final_upper
        trend[i] = final_lower if up else final_upper
        direction[i] = 1.0 if up else -1.0
    return trend, direction


def test_supertrend(bars, columns, ref, check):
    ours, warmup = _run("supertrend", {"period": 10, "multiplier": 2.0}, bars)
    atr = ref.atr(columns.high, columns.low, columns.close, 10)
    trend, direction = _supertrend(columns, atr, 2.0, 10)
    check(ours["trend"], trend, warmup)
    check(ours["direction"], direction, warmup)
    flips = np.count_nonzero(np.diff(ours["direction"][warmup:]))
    assert flips > 2, "the fixture should exercise both trend directions"


def test_squeeze_intensity(bars, columns, ref, check):
    params = {"bb_period": 20, "bb_multiplier": 2.0, "kc_period": 20, "kc_multiplier": 1.5}
    ours, warmup = _run("squeezeintensity", params, bars)
    middle, std = ref.sma(columns.close, 20), ref.pstd(columns.close, 20)
    kc_upper, _, kc_lower = _keltner(columns, ref, 20, 10, 1.5)
    expected = []
    for m, s, ku, kl in zip(middle, std, kc_upper, kc_lower, strict=True):
        room = min(ku - (m + 2 * s), (m - 2 * s) - kl)
        expected.append(max(2 * room / (ku - kl), 0.0))
    check(ours["value"], expected, warmup)
    values = ours["value"][warmup:]
    assert ((values >= 0) & (values <= 1)).all()
    assert (values > 0).any() and (values == 0).any()


def test_ichimoku_is_not_shifted_forward(bars, columns, ref, check):
    params = {"tenkan_period": 9, "kijun_period": 26, "senkou_b_period": 52}
    ours, warmup = _run("ichimoku", params, bars)

    def midpoint(n):
        hh, ll = ref.highest(columns.high, n), ref.lowest(columns.low, n)
        return [(h + lo) / 2 for h, lo in zip(hh, ll, strict=True)]

    tenkan, kijun = midpoint(9), midpoint(26)
    check(ours["tenkan"], tenkan, warmup)
    check(ours["kijun"], kijun, warmup)
    check(ours["senkou_a"], [(t + k) / 2 for t, k in zip(tenkan, kijun, strict=True)], warmup)
    check(ours["senkou_b"], midpoint(52), warmup)


@pytest.mark.parametrize("typical", [True, False])
def test_vwap_is_rolling(bars, columns, check, typical):
    n = 20
    ours, warmup = _run("vwap", {"period": n, "use_typical_price": typical}, bars)
    h, lo, c, v = columns.high, columns.low, columns.close, columns.volume
    price = [(h[i] + lo[i] + c[i]) / 3 if typical else c[i] for i in range(len(c))]
    expected = [NAN] * len(c)
    for i in range(n - 1, len(c)):
        window = range(i - n + 1, i + 1)
        expected[i] = sum(price[j] * v[j] for j in window) / sum(v[j] for j in window)
    check(ours["value"], expected, warmup)


def test_cmf(bars, columns, check):
    n = 20
    ours, warmup = _run("cmf", {"period": n}, bars)
    h, lo, c, v = columns.high, columns.low, columns.close, columns.volume
    flow = [((c[i] - lo[i]) - (h[i] - c[i])) / (h[i] - lo[i]) * v[i] for i in range(len(c))]
    expected = [NAN] * (n - 1) + [
        sum(flow[i - n + 1 : i + 1]) / sum(v[i - n + 1 : i + 1]) for i in range(n - 1, len(c))
    ]
    check(ours["value"], expected, warmup)


def test_volume_ratio(bars, columns, ref, check):
    ours, warmup = _run("volumeratio", {"period": 20}, bars)
    average = ref.sma(columns.volume, 20)
    check(ours["value"], [v / a for v, a in zip(columns.volume, average, strict=True)], warmup)


@pytest.mark.parametrize("ma_type", ["SMA", "ema"])
def test_distance_from_ma(bars, columns, ref, check, ma_type):
    ours, warmup = _run("distancefromma", {"period": 20, "ma_type": ma_type}, bars)
    average = (ref.sma if ma_type == "SMA" else ref.ema)(columns.close, 20)
    expected = [100 * (p - m) / m for p, m in zip(columns.close, average, strict=True)]
    check(ours["value"], expected, warmup)
