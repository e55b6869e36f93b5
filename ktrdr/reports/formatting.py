"""Numbers as a reader wants them: 0.1234 -> '12.34%', 1.5 -> '1.50', None -> '—'."""

from __future__ import annotations

import math

MISSING = "—"


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def percent(value: object, digits: int = 2) -> str:
    """A fraction as a percentage: 0.1234 -> '12.34%'."""
    number = _number(value)
    return MISSING if number is None else f"{number * 100:.{digits}f}%"


def decimal(value: object, digits: int = 2) -> str:
    """A plain number: 1.5 -> '1.50'."""
    number = _number(value)
    return MISSING if number is None else f"{number:,.{digits}f}"


def whole(value: object) -> str:
    """A count: 12345 -> '12,345'."""
    number = _number(value)
    return MISSING if number is None else f"{round(number):,}"


def day(value: object) -> str:
    """The date of an ISO timestamp: '2018-01-02T00:00:00+00:00' -> '2018-01-02'."""
    return str(value)[:10] if value else MISSING


def minutes(value: object) -> str:
    """An ISO timestamp to the minute: '2018-01-02T13:00:00+00:00' -> '2018-01-02 13:00'."""
    return str(value)[:16].replace("T", " ") if value else MISSING
