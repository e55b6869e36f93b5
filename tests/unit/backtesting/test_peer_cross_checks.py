"""Stops and targets against vectorbt and backtesting.py on bars where their rules coincide.

Where the rules coincide: decisions at a close fill at the next open, zero costs, one position
at a time, stop/target fractions of the entry (fill) price, a gap through a level fills at the
open, a touch fills at the level, and after a stop/target exit no re-entry until the signal
changes (the peers only enter on an entry signal, which our targets produce only on a change).

Where they differ, and how these tests keep clear of it:
- The entry bar. ktrdr checks exits from the entry bar on (DESIGN §12: the entry fills at the
  open, so that bar's low/high can already hit the stop). vectorbt (from_signals with
  price=open) starts checking on the bar after the entry, and backtesting.py only knows the
  fill price after the entry bar, so the levels here are set at that bar's close.
- A signal exit and a stop in the same bar. ktrdr fills the exit signal (decided at the
  previous close) at the open, before looking at the bar's range; vectorbt checks the stop over
  the whole bar first and fills it at the level, even when the level is reached only after the
  open at which the signal's order would already have filled.
- The tests make every bar where the target fills an entry or an exit flat (open = high = low
  = close), where no engine can hit a level, so the two points above cannot arise.
- Fixed plus trailing stop. ktrdr keeps both and lets the tighter bind; vectorbt has one stop
  that is either fixed or trailing (sl_trail); compared here with a trailing stop alone.
- Costs. ktrdr charges a rate on each fill's notional on top of the position; vectorbt's
  percent sizing takes the fee out of the position and backtesting.py sizes whole (here
  fractional) units after commission: the tests run without costs, as the engine benchmark.
- Sizing. backtesting.py sizes a fraction of equity only strictly below 1; it uses 0.5 there.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
import vectorbt as vbt
from backtesting import Strategy
from backtesting.lib import FractionalBacktest
from numpy.testing import assert_allclose, assert_array_equal

from ktrdr.backtesting import simulate_positions

os.environ.setdefault("TQDM_DISABLE", "1")


def quiet_fill_bars(bars: pd.DataFrame, target: np.ndarray) -> pd.DataFrame:
    """Flatten every bar where the target fills an entry or an exit (open = high = low = close)."""
    filled = np.concatenate([[0.0], target[:-1]])
    before = np.concatenate([[0.0], filled[:-1]])
    fill_bar = filled != before
    bars = bars.copy()
    for column in ("high", "low", "close"):
        bars.loc[fill_bar, column] = bars.loc[fill_bar, "open"]
    return bars


def sticky(rng, n, values):
    return np.repeat(rng.choice(values, n), rng.integers(1, 15, n))[:n].astype(float)


def run_vectorbt(bars, target, **stops):
    filled = np.concatenate([[0.0], target[:-1]])
    before = np.concatenate([[0.0], filled[:-1]])
    direction = "longonly" if filled.max() > 0 else "shortonly"
    side = 1.0 if direction == "longonly" else -1.0
    return vbt.Portfolio.from_signals(
        close=bars["close"].to_numpy(),
        entries=(filled == side) & (before != side),
        exits=(filled != side) & (before == side),
        direction=direction,
        price=bars["open"].to_numpy(),
        open=bars["open"].to_numpy(),
        high=bars["high"].to_numpy(),
        low=bars["low"].to_numpy(),
        size=1.0,
        size_type="percent",
        init_cash=100_000.0,
        **stops,
    )


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("side", [1, -1])
def test_fixed_stop_and_target_agree_with_vectorbt(seed, side, random_bars):
    rng = np.random.default_rng(seed)
    bars = quiet_fill_bars(random_bars(300, seed), target := sticky(rng, 300, [0, side]))
    ours = simulate_positions(bars, target, stop_loss=0.03, take_profit=0.04)
    theirs = run_vectorbt(bars, target, sl_stop=0.03, tp_stop=0.04)

    records = theirs.trades.records
    assert len(ours.trades) == len(records)
    index = bars.index
    assert_array_equal(ours.trades["entry_time"], index[records["entry_idx"]])
    closed = ~ours.trades["open_at_end"].to_numpy()
    assert_array_equal(ours.trades["exit_time"][closed], index[records["exit_idx"][closed]])
    assert_allclose(ours.trades["exit_price"], records["exit_price"], rtol=1e-12)
    assert_allclose(ours.trades["pnl"], records["pnl"], rtol=1e-9)
    assert ours.equity.iloc[-1] == pytest.approx(theirs.value().iloc[-1], rel=1e-12)
    assert set(ours.trades["exit_reason"]) >= {"stop", "take_profit"}


@pytest.mark.parametrize("seed", range(4))
def test_trailing_stop_agrees_with_vectorbt(seed, random_bars):
    rng = np.random.default_rng(seed)
    bars = quiet_fill_bars(random_bars(300, seed), target := sticky(rng, 300, [0, 1]))
    ours = simulate_positions(bars, target, trailing_stop=0.02)
    theirs = run_vectorbt(bars, target, sl_stop=0.02, sl_trail=True)

    records = theirs.trades.records
    assert len(ours.trades) == len(records)
    assert_allclose(ours.trades["exit_price"], records["exit_price"], rtol=1e-12)
    assert ours.equity.iloc[-1] == pytest.approx(theirs.value().iloc[-1], rel=1e-12)
    assert "trailing_stop" in set(ours.trades["exit_reason"])


FRACTION = 0.5


class TargetsWithStops(Strategy):
    """Trade the Target column; set each new trade's stop and target from its fill price."""

    stop_loss = 0.03
    take_profit = 0.04

    def init(self) -> None:
        pass

    def next(self) -> None:
        for trade in self.trades:
            if trade.sl is None:
                sign = 1 if trade.is_long else -1
                trade.sl = trade.entry_price * (1 - sign * self.stop_loss)
                trade.tp = trade.entry_price * (1 + sign * self.take_profit)
        target = self.data.Target[-1]
        previous = self.data.Target[-2] if len(self.data) > 1 else 0
        held = 1 if self.position.is_long else (-1 if self.position.is_short else 0)
        if held and target != held:
            self.position.close()
        if target != previous and target != 0:
            (self.buy if target > 0 else self.sell)(size=FRACTION)


@pytest.mark.parametrize("seed", range(4))
def test_stop_and_target_agree_with_backtesting_py(seed, random_bars):
    rng = np.random.default_rng(seed)
    target = sticky(rng, 250, [-1, 0, 1])
    target[:2] = 0  # backtesting.py's first next() is at bar 1: it never sees bar 0's target
    bars = quiet_fill_bars(random_bars(250, seed), target)
    ours = simulate_positions(
        bars, target, stop_loss=0.03, take_profit=0.04, position_fraction=FRACTION
    )
    backtest = FractionalBacktest(
        bars.rename(columns=str.capitalize).assign(Target=target),
        TargetsWithStops,
        cash=100_000.0,
        trade_on_close=False,
        exclusive_orders=True,
        finalize_trades=True,
        fractional_unit=1e-9,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = backtest.run()
    theirs = stats["_trades"]
    assert len(ours.trades) == len(theirs)
    assert_array_equal(ours.trades["entry_time"], theirs["EntryTime"])
    assert_allclose(ours.trades["exit_price"], theirs["ExitPrice"], rtol=1e-9)
    assert_allclose(ours.trades["pnl"], theirs["PnL"], rtol=1e-6)
