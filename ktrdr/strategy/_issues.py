"""Turn pydantic errors into ``{path, message}`` issues with readable messages."""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Tag
from pydantic_core import ErrorDetails

from ktrdr.strategy.schema import FuzzySet, MembershipFunction, StrategyConfig

Issue = dict[str, str]

# Models with typed extra keys: the type of each extra value.
_EXTRA_VALUE_TYPES: dict[type[BaseModel], Any] = {FuzzySet: MembershipFunction}
_SCALARS = (str, int, float, bool, dt.date, type(None))
_TAG_ERRORS = ("union_tag_invalid", "union_tag_not_found")
_KEY_PART = "[key]"  # pydantic's marker for an error in a dict key rather than its value


def issue(path: str, message: str) -> Issue:
    """One problem: ``{"path": "training.data_split", "message": "..."}``."""
    return {"path": path, "message": message}


def issues_from_pydantic(errors: Sequence[ErrorDetails]) -> list[Issue]:
    """Convert pydantic ``errors()`` to issues, dropping union tags from the paths."""
    result = []
    for error in errors:
        parts, model = _walk(error["loc"])
        if error["type"] in _TAG_ERRORS:
            parts.append(error.get("ctx", {}).get("discriminator", "").strip("'"))
        result.append(issue(".".join(parts), _message(error, model, parts[-1] if parts else "")))
    return result


def _walk(loc: tuple[int | str, ...]) -> tuple[list[str], type[BaseModel] | None]:
    """Follow ``loc`` through the schema; return the path without tags and the parent model."""
    node: Any = StrategyConfig
    parent: type[BaseModel] | None = None
    parts: list[str] = []
    for part in loc:
        if part == _KEY_PART:
            continue
        node = _unwrap(node)
        tagged = _tagged_member(node, part)
        if tagged is not None:
            node = tagged
            continue
        parent = node if _is_model(node) else None
        node = _child(node, part)
        parts.append(str(part))
    return parts, parent


def _unwrap(node: Any) -> Any:
    while get_origin(node) is Annotated:
        node = get_args(node)[0]
    if _is_union(node):
        members = [m for m in get_args(node) if m is not type(None)]
        if len(members) == 1:
            return _unwrap(members[0])
    return node


def _is_union(node: Any) -> bool:
    return get_origin(node) in (Union, types.UnionType)


def _is_model(node: Any) -> bool:
    return isinstance(node, type) and issubclass(node, BaseModel)


def _tagged_member(node: Any, part: int | str) -> Any:
    """The union member that ``part`` names as a discriminator tag, else None."""
    if not _is_union(node) or not isinstance(part, str):
        return None
    for member in get_args(node):
        metadata = get_args(member)[1:] if get_origin(member) is Annotated else ()
        if any(isinstance(m, Tag) and m.tag == part for m in metadata):
            return _unwrap(member)
        model = _unwrap(member)
        if _is_model(model) and any(
            get_origin(f.annotation) is Literal and part in get_args(f.annotation)
            for f in model.model_fields.values()
        ):
            return model
    return None


def _child(node: Any, part: int | str) -> Any:
    if _is_model(node):
        for name, field in node.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return _EXTRA_VALUE_TYPES.get(node)
    origin = get_origin(node)
    if origin is dict:
        return get_args(node)[1]
    if origin is list:
        return get_args(node)[0]
    return None


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _message(error: ErrorDetails, model: type[BaseModel] | None, key: str) -> str:
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind in ("missing", "union_tag_not_found"):
        return "this key is required"
    if kind == "extra_forbidden":
        allowed = f"; allowed keys: {', '.join(_allowed_keys(model))}" if model else ""
        return f"unknown key {key!r}{allowed}"
    if kind == "union_tag_invalid":
        return f"{ctx['tag']!r} is not allowed; allowed: {ctx['expected_tags']}"
    if kind == "too_short":
        return f"needs at least {ctx['min_length']} item(s), got {ctx['actual_length']}"
    if kind == "strategy_invalid" or not isinstance(value, _SCALARS):
        return error["msg"]
    return f"{error['msg']}, got {value!r}"
