"""Find strategies by name in the strategies folder and any extra folders (e.g. examples)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NotRequired, TypedDict

from ktrdr.errors import KtrdrError, NotFoundError, StrategyValidationError, ValidationError
from ktrdr.home_paths import places_inside
from ktrdr.strategy._issues import issue
from ktrdr.strategy.io import load_strategy
from ktrdr.strategy.schema import NAME_PATTERN, StrategyConfig

logger = logging.getLogger(__name__)

STRATEGY_SUFFIXES = (".yaml", ".yml")


class StrategySummary(TypedDict):
    """One catalog row; ``error`` is present only when ``valid`` is False."""

    name: str
    path: str
    description: str | None
    symbols: list[str]
    timeframes: list[str]
    indicator_count: int
    valid: bool
    error: NotRequired[str]


class StrategyCatalog:
    """Strategies in ``strategies_dir`` first, then in each of ``extra_dirs``; first name wins."""

    def __init__(self, strategies_dir: Path, extra_dirs: Sequence[Path] = ()) -> None:
        self.strategies_dir = Path(strategies_dir)
        self.extra_dirs = tuple(Path(d) for d in extra_dirs)

    def _files(self) -> dict[str, Path]:
        """Name (file stem) -> file, searching the folders in order."""
        found: dict[str, Path] = {}
        for directory in (self.strategies_dir, *self.extra_dirs):
            if not directory.is_dir():
                continue
            for path in sorted(directory.iterdir()):
                if path.suffix in STRATEGY_SUFFIXES and path.is_file():
                    found.setdefault(path.stem, path)
        return found

    def list(self) -> list[StrategySummary]:
        """Summaries of every strategy file, sorted by name; invalid files say why."""
        return [_summary(name, path) for name, path in sorted(self._files().items())]

    def get(self, name: str) -> tuple[StrategyConfig, Path]:
        """Load the strategy named ``name``; NotFoundError when no folder has it."""
        check_strategy_name(name)
        files = self._files()
        if name not in files:
            known = ", ".join(sorted(files)) or "none"
            raise NotFoundError(
                f"unknown strategy {name!r}; known strategies: {known}", details={"name": name}
            )
        path = files[name]
        return _load_named(name, path), path

    def resolve(self, name_or_path: str | Path) -> tuple[StrategyConfig, Path]:
        """Load by name (``eurusd_rsi_trend``) or by a ``.yaml`` path inside its folders."""
        text = str(name_or_path)
        if isinstance(name_or_path, Path) or text.endswith(STRATEGY_SUFFIXES):
            roots = [self.strategies_dir, *self.extra_dirs]
            places = places_inside(text, self.strategies_dir, roots, "strategy path")
            path = next((place for place in places if place.is_file()), None)
            if path is None:
                raise NotFoundError(f"strategy file {text} does not exist", details={"path": text})
            return load_strategy(path), path
        return self.get(text)


def check_strategy_name(name: str) -> str:
    """Return ``name`` if it is a valid strategy name; refuse ``../x`` and the like."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise ValidationError(
            f"strategy name {name!r} is not allowed: use 1-64 letters, digits, '_' or '-', "
            "starting with a letter or digit",
            details={"name": name},
        )
    return name


def _load_named(name: str, path: Path) -> StrategyConfig:
    config = load_strategy(path)
    if config.name != name:
        message = f"name {config.name!r} differs from the file name {path.name!r}"
        raise StrategyValidationError([issue("name", message)], source=str(path))
    return config


def _summary(name: str, path: Path) -> StrategySummary:
    try:
        config = _load_named(name, path)
    except (KtrdrError, OSError) as exc:
        message = exc.message if isinstance(exc, KtrdrError) else f"cannot be read: {exc}"
        logger.debug("strategy file %s is invalid: %s", path, message)
        return StrategySummary(
            name=name,
            path=str(path),
            description=None,
            symbols=[],
            timeframes=[],
            indicator_count=0,
            valid=False,
            error=message,
        )
    return StrategySummary(
        name=name,
        path=str(path),
        description=config.description,
        symbols=config.symbols(),
        timeframes=config.timeframes(),
        indicator_count=len(config.indicators),
        valid=True,
    )
