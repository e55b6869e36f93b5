"""Indicators implemented with TA-Lib, checked against plain-Python loops of their formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ktrdr.features.indicators import compute_indicator
from ktrdr.strategy.indicator_specs import warmup_bars

NAN = math.nan


def _run(type_name, params, bars):
    return compute_indicator(type_name, params, bars), warmup_bars(type_name, params)


@pytest.mark.parametrize(("period", "source"), [(14, "close"), (7, "high")])
def test_rsi_is_wilders_rsi(bars, columns, check, period, source):
    ours, warmup = _run("rsi", {"period": period, "source": source}, bars)
    x = getattr(columns, source)
    gains = [max(x[i] - x[i - 1], 0.0) for i in range(1, len(x))]
    losses = [max(x[i - 1] - x[i], 0.0) for i in range(1, len(x))]
    expected = [NAN] * len(x)
    avg_gain, avg_loss = sum(gains[:period]) / period, sum(losses[:period]) / period
    expected[period] = 100 * avg_gain / (avg_gain + avg_loss)
    for i in range(period + 1, len(x)):
        avg_gain = (avg_gain * (period - 1) + gains[i - 1]) / period
        avg_loss = (avg_loss * (period - 1) + losses[i - 1]) / period
        expected[i] = 100 * avg_gain / (avg_gain + avg_loss)
    check(ours["value"], expected, warmup)


def test_roc_and_momentum(bars, columns, check):
    x = columns.close
    roc, warmup = _run("roc", {"period": 5}, bars)
    check(roc["value"], [NAN] * 5 + [100 * (x[i] / x[i - 5] - 1) for i in range(5, len(x))], warmup)
    momentum, warmup = _run("momentum", {"period": 3, "source": "open"}, bars)
    o = columns.open
    check(momentum["value"], [NAN] * 3 + [o[i] - o[i - 3] for i in range(3, len(o))], warmup)


def test_cci(bars, columns, check):
    n = 20
    ours, warmup = _run("cci", {"period": n}, bars)
    tp = [
        (h + lo + c) / 3 for h, lo, c in zip(columns.high, columns.low, columns.close, strict=True)
    ]
    expected = [NAN] * len(tp)
    for i in range(n - 1, len(tp)):
        window = tp[i - n + 1 : i + 1]
        mean = sum(window) / n
        deviation = sum(abs(v - mean) for v in window) / n
        expected[i] = (tp[i] - mean) / (0.015 * deviation)
    check(ours["value"], expected, warmup)


def test_williamsr(bars, columns, ref, check):
    n = 14
    ours, warmup = _run("williamsr", {"period": n}, bars)
    hh, ll = ref.highest(columns.high, n), ref.lowest(columns.low, n)
    expected = [
        NAN if i < n - 1 else -100 * (hh[i] - columns.close[i]) / (hh[i] - ll[i])
        for i in range(len(hh))
    ]
    check(ours["value"], expected, warmup)


def test_stochastic(bars, columns, ref, check):
    params = {"k_period": 9, "d_period": 4, "smooth_k": 2}
    ours, warmup = _run("stochastic", params, bars)
    hh, ll = ref.highest(columns.high, 9), ref.lowest(columns.low, 9)
    fast_k = [100 * (c - lo) / (h - lo) for c, h, lo in zip(columns.close, hh, ll, strict=True)]
    fast_k[:8] = [NAN] * 8
    slow_k = [NAN] * 8 + ref.sma(fast_k[8:], 2)
    slow_d = [NAN] * 9 + ref.sma(slow_k[9:], 4)
    check(ours["k"], slow_k, warmup)
    check(ours["d"], slow_d, warmup)


def test_aroon(bars, columns, check):
    n = 14
    ours, warmup = _run("aroon", {"period": n}, bars)
    up, down = [NAN] * len(columns.high), [NAN] * len(columns.high)
    for i in range(n, len(columns.high)):
        highs, lows = columns.high[i - n : i + 1], columns.low[i - n : i + 1]
        since_high = n - max(j for j, v in enumerate(highs) if v == max(highs))
        since_low = n - max(j for j, v in enumerate(lows) if v == min(lows))
        up[i], down[i] = 100 * (n - since_high) / n, 100 * (n - since_low) / n
    check(ours["up"], up, warmup)
    check(ours["down"], down, warmup)
    check(ours["oscillator"], [u - d for u, d in zip(up, down, strict=True)], warmup)


def test_atr(bars, columns, ref, check):
    ours, warmup = _run("atr", {"period": 10}, bars)
    check(ours["value"], ref.atr(columns.high, columns.low, columns.close, 10), warmup)


def test_bollingerbands(bars, columns, ref, check):
    ours, warmup = _run("bbands", {"period": 20, "multiplier": 2.5}, bars)
    middle, std = ref.sma(columns.close, 20), ref.pstd(columns.close, 20)
    check(ours["middle"], middle, warmup)
    check(ours["upper"], [m + 2.5 * s for m, s in zip(middle, std, strict=True)], warmup)
    check(ours["lower"], [m - 2.5 * s for m, s in zip(middle, std, strict=True)], warmup)


@pytest.mark.parametrize("type_name", ["sma", "ema", "wma"])
def test_moving_averages(bars, columns, ref, check, type_name):
    ours, warmup = _run(type_name, {"period": 12, "source": "low"}, bars)
    check(ours["value"], getattr(ref, type_name)(columns.low, 12), warmup)


def test_macd(bars, columns, ref, check):
    fast, slow, signal = 12, 26, 9
    ours, warmup = _run("macd", {"fast_period": fast, "slow_period": slow}, bars)
    x = columns.close
    # TA-Lib starts both EMAs at the slow EMA's first bar, each seeded with its own SMA
    fast_ema = [NAN] * (slow - fast) + ref.ema(x[slow - fast :], fast)
    slow_ema = ref.ema(x, slow)
    line = [f - s for f, s in zip(fast_ema, slow_ema, strict=True)]
    signal_line = ref.ema(line, signal)
    check(ours["line"], line, warmup)
    check(ours["signal"], signal_line, warmup)
    check(ours["histogram"], [a - b for a, b in zip(line, signal_line, strict=True)], warmup)


def _wilder_directional(high, low, close, n):
    """+DI, -DI and ADX with TA-Lib's Wilder sums (seeded with n - 1 bars)."""
    size = len(close)
    plus_dm, minus_dm, tr = [0.0] * size, [0.0] * size, [0.0] * size
    for i in range(1, size):
        up, down = high[i] - high[i - 1], low[i - 1] - low[i]
        plus_dm[i] = up if up > 0 and up > down else 0.0
        minus_dm[i] = down if down > 0 and down > up else 0.0
        tr[i] = max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
    sp, sm, st = sum(plus_dm[1:n]), sum(minus_dm[1:n]), sum(tr[1:n])
    plus_di, minus_di, dx = [NAN] * size, [NAN] * size, [NAN] * size
    for i in range(n, size):
        sp, sm, st = sp - sp / n + plus_dm[i], sm - sm / n + minus_dm[i], st - st / n + tr[i]
        plus_di[i], minus_di[i] = 100 * sp / st, 100 * sm / st
        dx[i] = 100 * abs(plus_di[i] - minus_di[i]) / (plus_di[i] + minus_di[i])
    adx = [NAN] * size
    value = sum(dx[n : 2 * n]) / n
    adx[2 * n - 1] = value
    for i in range(2 * n, size):
        value = (value * (n - 1) + dx[i]) / n
        adx[i] = value
    return plus_di, minus_di, adx


def test_adx(bars, columns, check):
    ours, warmup = _run("adx", {"period": 14}, bars)
    plus_di, minus_di, adx = _wilder_directional(columns.high, columns.low, columns.close, 14)
    check(ours["adx"], adx, warmup)
    check(ours["plus_di"], plus_di, warmup)
    check(ours["minus_di"], minus_di, warmup)


def _parabolic_sar(high, low, initial, step, maximum):
    out = [NAN] * len(high)
    down_move, up_move = low[0] - low[1], high[1] - high[0]
    is_long = not (down_move > 0 and up_move < down_move)
    extreme, sar = (high[1], low[0]) if is_long else (low[1], high[0])
    factor = initial
    new_low, new_high = low[1], high[1]
    for i in range(1, len(high)):
        prev_low, prev_high, new_low, new_high = new_low, new_high, low[i], high[i]
        if (is_long and new_low <= sar) or (not is_long and new_high >= sar):
            is_long = not is_long
            sar = extreme
            sar = max(sar, prev_high, new_high) if not is_long else min(sar, prev_low, new_low)
            out[i] = sar
            factor, extreme = initial, (new_high if is_long else new_low)
        else:
            out[i] = sar
            if (is_long and new_high > extreme) or (not is_long and new_low < extreme):
                extreme = new_high if is_long else new_low
                factor = min(factor + step, maximum)
        sar = sar + factor * (extreme - sar)
        sar = min(sar, prev_low, new_low) if is_long else max(sar, prev_high, new_high)
    return out


@pytest.mark.parametrize(("initial", "step", "maximum"), [(0.02, 0.02, 0.2), (0.01, 0.03, 0.3)])
def test_parabolic_sar(bars, columns, check, initial, step, maximum):
    params = {"initial_af": initial, "step_af": step, "max_af": maximum}
    ours, warmup = _run("parabolicsar", params, bars)
    expected = _parabolic_sar(columns.high, columns.low, initial, step, maximum)
    check(ours["value"], expected, warmup)


@pytest.mark.parametrize("n", [20, 2, 7])
def test_obv(bars, columns, check, n):
    ours, warmup = _run("obv", {"period": n}, bars)
    c, v = columns.close, columns.volume
    signed = [NAN] + [((c[i] > c[i - 1]) - (c[i] < c[i - 1])) * v[i] for i in range(1, len(c))]
    expected = [NAN] * n + [sum(signed[i - n + 1 : i + 1]) for i in range(n, len(c))]
    assert warmup == n
    check(ours["value"], expected, warmup)


def test_mfi(bars, columns, check):
    n = 14
    ours, warmup = _run("mfi", {"period": n}, bars)
    tp = [
        (h + lo + c) / 3 for h, lo, c in zip(columns.high, columns.low, columns.close, strict=True)
    ]
    flow = [t * v for t, v in zip(tp, columns.volume, strict=True)]
    expected = [NAN] * len(tp)
    for i in range(n, len(tp)):
        positive = sum(flow[j] for j in range(i - n + 1, i + 1) if tp[j] > tp[j - 1])
        negative = sum(flow[j] for j in range(i - n + 1, i + 1) if tp[j] < tp[j - 1])
        expected[i] = 100 * positive / (positive + negative)
    check(ours["value"], expected, warmup)


@pytest.mark.parametrize("n", [20, 2, 7])
def test_adline(bars, columns, check, n):
    ours, warmup = _run("adline", {"period": n}, bars)
    hlcv = zip(columns.high, columns.low, columns.close, columns.volume, strict=True)
    flow = [((c - lo) - (h - c)) / (h - lo) * v for h, lo, c, v in hlcv]
    expected = [NAN] * (n - 1) + [sum(flow[i - n + 1 : i + 1]) for i in range(n - 1, len(flow))]
    assert warmup == n - 1
    check(ours["value"], expected, warmup)


def test_outputs_are_float64_and_aligned(bars):
    for name, values in compute_indicator("macd", {}, bars).items():
        assert values.dtype == np.float64, name
        assert values.shape == (len(bars),), name
