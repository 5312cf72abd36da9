"""Helpers the functional families share: allocation context, argument checks."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import polygrad as pg
from polygrad import Tensor


def creating_like(t: Tensor) -> AbstractContextManager:
    """Context in which polygrad's creation functions allocate on ``t``'s backend and device."""
    return pg.use_backend(t.backend, t.device)


def _as_tensor(x: Any, who: str, what: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: {what} must be a polygrad Tensor, got {type(x).__name__}")
    return x


def _check_float(x: Tensor, who: str, what: str = "input") -> None:
    if not x.dtype.is_floating_point:
        raise TypeError(f"{who}: {what} must be a floating-point tensor, got dtype {x.dtype.name}")
