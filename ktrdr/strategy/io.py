"""Read and write strategy YAML: safe loading only, atomic saves, validated both ways."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ktrdr.errors import NotFoundError, StrategyValidationError
from ktrdr.files import write_text_atomically
from ktrdr.strategy._issues import issue
from ktrdr.strategy.schema import StrategyConfig, strategy_to_dict
from ktrdr.strategy.validator import validate_strategy

logger = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 1024 * 1024
# A strategy never needs more than a handful of aliases; billion-laughs documents need many.
MAX_ALIASES = 16
# Strategies nest a few levels; a deeper document is an attack on the recursive composer.
MAX_DEPTH = 32


class _StrategyLoader(yaml.SafeLoader):
    """SafeLoader that caps aliases and refuses duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_count = 0
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise yaml.YAMLError(f"nested more than {MAX_DEPTH} levels deep (line {mark.line + 1})")
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise yaml.YAMLError(
                    f"more than {MAX_ALIASES} YAML aliases (line {mark.line + 1}); "
                    "write the values out instead of using anchors and aliases"
                )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.YAMLError(
                    f"duplicate key {key!r} (line {key_node.start_mark.line + 1}); "
                    "each key may appear once"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _StrategyDumper(yaml.SafeDumper):
    """SafeDumper writing short lists of numbers/words inline: ``parameters: [0, 20, 35]``."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    inline = all(isinstance(item, str | int | float | bool) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=inline)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_StrategyDumper.add_representer(list, _represent_list)
_StrategyDumper.add_representer(str, _represent_str)


def _refuse(message: str, source: str | None) -> StrategyValidationError:
    return StrategyValidationError([issue("", message)], source=source)


def parse_strategy_yaml(text: str, source: str | None = None) -> StrategyConfig:
    """Parse and validate strategy YAML text; refuse documents over 1 MiB and alias bombs."""
    size = len(text.encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        raise _refuse(f"document is {size} bytes; the limit is {MAX_DOCUMENT_BYTES}", source)
    try:
        # _StrategyLoader is a SafeLoader: no Python objects are ever constructed.
        data = yaml.load(text, Loader=_StrategyLoader)
    except yaml.YAMLError as exc:
        raise _refuse(f"not valid YAML: {exc}", source) from exc
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise _refuse(f"a value cannot be read: {exc}", source) from exc
    if not isinstance(data, Mapping):
        found = "an empty document" if data is None else type(data).__name__
        raise _refuse(f"a strategy is a YAML mapping of keys to values, got {found}", source)
    return validate_strategy(data, source=source)


def load_strategy(path: str | os.PathLike[str]) -> StrategyConfig:
    """Load and validate a strategy file, e.g. ``strategies/eurusd_rsi_trend.yaml``."""
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"strategy file {path} does not exist", details={"path": str(path)})
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise _refuse(f"file is {size} bytes; the limit is {MAX_DOCUMENT_BYTES}", str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(f"not UTF-8 text: {exc}", str(path)) from exc
    return parse_strategy_yaml(text, source=str(path))


def dump_strategy_yaml(config: StrategyConfig) -> str:
    """Write a strategy as YAML text that ``parse_strategy_yaml`` reads back equal."""
    return yaml.dump(
        strategy_to_dict(config),
        Dumper=_StrategyDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )


def save_strategy(
    config: StrategyConfig | Mapping[str, Any], directory: str | os.PathLike[str]
) -> Path:
    """Validate and write ``<directory>/<name>.yaml`` atomically (temp file + rename)."""
    config = validate_strategy(config)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{config.name}.yaml"
    text = dump_strategy_yaml(config)
    write_text_atomically(target, text)
    logger.info("saved strategy %s to %s", config.name, target)
    return target
