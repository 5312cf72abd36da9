"""Comparing polygrad with torch: conversions and asserts that also check backend and device.

Every assert here checks that the polygrad tensor lives on the backend and device under test,
so a test cannot pass because both sides were silently NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import polygrad as pg

BACKEND = pg.get_backend()


def to_torch(t: pg.Tensor, requires_grad: bool | None = None) -> torch.Tensor:
    """A float64/int64/bool torch copy of a polygrad tensor (a new torch leaf)."""
    a = torch.from_numpy(np.array(t.numpy(), copy=True, order="C"))
    if a.is_floating_point():
        a = a.double()
    if requires_grad is None:
        requires_grad = t.requires_grad
    return a.requires_grad_(requires_grad and a.is_floating_point())


def from_torch(a: torch.Tensor, requires_grad: bool = False, dtype: Any = None) -> pg.Tensor:
    """A polygrad tensor on the active backend with torch tensor ``a``'s values."""
    return pg.tensor(a.detach().cpu().numpy(), dtype=dtype, requires_grad=requires_grad)


def assert_on_backend(t: pg.Tensor) -> None:
    """``t`` is a polygrad Tensor of the backend and on the device under test."""
    assert isinstance(t, pg.Tensor), f"expected a polygrad Tensor, got {type(t).__name__}"
    active = pg.get_backend()
    assert t.backend == active.name, f"tensor is on backend {t.backend}, expected {active.name}"
    assert t.device == active.device, f"tensor is on device {t.device}, expected {active.device}"


def assert_close(
    actual: pg.Tensor, expected: Any, rtol: float = 1e-10, atol: float = 1e-12, dtype: Any = None
) -> None:
    """Values of ``actual`` equal ``expected`` (torch tensor, NumPy array or number).

    Also checks ``actual`` is on the backend and device under test, its shape, and its dtype
    when ``dtype`` is given.
    """
    assert_on_backend(actual)
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().cpu().numpy()
    expected = np.asarray(expected)
    got = actual.numpy()
    assert got.shape == expected.shape, f"shape {got.shape} != expected {expected.shape}"
    if dtype is not None:
        assert actual.dtype == dtype, f"dtype {actual.dtype} != expected {dtype}"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
