"""Choose the torch device training runs on."""

from __future__ import annotations

import logging

import torch

from ktrdr.errors import ValidationError

logger = logging.getLogger(__name__)

DEVICE_PREFERENCES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    return bool(torch.backends.mps.is_available())


def select_device(preference: str = "auto") -> torch.device:
    """Return the device for ``preference``: "auto" takes CUDA, then MPS, then CPU.

    An explicit "cuda" or "mps" that this machine lacks raises ValidationError rather than
    silently falling back to the CPU.
    """
    if preference not in DEVICE_PREFERENCES:
        raise ValidationError(
            f"training device {preference!r} is unknown; allowed: {', '.join(DEVICE_PREFERENCES)}"
        )
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": _mps_available()}
    if not available[preference]:
        raise ValidationError(
            f"training device {preference!r} is not available on this machine; use 'auto' or 'cpu'"
        )
    return torch.device(preference)


def device_name(device: torch.device) -> str:
    """Describe ``device`` for results and logs, e.g. "cuda:0 (NVIDIA H200)", "mps", "cpu"."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return device.type
