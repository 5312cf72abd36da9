"""``torch.nn.parallel`` stand-in: no multi-device or multi-process data parallelism.

The classes exist so ``isinstance(model, DistributedDataParallel)`` and imports work; building
one raises ``NotImplementedError``.
"""

from __future__ import annotations

from typing import Any

from .. import _unsupported
from .modules import Module

_WHY = "polygrad trains in one process on one device; use the module itself"

DistributedDataParallel = _unsupported.cls(
    "torch.nn.parallel.DistributedDataParallel", _WHY, Module
)
DataParallel = _unsupported.cls("torch.nn.parallel.DataParallel", _WHY, Module)


def __getattr__(name: str) -> Any:
    raise _unsupported.missing_attribute("torch.nn.parallel", name)
