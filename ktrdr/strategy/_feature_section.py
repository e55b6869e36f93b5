"""The ``indicators``, ``fuzzy_sets`` and ``nn_inputs`` sections."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ktrdr.errors import ValidationError
from ktrdr.strategy._schema_base import (
    TIMEFRAME_MINUTES,
    StrictModel,
    Timeframe,
    invalid,
    require_unique,
)
from ktrdr.strategy.membership_specs import (
    MEMBERSHIP_PARAM_COUNTS,
    check_membership,
    shorthand_membership_type,
)


class IndicatorConfig(BaseModel):
    """One indicator: ``{type: rsi, period: 14}``; every key but ``type`` is a parameter."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    type: str

    @property
    def params(self) -> dict[str, Any]:
        """The parameters as written, e.g. ``{"period": 14}`` (defaults are not filled)."""
        return dict(self.model_extra or {})


class MembershipFunction(StrictModel):
    """A fuzzy membership: ``{type: triangular, parameters: [0, 20, 35]}`` or ``[0, 20, 35]``."""

    type: str
    parameters: list[float]

    @model_validator(mode="before")
    @classmethod
    def _expand_shorthand(cls, data: Any) -> Any:
        if not isinstance(data, list | tuple):
            return data
        try:
            type_name = shorthand_membership_type(data)
        except ValidationError as exc:
            raise invalid(exc.message) from exc
        return {"type": type_name, "parameters": list(data)}

    @field_validator("type")
    @classmethod
    def _known_type(cls, type_name: str) -> str:
        if type_name not in MEMBERSHIP_PARAM_COUNTS:
            allowed = ", ".join(MEMBERSHIP_PARAM_COUNTS)
            raise invalid(f"unknown membership type {type_name!r}; allowed: {allowed}")
        return type_name

    @field_validator("parameters")
    @classmethod
    def _valid_parameters(cls, parameters: list[float], info: ValidationInfo) -> list[float]:
        type_name = info.data.get("type")
        if type_name is not None:
            problem = check_membership(type_name, parameters)
            if problem is not None:
                raise invalid(problem)
        return parameters


class FuzzySet(BaseModel):
    """Fuzzy memberships of one indicator output; every key but ``indicator`` is a membership."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    __pydantic_extra__: dict[str, MembershipFunction] = Field(init=False)

    indicator: str

    @property
    def memberships(self) -> dict[str, MembershipFunction]:
        """Membership name -> function, in file order, e.g. ``{"oversold": ...}``."""
        return dict(self.__pydantic_extra__)


# -- nn_inputs ---------------------------------------------------------------------------------


def _check_timeframe_selection(value: Any) -> Any:
    if value == "all":
        return value
    if not isinstance(value, list) or not value:
        raise invalid(
            f"timeframes must be 'all' or a non-empty list of the strategy's timeframes, "
            f"got {value!r}"
        )
    unknown = [tf for tf in value if not isinstance(tf, str) or tf not in TIMEFRAME_MINUTES]
    if unknown:
        raise invalid(
            f"unknown timeframe(s) {', '.join(map(str, unknown))}; "
            f"allowed: {', '.join(TIMEFRAME_MINUTES)}"
        )
    return require_unique(value, "timeframe")


class FuzzyInput(StrictModel):
    """Feed a fuzzy set's memberships to the model: ``{fuzzy_set: rsi_zone, timeframes: all}``."""

    fuzzy_set: str
    timeframes: Literal["all"] | list[Timeframe] = "all"

    _timeframes = field_validator("timeframes", mode="before")(_check_timeframe_selection)


class RawInput(StrictModel):
    """Feed a normalised indicator value to the model: ``{raw_indicator: macd.histogram}``."""

    raw_indicator: str
    timeframes: Literal["all"] | list[Timeframe] = "all"
    normalization: Literal["zscore", "minmax", "none"] = "zscore"

    _timeframes = field_validator("timeframes", mode="before")(_check_timeframe_selection)


def _nn_input_kind(value: Any) -> str | None:
    keys = value if isinstance(value, dict) else vars(value) if isinstance(value, BaseModel) else {}
    if "fuzzy_set" in keys:
        return "fuzzy_set"
    if "raw_indicator" in keys:
        return "raw_indicator"
    return None


NnInput = Annotated[
    Annotated[FuzzyInput, Tag("fuzzy_set")] | Annotated[RawInput, Tag("raw_indicator")],
    Discriminator(
        _nn_input_kind,
        custom_error_type="nn_input_kind",
        custom_error_message="an nn_input needs either a fuzzy_set or a raw_indicator key",
    ),
]
