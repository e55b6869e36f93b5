"""The ``model``, ``decisions``, ``training`` and ``backtest`` sections."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from ktrdr.strategy._data_section import DateRange
from ktrdr.strategy._execution_section import Costs, Exits, Sizing
from ktrdr.strategy._schema_base import StrictModel, invalid

DEFAULT_EPOCHS = 30
DEFAULT_LEARNING_RATE = 1e-3
DEFAULT_BATCH_SIZE = 64
DEFAULT_PATIENCE = 8
DEFAULT_SPLIT = (0.7, 0.15, 0.15)
DEFAULT_VOL_SPAN = 20
SPLIT_TOLERANCE = 1e-6

Dropout = Annotated[float, Field(ge=0.0, lt=1.0)]
# Bounds far above any useful model on one machine, far below a 40 GB allocation or a
# model that takes minutes to build: MAX_UNITS**2 * MAX_LAYERS floats is about 1.6 GB.
MAX_LAYERS = 16
MAX_UNITS = 4096
MAX_LOOKBACK = 2048
MAX_SEED = 2**32 - 1  # numpy's seed range
Units = Annotated[int, Field(ge=1, le=MAX_UNITS)]
Lookback = Annotated[int, Field(ge=1, le=MAX_LOOKBACK)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]


class MlpArchitecture(StrictModel):
    """Feed-forward layers, e.g. ``hidden_layers: [32, 16]`` = 2 hidden layers."""

    hidden_layers: list[Units] = Field(default=[64, 32], min_length=1, max_length=MAX_LAYERS)
    dropout: Dropout = 0.2
    activation: Literal["relu", "tanh", "gelu", "leaky_relu", "elu"] = "relu"


class RecurrentArchitecture(StrictModel):
    """LSTM/GRU layers reading ``lookback`` bars of features."""

    hidden_size: Units = 32
    num_layers: int = Field(default=1, ge=1, le=MAX_LAYERS)
    dropout: Dropout = 0.0
    bidirectional: bool = False


class MlpModel(StrictModel):
    """A multi-layer perceptron over ``lookback`` bars of features, flattened."""

    type: Literal["mlp"]
    architecture: MlpArchitecture = Field(default_factory=MlpArchitecture)
    lookback: Lookback = 1
    seed: Seed | None = None


class RecurrentModel(StrictModel):
    """An LSTM or GRU over a window of ``lookback`` bars."""

    type: Literal["lstm", "gru"]
    architecture: RecurrentArchitecture = Field(default_factory=RecurrentArchitecture)
    lookback: Lookback = 1
    seed: Seed | None = None


ModelConfig = Annotated[MlpModel | RecurrentModel, Field(discriminator="type")]


# -- decisions ---------------------------------------------------------------------------------


class DecisionFilters(StrictModel):
    """Signal filters, e.g. ``min_signal_separation: 4`` = at least 4 bars between signals."""

    min_signal_separation: NonNegativeInt = 0


class Decisions(StrictModel):
    """How model outputs become trades."""

    output_format: Literal["classification"] = "classification"
    confidence_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    allow_short_from_flat: bool = True
    position_awareness: bool = False
    filters: DecisionFilters = Field(default_factory=DecisionFilters)
    exits: Exits | None = None
    sizing: Sizing | None = None


# -- training ----------------------------------------------------------------------------------


class ZigzagLabels(StrictModel):
    """Label swings of at least ``zigzag_threshold`` (0.004 = 0.4 %) as BUY/SELL."""

    source: Literal["zigzag"]
    zigzag_threshold: float = Field(gt=0.0, lt=1.0)


class TripleBarrierLabels(StrictModel):
    """Label by which barrier is hit first: take-profit, stop-loss (× EWM volatility) or time."""

    source: Literal["triple_barrier"]
    pt_multiplier: PositiveFloat
    sl_multiplier: PositiveFloat
    max_holding_period: PositiveInt
    vol_span: int = Field(default=DEFAULT_VOL_SPAN, ge=2)


class ForwardReturnLabels(StrictModel):
    """Label by the return over ``horizon`` bars: within ±``threshold`` (0.01 = 1 %) it is HOLD.

    Without a threshold every bar is BUY or SELL by the sign of its forward return.
    """

    source: Literal["forward_return"]
    horizon: PositiveInt
    threshold: NonNegativeFloat | None = None


LabelConfig = Annotated[
    ZigzagLabels | TripleBarrierLabels | ForwardReturnLabels, Field(discriminator="source")
]


class DataSplit(StrictModel):
    """Chronological fractions, e.g. 0.7 / 0.15 / 0.15; they must sum to 1."""

    train: PositiveFloat = DEFAULT_SPLIT[0]
    validation: PositiveFloat = DEFAULT_SPLIT[1]
    test: PositiveFloat = DEFAULT_SPLIT[2]

    @model_validator(mode="after")
    def _sums_to_one(self) -> DataSplit:
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > SPLIT_TOLERANCE:
            raise invalid(f"train + validation + test must sum to 1, got {round(total, 9)}")
        return self


class EarlyStopping(StrictModel):
    """Stop after ``patience`` epochs without a validation-loss gain above ``min_delta``."""

    patience: PositiveInt = DEFAULT_PATIENCE
    min_delta: NonNegativeFloat = 0.0


class TrainingConfig(StrictModel):
    """Labels, split and optimiser settings."""

    labels: LabelConfig
    data_split: DataSplit = Field(default_factory=DataSplit)
    epochs: PositiveInt = DEFAULT_EPOCHS
    learning_rate: PositiveFloat = DEFAULT_LEARNING_RATE
    batch_size: PositiveInt = DEFAULT_BATCH_SIZE
    early_stopping: EarlyStopping = Field(default_factory=EarlyStopping)
    loss: Literal["cross_entropy", "focal"] = "cross_entropy"
    lr_schedule: Literal["cosine", "plateau"] | None = None
    # None lets the trainer embargo as many bars as the labels look ahead.
    embargo_bars: NonNegativeInt | None = None


# -- backtest ----------------------------------------------------------------------------------


class BacktestConfig(StrictModel):
    """The out-of-sample backtest: its date range and costs."""

    date_range: DateRange | None = None
    costs: Costs = Field(default_factory=Costs)
