"""Operand handling shared by every op family: lifting numbers and arrays to Tensors, torch's
type promotion, casts, and the fast paths of binary ops.
"""

from __future__ import annotations

from typing import Any

from .. import _backend, _dtypes, _tensor
from .._creation import tensor, tensor_like
from .._tensor import Function, Tensor, apply1, apply2

Number = (int, float)


def _mask(xp, condition, like):
    """A bool condition as 0/1 of ``like``'s dtype: ``g * mask`` is many times faster than
    ``where(condition, g, 0)`` on NumPy and torch."""
    return xp.astype(condition, like.dtype)


class Astype(Function):
    saves = ""

    def __init__(self, dtype: Any) -> None:
        self.to = dtype

    def forward(self, xp, x):
        return xp.astype(x, self.to)

    def backward(self, xp, g):
        return (g,)  # the engine casts back to the input's dtype


def _lift(x: Any, like: Tensor | None = None) -> Any:
    """A Tensor or Python number from whatever the user passed as an operand."""
    if type(x).__module__ == "numpy" and not hasattr(x, "__setitem__"):
        return x.item()  # NumPy scalars (np.float64 is even a float) are not array API operands
    if isinstance(x, (Tensor, int, float, complex)):
        return x  # a Python scalar takes the tensor's dtype in the op (the standard's rule)
    if like is not None and hasattr(x, "shape"):
        backend = _backend.backend_for_array(x)
        if backend.xp is like._xp:
            return Tensor._wrap(x, like._xp)
        if backend.name == "numpy":

            return tensor_like(x, like)
        raise _backend.BackendError(
            f"cannot combine a {like.backend} tensor with a {backend.name} array"
        )

    return tensor(x) if like is None else tensor_like(x, like)


_KIND_RANK = {"bool": 0, "uint": 1, "int": 1, "float": 2, "complex": 3}


def _promote(a: Any, b: Any, true_divide: bool = False) -> tuple[Any, Any]:
    """torch's mixed-kind promotion, which the standard leaves out: ints meet floats as floats,
    floats meet complex numbers as complex."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        ka, kb = _KIND_RANK[a.dtype.kind], _KIND_RANK[b.dtype.kind]
        if ka != kb:  # bool meets int as int, ints meet floats as floats (torch's rule)
            target = _dtypes.promote_types(a.dtype, b.dtype)
            return astype(a, target, copy=False), astype(b, target, copy=False)
        if true_divide and max(ka, kb) < 2:
            f = _dtypes.default_float
            return astype(a, f), astype(b, f)
        return a, b
    t, s = (a, b) if isinstance(a, Tensor) else (b, a)
    if isinstance(s, bool) and t.dtype is not _dtypes.bool_:
        s = int(s)  # a Python bool meets a number tensor as 0 or 1 (torch's promotion)
        a, b = (t, s) if isinstance(a, Tensor) else (s, t)
    elif type(s) is int and t.dtype is _dtypes.bool_ and not true_divide:
        t = astype(t, _dtypes.int64)  # a bool tensor meets a Python int as int64, as torch's
        return (t, s) if isinstance(a, Tensor) else (s, t)
    if isinstance(s, bool) and true_divide:
        s = int(s)  # bool / True divides as floats (below)
        a, b = (t, s) if isinstance(a, Tensor) else (s, t)
    if isinstance(s, complex) and t.dtype.kind != "complex":
        wide = t.dtype is _dtypes.float64 or (
            t.dtype.kind != "float" and _dtypes.default_float is _dtypes.float64
        )
        t = astype(t, _dtypes.complex128 if wide else _dtypes.complex64)
        return (t, s) if isinstance(a, Tensor) else (s, t)
    if _KIND_RANK[t.dtype.kind] < 2 and (isinstance(s, float) or true_divide):
        t = astype(t, _dtypes.default_float)
        return (t, s) if isinstance(a, Tensor) else (s, t)
    return a, b


def _binary(op: Function, a: Any, b: Any, true_divide: bool = False) -> Tensor:
    """The general path of a binary op: lift arrays and lists, promote int/float, check."""
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    a, b = _lift(a, like), _lift(b, like)
    if like is None:
        a = _lift(a)
    if type(op).__name__ == "Sub" and any(
        isinstance(v, bool) or (isinstance(v, Tensor) and v.dtype is _dtypes.bool_) for v in (a, b)
    ):
        raise RuntimeError(
            "subtract: the `-` operator with a bool tensor or bool number is not supported "
            "(as in torch); use ~ or logical_not to invert a mask"
        )
    a, b = _promote(a, b, true_divide)
    return apply2(op, a, b)


def _binary_op(cls: type[Function], name: str, doc: str, true_divide: bool = False) -> Any:
    """The public function of a binary op.

    Its fast path takes the common cases straight to ``apply2``: two tensors of one backend
    and dtype, or a float tensor and a Python number. Everything else (lists, arrays, mixed
    dtypes, integer tensors) goes through ``_binary``.
    """

    def fn(a: Any, b: Any) -> Tensor:
        if isinstance(a, Tensor):
            if isinstance(b, Tensor):
                dt = a._data.dtype
                if (
                    b._xp is a._xp
                    and dt is b._data.dtype
                    and (not true_divide or dt in a._xp.floats)
                ):
                    return apply2(cls(), a, b)
            elif (type(b) is float or type(b) is int) and a._data.dtype in a._xp.floats:
                return apply2(cls(), a, b)
        elif (type(a) is float or type(a) is int) and isinstance(b, Tensor):
            if b._data.dtype in b._xp.floats:
                return apply2(cls(), a, b)
        return _binary(cls(), a, b, true_divide)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _tensor_arg(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x

    return tensor(x)


def astype(x: Tensor, dtype: Any, copy: bool = True) -> Tensor:
    """``x`` converted to ``dtype`` (a polygrad dtype, a name, or a backend dtype).

    Differentiable between float dtypes; a cast to an integer or bool dtype is not recorded.
    """
    x = _tensor_arg(x)
    target = _dtypes.to_dtype(dtype)
    if target is x.dtype and not copy:
        return x
    backend = x._xp.backend
    to = backend.to_backend_dtype(target)
    if target.kind == "complex" and x.requires_grad and _tensor.grad_mode.enabled:
        raise TypeError(
            f"astype: a tensor of shape {x.shape} that requires grad cannot become "
            f"{target.name}: complex tensors hold values only in polygrad, so the gradient "
            "would be lost; detach() it first"
        )
    if not target.is_floating_point:
        return Tensor._wrap(x._xp.astype(x._data, to), x._xp)
    return apply1(Astype(to), x)


def _float_input(x: Any) -> Tensor:
    x = _tensor_arg(x)
    return x if x.dtype.kind in ("float", "complex") else astype(x, _dtypes.default_float)


def _no_grad_result(x: Tensor, data: Any) -> Tensor:
    return Tensor._wrap(data, x._xp)
