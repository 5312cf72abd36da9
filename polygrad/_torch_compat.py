"""torch's dtype and device conveniences on Tensor (``x.cpu()``, ``x.cuda()``, ``x.type()``,
``x.half()``) and the top-level ``set_default_device`` / ``get_default_device``."""

from __future__ import annotations

from typing import Any

from . import _backend, _dtypes, _unsupported
from ._devices import device
from ._tensor import Tensor
from .ops import astype

#: torch's legacy tensor type names (``x.type()``), for the dtypes polygrad has
LEGACY_NAMES = {
    "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
    "bfloat16": "BFloat16Tensor", "int64": "LongTensor", "int32": "IntTensor",
    "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor",
    "complex64": "ComplexFloatTensor", "complex128": "ComplexDoubleTensor",
}  # fmt: skip
_BY_LEGACY = {v: k for k, v in LEGACY_NAMES.items()}


def cuda_device_count() -> int:
    """How many CUDA devices the active backend can put tensors on (0 on numpy and strict)."""
    backend = _backend.get_backend().name
    if backend == "cupy":
        return _backend._cuda_gpu_count()
    if backend == "torch":
        return int(_backend.backend_by_name("torch").torch.cuda.device_count())
    return 0


def _is_cuda(self: Tensor) -> bool:
    return str(self.device).startswith("cuda")


def _cpu(self: Tensor, memory_format: Any = None) -> Tensor:
    """This tensor on the CPU: itself when already there (as torch), else a copy.

    On cupy, whose arrays all live on a GPU, the copy is a tensor of the numpy backend.
    """
    if self.backend == "cupy":
        return self.to(backend="numpy")
    return self.to(device="cpu")


def _cuda(self: Tensor, device: Any = None, non_blocking: bool = False, memory_format: Any = None):
    """This tensor on a CUDA device (``device`` an index or ``"cuda:N"``; the current one if None).

    Raises
    ------
    AssertionError
        When the active backend can use no CUDA device, as torch built without CUDA does.
    """
    if cuda_device_count() == 0:
        raise AssertionError(
            "Torch not compiled with CUDA enabled: polygrad's active backend "
            f"{_backend.get_backend().name!r} has no CUDA device (use POLYGRAD_BACKEND=cupy, or "
            "torch with CUDA, on a machine with a GPU)"
        )
    if device is None:
        device = "cuda"
    elif isinstance(device, int):
        device = f"cuda:{device}"
    return self.to(device=device)


def _type(self: Tensor, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> Any:
    """``x.type()``: torch's type name (``'torch.FloatTensor'``); ``x.type(dtype)``: ``x`` as
    ``dtype`` (a dtype, or a name such as ``'torch.DoubleTensor'``), itself if already so."""
    if dtype is None:
        prefix = "torch.cuda." if _is_cuda(self) else "torch."
        return prefix + LEGACY_NAMES[self.dtype.name]
    if isinstance(dtype, str) and dtype.rsplit(".", 1)[-1] in _BY_LEGACY:
        if ".cuda." in dtype and not _is_cuda(self):
            return _cuda(self).type(dtype.replace(".cuda.", "."))
        dtype = _BY_LEGACY[dtype.rsplit(".", 1)[-1]]
    return astype(self, dtype, copy=False)


def _get_device(self: Tensor) -> int:
    """torch's ``get_device()``: the CUDA index, or -1 for a CPU tensor."""
    index = getattr(self.device, "index", None)
    return index if _is_cuda(self) and index is not None else (0 if _is_cuda(self) else -1)


def set_default_device(device: Any) -> None:
    """Make ``device`` the default for creation functions, on the active backend (None: its
    default device), as ``torch.set_default_device``.

    Raises
    ------
    BackendError
        If the active backend cannot use ``device`` (``"cuda"`` on numpy, say).
    """
    _backend.set_backend(_backend.get_backend().name, device)


def get_default_device() -> Any:
    """The device creation functions use: ``polygrad.device("cpu")`` unless changed (torch's
    ``torch.device`` on the torch backend)."""
    return _backend.get_backend().device


_SPARSE = "polygrad tensors are dense; use a dense tensor"
to_sparse = _unsupported.function("torch.Tensor.to_sparse", _SPARSE)

Tensor.cpu = _cpu
Tensor.cuda = _cuda
Tensor.type = _type
Tensor.get_device = _get_device
Tensor.is_cuda = property(_is_cuda, doc="True for a tensor on a CUDA device.")
Tensor.is_cpu = property(lambda self: not _is_cuda(self), doc="True for a tensor on the CPU.")
Tensor.is_sparse = property(lambda self: False, doc="False: polygrad tensors are dense.")
Tensor.half = lambda self, memory_format=None: astype(self, _dtypes.float16, copy=False)
Tensor.bfloat16 = lambda self, memory_format=None: astype(self, _dtypes.bfloat16, copy=False)
Tensor.to_sparse = to_sparse

__all__ = ["device", "get_default_device", "set_default_device"]
