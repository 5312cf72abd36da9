"""The backends of the libraries besides NumPy (torch, CuPy, array-api-strict): each one's
overrides of ``_backend.Backend`` where its library has a faster or more exact function, and
its devices. ``_backend.backend_by_name`` imports this module when it first needs one."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import array_api_compat
import numpy as np

from ._backend import Backend, BackendError


def _set_torch_threads(torch: Any) -> None:
    """Pick torch's intra-op thread count when the torch backend is first used.

    polygrad's ops are many and small, where torch's default of one thread per core
    oversubscribes (an example ran 40x slower on 2 cores). So: ``POLYGRAD_NUM_THREADS`` if set;
    else, if ``OMP_NUM_THREADS`` is set, torch's own choice from it; else one thread. Call
    ``torch.set_num_threads`` afterwards to override.
    """
    wanted = os.environ.get("POLYGRAD_NUM_THREADS")
    if wanted:
        try:
            n = int(wanted)
        except ValueError:
            raise BackendError(f"POLYGRAD_NUM_THREADS must be an integer, not {wanted!r}") from None
        torch.set_num_threads(max(n, 1))
    elif not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(1)


class TorchBackend(Backend):
    name = "torch"
    views_share_memory = True

    def __init__(self) -> None:
        import torch

        self.torch = torch
        super().__init__(array_api_compat.array_namespace(torch.zeros(0)))
        _set_torch_threads(torch)

    def default_device(self) -> Any:
        return self.torch.device("cpu")

    def normalize_device(self, device: Any) -> Any:
        if device is None:
            return self.default_device()
        try:
            dev = self.torch.device(device)
            self.torch.empty(0, device=dev)
        except (RuntimeError, TypeError, AssertionError) as e:
            raise BackendError(f"the torch backend cannot use device {device!r}: {e}") from e
        return dev

    def to_numpy(self, x: Any) -> np.ndarray:
        # resolve_conj: a lazily conjugated complex tensor (torch's conj bit) as its values
        return x.detach().cpu().resolve_conj().numpy().copy()

    def erf(self, x: Any) -> Any:
        return self.torch.special.erf(x)

    def erfc(self, x: Any) -> Any:
        return self.torch.special.erfc(x)

    def erfinv(self, x: Any) -> Any:
        return self.torch.special.erfinv(x)

    def gammaln(self, x: Any) -> Any:
        return self.torch.special.gammaln(x)

    def psi(self, x: Any) -> Any:
        return self.torch.special.digamma(x)

    def trigamma(self, x: Any) -> Any:
        return self.torch.special.polygamma(1, x)

    def sigmoid(self, x: Any) -> Any:
        return self.torch.sigmoid(x)

    def scatter_add_flat(self, size: int, index: Any, values: Any) -> Any:
        out = self.torch.zeros(size, dtype=values.dtype, device=values.device)
        return out.index_add_(0, index, values)


class CupyBackend(Backend):
    name = "cupy"
    views_share_memory = True

    def __init__(self) -> None:
        import cupy

        self.cupy = cupy
        super().__init__(array_api_compat.array_namespace(cupy.zeros(0)))

    def default_device(self) -> Any:
        return self.cupy.cuda.Device(0)

    def normalize_device(self, device: Any) -> Any:
        if device is None:
            return self.default_device()
        if isinstance(device, self.cupy.cuda.Device):
            return device
        spec = str(device).replace("cuda:", "").replace("cuda", "0")
        try:
            dev = self.cupy.cuda.Device(int(spec))
            dev.compute_capability  # noqa: B018  (raises if the device does not exist)
        except Exception as e:
            raise BackendError(f"the cupy backend cannot use device {device!r}: {e}") from e
        return dev

    def _dtype_key(self, dtype: Any) -> Any:
        return np.dtype(dtype)

    def device_name(self, device: Any) -> str:
        return f"cuda:{device.id}"

    @contextlib.contextmanager
    def on(self, device: Any) -> Iterator[None]:
        # NOTE: under array-api-compat CuPy's zeros/arange ignore device=; this context does not
        with self.cupy.cuda.Device(device.id if hasattr(device, "id") else int(device)):
            yield

    def to_numpy(self, x: Any) -> np.ndarray:
        return self.cupy.asnumpy(x)

    def erf(self, x: Any) -> Any:
        from cupyx.scipy.special import erf

        return erf(x)

    def erfc(self, x: Any) -> Any:
        from cupyx.scipy.special import erfc

        return erfc(x)

    def erfinv(self, x: Any) -> Any:
        from cupyx.scipy.special import erfinv

        return erfinv(x)

    def gammaln(self, x: Any) -> Any:
        from cupyx.scipy.special import gammaln

        return gammaln(x)

    def psi(self, x: Any) -> Any:
        from cupyx.scipy.special import psi

        return psi(x)

    def trigamma(self, x: Any) -> Any:
        from cupyx.scipy.special import polygamma

        return polygamma(1, x)

    def sigmoid(self, x: Any) -> Any:
        from cupyx.scipy.special import expit

        return expit(x)

    def scatter_add_flat(self, size: int, index: Any, values: Any) -> Any:
        import cupyx

        with self.on(self.device_of(values)):
            out = self.cupy.zeros(size, dtype=values.dtype)
        cupyx.scatter_add(out, index, values)
        return out


class StrictBackend(Backend):
    """array-api-strict: nothing outside the standard, and a second device to catch misplacement."""

    name = "strict"

    def __init__(self) -> None:
        import array_api_strict

        self.strict = array_api_strict
        super().__init__(array_api_compat.array_namespace(array_api_strict.asarray(0)))
        self._device_class = _strict_device_class(array_api_strict.Device)

    def default_device(self) -> Any:
        return self._device_class("device1")

    def normalize_device(self, device: Any) -> Any:
        if device is None:
            return self.default_device()
        if isinstance(device, self.strict.Device):
            return self._device_class(device._device)
        name = _STRICT_NAMES.get(str(device), str(device))  # torch spellings: cpu, cpu:0 ...
        try:
            return self._device_class(name)
        except ValueError as e:
            raise BackendError(f"the strict backend has no device {device!r}: {e}") from e

    def device_of(self, x: Any) -> Any:
        return self.normalize_device(x.device)

    def device_name(self, device: Any) -> str:
        return device._device

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.array(x.to_device(self.strict.Device("CPU_DEVICE")), copy=True)


#: torch's names for array-api-strict's devices: its simulated device1 plays the CPU (what
#: scripts ask for with ``device="cpu"``); its host device and device2 are cpu:0 and cpu:2
_STRICT_NAMES = {"cpu": "device1", "cpu:0": "CPU_DEVICE", "cpu:2": "device2"}
_STRICT_INDEX = {"device1": None, "CPU_DEVICE": 0, "device2": 2}


def _strict_device_class(base: type) -> type:
    """array-api-strict's Device with torch's ``type`` and ``index`` (see ``_STRICT_NAMES``)."""

    class Device(base):
        __slots__ = ()
        type = "cpu"

        @property
        def index(self) -> int | None:
            return _STRICT_INDEX[self._device]

        def __eq__(self, other: object) -> bool:
            if isinstance(other, base) or not isinstance(getattr(other, "type", None), str):
                return super().__eq__(other)
            return (self.type, self.index) == (other.type, getattr(other, "index", None))

        __hash__ = base.__hash__

    return Device
