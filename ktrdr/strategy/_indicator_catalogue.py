"""Dataclasses and the catalogue table of ktrdr's own indicators (public API: indicator_specs).

Warm-up is the number of leading bars without a value, and it covers more than the NaNs of the
formula: a recursive indicator (EMA, Wilder's RSI and ATR, MACD, ADX) carries the memory of where
its history starts, so its warm-up lasts until that memory has faded to ``SETTLE_FACTOR`` of its
initial size. After the warm-up an indicator's value at bar t is the same whether the history
starts at s1 or at a later s2 (to about 1e-6 of its scale), which is what lets a backtest that
starts a few hundred bars before its range see the values the model trained on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BAR_COLUMNS = ("open", "high", "low", "close", "volume")
PRICE_SOURCES = ("open", "high", "low", "close")
MAX_PERIOD = 500
# 1e-7 of the start's error left: a tenfold margin under the 1e-6 (of the indicator's scale)
# that start-independence promises, for starts whose error is up to ten times that scale.
SETTLE_FACTOR = 1e-7
# Parabolic SAR and SuperTrend forget their start at the first reversal both histories share;
# measured on the bundled EURUSD and BTCUSD 1h samples (about 500 starts), the defaults took at
# most 186 and 113 bars. Their warm-ups scale these margins with how slowly they reverse.
SAR_REVERSALS = 5.0
SUPERTREND_MULTIPLIER = 3.0


@dataclass(frozen=True)
class ParamSpec:
    """One indicator parameter: its type, default and allowed values (bounds inclusive)."""

    name: str
    kind: type
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple | None = None


@dataclass(frozen=True)
class IndicatorSpec:
    """What an indicator is called, takes, reads and returns.

    ``outputs == ()`` means one output (computed as ``"value"``); ``inputs`` are the bar columns
    read with default parameters, a ``source`` parameter replacing ``close``.
    """

    name: str
    aliases: tuple[str, ...]
    params: tuple[ParamSpec, ...]
    outputs: tuple[str, ...]
    inputs: tuple[str, ...]
    description: str


def _period(name: str = "period", default: int = 14, minimum: int = 2) -> ParamSpec:
    return ParamSpec(name, int, default, minimum, MAX_PERIOD)


def _multiplier(name: str = "multiplier", default: float = 2.0) -> ParamSpec:
    return ParamSpec(name, float, default, 0.1, 10.0)


def _settle(alpha: float) -> int:
    """Bars until a first-order filter x_t = (1 - alpha) x_{t-1} + ... forgets its start."""
    if alpha >= 1.0:
        return 0
    return math.ceil(math.log(SETTLE_FACTOR) / math.log1p(-alpha))


def _ema_settle(period: int) -> int:
    """Settling bars of an EMA, alpha = 2 / (period + 1)."""
    return _settle(2.0 / (period + 1))


def _wilder_settle(period: int) -> int:
    """Settling bars of Wilder's smoothing (RSI, ATR, ADX), alpha = 1 / period."""
    return _settle(1.0 / period)


def _atr_warmup(period: int) -> int:
    return period + _wilder_settle(period)


def _ema_warmup(period: int) -> int:
    return period - 1 + _ema_settle(period)


def _supertrend_warmup(p: dict[str, Any]) -> int:
    return math.ceil(_atr_warmup(p["period"]) * max(1.0, p["multiplier"] / SUPERTREND_MULTIPLIER))


_SOURCE = ParamSpec("source", str, "close", choices=PRICE_SOURCES)
_HLC = ("high", "low", "close")
_HLCV = ("high", "low", "close", "volume")


def _spec(
    name: str,
    description: str,
    inputs: tuple[str, ...],
    params: tuple[ParamSpec, ...] = (),
    outputs: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
) -> IndicatorSpec:
    return IndicatorSpec(name, aliases, params, outputs, inputs, description)


_BANDS = ("upper", "middle", "lower")

# (spec, warm-up bars as a function of the resolved parameters)
_TABLE: tuple[tuple[IndicatorSpec, Callable[[dict[str, Any]], int]], ...] = (
    (
        _spec("rsi", "Relative Strength Index (Wilder), 0..100", ("close",), (_period(), _SOURCE)),
        lambda p: _atr_warmup(p["period"]),
    ),
    (
        _spec(
            "roc",
            "Rate of change in percent: 100 * (p_t / p_{t-period} - 1)",
            ("close",),
            (_period(default=10, minimum=1), _SOURCE),
        ),
        lambda p: p["period"],
    ),
    (
        _spec(
            "momentum",
            "Price change over period bars: p_t - p_{t-period}",
            ("close",),
            (_period(default=10, minimum=1), _SOURCE),
        ),
        lambda p: p["period"],
    ),
    (
        _spec("cci", "Commodity Channel Index of the typical price", _HLC, (_period(default=20),)),
        lambda p: p["period"] - 1,
    ),
    (
        _spec("williamsr", "Williams %R, -100..0", _HLC, (_period(),)),
        lambda p: p["period"] - 1,
    ),
    (
        _spec(
            "stochastic",
            "Slow stochastic oscillator: %K smoothed by smooth_k, %D = SMA(%K, d_period)",
            _HLC,
            (
                _period("k_period", 14, 1),
                ParamSpec("d_period", int, 3, 1, 100),
                ParamSpec("smooth_k", int, 3, 1, 100),
            ),
            ("k", "d"),
            ("stoch",),
        ),
        lambda p: p["k_period"] + p["smooth_k"] + p["d_period"] - 3,
    ),
    (
        _spec(
            "rvi",
            "Relative Vigor Index: SMA of 1-2-2-1 weighted (close-open) over (high-low); "
            "signal = SMA(rvi, signal_period)",
            ("open", "high", "low", "close"),
            (_period(default=10, minimum=1), ParamSpec("signal_period", int, 4, 1, 100)),
            ("rvi", "signal"),
        ),
        lambda p: p["period"] + p["signal_period"] + 1,
    ),
    (
        _spec(
            "fishertransform",
            "Fisher transform of the median price's position in its period range, EMA-smoothed; "
            "signal = previous bar's fisher",
            ("high", "low"),
            (_period(default=10), ParamSpec("smoothing", int, 3, 1, 100)),
            ("fisher", "signal"),
            ("fisher",),
        ),
        lambda p: (
            p["period"]
            + p["smoothing"]
            - 1
            + (_ema_settle(p["smoothing"]) if p["smoothing"] > 1 else 0)
        ),
    ),
    (
        _spec(
            "aroon",
            "Aroon up/down (0..100, bars since the period high/low) and oscillator = up - down",
            ("high", "low"),
            (_period(),),
            ("up", "down", "oscillator"),
        ),
        lambda p: p["period"],
    ),
    (
        _spec("atr", "Average True Range (Wilder)", _HLC, (_period(minimum=1),)),
        lambda p: _atr_warmup(p["period"]),
    ),
    (
        _spec(
            "bollingerbands",
            "Bollinger Bands: SMA(period) +/- multiplier * population stdev",
            ("close",),
            (_period(default=20), _multiplier(), _SOURCE),
            _BANDS,
            ("bbands", "bollinger"),
        ),
        lambda p: p["period"] - 1,
    ),
    (
        _spec(
            "bollingerbandwidth",
            "Bollinger band width relative to the middle band: (upper - lower) / middle",
            ("close",),
            (_period(default=20), _multiplier(), _SOURCE),
            aliases=("bbwidth", "bbw"),
        ),
        lambda p: p["period"] - 1,
    ),
    (
        _spec(
            "keltnerchannels",
            "Keltner Channels: EMA(close, period) +/- multiplier * ATR(atr_period)",
            _HLC,
            (_period(default=20), _period("atr_period", 10, 1), _multiplier()),
            _BANDS,
            ("keltner",),
        ),
        lambda p: max(_ema_warmup(p["period"]), _atr_warmup(p["atr_period"])),
    ),
    (
        _spec(
            "donchianchannels",
            "Donchian Channels: highest high, lowest low and their midpoint over period bars",
            ("high", "low"),
            (_period(default=20),),
            _BANDS,
            ("donchian",),
        ),
        lambda p: p["period"] - 1,
    ),
    (
        _spec(
            "supertrend",
            "SuperTrend line (hl2 +/- multiplier * ATR) and direction (+1 up, -1 down)",
            _HLC,
            (_period(default=10, minimum=1), _multiplier(default=3.0)),
            ("trend", "direction"),
        ),
        _supertrend_warmup,
    ),
    (
        _spec(
            "squeezeintensity",
            "How far Bollinger Bands sit inside Keltner Channels: 0 = no squeeze, 1 = full",
            _HLC,
            (
                _period("bb_period", 20),
                _multiplier("bb_multiplier"),
                _period("kc_period", 20),
                _multiplier("kc_multiplier"),
                _period("kc_atr_period", 10, 1),
                _SOURCE,
            ),
        ),
        lambda p: max(
            p["bb_period"] - 1, _ema_warmup(p["kc_period"]), _atr_warmup(p["kc_atr_period"])
        ),
    ),
    (
        _spec(
            "sma",
            "Simple moving average",
            ("close",),
            (_period(default=20, minimum=1), _SOURCE),
            aliases=("simplemovingaverage",),
        ),
        lambda p: p["period"] - 1,
    ),
    (
        _spec(
            "ema",
            "Exponential moving average, alpha = 2 / (period + 1), seeded with an SMA",
            ("close",),
            (_period(default=20, minimum=1), _SOURCE),
            aliases=("exponentialmovingaverage",),
        ),
        lambda p: _ema_warmup(p["period"]),
    ),
    (
        _spec(
            "wma",
            "Linearly weighted moving average",
            ("close",),
            (_period(default=20, minimum=1), _SOURCE),
            aliases=("weightedmovingaverage",),
        ),
        lambda p: p["period"] - 1,
    ),
    (
        _spec(
            "macd",
            "MACD line = EMA(fast) - EMA(slow), signal = EMA(line), histogram = line - signal",
            ("close",),
            (
                ParamSpec("fast_period", int, 12, 2, 200),
                _period("slow_period", 26),
                ParamSpec("signal_period", int, 9, 1, 200),
                _SOURCE,
            ),
            ("line", "signal", "histogram"),
        ),
        lambda p: _ema_warmup(p["slow_period"]) + _ema_warmup(p["signal_period"]),
    ),
    (
        _spec(
            "adx",
            "Average Directional Index with +DI and -DI (Wilder)",
            _HLC,
            (_period(),),
            ("adx", "plus_di", "minus_di"),
        ),
        lambda p: 2 * p["period"] - 1 + 2 * _wilder_settle(p["period"]),
    ),
    (
        _spec(
            "parabolicsar",
            "Parabolic SAR (stop and reverse) price level",
            ("high", "low"),
            (
                ParamSpec("initial_af", float, 0.02, 0.001, 1.0),
                ParamSpec("step_af", float, 0.02, 0.001, 1.0),
                ParamSpec("max_af", float, 0.2, 0.001, 1.0),
            ),
            aliases=("psar", "sar"),
        ),
        lambda p: max(1, math.ceil(SAR_REVERSALS / p["initial_af"])),
    ),
    (
        _spec(
            "ichimoku",
            "Ichimoku lines computed at t from bars <= t (spans NOT shifted forward): "
            "tenkan, kijun, senkou_a = (tenkan + kijun) / 2, senkou_b",
            ("high", "low"),
            (
                _period("tenkan_period", 9),
                _period("kijun_period", 26),
                _period("senkou_b_period", 52),
            ),
            ("tenkan", "kijun", "senkou_a", "senkou_b"),
        ),
        lambda p: max(p["tenkan_period"], p["kijun_period"], p["senkou_b_period"]) - 1,
    ),
    (
        _spec(
            "obv",
            "On-Balance Volume over the last period bars: the sum of volume signed by the close's "
            "direction, OBV_t - OBV_{t-period} (a rolling window, so no dependence on where the "
            "history starts)",
            ("close", "volume"),
            (_period(default=20),),
        ),
        lambda p: p["period"],
    ),
    (
        _spec(
            "vwap",
            "Rolling volume-weighted average price over the last period bars (typical price "
            "(h+l+c)/3, or close when use_typical_price is false)",
            _HLCV,
            (_period(default=20), ParamSpec("use_typical_price", bool, True)),
        ),
        lambda p: p["period"] - 1,
    ),
    (
        _spec("mfi", "Money Flow Index, 0..100", _HLCV, (_period(),)),
        lambda p: p["period"],
    ),
    (
        _spec(
            "cmf",
            "Chaikin Money Flow: sum of money-flow volume / sum of volume over period bars",
            _HLCV,
            (_period(default=20),),
            aliases=("chaikinmoneyflow",),
        ),
        lambda p: p["period"] - 1,
    ),
    (
        _spec(
            "adline",
            "Accumulation/Distribution over the last period bars: the sum of money-flow volume, "
            "AD_t - AD_{t-period} (a rolling window, so no dependence on where the history starts)",
            _HLCV,
            (_period(default=20),),
            aliases=("ad", "accumulationdistribution"),
        ),
        lambda p: p["period"] - 1,
    ),
    (
        _spec(
            "volumeratio",
            "Volume over its simple moving average (1.0 = average volume)",
            ("volume",),
            (_period(default=20),),
        ),
        lambda p: p["period"] - 1,
    ),
    (
        _spec(
            "distancefromma",
            "Distance of the price from its moving average in percent: 100 * (p - ma) / ma",
            ("close",),
            (
                _period(default=20),
                ParamSpec("ma_type", str, "SMA", choices=("SMA", "EMA")),
                _SOURCE,
            ),
        ),
        lambda p: p["period"] - 1 + (_ema_settle(p["period"]) if p["ma_type"] == "EMA" else 0),
    ),
)

CATALOGUE: dict[str, IndicatorSpec] = {spec.name: spec for spec, _ in _TABLE}
WARMUP: dict[str, Callable[[dict[str, Any]], int]] = {spec.name: fn for spec, fn in _TABLE}
LOOKUP: dict[str, str] = {
    key: spec.name for spec in CATALOGUE.values() for key in (spec.name, *spec.aliases)
}


def constraint_issues(name: str, p: dict[str, Any]) -> list[tuple[str, str]]:
    """List ``(param, message)`` for rules that tie parameters together, e.g. macd fast < slow."""
    if name == "macd" and p["fast_period"] >= p["slow_period"]:
        return [("fast_period", f"must be less than slow_period ({p['slow_period']})")]
    if name == "parabolicsar" and p["initial_af"] > p["max_af"]:
        return [("initial_af", f"must not exceed max_af ({p['max_af']})")]
    return []
