"""A strategy's execution rules as simulator arguments: exits, sizing and costs (DESIGN §12).

Every backtest mode (range, holdout, walk-forward folds, portfolios) builds its simulator
arguments here, so they all trade by the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ktrdr.backtesting.arguments import EXIT_NAMES
from ktrdr.backtesting.metrics import periods_per_year
from ktrdr.backtesting.sizing import VolatilityTarget
from ktrdr.features.labels import ewm_volatility
from ktrdr.strategy import Costs, StrategyConfig
from ktrdr.strategy.schema import TripleBarrierLabels

ExitValue = float | np.ndarray | None


@dataclass(frozen=True)
class ExitLevels:
    """Each exit as one fraction for every entry, or a fraction per decision bar (NaN: none)."""

    stop_loss: float | pd.Series | None = None
    take_profit: float | pd.Series | None = None
    trailing_stop: float | None = None

    def on(self, index: pd.DatetimeIndex) -> dict[str, ExitValue]:
        """The simulator's exit arguments for the traded bars ``index`` (per-bar ones aligned)."""
        return {name: _aligned(getattr(self, name), index) for name in EXIT_NAMES}


def _aligned(value: float | pd.Series | None, index: pd.DatetimeIndex) -> ExitValue:
    if isinstance(value, pd.Series):
        return value.reindex(index).to_numpy(dtype=np.float64)
    return value


def exit_levels(strategy: StrategyConfig, base_bars: pd.DataFrame) -> ExitLevels:
    """The strategy's ``decisions.exits`` over ``base_bars`` (give the history before the
    traded bars too: per-bar exits from the labels need the volatility's warm-up).

    With ``from_labels`` the stop loss at decision bar t is ``sl_multiplier`` × vol[t] and the
    take profit ``pt_multiplier`` × vol[t], vol being the labels' own EWM volatility of the
    close-to-close returns up to t (no later bar): close 100, vol 0.01, sl 1.5, pt 2 -> stop
    1.5 % and target 2 % from the entry. Bars without a volatility (warm-up, flat prices) and
    levels of 100 % or more get NaN: that entry has no such exit, as the labels had none.
    """
    exits = strategy.decisions.exits
    if exits is None:
        return ExitLevels()
    if not exits.from_labels:
        return ExitLevels(exits.stop_loss, exits.take_profit, exits.trailing_stop)
    labels = strategy.training.labels
    assert isinstance(labels, TripleBarrierLabels)  # the validator allows no other source
    volatility = ewm_volatility(base_bars["close"].to_numpy(dtype=np.float64), labels.vol_span)
    volatility[~(volatility > 0.0)] = np.nan
    return ExitLevels(
        stop_loss=_levels(labels.sl_multiplier * volatility, base_bars.index),
        take_profit=_levels(labels.pt_multiplier * volatility, base_bars.index),
        trailing_stop=exits.trailing_stop,
    )


def _levels(fractions: np.ndarray, index: pd.DatetimeIndex) -> pd.Series:
    return pd.Series(np.where(fractions < 1.0, fractions, np.nan), index=index)


def sizing_arguments(strategy: StrategyConfig, weight: float = 1.0) -> dict[str, Any]:
    """``position_fraction`` and ``sizing`` for the simulator; ``weight`` scales the fixed
    fraction (a portfolio's share of equity per symbol)."""
    sizing = strategy.decisions.sizing
    if sizing is None:
        return {"position_fraction": weight, "sizing": None}
    target = sizing.volatility_target
    volatility_target = (
        None
        if target is None
        else VolatilityTarget(
            annual_vol=target.annual_vol,
            lookback=target.lookback,
            max_leverage=sizing.max_leverage,
        )
    )
    return {"position_fraction": sizing.fraction * weight, "sizing": volatility_target}


def sizing_fractions(strategy: StrategyConfig, base_bars: pd.DataFrame) -> pd.Series | None:
    """The volatility target's fraction of equity per decision bar over ``base_bars``, None
    without one (give the history before the traded bars too, as for ``exit_levels``: the
    realised volatility at bar t needs ``lookback`` returns up to t, no later bar)."""
    target = sizing_arguments(strategy)["sizing"]
    if target is None:
        return None
    close = base_bars["close"].to_numpy(dtype=np.float64)
    fractions = target.fractions(close, periods_per_year(base_bars.index))
    return pd.Series(fractions, index=base_bars.index)


def sizing_on(fractions: pd.Series | None, index: pd.DatetimeIndex) -> np.ndarray | None:
    """``sizing_fractions`` aligned to the traded bars ``index`` (the simulator's ``sizing``)."""
    return None if fractions is None else fractions.reindex(index).to_numpy(dtype=np.float64)


def symbol_costs(costs: Mapping[str, Any], symbol: str) -> dict[str, float]:
    """The cost arguments for ``symbol`` from a resolved ``costs`` mapping (its override wins)."""
    return Costs.model_validate(dict(costs)).for_symbol(symbol)
