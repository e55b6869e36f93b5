"""Validation of the simulators' arguments, turned into the arrays the numba kernels take."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ktrdr.backtesting.metrics_nb import BarClock
from ktrdr.backtesting.sizing import VolatilityTarget, check_sizing
from ktrdr.errors import ValidationError

BASIS_POINT = 1e-4
EXIT_NAMES: tuple[str, ...] = ("stop_loss", "take_profit", "trailing_stop")
_NONE = np.full(1, np.nan)
_NO_DAYS = np.zeros(1)


def check_number(name: str, value: float, *, allow_zero: bool) -> float:
    """``value`` as a finite float >= 0 (> 0 unless ``allow_zero``), else a ValidationError."""
    if isinstance(value, bool):
        raise ValidationError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValidationError(f"{name} must be a finite number {bound}, got {value!r}")
    return number


def check_bars(bars: object, name: str = "bars") -> pd.DataFrame:
    """A non-empty OHLCV DataFrame on a DatetimeIndex."""
    if not isinstance(bars, pd.DataFrame):
        raise ValidationError(f"{name} must be an OHLCV DataFrame, got {type(bars).__name__}")
    if len(bars) == 0:
        raise ValidationError(f"{name} is empty: need at least one bar")
    if not isinstance(bars.index, pd.DatetimeIndex):
        kind = type(bars.index).__name__
        raise ValidationError(f"{name} index must be a DatetimeIndex, got {kind}")
    return bars


def price_array(bars: pd.DataFrame, column: str, name: str = "bars") -> np.ndarray:
    """One price column as float64, read-only, without a copy when it already is."""
    if column not in bars.columns:
        raise ValidationError(f"{name} lacks the {column!r} column (need open, high, low, close)")
    position = bars.columns.get_loc(column)
    if not isinstance(position, int):
        raise ValidationError(f"{name} has more than one {column!r} column")
    # pandas' own read-only column accessor: ``bars[column]`` builds a Series first, which
    # costs 2 x 20 us, 13 % of a 100k-bar simulation (BENCHMARKS.md, backtest engine).
    values = np.asarray(bars._get_column_array(position))
    return values if values.dtype == np.float64 else values.astype(np.float64)


def exit_fractions(name: str, value: object, n: int) -> np.ndarray:
    """None, a fraction in (0, 1) or one per decision bar (NaN = none) -> a kernel array."""
    if value is None:
        return _NONE
    values = np.atleast_1d(np.asarray(value, dtype=np.float64)) if _is_numeric(value) else None
    if values is None or values.ndim != 1 or (np.ndim(value) == 1 and len(values) != n):
        raise ValidationError(
            f"{name} must be None, a fraction in (0, 1) or an array of {n} fractions "
            f"(one per decision bar, NaN = none), got {_short(value)}"
        )
    return check_fractions(name, values)


def check_fractions(name: str, values: np.ndarray) -> np.ndarray:
    """``values`` when every one that is not NaN lies in (0, 1); else a ValidationError."""
    given = values[~np.isnan(values)]
    bad = given[(given <= 0.0) | (given >= 1.0) | ~np.isfinite(given)]
    if len(bad):
        raise ValidationError(f"{name} must be a fraction in (0, 1), got {float(bad[0])!r}")
    return values


def _is_numeric(value: object) -> bool:
    if isinstance(value, bool | str):
        return False
    try:
        np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Costs:
    """Per-fill cost rate and financing per day, from the bps arguments.

    Each fill pays (commission_bps + slippage_bps + spread_bps / 2) / 10_000 of its notional:
    the spread is the full quoted bid-ask spread, half of which a fill crosses. Financing charges
    financing_bps_per_day / 10_000 per calendar day of the absolute notional held at each close.
    """

    cost_rate: float
    financing_per_day: float

    @classmethod
    def from_bps(
        cls,
        *,
        commission_bps: float,
        slippage_bps: float,
        spread_bps: float,
        financing_bps_per_day: float,
    ) -> Costs:
        """Validate the bps arguments (each finite and >= 0)."""
        commission = check_number("commission_bps", commission_bps, allow_zero=True)
        slippage = check_number("slippage_bps", slippage_bps, allow_zero=True)
        spread = check_number("spread_bps", spread_bps, allow_zero=True)
        financing = check_number("financing_bps_per_day", financing_bps_per_day, allow_zero=True)
        # spread / 2 is added last so that spread 0 leaves the historical cost rate bit-identical.
        rate = (commission + slippage) * BASIS_POINT
        if spread:
            rate += spread / 2.0 * BASIS_POINT
        return cls(rate, financing * BASIS_POINT)


def entry_fractions(
    sizing: VolatilityTarget | np.ndarray | None,
    fraction: float,
    close: np.ndarray,
    periods: float | None,
) -> np.ndarray:
    """The fraction of equity for an entry decided at each bar (or one for all)."""
    if sizing is None:
        return np.full(1, fraction)
    if isinstance(sizing, np.ndarray):
        return sizing
    return sizing.fractions(close, periods)


def exit_price_arrays(bars: pd.DataFrame, open_: np.ndarray, exits_on: bool) -> tuple:
    """(high, low) when any exit is set (bars must have them), else the opens as stand-ins."""
    if not exits_on:
        return open_, open_
    for column in ("high", "low"):
        if column not in bars.columns:
            raise ValidationError(
                f"bars lacks the {column!r} column, which stop_loss, take_profit and "
                "trailing_stop need"
            )
    return price_array(bars, "high"), price_array(bars, "low")


@dataclass(frozen=True)
class MarketInputs:
    """One market's validated kernel inputs: prices, clock, entry fractions, costs, capital."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    clock: BarClock
    fractions: np.ndarray
    costs: Costs
    days: np.ndarray  # days until the next close, read only with financing
    capital: float

    @property
    def buy_and_hold_return(self) -> float:
        """close[-1] / close[0] - 1 over these bars."""
        return float(self.close[-1] / self.close[0] - 1.0)


def market_inputs(
    bars: pd.DataFrame,
    *,
    commission_bps: float,
    slippage_bps: float,
    spread_bps: float,
    financing_bps_per_day: float,
    position_fraction: float,
    initial_capital: float,
    sizing: object,
    exits_on: bool,
) -> MarketInputs:
    """Validate the arguments simulate_positions and simulate_many share and read the bars."""
    costs = Costs.from_bps(
        commission_bps=commission_bps,
        slippage_bps=slippage_bps,
        spread_bps=spread_bps,
        financing_bps_per_day=financing_bps_per_day,
    )
    fraction = check_number("position_fraction", position_fraction, allow_zero=False)
    capital = check_number("initial_capital", initial_capital, allow_zero=False)
    checked_sizing = check_sizing(sizing, len(bars))
    open_, close = price_array(bars, "open"), price_array(bars, "close")
    high, low = exit_price_arrays(bars, open_, exits_on)
    clock = BarClock.of(bars.index)
    fractions = entry_fractions(checked_sizing, fraction, close, clock.periods_per_year)
    days = clock.days_to_next_close() if costs.financing_per_day else _NO_DAYS
    return MarketInputs(open_, high, low, close, clock, fractions, costs, days, capital)
