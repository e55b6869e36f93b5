"""GET /strategies, GET /strategies/{name}, POST /strategies/validate (DESIGN §5, §7)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from ktrdr.api.deps import ServicesDep
from ktrdr.api.envelope import Envelope, ok
from ktrdr.errors import StrategyValidationError, ValidationError
from ktrdr.strategy import (
    StrategyConfig,
    parse_strategy_yaml,
    strategy_to_dict,
    validate_strategy,
)

router = APIRouter(prefix="/strategies", tags=["strategies"])


class ValidateRequest(BaseModel):
    """A strategy to check: its YAML text or its parsed object, exactly one of them."""

    model_config = ConfigDict(extra="forbid")

    yaml: str | None = None
    strategy: dict[str, Any] | None = None


class ValidationResult(BaseModel):
    """The validator's verdict: ``issues`` are ``{path, message}`` pairs, empty when valid."""

    valid: bool
    name: str | None
    issues: list[dict[str, str]]


@router.get("", response_model=Envelope[list[dict[str, Any]]])
def list_strategies(services: ServicesDep) -> JSONResponse:
    """Every strategy file by name; invalid files are listed with ``valid: false`` and why."""
    return ok(services.strategies.list())


@router.get("/{name}", response_model=Envelope[dict[str, Any]])
def get_strategy(name: str, services: ServicesDep) -> JSONResponse:
    """One strategy: its file, the validated strategy as an object and the YAML as written."""
    config, path = services.strategies.get(name)
    return ok(
        {
            "name": config.name,
            "path": str(path),
            "strategy": strategy_to_dict(config),
            "yaml": path.read_text(encoding="utf-8"),
        }
    )


@router.post("/validate", response_model=Envelope[ValidationResult])
def validate(body: ValidateRequest) -> JSONResponse:
    """Run the one validator; an invalid strategy is a successful answer with ``valid: false``."""
    if (body.yaml is None) == (body.strategy is None):
        raise ValidationError(
            'send exactly one of {"yaml": "<strategy YAML text>"} or {"strategy": {...}}'
        )
    name = body.strategy.get("name") if body.strategy is not None else None
    try:
        config = _validated(body)
    except StrategyValidationError as exc:
        result = ValidationResult(
            valid=False, name=name if isinstance(name, str) else None, issues=exc.issues
        )
        return ok(result.model_dump())
    return ok(ValidationResult(valid=True, name=config.name, issues=[]).model_dump())


def _validated(body: ValidateRequest) -> StrategyConfig:
    if body.yaml is not None:
        return parse_strategy_yaml(body.yaml, source="request")
    return validate_strategy(body.strategy or {}, source="request")
