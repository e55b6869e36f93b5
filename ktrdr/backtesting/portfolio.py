"""Several symbols traded from one cash account on the union of their timestamps."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ktrdr.backtesting.arguments import (
    EXIT_NAMES,
    Costs,
    check_bars,
    check_number,
    entry_fractions,
    exit_fractions,
    price_array,
)
from ktrdr.backtesting.fills import TRADE_RECORD_DTYPE
from ktrdr.backtesting.metrics import Metrics
from ktrdr.backtesting.metrics_nb import (
    STATS_GROSS_LOSS,
    STATS_GROSS_PROFIT,
    BarClock,
    metrics_from_raw,
    record_stats_nb,
    trade_metrics,
)
from ktrdr.backtesting.portfolio_nb import simulate_portfolio_nb
from ktrdr.backtesting.simulator import raise_for_status, trades_frame
from ktrdr.backtesting.sizing import VolatilityTarget, check_sizing
from ktrdr.errors import ValidationError

logger = logging.getLogger(__name__)

SYMBOL_METRIC_NAMES: tuple[str, ...] = (
    "total_trades",
    "win_rate",
    "profit_factor",
    "avg_trade_return",
    "total_pnl",
    "exposure",
    "buy_and_hold_return",
)
PerSymbol = float | Mapping[str, float]


@dataclass(frozen=True)
class PortfolioResult:
    """Trades of every symbol (TRADE_COLUMNS + ``symbol``), account equity, portfolio metrics
    (METRIC_NAMES) and one row of SYMBOL_METRIC_NAMES per symbol."""

    trades: pd.DataFrame
    equity: pd.Series
    metrics: Metrics
    symbol_metrics: pd.DataFrame


@dataclass
class _Grid:
    """The symbols' bars on the union index: (N, S) price arrays, NaN where a symbol has none."""

    index: pd.DatetimeIndex
    symbols: list[str]
    rows: list[np.ndarray]  # each symbol's row numbers in the union index
    has_bar: np.ndarray

    def spread(self, per_symbol: list[np.ndarray], fill: float) -> np.ndarray:
        """Place each symbol's per-bar values at its rows; ``fill`` elsewhere."""
        grid = np.full((len(self.index), len(self.symbols)), fill)
        for s, values in enumerate(per_symbol):
            grid[self.rows[s], s] = values
        return grid


def _grid(bars_by_symbol: Mapping[str, pd.DataFrame]) -> _Grid:
    symbols = list(bars_by_symbol)
    index = bars_by_symbol[symbols[0]].index
    for symbol in symbols[1:]:
        index = index.union(bars_by_symbol[symbol].index)
    rows = [index.get_indexer(bars_by_symbol[symbol].index) for symbol in symbols]
    has_bar = np.zeros((len(index), len(symbols)), dtype=np.bool_)
    for s, symbol_rows in enumerate(rows):
        has_bar[symbol_rows, s] = True
    return _Grid(index, symbols, rows, has_bar)


def _per_symbol(name: str, value: object, symbols: list[str]) -> list[object]:
    if isinstance(value, Mapping):
        unknown = set(value) - set(symbols)
        missing = set(symbols) - set(value)
        if unknown or missing:
            raise ValidationError(
                f"{name} must name exactly the symbols {symbols}: "
                f"unknown {sorted(unknown)}, missing {sorted(missing)}"
            )
        return [value[symbol] for symbol in symbols]
    return [value] * len(symbols)


def _check_inputs(
    bars_by_symbol: object, targets_by_symbol: object
) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray]]:
    if not isinstance(bars_by_symbol, Mapping) or not bars_by_symbol:
        raise ValidationError("bars_by_symbol must be a non-empty mapping of symbol to bars")
    bars = {s: check_bars(b, f"bars_by_symbol[{s!r}]") for s, b in bars_by_symbol.items()}
    if not isinstance(targets_by_symbol, Mapping) or set(targets_by_symbol) != set(bars):
        raise ValidationError(
            f"targets_by_symbol must map exactly the symbols of bars_by_symbol {list(bars)}"
        )
    targets = {}
    for symbol, frame in bars.items():
        target = np.asarray(targets_by_symbol[symbol], dtype=np.float64)
        if target.shape != (len(frame),):
            raise ValidationError(
                f"targets_by_symbol[{symbol!r}] has shape {target.shape}, its bars "
                f"{len(frame)} rows: need one target per bar"
            )
        targets[symbol] = target
    return bars, targets


def _symbol_metrics(
    records: np.ndarray, bars: dict[str, pd.DataFrame], symbols: list[str]
) -> pd.DataFrame:
    rows = []
    for s, symbol in enumerate(symbols):
        stats = record_stats_nb(records[records["symbol"] == s])
        close = bars[symbol]["close"].to_numpy(dtype=np.float64)
        rows.append(
            {
                **trade_metrics(stats, len(close)),
                "total_pnl": stats[STATS_GROSS_PROFIT] - stats[STATS_GROSS_LOSS],
                "buy_and_hold_return": close[-1] / close[0] - 1.0,
            }
        )
    table = pd.DataFrame(
        rows, index=pd.Index(symbols, name="symbol"), columns=list(SYMBOL_METRIC_NAMES)
    )
    return table.astype({name: float for name in SYMBOL_METRIC_NAMES if name != "total_trades"})


def simulate_portfolio(
    bars_by_symbol: Mapping[str, pd.DataFrame],
    targets_by_symbol: Mapping[str, np.ndarray | pd.Series],
    *,
    weights: PerSymbol,
    commission_bps: PerSymbol = 0.0,
    slippage_bps: PerSymbol = 0.0,
    spread_bps: PerSymbol = 0.0,
    financing_bps_per_day: PerSymbol = 0.0,
    initial_capital: float = 100_000.0,
    stop_loss: object = None,
    take_profit: object = None,
    trailing_stop: object = None,
    sizing: VolatilityTarget | Mapping[str, np.ndarray] | None = None,
) -> PortfolioResult:
    """Trade each symbol's targets (-1/0/+1 per own bar) from one cash account.

    Timestamps are the union of the symbols' indexes; a symbol without a bar at a timestamp holds
    its position, valued at its last close, and neither trades nor checks exits there. Each symbol
    follows :func:`simulate_positions`' rules on its own bars (decision at a close, fill at its next
    open, stops/targets, flat after an exit until its target changes). An entry's notional is
    ``weights[symbol]`` (times the VolatilityTarget fraction, if given) x the account's equity after
    that timestamp's target exits at the open, the other positions valued at their last close; exits
    return their proceeds to the cash. With one symbol of weight w this is exactly
    ``simulate_positions(..., position_fraction=w)``. Costs, weights and exits are one value for all
    symbols or a mapping per symbol; exits per symbol may be a per-bar array of its own bars, and so
    may ``sizing`` (each symbol's VolatilityTarget fractions per own decision bar, computed over its
    history). Financing is charged at every timestamp on each held position (its last close x units)
    for the days until the next timestamp (none at the last). Portfolio metrics are the METRIC_NAMES
    on the account equity (exposure: share of timestamps ending with any position;
    buy_and_hold_return: the weight-averaged symbols' buy and hold).
    """
    bars, targets = _check_inputs(bars_by_symbol, targets_by_symbol)
    grid = _grid(bars)
    symbols = grid.symbols
    weight = [
        check_number(f"weights[{s!r}]", w, allow_zero=True)
        for s, w in zip(symbols, _per_symbol("weights", weights, symbols), strict=True)
    ]
    if sum(weight) <= 0:
        raise ValidationError(f"weights must have a positive sum, got {weights!r}")
    costs = [
        Costs.from_bps(commission_bps=c, slippage_bps=sl, spread_bps=sp, financing_bps_per_day=f)
        for c, sl, sp, f in zip(
            *(
                _per_symbol(name, value, symbols)
                for name, value in (
                    ("commission_bps", commission_bps),
                    ("slippage_bps", slippage_bps),
                    ("spread_bps", spread_bps),
                    ("financing_bps_per_day", financing_bps_per_day),
                )
            ),
            strict=True,
        )
    ]
    capital = check_number("initial_capital", initial_capital, allow_zero=False)
    sizings = [
        check_sizing(value, len(bars[s]))
        for s, value in zip(symbols, _per_symbol("sizing", sizing, symbols), strict=True)
    ]
    given = (stop_loss, take_profit, trailing_stop)
    exits_on = any(
        any(v is not None for v in _per_symbol(name, value, symbols))
        for name, value in zip(EXIT_NAMES, given, strict=True)
    )
    prices = {
        column: grid.spread(
            [price_array(bars[s], column, f"bars_by_symbol[{s!r}]") for s in symbols], np.nan
        )
        for column in (("open", "high", "low", "close") if exits_on else ("open", "close"))
    }
    if not exits_on:
        prices["high"] = prices["low"] = prices["open"]
    exit_grids = []
    for name, value in zip(EXIT_NAMES, given, strict=True):
        per_symbol = _per_symbol(name, value, symbols)
        exit_grids.append(
            grid.spread(
                [
                    np.broadcast_to(exit_fractions(f"{name}[{s!r}]", v, len(bars[s])), len(bars[s]))
                    for s, v in zip(symbols, per_symbol, strict=True)
                ],
                np.nan,
            )
        )
    fractions = []
    for s, w, symbol_sizing in zip(symbols, weight, sizings, strict=True):
        periods = BarClock.of(bars[s].index).periods_per_year
        close = bars[s]["close"].to_numpy(np.float64)
        sized = entry_fractions(symbol_sizing, 1.0, close, periods)
        fractions.append(w * np.broadcast_to(sized, len(close)))
    clock = BarClock.of(grid.index)
    n_rows = len(grid.index)
    equity = np.empty(n_rows)
    records = np.empty(sum(len(b) for b in bars.values()), dtype=TRADE_RECORD_DTYPE)
    status, bad_row, bad_symbol, n_trades, exposed = simulate_portfolio_nb(
        prices["open"], prices["high"], prices["low"], prices["close"], grid.has_bar,
        grid.spread([targets[s] for s in symbols], 0.0), exits_on, *exit_grids,
        grid.spread(fractions, np.nan),
        np.array([c.cost_rate for c in costs]), np.array([c.financing_per_day for c in costs]),
        clock.days_to_next_close(), capital, equity, records,
    )  # fmt: skip
    if status != 0:
        symbol = symbols[bad_symbol] if bad_symbol >= 0 else ""
        raise_for_status(
            status,
            bad_row,
            pd.DataFrame(index=grid.index),
            target_name=f"targets_by_symbol[{symbol!r}]",
            where_else=f" of symbol {symbol!r}" if symbol else "",
        )
    records = records[:n_trades]
    trades = trades_frame(grid.index, records)
    trades.insert(
        0, "symbol", pd.Categorical.from_codes(records["symbol"], categories=pd.Index(symbols))
    )
    weight_sum = sum(weight)
    buy_and_hold = 0.0
    for s, w in zip(symbols, weight, strict=True):
        close = bars[s]["close"].to_numpy(dtype=np.float64)
        buy_and_hold += w / weight_sum * (close[-1] / close[0] - 1.0)
    metrics = metrics_from_raw(
        clock.equity_metrics(equity), record_stats_nb(records), clock, buy_and_hold
    )
    metrics["exposure"] = exposed / n_rows
    equity_series = pd.Series(equity, index=grid.index, name="equity", copy=False)
    return PortfolioResult(trades, equity_series, metrics, _symbol_metrics(records, bars, symbols))
