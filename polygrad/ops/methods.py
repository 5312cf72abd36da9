"""The Tensor methods and operators, attached to the class from the op functions."""

from __future__ import annotations

from typing import Any

import array_api_compat

from .. import _backend, _dtypes
from .._tensor import Tensor
from ._common import astype
from .elementwise import (
    abs,
    add,
    clip,
    cos,
    divide,
    equal,
    erf,
    exp,
    gelu,
    greater,
    greater_equal,
    leaky_relu,
    less,
    less_equal,
    log,
    log1p,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    pow,
    relu,
    sigmoid,
    sign,
    sin,
    softplus,
    sqrt,
    subtract,
    tanh,
)
from .indexing import getitem
from .linalg import matmul
from .mathfn import (
    bitwise_and,
    bitwise_invert,
    bitwise_left_shift,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    floor_divide,
    positive,
    remainder,
)
from .reduction import (
    all,
    any,
    argmax,
    argmin,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    prod,
    softmax,
    std,
    sum,
    var,
)
from .shape import (
    _shape_arg,
    broadcast_to,
    clone,
    expand_dims,
    flatten,
    matrix_transpose,
    permute_dims,
    reshape,
    split,
    squeeze,
    transpose,
)
from .special import digamma, erfc, erfinv, lgamma, logit, xlogy


def _reflected(fn: Any) -> Any:
    return lambda self, other: fn(other, self)


def _method_shape(fn: Any) -> Any:
    """A method taking ``t.reshape(2, 3)`` as well as ``t.reshape((2, 3))``."""
    return lambda self, *shape: fn(self, _shape_arg(shape))


def _dtype_method(dtype: Any) -> Any:
    return lambda self: astype(self, dtype, copy=False)


def _to(
    self: Tensor, dtype: Any = None, *, backend: str | None = None, device: Any = None
) -> Tensor:
    """Convert dtype (recorded) and/or move to another backend or device (a new leaf).

    The positional argument may be a dtype, a backend name or a device, as in
    ``t.to(pg.float64)``, ``t.to("torch")``, ``t.to("cpu")``.
    """
    dtype, backend, device = _backend.resolve_to_args(dtype, backend, device)
    out = self
    if backend is not None or device is not None:
        target = _backend.backend_by_name(backend) if backend else self._xp.backend
        dev = (
            target.normalize_device(device)
            if device is not None
            else (self.device if target is self._xp.backend else target.default_device())
        )
        if target is not self._xp.backend or dev != self.device:
            if target is self._xp.backend:

                data = array_api_compat.to_device(self._data, dev)
            else:
                data = target.from_host(self.numpy(), self.dtype, dev)
            out = Tensor._wrap(data, target.xp)
            out.requires_grad = self.requires_grad and self.is_leaf
    if dtype is not None:
        out = astype(out, dtype, copy=False)
    return out


def _to_device(self: Tensor, device: Any, /, *, stream: Any = None) -> Tensor:
    """The standard's ``to_device``: ``self`` on ``device`` of its backend (as ``to``)."""
    if stream is not None:
        raise ValueError("to_device: polygrad takes no stream (the backend's default one)")
    return _to(self, device=device)


def _dlpack(
    self: Tensor,
    *,
    stream: Any = None,
    max_version: tuple[int, int] | None = None,
    dl_device: Any = None,
    copy: bool | None = None,
) -> Any:
    """The data as a DLPack capsule (the backend's); refused when ``self`` requires grad,
    as in torch, since the importer would silently drop the gradient."""
    if self.requires_grad:
        raise BufferError(
            f"__dlpack__: cannot export a tensor of shape {self.shape} that requires grad; "
            "use tensor.detach()"
        )
    kwargs = {"stream": stream, "max_version": max_version, "dl_device": dl_device, "copy": copy}
    return self._data.__dlpack__(**{k: v for k, v in kwargs.items() if v is not None})


def _dlpack_device(self: Tensor) -> tuple[Any, int]:
    """The DLPack device type and id of the data (the backend's)."""
    return self._data.__dlpack_device__()


def _permute(self: Tensor, *axes: Any) -> Tensor:
    return permute_dims(self, _shape_arg(axes))


_METHODS = {
    "__add__": add,
    "__radd__": _reflected(add),
    "__sub__": subtract,
    "__rsub__": _reflected(subtract),
    "__mul__": multiply,
    "__rmul__": _reflected(multiply),
    "__truediv__": divide,
    "__rtruediv__": _reflected(divide),
    "__pow__": pow,
    "__rpow__": _reflected(pow),
    "__matmul__": matmul,
    "__rmatmul__": _reflected(matmul),
    "__neg__": negative,
    "__abs__": abs,
    "__lt__": less,
    "__le__": less_equal,
    "__gt__": greater,
    "__ge__": greater_equal,
    "__eq__": equal,
    "__ne__": not_equal,
    # the standard's operators: bitwise on integers, logical on bools (bitwise_* do both)
    "__and__": bitwise_and,
    "__rand__": _reflected(bitwise_and),
    "__or__": bitwise_or,
    "__ror__": _reflected(bitwise_or),
    "__xor__": bitwise_xor,
    "__rxor__": _reflected(bitwise_xor),
    "__invert__": bitwise_invert,
    "__lshift__": bitwise_left_shift,
    "__rlshift__": _reflected(bitwise_left_shift),
    "__rshift__": bitwise_right_shift,
    "__rrshift__": _reflected(bitwise_right_shift),
    "__floordiv__": floor_divide,
    "__rfloordiv__": _reflected(floor_divide),
    "__mod__": remainder,
    "__rmod__": _reflected(remainder),
    "__pos__": positive,
    "__getitem__": getitem,
    "add": add,
    "sub": subtract,
    "mul": multiply,
    "div": divide,
    "pow": pow,
    "matmul": matmul,
    "abs": abs,
    "exp": exp,
    "log": log,
    "log1p": log1p,
    "sqrt": sqrt,
    "sin": sin,
    "cos": cos,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "relu": relu,
    "erf": erf,
    "leaky_relu": leaky_relu,
    "gelu": gelu,
    "softplus": softplus,
    "maximum": maximum,
    "minimum": minimum,
    "clip": clip,
    "clamp": clip,
    "sum": sum,
    "mean": mean,
    "var": var,
    "std": std,
    "max": max,
    "min": min,
    "prod": prod,
    "logsumexp": logsumexp,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "argmax": argmax,
    "argmin": argmin,
    "any": any,
    "all": all,
    "sign": sign,
    "reshape": _method_shape(reshape),
    "view": _method_shape(reshape),
    "permute": _permute,
    "permute_dims": permute_dims,
    "transpose": transpose,
    "expand_dims": expand_dims,
    "unsqueeze": expand_dims,
    "squeeze": squeeze,
    "broadcast_to": broadcast_to,
    "expand": _method_shape(broadcast_to),
    "flatten": flatten,
    "split": split,
    "astype": astype,
    "clone": clone,
    "to": _to,
    "to_device": _to_device,
    "__dlpack__": _dlpack,
    "__dlpack_device__": _dlpack_device,
    "float": _dtype_method(_dtypes.float32),
    "double": _dtype_method(_dtypes.float64),
    "long": _dtype_method(_dtypes.int64),
    "int": _dtype_method(_dtypes.int32),
    "bool": _dtype_method(_dtypes.bool_),
}


_METHODS.update(erfc=erfc, erfinv=erfinv, lgamma=lgamma, digamma=digamma, logit=logit, xlogy=xlogy)


for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)


Tensor.T = property(lambda self: permute_dims(self, tuple(range(self.ndim))[::-1]))


Tensor.mT = property(matrix_transpose)
