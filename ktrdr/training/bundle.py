"""The model bundle on disk: ``weights.safetensors`` + ``bundle.json``, never pickled."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import platform
import re
import uuid
from collections.abc import Callable, Mapping
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
from ktrdr.features.labels import LABEL_NAMES
from ktrdr.training.bundle_check import check_manifest
from ktrdr.training.models import build_model

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
WEIGHTS_FILE = "weights.safetensors"
MANIFEST_FILE = "bundle.json"
RESERVED_KEYS = (
    "format_version",
    "model_section",
    "n_features",
    "n_classes",
    "label_names",
    "weights_file",
    "weights_sha256",
    "versions",
    "created_at",
)
MODEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
VERSION_DIR_PATTERN = re.compile(r"^v([1-9][0-9]*)$")
MAX_VERSION_ATTEMPTS = 100


@dataclass(frozen=True)
class LoadedBundle:
    """A bundle read back: the model (eval mode), everything in bundle.json, and its folder."""

    model: nn.Module
    metadata: dict[str, Any]
    path: Path


def next_version_dir(models_dir: Path, name: str) -> Path:
    """Create and return ``models_dir/<name>/v<N>``, N = 1 + the highest existing version.

    The folder is made with ``mkdir(exist_ok=False)``, so two concurrent callers never get the
    same version: the loser of a race moves on to the next number.
    """
    if not MODEL_NAME_PATTERN.match(name):
        raise ValidationError(
            f"model name {name!r}: must match {MODEL_NAME_PATTERN.pattern} (letters, digits, _ -)"
        )
    parent = Path(models_dir) / name
    parent.mkdir(parents=True, exist_ok=True)
    for _ in range(MAX_VERSION_ATTEMPTS):
        versions = [
            int(match.group(1))
            for entry in parent.iterdir()
            if (match := VERSION_DIR_PATTERN.match(entry.name))
        ]
        candidate = parent / f"v{max(versions, default=0) + 1}"
        try:
            candidate.mkdir(exist_ok=False)
        except FileExistsError:
            continue
        return candidate
    raise ValidationError(f"{parent}: no free version after {MAX_VERSION_ATTEMPTS} attempts")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Write via a hidden temp name, fsync, then rename, so ``target`` is whole or absent."""
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    if hasattr(os, "O_DIRECTORY"):
        folder = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


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
    model: nn.Module,
    *,
    model_section: Mapping[str, Any],
    n_features: int,
    metadata: Mapping[str, Any],
    n_classes: int = len(LABEL_NAMES),
) -> Path:
    """Write ``weights.safetensors`` then ``bundle.json`` into ``directory``; return it.

    ``metadata`` (strategy copy, feature names, normalisation, data range, seed, ...) is stored
    at the top level of bundle.json next to the reserved keys (format_version, model_section,
    n_features, n_classes, label_names, weights_sha256, versions, created_at), which it may not
    use. bundle.json is written last and names the weights' SHA-256, so a crash mid-save leaves
    a folder that ``load_bundle`` rejects rather than a half bundle that loads.
    """
    directory = Path(directory)
    clashes = sorted(set(metadata) & set(RESERVED_KEYS))
    if clashes:
        raise ValidationError(f"metadata: keys {clashes} are reserved by the bundle format")
    weights = _check_model(model, model_section, n_features, n_classes)
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
    }
    directory.mkdir(parents=True, exist_ok=True)
    weights_path = directory / WEIGHTS_FILE
    _write_atomically(weights_path, lambda p: safetensors.torch.save_file(weights, str(p)))
    with open(weights_path, "rb") as handle:
        manifest["weights_sha256"] = hashlib.file_digest(handle, "sha256").hexdigest()
    try:
        text = json.dumps(manifest, indent=2, allow_nan=False, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metadata: cannot be stored as JSON: {exc}") from exc
    _write_atomically(directory / MANIFEST_FILE, lambda p: p.write_text(text, encoding="utf-8"))
    logger.info("saved model bundle %s", directory)
    return directory


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValidationError(f"{path}: missing; the bundle is incomplete") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"{path}: not a readable JSON bundle manifest ({exc})") from exc
    if not isinstance(manifest, dict):
        raise ValidationError(f"{path}: expected a JSON object, got {type(manifest).__name__}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValidationError(
            f"{path}: format_version {manifest.get('format_version')!r} is not supported "
            f"(expected {FORMAT_VERSION})"
        )
    missing = [key for key in RESERVED_KEYS if key not in manifest]
    if missing:
        raise ValidationError(f"{path}: missing keys {missing}")
    check_manifest(manifest, str(path))
    return manifest


def _read_weights(path: Path, expected_sha256: str) -> dict[str, torch.Tensor]:
    try:
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
    except FileNotFoundError as exc:
        raise ValidationError(f"{path}: missing; the bundle is incomplete") from exc
    if digest != expected_sha256:
        raise ValidationError(
            f"{path}: SHA-256 {digest[:12]}… does not match bundle.json "
            f"({str(expected_sha256)[:12]}…); the file is truncated or was modified"
        )
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
    manifest = _read_manifest(path / MANIFEST_FILE)
    weights_path = path / WEIGHTS_FILE
    weights = _read_weights(weights_path, manifest["weights_sha256"])
    try:
        model = build_model(
            manifest["model_section"], manifest["n_features"], manifest["n_classes"]
        )
        model.load_state_dict(weights, strict=True)
    except ValidationError as exc:
        raise ValidationError(f"{path / MANIFEST_FILE}: {exc.message}") from exc
    except RuntimeError as exc:
        raise ValidationError(
            f"{weights_path}: weights do not fit the model declared in "
            f"{path / MANIFEST_FILE} ({exc})"
        ) from exc
    broken = [k for k, v in weights.items() if not torch.isfinite(v).all()]
    if broken:
        raise ValidationError(f"{weights_path}: weights {broken} contain NaN or inf")
    model.to(torch.device(device)).eval()
    return LoadedBundle(model=model, metadata=manifest, path=path)
