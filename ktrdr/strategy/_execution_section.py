"""How trades are executed: exits and sizing (decisions) and costs (backtest), DESIGN §12."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, NonNegativeFloat, model_validator

from ktrdr.strategy._data_section import Symbol
from ktrdr.strategy._schema_base import StrictModel, invalid

DEFAULT_COMMISSION_BPS = 1.0
DEFAULT_SLIPPAGE_BPS = 0.5
MAX_LEVERAGE = 10.0
MAX_SIZING_LOOKBACK = 10_000

# A price move as a fraction of the entry price: 0.02 = 2 %.
ExitFraction = Annotated[float, Field(gt=0.0, lt=1.0)]


class Exits(StrictModel):
    """Stops and targets: fixed fractions of the entry price, or the labels' own barriers.

    ``{stop_loss: 0.02, take_profit: 0.04}`` exits a long 2 % below or 4 % above its entry
    price; ``{from_labels: true}`` (triple-barrier strategies only) places them at the labels'
    ``sl_multiplier`` and ``pt_multiplier`` × the decision bar's volatility, so execution
    matches what the model learned. ``trailing_stop`` may be added to either.
    """

    stop_loss: ExitFraction | None = None
    take_profit: ExitFraction | None = None
    trailing_stop: ExitFraction | None = None
    from_labels: bool = False

    @model_validator(mode="after")
    def _labels_or_fixed(self) -> Exits:
        if self.from_labels and (self.stop_loss is not None or self.take_profit is not None):
            raise invalid(
                "from_labels places the stop loss and take profit from the labels' barriers; "
                "give either from_labels or stop_loss/take_profit, not both"
            )
        return self

    @property
    def any(self) -> bool:
        """True when some exit is set."""
        return self.from_labels or any(
            value is not None for value in (self.stop_loss, self.take_profit, self.trailing_stop)
        )


class VolatilityTargetSizing(StrictModel):
    """Aim each position at ``annual_vol`` (0.10 = 10 % a year) of realised volatility over
    the last ``lookback`` bars."""

    annual_vol: float = Field(gt=0.0, le=MAX_LEVERAGE)
    lookback: int = Field(ge=2, le=MAX_SIZING_LOOKBACK)


class Sizing(StrictModel):
    """How large an entry is: ``fixed_fraction`` of equity (default 1.0, the whole account),
    or ``volatility_target``; either capped by ``max_leverage`` (default 1)."""

    fixed_fraction: float | None = Field(default=None, gt=0.0, le=MAX_LEVERAGE)
    volatility_target: VolatilityTargetSizing | None = None
    max_leverage: float = Field(default=1.0, gt=0.0, le=MAX_LEVERAGE)

    @model_validator(mode="after")
    def _one_rule(self) -> Sizing:
        if self.fixed_fraction is not None and self.volatility_target is not None:
            raise invalid("give fixed_fraction or volatility_target, not both")
        if self.fixed_fraction is not None and self.fixed_fraction > self.max_leverage:
            raise invalid(
                f"fixed_fraction {self.fixed_fraction} is above max_leverage "
                f"{self.max_leverage}; raise max_leverage to trade with leverage"
            )
        return self

    @property
    def fraction(self) -> float:
        """The fixed fraction of equity per entry (1.0 when none is given)."""
        return 1.0 if self.fixed_fraction is None else self.fixed_fraction


class SymbolCosts(StrictModel):
    """One symbol's costs where they differ from the defaults, e.g. ``{commission_bps: 10}``."""

    commission_bps: NonNegativeFloat | None = None
    slippage_bps: NonNegativeFloat | None = None
    spread_bps: NonNegativeFloat | None = None
    financing_bps_per_day: NonNegativeFloat | None = None


class Costs(StrictModel):
    """Costs in basis points: per fill ``commission_bps`` + ``slippage_bps`` + half the quoted
    ``spread_bps``; ``financing_bps_per_day`` of the position held, per calendar day.

    ``commission_bps: 1.0`` = 0.01 % of the traded value. ``per_symbol`` overrides any of them
    for one symbol, e.g. ``{BTCUSD: {commission_bps: 10}}``.
    """

    commission_bps: NonNegativeFloat = DEFAULT_COMMISSION_BPS
    slippage_bps: NonNegativeFloat = DEFAULT_SLIPPAGE_BPS
    spread_bps: NonNegativeFloat = 0.0
    financing_bps_per_day: NonNegativeFloat = 0.0
    per_symbol: dict[Symbol, SymbolCosts] | None = None

    def for_symbol(self, symbol: str) -> dict[str, float]:
        """The four cost rates that apply to ``symbol`` (its override, else the default)."""
        override = (self.per_symbol or {}).get(symbol, SymbolCosts()).model_dump(exclude_none=True)
        defaults = self.model_dump(exclude={"per_symbol"})
        return {**defaults, **override}
