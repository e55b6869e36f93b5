"""Trade one market alone or several as one portfolio, by the strategy's execution rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ktrdr.backtesting.arguments import EXIT_NAMES
from ktrdr.backtesting.execution_plan import (
    ExitValue,
    sizing_arguments,
    symbol_costs,
)
from ktrdr.backtesting.portfolio import simulate_portfolio
from ktrdr.backtesting.simulator import SimulationResult, simulate_positions
from ktrdr.strategy import StrategyConfig

DEFAULT_CAPITAL = 100_000.0
COST_NAMES = ("commission_bps", "slippage_bps", "spread_bps", "financing_bps_per_day")


@dataclass(frozen=True)
class TradedMarket:
    """One symbol's traded bars, the target positions decided on them, its exits and its
    volatility-target fractions per decision bar (aligned; None: the strategy's sizing computed
    on these bars alone)."""

    symbol: str
    bars: pd.DataFrame
    target_position: np.ndarray
    exits: Mapping[str, ExitValue] = field(default_factory=dict)
    sizing: np.ndarray | None = None


@dataclass(frozen=True)
class MarketsRun:
    """A simulation of one market or a portfolio: trades, equity, metrics, per-symbol metrics.

    ``symbol_metrics`` is None for a single market; ``target_position`` is the single market's
    targets, or a frame with one column per symbol on the portfolio's timestamps.
    """

    symbols: list[str]
    result: SimulationResult
    target_position: np.ndarray | pd.DataFrame
    symbol_metrics: dict[str, dict[str, Any]] | None = None


def portfolio_weights(strategy: StrategyConfig, symbols: Sequence[str]) -> dict[str, float]:
    """Equal shares of the strategy's fixed fraction: two symbols at fraction 1.0 get 0.5 each."""
    fraction = sizing_arguments(strategy)["position_fraction"]
    return {symbol: fraction / len(symbols) for symbol in symbols}


def market_sizing(strategy: StrategyConfig, fractions: np.ndarray | None) -> dict[str, Any]:
    """``sizing_arguments`` with the volatility target's fractions computed over the history
    (``fractions``), when given, in place of the target itself."""
    arguments = sizing_arguments(strategy)
    if fractions is not None and arguments["sizing"] is not None:
        arguments["sizing"] = fractions
    return arguments


def trade_markets(
    strategy: StrategyConfig,
    markets: Sequence[TradedMarket],
    costs: Mapping[str, Any],
    *,
    initial_capital: float = DEFAULT_CAPITAL,
) -> MarketsRun:
    """Simulate one market with ``simulate_positions``, several with ``simulate_portfolio``."""
    if len(markets) == 1:
        market = markets[0]
        result = simulate_positions(
            market.bars,
            market.target_position,
            initial_capital=initial_capital,
            **symbol_costs(costs, market.symbol),
            **market_sizing(strategy, market.sizing),
            **market.exits,
        )
        return MarketsRun([market.symbol], result, market.target_position)
    return _trade_portfolio(strategy, markets, costs, initial_capital)


def _trade_portfolio(
    strategy: StrategyConfig,
    markets: Sequence[TradedMarket],
    costs: Mapping[str, Any],
    initial_capital: float,
) -> MarketsRun:
    symbols = [market.symbol for market in markets]
    per_symbol = {market.symbol: symbol_costs(costs, market.symbol) for market in markets}
    exits = {
        name: {market.symbol: market.exits.get(name) for market in markets} for name in EXIT_NAMES
    }
    result = simulate_portfolio(
        {market.symbol: market.bars for market in markets},
        {market.symbol: market.target_position for market in markets},
        weights=portfolio_weights(strategy, symbols),
        initial_capital=initial_capital,
        sizing=_portfolio_sizing(strategy, markets),
        **{name: {s: c[name] for s, c in per_symbol.items()} for name in COST_NAMES},
        **exits,
    )
    simulation = SimulationResult(result.trades, result.equity, result.metrics)
    return MarketsRun(
        symbols,
        simulation,
        targets_frame(markets, result.equity.index),
        {symbol: row.to_dict() for symbol, row in result.symbol_metrics.astype(object).iterrows()},
    )


def _portfolio_sizing(strategy: StrategyConfig, markets: Sequence[TradedMarket]) -> Any:
    if all(market.sizing is not None for market in markets):
        return {m.symbol: market_sizing(strategy, m.sizing)["sizing"] for m in markets}
    return sizing_arguments(strategy)["sizing"]


def targets_frame(markets: Sequence[TradedMarket], index: pd.DatetimeIndex) -> pd.DataFrame:
    """Each symbol's target on the portfolio's timestamps ``index`` (held where it has no bar)."""
    frame = pd.DataFrame(
        {m.symbol: pd.Series(m.target_position, index=m.bars.index) for m in markets}
    )
    return frame.reindex(index).ffill().fillna(0).astype(np.int8)


def concatenated(markets: Sequence[TradedMarket]) -> TradedMarket:
    """One symbol's consecutive slices as one market (bars, targets and exits joined)."""
    exits: dict[str, ExitValue] = {}
    for name in EXIT_NAMES:
        values = [market.exits.get(name) for market in markets]
        arrays = [v for v in values if isinstance(v, np.ndarray)]
        exits[name] = (
            np.concatenate(
                [_as_array(v, len(m.bars)) for v, m in zip(values, markets, strict=True)]
            )
            if arrays
            else values[0]
        )
    sizings = [market.sizing for market in markets]
    return TradedMarket(
        markets[0].symbol,
        pd.concat([market.bars for market in markets]),
        np.concatenate([market.target_position for market in markets]),
        exits,
        None if any(s is None for s in sizings) else np.concatenate(sizings),
    )


def _as_array(value: ExitValue, n: int) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    return np.full(n, np.nan if value is None else float(value))
