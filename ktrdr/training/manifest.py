"""Torch-free parts of a model bundle: file names, version folders and bundle.json checks.

The API server reads bundles through this module only, so it never imports torch.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

from ktrdr.errors import ValidationError
from ktrdr.training.bundle_check import check_manifest

FORMAT_VERSION = 2
# Version 1 held one network (weights under their plain names); version 2 holds an ensemble
# (weights under ``members.<i>.<name>``) and lists the members' ``seeds``.
READABLE_VERSIONS = (1, 2)
WEIGHTS_FILE = "weights.safetensors"
MANIFEST_FILE = "bundle.json"
FOLDS_DIR = "folds"  # fold k's bundle: <model>/folds/<k>/
SINGLE_SPLIT = "single_split"  # walk_forward.scheme of a model trained with evaluation.folds 0
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
    "seeds",
)
_KEYS_SINCE_VERSION_2 = ("seeds",)
MODEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
VERSION_DIR_PATTERN = re.compile(r"^v([1-9][0-9]*)$")
MAX_VERSION_ATTEMPTS = 100


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


def discard_incomplete_version(directory: Path) -> bool:
    """Remove a ``v<N>`` folder that holds no bundle.json (reserved, or left half-written).

    True when it was removed; a complete bundle, a missing folder or a folder not named like
    a version is left alone (False).
    """
    directory = Path(directory)
    if not VERSION_DIR_PATTERN.match(directory.name) or not directory.is_dir():
        return False
    if (directory / MANIFEST_FILE).is_file():
        return False
    shutil.rmtree(directory, ignore_errors=True)
    return not directory.exists()


def read_manifest(path: Path) -> dict[str, Any]:
    """The checked contents of a bundle.json file ``path``; ValidationError naming it if bad."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValidationError(f"{path}: missing; the bundle is incomplete") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"{path}: not a readable JSON bundle manifest ({exc})") from exc
    if not isinstance(manifest, dict):
        raise ValidationError(f"{path}: expected a JSON object, got {type(manifest).__name__}")
    version = manifest.get("format_version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise ValidationError(
            f"{path}: format_version {version!r} is not supported; this ktrdr reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))} — retrain the model or upgrade ktrdr"
        )
    required = [k for k in RESERVED_KEYS if version >= 2 or k not in _KEYS_SINCE_VERSION_2]
    missing = [key for key in required if key not in manifest]
    if missing:
        raise ValidationError(f"{path}: missing keys {missing}")
    check_manifest(manifest, str(path))
    return manifest


def bundle_seeds(manifest: dict[str, Any]) -> list[int | None]:
    """The seeds of a bundle's members: ``seeds`` (version 2) or the one ``seed`` (version 1)."""
    if manifest["format_version"] == 1:
        return [manifest.get("seed")]
    return list(manifest["seeds"])


def check_weights_digest(path: Path, expected_sha256: str) -> None:
    """Raise ValidationError unless the weights file ``path`` has the SHA-256 bundle.json names."""
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
