"""``torch.accelerator``: which accelerator the active backend can use (a CUDA GPU or none)."""

from __future__ import annotations

from typing import Any

from ._devices import device
from ._torch_compat import cuda_device_count


def is_available() -> bool:
    """True when the active backend can use a CUDA device."""
    return cuda_device_count() > 0


def device_count() -> int:
    """How many accelerator devices the active backend can use."""
    return cuda_device_count()


def current_accelerator(check_available: bool = False) -> device | None:
    """``polygrad.device("cuda")`` when the backend has a CUDA device, else None (as torch)."""
    return device("cuda") if cuda_device_count() > 0 else None


def __getattr__(name: str) -> Any:
    from . import _unsupported

    raise _unsupported.missing_attribute("torch.accelerator", name)
