"""Catalogue indicators TA-Lib lacks, built from TA-Lib primitives, numpy and numba kernels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import talib

from ktrdr.features.indicators._arrays import (
    Arrays,
    money_flow_volume,
    ratio,
    shift,
    weighted_1221,
)
from ktrdr.features.indicators.nb import supertrend_nb

Params = dict[str, Any]
_FISHER_CLIP = 0.999  # keeps log((1 + x) / (1 - x)) finite at the edges of the range


def _rvi(d: Arrays, p: Params) -> Arrays:
    numerator = talib.SMA(weighted_1221(d["close"] - d["open"]), p["period"])
    denominator = talib.SMA(weighted_1221(d["high"] - d["low"]), p["period"])
    # a window of zero-range bars has no vigour; 0 (not NaN) keeps the signal's SMA alive
    rvi = np.where(denominator == 0, 0.0, ratio(numerator, denominator))
    return {"rvi": rvi, "signal": talib.SMA(rvi, p["signal_period"])}


def _fishertransform(d: Arrays, p: Params) -> Arrays:
    highest = talib.MAX(d["high"], p["period"])
    lowest = talib.MIN(d["low"], p["period"])
    span = highest - lowest
    median = (d["high"] + d["low"]) / 2.0
    position = np.where(span == 0, 0.0, 2.0 * ratio(median - lowest, span) - 1.0)
    position = np.clip(position, -_FISHER_CLIP, _FISHER_CLIP)
    raw = 0.5 * np.log((1.0 + position) / (1.0 - position))
    fisher = raw if p["smoothing"] == 1 else talib.EMA(raw, p["smoothing"])
    return {"fisher": fisher, "signal": shift(fisher, 1)}


def _bollingerbandwidth(d: Arrays, p: Params) -> Arrays:
    upper, middle, lower = talib.BBANDS(
        d[p["source"]], p["period"], p["multiplier"], p["multiplier"], matype=0
    )
    return {"value": ratio(upper - lower, middle)}


def _keltner(d: Arrays, period: int, atr_period: int, multiplier: float) -> Arrays:
    middle = talib.EMA(d["close"], period)
    width = multiplier * talib.ATR(d["high"], d["low"], d["close"], atr_period)
    return {"upper": middle + width, "middle": middle, "lower": middle - width}


def _keltnerchannels(d: Arrays, p: Params) -> Arrays:
    return _keltner(d, p["period"], p["atr_period"], p["multiplier"])


def _donchianchannels(d: Arrays, p: Params) -> Arrays:
    upper = talib.MAX(d["high"], p["period"])
    lower = talib.MIN(d["low"], p["period"])
    return {"upper": upper, "middle": (upper + lower) / 2.0, "lower": lower}


def _supertrend(d: Arrays, p: Params) -> Arrays:
    atr = talib.ATR(d["high"], d["low"], d["close"], p["period"])
    trend, direction = supertrend_nb(d["high"], d["low"], d["close"], atr, p["multiplier"])
    return {"trend": trend, "direction": direction}


def _squeezeintensity(d: Arrays, p: Params) -> Arrays:
    bb_upper, _, bb_lower = talib.BBANDS(
        d[p["source"]], p["bb_period"], p["bb_multiplier"], p["bb_multiplier"], matype=0
    )
    kc = _keltner(d, p["kc_period"], p["kc_atr_period"], p["kc_multiplier"])
    # room left between each Bollinger band and its Keltner band; 1 = BB collapsed to the centre
    room = np.minimum(kc["upper"] - bb_upper, bb_lower - kc["lower"])
    kc_width = kc["upper"] - kc["lower"]
    intensity = np.where(kc_width == 0, 0.0, np.maximum(2.0 * ratio(room, kc_width), 0.0))
    return {"value": np.where(np.isnan(room), np.nan, intensity)}


def _ichimoku(d: Arrays, p: Params) -> Arrays:
    tenkan = talib.MIDPRICE(d["high"], d["low"], p["tenkan_period"])
    kijun = talib.MIDPRICE(d["high"], d["low"], p["kijun_period"])
    senkou_b = talib.MIDPRICE(d["high"], d["low"], p["senkou_b_period"])
    return {
        "tenkan": tenkan,
        "kijun": kijun,
        "senkou_a": (tenkan + kijun) / 2.0,
        "senkou_b": senkou_b,
    }


def _vwap(d: Arrays, p: Params) -> Arrays:
    price = (d["high"] + d["low"] + d["close"]) / 3.0 if p["use_typical_price"] else d["close"]
    traded = talib.SUM(price * d["volume"], p["period"])
    return {"value": ratio(traded, talib.SUM(d["volume"], p["period"]))}


def _cmf(d: Arrays, p: Params) -> Arrays:
    flow = talib.SUM(money_flow_volume(d), p["period"])
    return {"value": ratio(flow, talib.SUM(d["volume"], p["period"]))}


def _volumeratio(d: Arrays, p: Params) -> Arrays:
    return {"value": ratio(d["volume"], talib.SMA(d["volume"], p["period"]))}


def _distancefromma(d: Arrays, p: Params) -> Arrays:
    price = d[p["source"]]
    average = talib.SMA if p["ma_type"] == "SMA" else talib.EMA
    ma = average(price, p["period"])
    return {"value": 100.0 * ratio(price - ma, ma)}


CUSTOM: dict[str, Callable[[Arrays, Params], Arrays]] = {
    "rvi": _rvi,
    "fishertransform": _fishertransform,
    "bollingerbandwidth": _bollingerbandwidth,
    "keltnerchannels": _keltnerchannels,
    "donchianchannels": _donchianchannels,
    "supertrend": _supertrend,
    "squeezeintensity": _squeezeintensity,
    "ichimoku": _ichimoku,
    "vwap": _vwap,
    "cmf": _cmf,
    "volumeratio": _volumeratio,
    "distancefromma": _distancefromma,
}
