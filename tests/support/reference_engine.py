"""A slow, plain-Python backtest of DESIGN §12's rules, written for clarity, to check the kernels.

One loop serves the single run (one symbol) and the portfolio (several symbols on the union of
their timestamps, one cash account). It shares no code with ktrdr.backtesting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class _Position:
    direction: int
    units: float
    entry_row: int  # row of the union index
    entry_ordinal: int  # the symbol's own bar count at entry
    entry_price: float
    costs: float
    stop_loss: float
    take_profit: float
    trailing_stop: float
    extreme: float


@dataclass
class _Symbol:
    name: str
    bars: pd.DataFrame
    target: np.ndarray
    weight: float
    fractions: np.ndarray  # sizing fraction per decision bar (own bars)
    exits: dict[str, np.ndarray]  # fraction per decision bar (own bars)
    cost_rate: float
    financing: float
    ordinal: int = -1  # own bars seen so far - 1
    position: _Position | None = None
    lock: int | None = None
    last_close: float = math.nan
    entry_time: pd.Timestamp | None = None
    trades: list[dict] = field(default_factory=list)


def _per_bar(value, n):
    if value is None:
        return np.full(n, math.nan)
    return np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()


def _levels(pos: _Position) -> tuple[float, str, float]:
    d = pos.direction
    fixed = pos.entry_price * (1 - d * pos.stop_loss)
    trailing = pos.extreme * (1 - d * pos.trailing_stop)
    stop, reason = fixed, "stop"
    if not math.isnan(trailing) and (math.isnan(fixed) or d * (trailing - fixed) > 0):
        stop, reason = trailing, "trailing_stop"
    return stop, reason, pos.entry_price * (1 + d * pos.take_profit)


def _hit(pos: _Position, open_: float, high: float, low: float) -> tuple[str, float] | None:
    stop, stop_reason, target = _levels(pos)
    if pos.direction > 0:
        if open_ <= stop:
            return stop_reason, open_
        if open_ >= target:
            return "take_profit", open_
        if low <= stop:
            return stop_reason, stop
        if high >= target:
            return "take_profit", target
    else:
        if open_ >= stop:
            return stop_reason, open_
        if open_ <= target:
            return "take_profit", open_
        if high >= stop:
            return stop_reason, stop
        if low <= target:
            return "take_profit", target
    return None


def _close(sym: _Symbol, price: float, time, bars_held: int, reason: str, at_end: bool) -> float:
    pos = sym.position
    exit_cost = sym.cost_rate * abs(pos.units) * price
    costs = pos.costs + exit_cost
    pnl = pos.units * (price - pos.entry_price) - costs
    sym.trades.append(
        {
            "symbol": sym.name,
            "entry_time": sym.entry_time,
            "exit_time": time,
            "entry_price": pos.entry_price,
            "exit_price": price,
            "direction": pos.direction,
            "size": abs(pos.units),
            "pnl": pnl,
            "return": pnl / (abs(pos.units) * pos.entry_price),
            "costs": costs,
            "bars_held": bars_held,
            "open_at_end": at_end,
            "exit_reason": reason,
        }
    )
    sym.position = None
    return -exit_cost if at_end else pos.units * price - exit_cost


def reference_portfolio(
    bars_by_symbol: dict[str, pd.DataFrame],
    targets: dict[str, np.ndarray],
    *,
    weights: dict[str, float],
    capital: float = 100_000.0,
    cost_rate: dict[str, float] | None = None,
    financing_per_day: dict[str, float] | None = None,
    fractions: dict[str, np.ndarray] | None = None,
    exits: dict[str, dict[str, object]] | None = None,
) -> tuple[list[dict], list[float], pd.DatetimeIndex, dict[str, int]]:
    """Run the rules bar by bar: (trades by symbol, equity, union index, symbol order)."""
    symbols = []
    for name, bars in bars_by_symbol.items():
        n = len(bars)
        given = (exits or {}).get(name, {})
        symbols.append(
            _Symbol(
                name=name,
                bars=bars,
                target=np.asarray(targets[name], dtype=float),
                weight=weights[name],
                fractions=_per_bar((fractions or {}).get(name, 1.0), n),
                exits={
                    k: _per_bar(given.get(k), n)
                    for k in ("stop_loss", "take_profit", "trailing_stop")
                },
                cost_rate=(cost_rate or {}).get(name, 0.0),
                financing=(financing_per_day or {}).get(name, 0.0),
            )
        )
    union = bars_by_symbol[symbols[0].name].index
    for sym in symbols[1:]:
        union = union.union(sym.bars.index)
    cash, equity = capital, []
    for row, time in enumerate(union):
        active = [s for s in symbols if time in s.bars.index]
        for sym in active:
            sym.ordinal += 1
        # 1. Signal exits at the open.
        wanted = {}
        for sym in active:
            i = sym.ordinal
            want = 0 if i == 0 else int(sym.target[i - 1])
            if sym.lock is not None:
                if want == sym.lock:
                    want = 0
                else:
                    sym.lock = None
            wanted[sym.name] = want
            if sym.position is not None and want != sym.position.direction:
                open_ = sym.bars["open"].iloc[i]
                held = i - sym.position.entry_ordinal
                cash += _close(sym, open_, time, held, "signal", False)
        # 2. Entries sized on equity after those exits, other positions at their last close.
        sizing_equity = cash + sum(s.position.units * s.last_close for s in symbols if s.position)
        for sym in active:
            i = sym.ordinal
            want = wanted[sym.name]
            if want == 0 or sym.position is not None:
                continue
            fraction = sym.fractions[i - 1]
            if sizing_equity <= 0 or math.isnan(fraction):
                continue
            open_ = sym.bars["open"].iloc[i]
            notional = sym.weight * fraction * sizing_equity
            units = want * notional / open_
            cash -= units * open_ + sym.cost_rate * notional
            sym.entry_time = time
            sym.position = _Position(
                want, units, row, i, open_, sym.cost_rate * notional,
                *(sym.exits[k][i - 1] for k in ("stop_loss", "take_profit", "trailing_stop")),
                extreme=open_,
            )  # fmt: skip
        # 3. Stops and targets within the bar.
        for sym in active:
            pos, i = sym.position, sym.ordinal
            if pos is None:
                continue
            bar = sym.bars.iloc[i]
            hit = _hit(pos, bar["open"], bar["high"], bar["low"])
            if hit is None:
                extreme = bar["high"] if pos.direction > 0 else bar["low"]
                pos.extreme = (
                    max(pos.extreme, extreme) if pos.direction > 0 else min(pos.extreme, extreme)
                )
                continue
            cash += _close(sym, hit[1], time, i - pos.entry_ordinal, hit[0], False)
            sym.lock = pos.direction
        for sym in active:
            sym.last_close = sym.bars["close"].iloc[sym.ordinal]
        # 4. Financing on the notional held at this close, for the days until the next close
        #    (it is held at least until the next open); none at the last, where it is closed.
        last = row == len(union) - 1
        days = 0.0 if last else (union[row + 1] - time).total_seconds() / 86_400
        for sym in symbols:
            if sym.position is not None and sym.financing > 0:
                fee = sym.financing * abs(sym.position.units) * sym.last_close * days
                cash -= fee
                sym.position.costs += fee
        equity.append(cash + sum(s.position.units * s.last_close for s in symbols if s.position))
    for sym in symbols:
        if sym.position is not None:
            held = len(sym.bars) - sym.position.entry_ordinal
            equity[-1] += _close(sym, sym.last_close, sym.bars.index[-1], held, "end", True)
    order = {s.name: k for k, s in enumerate(symbols)}
    trades = [t for s in symbols for t in s.trades]
    return trades, equity, union, order


def reference_single(bars, target, **kwargs) -> tuple[list[dict], list[float]]:
    """The single-symbol run: a portfolio of one symbol of weight 1."""
    cost_rate = kwargs.pop("cost_rate", 0.0)
    financing = kwargs.pop("financing_per_day", 0.0)
    fraction = kwargs.pop("fraction", 1.0)
    exits = {k: kwargs.pop(k) for k in ("stop_loss", "take_profit", "trailing_stop") if k in kwargs}
    trades, equity, _, _ = reference_portfolio(
        {"X": bars},
        {"X": target},
        weights={"X": 1.0},
        cost_rate={"X": cost_rate},
        financing_per_day={"X": financing},
        fractions={"X": fraction},
        exits={"X": exits},
        **kwargs,
    )
    return trades, equity
