"""The offline assessor's rules: verdict, strengths, weaknesses and concrete suggestions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ktrdr.agents.assessment._facts import Facts, number
from ktrdr.strategy import Decisions, MlpModel, TrainingConfig

CHANCE_ACCURACY = 1 / 3  # three classes: sell, hold, buy
PROMISING_SHARPE = 0.5
SMALL_DRAWDOWN = 0.15
LARGE_DRAWDOWN = 0.25
WEAK_ACCURACY = 0.45
FEW_TRADES = 10
HIGH_EXPOSURE = 0.85
LOW_WIN_RATE = 0.40
SLOW_LEARNING = 0.05
DOMINANT_LABEL = 0.60
TREND_INPUTS = ("adx", "aroon", "supertrend")
STRONG_DSR = 0.95  # as VERDICT_MIN_DSR's default
HIGH_PBO_FROM = 0.5  # at or above: the in-sample best usually ranks below the median out of sample


@dataclass(frozen=True)
class Knobs:
    """The strategy settings a suggestion names; the strategy schema's defaults when unknown."""

    confidence_threshold: float = Decisions().confidence_threshold
    min_signal_separation: int = Decisions().filters.min_signal_separation
    lookback: int = MlpModel.model_fields["lookback"].default
    architecture: Mapping[str, Any] | None = None
    indicator_types: frozenset[str] = frozenset()
    labels: Mapping[str, Any] | None = None
    learning_rate: float = TrainingConfig.model_fields["learning_rate"].default
    epochs: int = TrainingConfig.model_fields["epochs"].default

    @classmethod
    def from_strategy(cls, strategy: Mapping[str, Any] | None) -> Knobs:
        """Read the knobs of a strategy dict (``strategy_to_dict`` form); defaults when absent."""
        if not strategy:
            return cls()
        decisions = _section(strategy, "decisions")
        model = _section(strategy, "model")
        training = _section(strategy, "training")
        filters = _section(decisions, "filters")
        base = cls()
        return cls(
            confidence_threshold=_or(
                decisions.get("confidence_threshold"), base.confidence_threshold
            ),
            min_signal_separation=int(
                _or(filters.get("min_signal_separation"), base.min_signal_separation)
            ),
            lookback=int(_or(model.get("lookback"), base.lookback)),
            architecture=_section(model, "architecture"),
            indicator_types=frozenset(
                str(spec.get("type", "")).lower()
                for spec in _section(strategy, "indicators").values()
                if isinstance(spec, Mapping)
            ),
            labels=_section(training, "labels"),
            learning_rate=_or(training.get("learning_rate"), base.learning_rate),
            epochs=int(_or(training.get("epochs"), base.epochs)),
        )


def verdict(facts: Facts) -> str:
    """promising | neutral | poor.

    - poor: a gate failed, there is no backtest Sharpe, or Sharpe < 0 (e.g. -0.2).
    - promising: both gates passed, Sharpe > 0.5 and either the return beat buy-and-hold
      (8 % vs 3 %) or the max drawdown stayed at or under 15 %.
    - neutral: everything else, e.g. Sharpe 0.3, or Sharpe 0.9 with a 30 % drawdown and a return
      below buy-and-hold.
    """
    if facts.failed_gates or facts.sharpe is None or facts.sharpe < 0:
        return "poor"
    contained = facts.max_drawdown is not None and facts.max_drawdown <= SMALL_DRAWDOWN
    if facts.sharpe > PROMISING_SHARPE and (_beat_market(facts) or contained):
        return "promising"
    return "neutral"


def strengths(facts: Facts) -> list[str]:
    """What worked, each with its number, e.g. ``win rate 58.0% over 23 trades``."""
    found = []
    if facts.accuracy is not None and facts.accuracy >= 0.5:
        found.append(f"test accuracy {facts.accuracy:.1%} against {CHANCE_ACCURACY:.1%} for chance")
    if facts.loss_decrease is not None and facts.loss_decrease >= 0.2:
        found.append(f"train loss fell {facts.loss_decrease:.1%} from the first to the last epoch")
    if facts.sharpe is not None and facts.sharpe > PROMISING_SHARPE:
        found.append(f"walk-forward out-of-sample Sharpe {facts.sharpe:.2f}")
    if _beat_market(facts):
        found.append(f"return {facts.total_return:.1%} beat buy-and-hold {facts.buy_and_hold:.1%}")
    if facts.win_rate is not None and facts.trades and facts.win_rate >= 0.5:
        found.append(f"win rate {facts.win_rate:.1%} over {facts.trades} trades")
    if facts.max_drawdown is not None and facts.trades and facts.max_drawdown <= SMALL_DRAWDOWN:
        found.append(f"max drawdown held to {facts.max_drawdown:.1%}")
    if facts.profit_factor is not None and facts.profit_factor >= 1.3:
        found.append(f"profit factor {facts.profit_factor:.2f}")
    return found


def weaknesses(facts: Facts) -> list[str]:
    """What failed or looks fragile, each with its number."""
    found = [f"{gate} gate failed: {reason}" for gate, reason in facts.failed_gates.items()]
    if facts.accuracy is not None and facts.accuracy < WEAK_ACCURACY:
        found.append(
            f"test accuracy {facts.accuracy:.1%} is close to {CHANCE_ACCURACY:.1%} for chance"
        )
    if facts.best_val_epoch is not None:
        found.append(f"{_val_loss_rise(facts)}: the model over-fits")
    if facts.dominant_label is not None and facts.dominant_label[1] >= DOMINANT_LABEL:
        name, share = facts.dominant_label
        found.append(f"labels are {share:.0%} {name} in the train split")
    if facts.sharpe is not None and facts.sharpe < 0:
        found.append(f"negative Sharpe {facts.sharpe:.2f}")
    compared = facts.total_return is not None and facts.buy_and_hold is not None
    if compared and not _beat_market(facts):
        found.append(
            f"return {facts.total_return:.1%} trailed buy-and-hold {facts.buy_and_hold:.1%}"
        )
    if facts.trades is not None and facts.trades < FEW_TRADES:
        found.append(f"only {facts.trades} trades: too few to judge")
    if facts.win_rate is not None and facts.win_rate < LOW_WIN_RATE:
        found.append(f"win rate {facts.win_rate:.1%} over {facts.trades} trades")
    if facts.max_drawdown is not None and facts.max_drawdown > LARGE_DRAWDOWN:
        found.append(f"max drawdown {facts.max_drawdown:.1%}")
    if facts.exposure is not None and facts.exposure > HIGH_EXPOSURE:
        found.append(f"in the market {facts.exposure:.0%} of bars")
    return found


def statistics_strengths(statistics: Mapping[str, Any] | None) -> list[str]:
    """What the research-window statistics support, with the numbers, e.g. ``DSR 0.97 …``."""
    if not statistics:
        return []
    found = []
    dsr, trials = number(statistics.get("dsr")), statistics.get("n_trials")
    if dsr is not None and dsr >= STRONG_DSR:
        found.append(f"deflated Sharpe ratio {dsr:.2f} after {trials} trials on this data set")
    pbo = number(statistics.get("pbo"))
    if pbo is not None and pbo < HIGH_PBO_FROM:
        found.append(f"probability of backtest overfitting {pbo:.2f} over {trials} trials")
    return found


def statistics_weaknesses(
    statistics: Mapping[str, Any] | None, deterministic: tuple[str, str] | None
) -> list[str]:
    """Why the research window falls short of promising, citing the deterministic verdict's
    reason, the PSR behind the DSR, the bootstrap interval and PBO."""
    if not statistics:
        return []
    found = []
    if deterministic is not None and deterministic[0] != "promising":
        found.append(f"research-window verdict {deterministic[0]}: {deterministic[1]}")
    psr, dsr = number(statistics.get("psr")), number(statistics.get("dsr"))
    deflated = (statistics.get("n_trials") or 0) > 1  # with one trial DSR is PSR
    if psr is not None and dsr is not None and dsr < STRONG_DSR and deflated:
        found.append(
            f"probabilistic Sharpe ratio {psr:.2f} falls to {dsr:.2f} once deflated for "
            f"{statistics.get('n_trials')} trials"
        )
    interval = statistics.get("bootstrap_ci")
    if isinstance(interval, list) and len(interval) == 2 and number(interval[0]) is not None:
        low, high = float(interval[0]), float(interval[1])
        if low <= 0:
            found.append(f"95% bootstrap interval of the annualised Sharpe [{low:.2f}, {high:.2f}]")
    pbo = number(statistics.get("pbo"))
    if pbo is not None and pbo >= HIGH_PBO_FROM:
        found.append(
            f"probability of backtest overfitting {pbo:.2f} over "
            f"{statistics.get('n_trials')} trials"
        )
    return found


def suggestions(facts: Facts, knobs: Knobs) -> list[str]:
    """Concrete changes for the next design, naming the strategy field and its new value."""
    found = [
        _model_suggestion(facts, knobs),
        _overfit_suggestion(facts, knobs),
        _label_suggestion(facts, knobs),
        _trading_suggestion(facts, knobs),
    ]
    kept = [item for item in found if item]
    return kept or [
        "confirm walk-forward on another symbol before tightening the gates; the sealed holdout "
        "judges the final model once"
    ]


def _model_suggestion(facts: Facts, knobs: Knobs) -> str | None:
    if facts.accuracy is not None and facts.accuracy < WEAK_ACCURACY:
        trend = next((name for name in TREND_INPUTS if name not in knobs.indicator_types), "macd")
        return (
            f"accuracy {facts.accuracy:.2f} barely above chance: add a trend input such as {trend}"
            f" or lengthen model.lookback from {knobs.lookback} to {max(3, 2 * knobs.lookback)}"
        )
    if facts.loss_decrease is not None and facts.loss_decrease < SLOW_LEARNING:
        return (
            f"train loss fell only {facts.loss_decrease:.1%}: raise training.learning_rate from "
            f"{knobs.learning_rate:g} to {knobs.learning_rate * 3:g} or training.epochs from "
            f"{knobs.epochs} to {knobs.epochs * 2}"
        )
    return None


def _overfit_suggestion(facts: Facts, knobs: Knobs) -> str | None:
    if facts.best_val_epoch is None:
        return None
    architecture = knobs.architecture or {}
    dropout = number(architecture.get("dropout"))
    if dropout is None:
        more_dropout = "increase model.architecture.dropout by 0.10"
    else:
        more_dropout = (
            f"increase model.architecture.dropout from {dropout:.2f} to "
            f"{min(dropout + 0.1, 0.5):.2f}"
        )
    layers = architecture.get("hidden_layers")
    size = number(architecture.get("hidden_size"))
    if isinstance(layers, list) and layers:
        smaller = layers[:-1] if len(layers) > 1 else [max(4, int(layers[0]) // 2)]
        shrink = f"reduce model.architecture.hidden_layers from {layers} to {smaller}"
    elif size is not None:
        half = max(4, int(size) // 2)
        shrink = f"reduce model.architecture.hidden_size from {int(size)} to {half}"
    else:
        shrink = "use fewer or smaller model.architecture.hidden_layers"
    return f"{_val_loss_rise(facts)}: {more_dropout} or {shrink}"


def _label_suggestion(facts: Facts, knobs: Knobs) -> str | None:
    if facts.dominant_label is None or facts.dominant_label[1] < DOMINANT_LABEL:
        return None
    name, share = facts.dominant_label
    labels = knobs.labels or {}
    for key in ("zigzag_threshold", "threshold"):
        value = number(labels.get(key))
        if value is not None:
            # Too many holds: a smaller move already counts; too few: a larger one is needed.
            factor = 0.7 if name == "hold" else 1.4
            return (
                f"labels are {share:.0%} {name}: change training.labels.{key} from {value:g} "
                f"to {value * factor:.3g} for more balanced classes"
            )
    return f"labels are {share:.0%} {name}: loosen training.labels for more balanced classes"


def _trading_suggestion(facts: Facts, knobs: Knobs) -> str | None:
    threshold, separation = knobs.confidence_threshold, knobs.min_signal_separation
    stricter = (
        f"decisions.confidence_threshold from {threshold:.2f} to {min(0.95, threshold + 0.1):.2f}"
    )
    if facts.trades is not None and facts.trades < FEW_TRADES:
        looser = (
            f"decisions.confidence_threshold from {threshold:.2f} to "
            f"{max(0.34, threshold - 0.1):.2f}"
        )
        if separation > 1:
            looser = (
                f"decisions.filters.min_signal_separation from {separation} to "
                f"{separation // 2} or {looser}"
            )
        return f"too few trades ({facts.trades}): lower {looser}"
    if facts.exposure is not None and facts.exposure > HIGH_EXPOSURE:
        return f"exposure {facts.exposure:.0%}: raise {stricter}"
    losing = facts.win_rate is not None and facts.win_rate < LOW_WIN_RATE
    if losing or (facts.sharpe is not None and facts.sharpe < 0):
        what = f"win rate {facts.win_rate:.1%}" if losing else f"Sharpe {facts.sharpe:.2f}"
        return (
            f"{what}: trade only stronger signals - raise {stricter} and "
            f"decisions.filters.min_signal_separation from {separation} to "
            f"{max(2, separation * 2)}"
        )
    if facts.max_drawdown is not None and facts.max_drawdown > LARGE_DRAWDOWN:
        volatility = "bollingerbandwidth" if "atr" in knobs.indicator_types else "atr"
        return (
            f"drawdown {facts.max_drawdown:.0%}: add a volatility input such as {volatility} "
            f"or raise {stricter}"
        )
    return None


def _val_loss_rise(facts: Facts) -> str:
    return f"val loss rose after epoch {facts.best_val_epoch} of {facts.epochs_run or '?'}"


def _beat_market(facts: Facts) -> bool:
    return (
        facts.total_return is not None
        and facts.buy_and_hold is not None
        and facts.total_return > facts.buy_and_hold
    )


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _or(value: Any, default: Any) -> Any:
    found = number(value)
    return default if found is None else found
