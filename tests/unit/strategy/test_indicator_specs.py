from __future__ import annotations

import numpy as np
import pytest

import ktrdr.strategy.indicator_specs as indicator_specs
from ktrdr.errors import ValidationError
from ktrdr.strategy.indicator_specs import (
    IndicatorSpec,
    ParamSpec,
    check_indicator_params,
    get_indicator_spec,
    indicator_output_names,
    list_indicator_specs,
    resolve_indicator_params,
    warmup_bars,
)

DESIGN_CATALOGUE = {
    "rsi": (),
    "roc": (),
    "momentum": (),
    "cci": (),
    "williamsr": (),
    "stochastic": ("k", "d"),
    "rvi": ("rvi", "signal"),
    "fishertransform": ("fisher", "signal"),
    "aroon": ("up", "down", "oscillator"),
    "atr": (),
    "bollingerbands": ("upper", "middle", "lower"),
    "bollingerbandwidth": (),
    "keltnerchannels": ("upper", "middle", "lower"),
    "donchianchannels": ("upper", "middle", "lower"),
    "supertrend": ("trend", "direction"),
    "squeezeintensity": (),
    "sma": (),
    "ema": (),
    "wma": (),
    "macd": ("line", "signal", "histogram"),
    "adx": ("adx", "plus_di", "minus_di"),
    "parabolicsar": (),
    "ichimoku": ("tenkan", "kijun", "senkou_a", "senkou_b"),
    "obv": (),
    "vwap": (),
    "mfi": (),
    "cmf": (),
    "adline": (),
    "volumeratio": (),
    "distancefromma": (),
}


def test_catalogue_is_the_designed_one():
    specs = list_indicator_specs()
    assert [spec.name for spec in specs] == sorted(DESIGN_CATALOGUE)
    assert {spec.name: spec.outputs for spec in specs} == DESIGN_CATALOGUE


def test_specs_are_well_formed():
    bar_columns = {"open", "high", "low", "close", "volume"}
    for spec in list_indicator_specs():
        assert isinstance(spec, IndicatorSpec)
        assert spec.description and set(spec.inputs) <= bar_columns, spec.name
        for param in spec.params:
            assert isinstance(param, ParamSpec)
            assert check_indicator_params(spec.name, {param.name: param.default}) == [], (
                f"{spec.name}.{param.name} default is invalid"
            )


def test_price_series_indicators_take_a_source():
    with_source = {s.name for s in list_indicator_specs() if "source" in {p.name for p in s.params}}
    assert {"rsi", "roc", "momentum", "sma", "ema", "wma", "macd", "bollingerbands"} <= with_source
    source = next(p for p in get_indicator_spec("rsi").params if p.name == "source")
    assert source.default == "close" and source.choices == ("open", "high", "low", "close")


@pytest.mark.parametrize(
    ("type_name", "canonical"),
    [
        ("RSI", "rsi"),
        ("bbands", "bollingerbands"),
        ("BollingerBands", "bollingerbands"),
        ("bollinger_bands", "bollingerbands"),
        ("SimpleMovingAverage", "sma"),
        ("ExponentialMovingAverage", "ema"),
        ("WeightedMovingAverage", "wma"),
        ("ParabolicSAR", "parabolicsar"),
        (" Ichimoku ", "ichimoku"),
        ("talib.kama", "talib.KAMA"),
        ("TALIB.Stoch", "talib.STOCH"),
    ],
)
def test_lookup_is_case_insensitive_with_aliases(type_name, canonical):
    assert get_indicator_spec(type_name).name == canonical


def test_unknown_type_names_the_type_and_lists_allowed():
    with pytest.raises(ValidationError) as error:
        get_indicator_spec("hull_ma")
    message = str(error.value)
    assert "'hull_ma'" in message
    assert "rsi" in message and "bbands" in message and "talib.<NAME>" in message


@pytest.mark.parametrize("type_name", ["zigzag", "ZigZag", "zig_zag"])
def test_zigzag_is_refused_as_a_feature(type_name):
    with pytest.raises(ValidationError, match=r"zigzag.*peeks into the future"):
        get_indicator_spec(type_name)


def test_unknown_talib_function_fails():
    with pytest.raises(ValidationError, match=r"unknown TA-Lib function 'talib\.NOPE'"):
        get_indicator_spec("talib.nope")


def test_talib_function_with_non_bar_input_is_refused():
    with pytest.raises(ValidationError, match=r"talib\.MAVP needs inputs"):
        get_indicator_spec("talib.MAVP")


def test_talib_spec_is_read_from_talib_abstract():
    kama = get_indicator_spec("talib.KAMA")
    assert [(p.name, p.kind, p.default) for p in kama.params] == [("timeperiod", int, 30)]
    assert kama.outputs == () and kama.inputs == ("close",)
    stoch = get_indicator_spec("talib.STOCH")
    assert stoch.outputs == ("slowk", "slowd")
    assert stoch.inputs == ("high", "low", "close")
    matype = next(p for p in stoch.params if p.name == "slowk_matype")
    assert (matype.minimum, matype.maximum) == (0, 8)
    assert get_indicator_spec("talib.OBV").inputs == ("close", "volume")


def test_talib_params_are_checked_by_talib():
    assert check_indicator_params("talib.KAMA", {"timeperiod": 10}) == []
    issues = check_indicator_params("talib.KAMA", {"timeperiod": -3})
    assert len(issues) == 1 and issues[0][0] == "timeperiod" and "TA_BAD_PARAM" in issues[0][1]
    assert check_indicator_params("talib.KAMA", {"period": 10})[0][0] == "period"
    assert check_indicator_params("talib.BBANDS", {"matype": 9})[0][0] == "matype"
    assert check_indicator_params("talib.BBANDS", {"nbdevup": 1}) == []


@pytest.mark.parametrize(
    ("type_name", "params", "expected"),
    [
        ("rsi", {"period": 14}, []),
        ("rsi", {"period": 1}, [("period", "must be between 2 and 500, got 1")]),
        ("rsi", {"period": 501}, [("period", "must be between 2 and 500, got 501")]),
        ("rsi", {"period": 14.0}, [("period", "must be an integer, got 14.0")]),
        ("rsi", {"period": True}, [("period", "must be an integer, got True")]),
        ("rsi", {"period": "14"}, [("period", "must be an integer, got '14'")]),
        (
            "rsi",
            {"source": "hl2"},
            [("source", "must be one of open, high, low, close, got 'hl2'")],
        ),
        ("rsi", {"source": 3}, [("source", "must be a string, got 3")]),
        ("bbands", {"multiplier": "2"}, [("multiplier", "must be a number, got '2'")]),
        (
            "bbands",
            {"multiplier": float("nan")},
            [("multiplier", "must be a finite number, got nan")],
        ),
        ("vwap", {"use_typical_price": 1}, [("use_typical_price", "must be true or false, got 1")]),
        ("obv", {"window": 3}, [("window", "unknown parameter for obv; allowed: period")]),
        ("macd", {"fast_period": 26}, [("fast_period", "must be less than slow_period (26)")]),
        ("parabolicsar", {"initial_af": 0.3}, [("initial_af", "must not exceed max_af (0.2)")]),
    ],
)
def test_check_indicator_params(type_name, params, expected):
    assert check_indicator_params(type_name, params) == expected


def test_check_reports_every_bad_param():
    issues = check_indicator_params("stochastic", {"k_period": 0, "d_period": 2.5, "speed": 1})
    assert [name for name, _ in issues] == ["k_period", "d_period", "speed"]
    assert "allowed: k_period, d_period, smooth_k" in issues[2][1]


def test_numpy_scalars_are_accepted():
    assert (
        check_indicator_params("bbands", {"period": np.int64(20), "multiplier": np.float64(2)})
        == []
    )


def test_resolve_fills_defaults_and_normalises():
    assert resolve_indicator_params("bbands", {"period": 10, "multiplier": 3}) == {
        "period": 10,
        "multiplier": 3.0,
        "source": "close",
    }
    resolved = resolve_indicator_params("DistanceFromMA", {"ma_type": "ema", "source": "High"})
    assert resolved == {"period": 20, "ma_type": "EMA", "source": "high"}
    assert isinstance(resolve_indicator_params("bbands", {"multiplier": 3})["multiplier"], float)
    assert resolve_indicator_params("talib.KAMA", {}) == {"timeperiod": 30}


def test_resolve_raises_with_every_issue():
    with pytest.raises(ValidationError) as error:
        resolve_indicator_params("rsi", {"period": 0, "colour": "red"})
    assert "rsi" in str(error.value) and "period" in str(error.value)
    assert "colour" in str(error.value)
    assert len(error.value.details["issues"]) == 2


def test_output_names():
    assert indicator_output_names("MACD") == ("line", "signal", "histogram")
    assert indicator_output_names("rsi") == ()
    assert indicator_output_names("talib.AROON") == ("aroondown", "aroonup")


@pytest.mark.parametrize(
    ("type_name", "params", "expected"),
    [
        ("sma", {"period": 20}, 19),
        # recursive ones: NaN lookback + bars until the start's error is below SETTLE_FACTOR,
        # ceil(ln(1e-7) / ln(1 - alpha)): 218 for Wilder 14, 162 for EMA 20, 153 for Wilder 10
        ("rsi", {}, 14 + 218),
        ("ema", {"period": 20}, 19 + 162),
        ("macd", {}, (25 + 202) + (8 + 81)),
        ("adx", {"period": 10}, 19 + 2 * 153),
        ("atr", {"period": 1}, 1),
        ("distancefromma", {"ma_type": "EMA"}, 19 + 162),
        ("supertrend", {"period": 10, "multiplier": 6.0}, 2 * (10 + 153)),
        ("parabolicsar", {}, 250),
        ("ichimoku", {}, 51),
        ("obv", {}, 20),
        ("adline", {"period": 5}, 4),
        ("talib.SMA", {"timeperiod": 20}, 19),
        ("talib.STOCH", {}, 8),
    ],
)
def test_warmup_bars(type_name, params, expected):
    assert warmup_bars(type_name, params) == expected


def test_talib_warmup_adds_a_measured_settling_time():
    # TA-Lib's lookback is 19 for EMA 20; Wilder's RSI 14 remembers its start longer than EMA 20
    ema = warmup_bars("talib.EMA", {"timeperiod": 20})
    assert warmup_bars("ema", {"period": 20}) <= ema <= 3 * warmup_bars("ema", {"period": 20})
    assert warmup_bars("talib.RSI", {}) > ema
    assert warmup_bars("talib.SAR", {"acceleration": 0.01}) >= 500  # 5 reversals' worth


@pytest.mark.parametrize("name", ["talib.OBV", "talib.AD", "talib.MAXINDEX"])
def test_talib_running_totals_are_refused(name):
    issues = check_indicator_params(name, {})
    assert len(issues) == 1 and "depends on where the history starts" in issues[0][1]
    with pytest.raises(ValidationError, match="never forgets the first bar"):
        warmup_bars(name, {})


def test_warmup_rejects_bad_params():
    with pytest.raises(ValidationError, match="period"):
        warmup_bars("sma", {"period": 0})


def test_module_exports_match_all():
    for name in indicator_specs.__all__:
        assert hasattr(indicator_specs, name), name
    assert {
        "check_indicator_params",
        "get_indicator_spec",
        "indicator_output_names",
        "list_indicator_specs",
        "resolve_indicator_params",
        "warmup_bars",
        "ParamSpec",
        "IndicatorSpec",
    } <= set(indicator_specs.__all__)
