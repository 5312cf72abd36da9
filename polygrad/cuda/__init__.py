"""``torch.cuda``: whether the active backend has CUDA devices, and no-op seeding.

``is_available()`` is True only when the *active backend* can put tensors on a CUDA GPU (cupy,
or torch built with CUDA): a script's ``device = "cuda" if torch.cuda.is_available() else
"cpu"`` then picks a device the backend really has. polygrad draws every random number from
one host generator (``polygrad.manual_seed``), so the CUDA seeding functions change nothing,
which is also what they do in torch on a machine without CUDA.
"""

from __future__ import annotations

from typing import Any

from .. import _unsupported
from .._torch_compat import cuda_device_count
from . import amp

__all__ = [
    "amp",
    "device_count",
    "empty_cache",
    "is_available",
    "is_bf16_supported",
    "manual_seed",
    "manual_seed_all",
    "synchronize",
]


def is_available() -> bool:
    """True when the active backend can use a CUDA device."""
    return cuda_device_count() > 0


def device_count() -> int:
    """The number of CUDA devices the active backend can use (0 on numpy and strict)."""
    return cuda_device_count()


def manual_seed(seed: int) -> None:
    """No effect: polygrad has one host generator, seeded by ``polygrad.manual_seed``."""


def manual_seed_all(seed: int) -> None:
    """No effect: polygrad has one host generator, seeded by ``polygrad.manual_seed``."""


def synchronize(device: Any = None) -> None:
    """No effect: polygrad's operations return when their results are usable."""


def empty_cache() -> None:
    """No effect: polygrad keeps no cache of device memory of its own."""


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: polygrad has no bfloat16 tensors."""
    return False


def __getattr__(name: str) -> Any:
    if name in ("current_device", "get_device_name", "get_device_properties", "set_device"):
        return _unsupported.function(f"torch.cuda.{name}", "no CUDA device is in use")
    raise _unsupported.missing_attribute("torch.cuda", name)
