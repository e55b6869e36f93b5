"""Catalogue indicators that are one or a few TA-Lib calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import talib

from ktrdr.features.indicators._arrays import Arrays, money_flow_volume, shift

Params = dict[str, Any]


def _rsi(d: Arrays, p: Params) -> Arrays:
    return {"value": talib.RSI(d[p["source"]], timeperiod=p["period"])}


def _roc(d: Arrays, p: Params) -> Arrays:
    return {"value": talib.ROC(d[p["source"]], timeperiod=p["period"])}


def _momentum(d: Arrays, p: Params) -> Arrays:
    return {"value": talib.MOM(d[p["source"]], timeperiod=p["period"])}


def _cci(d: Arrays, p: Params) -> Arrays:
    return {"value": talib.CCI(d["high"], d["low"], d["close"], timeperiod=p["period"])}


def _williamsr(d: Arrays, p: Params) -> Arrays:
    return {"value": talib.WILLR(d["high"], d["low"], d["close"], timeperiod=p["period"])}


def _stochastic(d: Arrays, p: Params) -> Arrays:
    k, slow_d = talib.STOCH(
        d["high"],
        d["low"],
        d["close"],
        fastk_period=p["k_period"],
        slowk_period=p["smooth_k"],
        slowk_matype=0,
        slowd_period=p["d_period"],
        slowd_matype=0,
    )
    return {"k": k, "d": slow_d}


def _aroon(d: Arrays, p: Params) -> Arrays:
    down, up = talib.AROON(d["high"], d["low"], timeperiod=p["period"])
    return {"up": up, "down": down, "oscillator": up - down}


def _atr(d: Arrays, p: Params) -> Arrays:
    return {"value": talib.ATR(d["high"], d["low"], d["close"], timeperiod=p["period"])}


def _bollingerbands(d: Arrays, p: Params) -> Arrays:
    upper, middle, lower = talib.BBANDS(
        d[p["source"]], p["period"], p["multiplier"], p["multiplier"], matype=0
    )
    return {"upper": upper, "middle": middle, "lower": lower}


def _sma(d: Arrays, p: Params) -> Arrays:
    return {"value": talib.SMA(d[p["source"]], timeperiod=p["period"])}


def _ema(d: Arrays, p: Params) -> Arrays:
    return {"value": talib.EMA(d[p["source"]], timeperiod=p["period"])}


def _wma(d: Arrays, p: Params) -> Arrays:
    return {"value": talib.WMA(d[p["source"]], timeperiod=p["period"])}


def _macd(d: Arrays, p: Params) -> Arrays:
    line, signal, histogram = talib.MACD(
        d[p["source"]], p["fast_period"], p["slow_period"], p["signal_period"]
    )
    return {"line": line, "signal": signal, "histogram": histogram}


def _adx(d: Arrays, p: Params) -> Arrays:
    hlc = (d["high"], d["low"], d["close"])
    return {
        "adx": talib.ADX(*hlc, timeperiod=p["period"]),
        "plus_di": talib.PLUS_DI(*hlc, timeperiod=p["period"]),
        "minus_di": talib.MINUS_DI(*hlc, timeperiod=p["period"]),
    }


def _parabolicsar(d: Arrays, p: Params) -> Arrays:
    # SAREXT takes separate initial and step factors; it signs short-side values negative.
    sar = talib.SAREXT(
        d["high"],
        d["low"],
        startvalue=0.0,
        offsetonreverse=0.0,
        accelerationinitlong=p["initial_af"],
        accelerationlong=p["step_af"],
        accelerationmaxlong=p["max_af"],
        accelerationinitshort=p["initial_af"],
        accelerationshort=p["step_af"],
        accelerationmaxshort=p["max_af"],
    )
    return {"value": np.abs(sar)}


def _obv(d: Arrays, p: Params) -> Arrays:
    # the change of TA-Lib's cumulative OBV over period bars, which forgets the first bar
    direction = np.sign(d["close"] - shift(d["close"], 1))
    return {"value": talib.SUM(direction * d["volume"], p["period"])}


def _mfi(d: Arrays, p: Params) -> Arrays:
    return {
        "value": talib.MFI(d["high"], d["low"], d["close"], d["volume"], timeperiod=p["period"])
    }


def _adline(d: Arrays, p: Params) -> Arrays:
    # the change of TA-Lib's cumulative A/D line over period bars, which forgets the first bar
    return {"value": talib.SUM(money_flow_volume(d), p["period"])}


TALIB_BASED: dict[str, Callable[[Arrays, Params], Arrays]] = {
    "rsi": _rsi,
    "roc": _roc,
    "momentum": _momentum,
    "cci": _cci,
    "williamsr": _williamsr,
    "stochastic": _stochastic,
    "aroon": _aroon,
    "atr": _atr,
    "bollingerbands": _bollingerbands,
    "sma": _sma,
    "ema": _ema,
    "wma": _wma,
    "macd": _macd,
    "adx": _adx,
    "parabolicsar": _parabolicsar,
    "obv": _obv,
    "mfi": _mfi,
    "adline": _adline,
}
