from __future__ import annotations

import pytest
import torch

from ktrdr.errors import ValidationError
from ktrdr.training import device as device_module
from ktrdr.training.device import device_name, select_device


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch):
    """Pretend the machine has the given accelerators."""

    def configure(*, cuda: bool, mps: bool) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(device_module, "_mps_available", lambda: mps)

    return configure


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_auto_prefers_cuda_then_mps_then_cpu(machine, cuda: bool, mps: bool, expected: str) -> None:
    machine(cuda=cuda, mps=mps)
    assert select_device("auto").type == expected


@pytest.mark.parametrize("preference", ["cuda", "mps"])
def test_explicit_missing_accelerator_is_an_error(machine, preference: str) -> None:
    machine(cuda=False, mps=False)
    with pytest.raises(ValidationError, match=f"'{preference}' is not available"):
        select_device(preference)


def test_explicit_cpu_always_works(machine) -> None:
    machine(cuda=True, mps=True)
    assert select_device("cpu") == torch.device("cpu")
    assert device_name(torch.device("cpu")) == "cpu"


def test_unknown_preference_lists_allowed_values() -> None:
    with pytest.raises(ValidationError, match="'tpu' is unknown; allowed: auto, cpu, cuda, mps"):
        select_device("tpu")
