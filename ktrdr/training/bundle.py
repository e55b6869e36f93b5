"""The model bundle on disk: ``weights.safetensors`` + ``bundle.json``, never pickled."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.torch
import torch
from torch import nn

import ktrdr
from ktrdr.errors import NotFoundError, ValidationError
from ktrdr.features import LABEL_NAMES
from ktrdr.files import write_atomically, write_text_atomically
from ktrdr.training.manifest import (
    FORMAT_VERSION,
    MANIFEST_FILE,
    RESERVED_KEYS,
    WEIGHTS_FILE,
    bundle_seeds,
    check_weights_digest,
    read_manifest,
)
from ktrdr.training.models import build_model

logger = logging.getLogger(__name__)


MEMBER_PREFIX = "members"


@dataclass(frozen=True)
class LoadedBundle:
    """A bundle read back: the ensemble's members (eval mode), bundle.json, and its folder.

    A format-1 bundle (one network) loads as a one-member ensemble.
    """

    members: tuple[nn.Module, ...]
    seeds: tuple[int | None, ...]
    metadata: dict[str, Any]
    path: Path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _library_versions() -> dict[str, str]:
    return {
        "ktrdr": ktrdr.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "safetensors": safetensors.__version__,
        "python": platform.python_version(),
    }


def _check_model(
    model: nn.Module, model_section: Mapping[str, Any], n_features: int, n_classes: int
) -> dict[str, torch.Tensor]:
    """Return the weights as contiguous CPU tensors, checking they fit the declared model."""
    expected = build_model(model_section, n_features, n_classes).state_dict()
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    shapes = {k: tuple(v.shape) for k, v in weights.items()}
    if shapes != {k: tuple(v.shape) for k, v in expected.items()}:
        raise ValidationError(
            f"model: its weights do not match model_section {dict(model_section)} "
            f"with n_features={n_features}, n_classes={n_classes}"
        )
    broken = [k for k, v in weights.items() if not torch.isfinite(v).all()]
    if broken:
        raise ValidationError(f"model: weights {broken} contain NaN or inf; refusing to save")
    return weights


def save_bundle(
    directory: Path,
    members: Sequence[nn.Module],
    *,
    seeds: Sequence[int],
    model_section: Mapping[str, Any],
    n_features: int,
    metadata: Mapping[str, Any],
    n_classes: int = len(LABEL_NAMES),
) -> Path:
    """Write ``weights.safetensors`` then ``bundle.json`` (format 2) into ``directory``; return it.

    Member i's weights are stored as ``members.<i>.<name>`` and its seed as ``seeds[i]``.
    ``metadata`` (strategy copy, feature names, normalisation, data range, seed, ...) is stored
    at the top level of bundle.json next to the reserved keys (format_version, model_section,
    n_features, n_classes, label_names, weights_sha256, versions, created_at, seeds), which it
    may not use. bundle.json is written last and names the weights' SHA-256, so a crash mid-save
    leaves a folder that ``load_bundle`` rejects rather than a half bundle that loads.
    """
    directory = Path(directory)
    clashes = sorted(set(metadata) & set(RESERVED_KEYS))
    if clashes:
        raise ValidationError(f"metadata: keys {clashes} are reserved by the bundle format")
    if not members or len(members) != len(seeds):
        raise ValidationError(
            f"bundle: {len(members)} members need one seed each, got seeds {list(seeds)}"
        )
    weights = {
        f"{MEMBER_PREFIX}.{i}.{name}": tensor
        for i, member in enumerate(members)
        for name, tensor in _check_model(member, model_section, n_features, n_classes).items()
    }
    manifest = {
        **metadata,
        "format_version": FORMAT_VERSION,
        "model_section": dict(model_section),
        "n_features": n_features,
        "n_classes": n_classes,
        "label_names": list(LABEL_NAMES),
        "weights_file": WEIGHTS_FILE,
        "versions": _library_versions(),
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "seeds": [int(seed) for seed in seeds],
    }
    directory.mkdir(parents=True, exist_ok=True)
    weights_path = directory / WEIGHTS_FILE
    write_atomically(weights_path, lambda p: safetensors.torch.save_file(weights, str(p)))
    with open(weights_path, "rb") as handle:
        manifest["weights_sha256"] = hashlib.file_digest(handle, "sha256").hexdigest()
    try:
        text = json.dumps(manifest, indent=2, allow_nan=False, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metadata: cannot be stored as JSON: {exc}") from exc
    write_text_atomically(directory / MANIFEST_FILE, text)
    logger.info("saved model bundle %s", directory)
    return directory


def _read_weights(path: Path, expected_sha256: str) -> dict[str, torch.Tensor]:
    check_weights_digest(path, expected_sha256)
    try:
        return safetensors.torch.load_file(str(path), device="cpu")
    except (safetensors.SafetensorError, OSError, ValueError) as exc:
        raise ValidationError(f"{path}: not a valid safetensors file ({exc})") from exc


def load_bundle(path: Path, *, device: torch.device | str = "cpu") -> LoadedBundle:
    """Rebuild the model saved in bundle folder ``path`` (eval mode, on ``device``).

    Never unpickles: weights come from safetensors, everything else from JSON. A missing,
    truncated or corrupt file raises ValidationError naming it; a missing folder NotFoundError.
    """
    path = Path(path)
    if not path.is_dir():
        raise NotFoundError(f"model bundle {path}: no such folder")
    manifest = read_manifest(path / MANIFEST_FILE)
    weights_path = path / WEIGHTS_FILE
    weights = _read_weights(weights_path, manifest["weights_sha256"])
    broken = [k for k, v in weights.items() if not torch.isfinite(v).all()]
    if broken:
        raise ValidationError(f"{weights_path}: weights {broken} contain NaN or inf")
    seeds = bundle_seeds(manifest)
    if manifest["format_version"] == 1:
        by_member = [weights]
    else:
        by_member = _split_members(weights, len(seeds), weights_path)
    members = tuple(
        _build_member(manifest, member_weights, path).to(torch.device(device)).eval()
        for member_weights in by_member
    )
    return LoadedBundle(members=members, seeds=tuple(seeds), metadata=manifest, path=path)


def _split_members(
    weights: dict[str, torch.Tensor], n_members: int, weights_path: Path
) -> list[dict[str, torch.Tensor]]:
    by_member: list[dict[str, torch.Tensor]] = [{} for _ in range(n_members)]
    for key, tensor in weights.items():
        prefix, _, rest = key.partition(".")
        index, _, name = rest.partition(".")
        if prefix != MEMBER_PREFIX or not index.isdigit() or int(index) >= n_members:
            raise ValidationError(
                f"{weights_path}: weight {key!r} belongs to no member of the {n_members} "
                "seeds bundle.json lists"
            )
        by_member[int(index)][name] = tensor
    return by_member


def _build_member(
    manifest: dict[str, Any], weights: dict[str, torch.Tensor], path: Path
) -> nn.Module:
    try:
        model = build_model(
            manifest["model_section"], manifest["n_features"], manifest["n_classes"]
        )
        model.load_state_dict(weights, strict=True)
    except ValidationError as exc:
        raise ValidationError(f"{path / MANIFEST_FILE}: {exc.message}") from exc
    except RuntimeError as exc:
        raise ValidationError(
            f"{path / WEIGHTS_FILE}: weights do not fit the model declared in "
            f"{path / MANIFEST_FILE} ({exc})"
        ) from exc
    return model
