"""Every differentiable op: its forward and its vector-Jacobian rule side by side, then the
public functions (``polygrad.exp`` ...) and the Tensor methods and operators built on them.

Rules use only the array API standard, so each runs on raw backend arrays (ordinary backward)
and on Tensors with ``xp = polygrad`` (``create_graph=True``). ``g`` is the incoming gradient.
The engine undoes broadcasting and casts dtypes, so binary rules stay one line.
"""

from __future__ import annotations

import builtins  # this module defines sum, max, any ...: builtins are spelled out
import math
from collections.abc import Sequence
from typing import Any

from . import _backend, _dtypes
from ._backend import TakeKey
from ._checks import DimensionError, ShapeError, check_index_range, normalize_axes, normalize_axis
from ._tensor import Function, Tensor, apply, apply1, apply2, mark_view

Number = (int, float)
SQRT_2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


# ============================================================================================
# elementwise arithmetic
# ============================================================================================
class Add(Function):
    saves = ""

    def forward(self, xp, a, b):
        return a + b

    def backward(self, xp, g):
        return g, g


class Sub(Function):
    saves = ""

    def forward(self, xp, a, b):
        return a - b

    def backward(self, xp, g):
        return g, -g


class Neg(Function):
    exact = True
    saves = ""
    fresh = True

    def forward(self, xp, x):
        return -x

    def backward(self, xp, g):
        return (-g,)


class Mul(Function):
    fresh = True

    def forward(self, xp, a, b):
        return a * b

    def backward(self, xp, g, a, b):
        return (
            g * b if self.next[0] is not None else None,
            g * a if self.next[1] is not None else None,
        )


class Div(Function):
    saves = "both"
    fresh = True

    def forward(self, xp, a, b):
        return a / b

    def backward(self, xp, g, a, b, y):
        ga = g / b
        return ga, (-ga * y if self.next[1] is not None else None)


class Pow(Function):
    saves = "both"
    fresh = True

    def forward(self, xp, a, b):
        return a**b

    def backward(self, xp, g, a, b, y):
        ga = gb = None
        if self.next[0] is not None:
            ga = g * b * a ** (b - 1)
        if self.next[1] is not None:
            log_a = math.log(a) if isinstance(a, Number) else xp.log(a)
            gb = g * y * log_a
        return ga, gb


class Abs(Function):
    exact = True
    fresh = True

    def forward(self, xp, x):
        return xp.abs(x)

    def backward(self, xp, g, x):
        return (g * xp.sign(x),)  # NOTE: gradient 0 at 0, as torch


class Exp(Function):
    exact = True
    saves = "output"
    fresh = True

    def forward(self, xp, x):
        return xp.exp(x)

    def backward(self, xp, g, y):
        return (g * y,)


class Log(Function):
    exact = True
    fresh = True

    def forward(self, xp, x):
        return xp.log(x)

    def backward(self, xp, g, x):
        return (g / x,)


class Log1p(Function):
    exact = True
    fresh = True

    def forward(self, xp, x):
        return xp.log1p(x)

    def backward(self, xp, g, x):
        return (g / (x + 1.0),)


class Sqrt(Function):
    exact = True
    saves = "output"
    fresh = True

    def forward(self, xp, x):
        return xp.sqrt(x)

    def backward(self, xp, g, y):
        return (g / (y * 2.0),)


class Sin(Function):
    exact = True
    fresh = True

    def forward(self, xp, x):
        return xp.sin(x)

    def backward(self, xp, g, x):
        return (g * xp.cos(x),)


class Cos(Function):
    exact = True
    fresh = True

    def forward(self, xp, x):
        return xp.cos(x)

    def backward(self, xp, g, x):
        return (-(g * xp.sin(x)),)


class Tanh(Function):
    exact = True
    saves = "output"
    fresh = True

    def forward(self, xp, x):
        return xp.tanh(x)

    def backward(self, xp, g, y):
        return (g * (1.0 - y * y),)


def _stable_sigmoid(xp, z):
    # NOTE: e^min(z,0) / (1 + e^-|z|) is 1/(1+e^-z) for z >= 0 and e^z/(1+e^z) below: no exp
    # ever overflows, and it is exact to the last bits at both ends (unlike 0.5*tanh(z/2)+0.5)
    return xp.exp(xp.minimum(z, 0.0)) / (1.0 + xp.exp(-xp.abs(z)))


def _mask(xp, condition, like):
    """A bool condition as 0/1 of ``like``'s dtype: ``g * mask`` is many times faster than
    ``where(condition, g, 0)`` on NumPy and torch."""
    return xp.astype(condition, like.dtype)


class Sigmoid(Function):
    exact = True
    saves = "output"
    fresh = True

    def forward(self, xp, x):
        return _stable_sigmoid(xp, x)

    def backward(self, xp, g, y):
        return (g * y * (1.0 - y),)


class Relu(Function):
    exact = True
    saves = "output"
    fresh = True

    def forward(self, xp, x):
        return xp.maximum(x, 0.0)

    def backward(self, xp, g, y):
        return (g * _mask(xp, y > 0, g),)  # NOTE: gradient 0 at 0, as torch


class LeakyRelu(Function):
    exact = True
    fresh = True

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.slope = float(negative_slope)

    def forward(self, xp, x):
        return xp.where(x > 0, x, x * self.slope)

    def backward(self, xp, g, x):
        positive = _mask(xp, x > 0, g)
        return (g * (positive * (1.0 - self.slope) + self.slope),)


class Erf(Function):
    exact = True
    fresh = True

    def forward(self, xp, x):
        return xp.erf(x)

    def backward(self, xp, g, x):
        return (g * xp.exp(-(x * x)) * TWO_OVER_SQRT_PI,)


GELU_K = math.sqrt(2.0 / math.pi)
GELU_C = 0.044715


class Gelu(Function):
    """x * Phi(x) with Phi the normal CDF; ``approximate="tanh"`` uses torch's tanh formula."""

    exact = True
    fresh = True

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu approximate must be 'none' or 'tanh', not {approximate!r}")
        self.approximate = approximate

    def forward(self, xp, x):
        if self.approximate == "tanh":
            return 0.5 * x * (1.0 + xp.tanh(GELU_K * (x + GELU_C * x * x * x)))
        return 0.5 * x * (1.0 + xp.erf(x / SQRT_2))

    def backward(self, xp, g, x):
        if self.approximate == "tanh":
            t = xp.tanh(GELU_K * (x + GELU_C * x * x * x))
            du = GELU_K * (1.0 + 3.0 * GELU_C * x * x)
            return (g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du),)
        cdf = 0.5 * (1.0 + xp.erf(x / SQRT_2))
        pdf = xp.exp(-0.5 * x * x) * INV_SQRT_2PI
        return (g * (cdf + x * pdf),)


class Softplus(Function):
    """log(1 + exp(beta x)) / beta, linear above ``threshold`` as in torch."""

    exact = True
    fresh = True

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, xp, x):
        z = x * self.beta
        soft = (xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z)))) / self.beta
        return xp.where(z > self.threshold, x, soft)

    def backward(self, xp, g, x):
        z = x * self.beta
        linear = _mask(xp, z > self.threshold, g)
        return (g * (linear + (1.0 - linear) * _stable_sigmoid(xp, z)),)


class LogAddExp(Function):
    saves = "both"
    fresh = True

    def forward(self, xp, a, b):
        return xp.logaddexp(a, b)

    def backward(self, xp, g, a, b, y):
        return g * xp.exp(a - y), g * xp.exp(b - y)


class Maximum(Function):
    fresh = True

    def forward(self, xp, a, b):
        return xp.maximum(a, b)

    def backward(self, xp, g, a, b):
        # NOTE: ties split the gradient half and half, as torch
        ga = g * (_mask(xp, a > b, g) + _mask(xp, a == b, g) * 0.5)
        return ga, g - ga


class Minimum(Function):
    fresh = True

    def forward(self, xp, a, b):
        return xp.minimum(a, b)

    def backward(self, xp, g, a, b):
        ga = g * (_mask(xp, a < b, g) + _mask(xp, a == b, g) * 0.5)
        return ga, g - ga


class Clip(Function):
    exact = True
    fresh = True

    def __init__(self, lo: float | None, hi: float | None) -> None:
        self.lo, self.hi = lo, hi

    def forward(self, xp, x):
        return xp.clip(x, self.lo, self.hi)

    def backward(self, xp, g, x):
        # NOTE: the gradient passes at the bounds themselves, as torch's clamp
        if self.lo is not None:
            g = g * _mask(xp, x >= self.lo, g)
        if self.hi is not None:
            g = g * _mask(xp, x <= self.hi, g)
        return (g,)


class Where(Function):
    saves = ""
    fresh = True

    def __init__(self, cond: Any) -> None:
        self.cond = cond

    def forward(self, xp, a, b):
        return xp.where(self.cond, a, b)

    def backward(self, xp, g):
        return xp.where(self.cond, g, 0.0), xp.where(self.cond, 0.0, g)


class Matmul(Function):
    fresh = True

    def forward(self, xp, a, b):
        return xp.matmul(a, b)

    def backward(self, xp, g, a, b):
        # 1-D operands are matrices with a unit axis that the forward dropped: put it back
        a_vec, b_vec = a.ndim == 1, b.ndim == 1
        if b_vec:
            g, b = xp.expand_dims(g, axis=-1), xp.expand_dims(b, axis=-1)
        if a_vec:
            g, a = xp.expand_dims(g, axis=-2), xp.expand_dims(a, axis=0)
        ga = gb = None
        if self.next[0] is not None:
            ga = xp.matmul(g, xp.matrix_transpose(b))
            if a_vec:
                ga = xp.squeeze(ga, axis=-2)
        if self.next[1] is not None:
            gb = xp.matmul(xp.matrix_transpose(a), g)
            if b_vec:
                gb = xp.squeeze(gb, axis=-1)
        return ga, gb


# ============================================================================================
# reductions and normalizations
# ============================================================================================
def _axes(axis: Any, ndim: int, op: str = "reduction") -> tuple[int, ...]:
    """Normalize an axis argument (None, int or tuple) to a sorted tuple of non-negative axes."""
    return normalize_axes(axis, ndim, op)


class _Reduction(Function):
    """Shared bookkeeping: the reduced axes, and the shape with those axes kept as size 1."""

    exact = True

    def __init__(self, axis: Any = None, keepdims: bool = False) -> None:
        self.axis, self.keepdims = axis, keepdims

    def setup(self, x: Any) -> tuple[int, ...]:
        self.axes = _axes(self.axis, x.ndim, type(self).__name__.lower())
        self.in_shape = tuple(x.shape)
        self.kept = tuple(1 if i in self.axes else n for i, n in enumerate(x.shape))
        self.count = math.prod(x.shape[i] for i in self.axes)
        return self.axes

    def expand(self, xp, g):
        """An output-shaped array reshaped to keep the reduced axes as size 1."""
        return g if self.keepdims else xp.reshape(g, self.kept)


class Sum(_Reduction):
    saves = ""

    def forward(self, xp, x):
        return xp.sum(x, axis=self.setup(x), keepdims=self.keepdims)

    def backward(self, xp, g):
        return (xp.broadcast_to(self.expand(xp, g), self.in_shape),)


class Mean(_Reduction):
    saves = ""

    def forward(self, xp, x):
        return xp.mean(x, axis=self.setup(x), keepdims=self.keepdims)

    def backward(self, xp, g):
        return (xp.broadcast_to(self.expand(xp, g) / self.count, self.in_shape),)


class Var(_Reduction):
    fresh = True

    def __init__(self, axis: Any = None, correction: float = 0.0, keepdims: bool = False):
        super().__init__(axis, keepdims)
        self.correction = correction

    def forward(self, xp, x):
        axes = self.setup(x)
        return xp.var(x, axis=axes, correction=self.correction, keepdims=self.keepdims)

    def backward(self, xp, g, x):
        centered = x - xp.mean(x, axis=self.axes, keepdims=True)
        return (self.expand(xp, g) * centered * (2.0 / (self.count - self.correction)),)


class Std(Var):
    saves = "both"

    def forward(self, xp, x):
        axes = self.setup(x)
        return xp.std(x, axis=axes, correction=self.correction, keepdims=self.keepdims)

    def backward(self, xp, g, x, y):
        centered = x - xp.mean(x, axis=self.axes, keepdims=True)
        scale = self.expand(xp, g) / (self.expand(xp, y) * (self.count - self.correction))
        return (scale * centered,)


class Max(_Reduction):
    saves = "both"
    fresh = True

    def forward(self, xp, x):
        return xp.max(x, axis=self.setup(x), keepdims=self.keepdims)

    def backward(self, xp, g, x, y):
        # NOTE: ties share the gradient evenly, as torch's amax
        hit = xp.astype(x == self.expand(xp, y), g.dtype)
        count = xp.sum(hit, axis=self.axes, keepdims=True)
        return (self.expand(xp, g) * hit / count,)


class Min(Max):
    def forward(self, xp, x):
        return xp.min(x, axis=self.setup(x), keepdims=self.keepdims)


class Prod(_Reduction):
    fresh = True

    def forward(self, xp, x):
        return xp.prod(x, axis=self.setup(x), keepdims=self.keepdims)

    def backward(self, xp, g, x):
        # d prod / d x_i is the product of the others: prod/x_i when no zero is in the slice;
        # with exactly one zero only that element gets a gradient; with two or more none does.
        zero = x == 0
        safe = xp.where(zero, 1.0, x)
        others = xp.prod(safe, axis=self.axes, keepdims=True)
        n_zero = xp.sum(xp.astype(zero, g.dtype), axis=self.axes, keepdims=True)
        grad_nonzero = xp.where(n_zero == 0, others / safe, 0.0)
        grad_zero = xp.where(n_zero == 1, others, 0.0)
        return (self.expand(xp, g) * xp.where(zero, grad_zero, grad_nonzero),)


class LogSumExp(_Reduction):
    saves = "both"
    fresh = True

    def forward(self, xp, x):
        axes = self.setup(x)
        m = xp.max(x, axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0.0)
        out = xp.log(xp.sum(xp.exp(x - m), axis=axes, keepdims=True)) + m
        return out if self.keepdims or not axes else xp.squeeze(out, axis=axes)

    def backward(self, xp, g, x, y):
        return (self.expand(xp, g) * xp.exp(x - self.expand(xp, y)),)


class Softmax(Function):
    exact = True
    saves = "output"
    fresh = True

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, xp, x):
        e = xp.exp(x - xp.max(x, axis=self.axis, keepdims=True))
        return e / xp.sum(e, axis=self.axis, keepdims=True)

    def backward(self, xp, g, y):
        return (y * (g - xp.sum(g * y, axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    exact = True
    saves = "output"
    fresh = True

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, xp, x):
        z = x - xp.max(x, axis=self.axis, keepdims=True)
        return z - xp.log(xp.sum(xp.exp(z), axis=self.axis, keepdims=True))

    def backward(self, xp, g, y):
        return (g - xp.exp(y) * xp.sum(g, axis=self.axis, keepdims=True),)


# ============================================================================================
# shape and indexing
# ============================================================================================
class Reshape(Function):
    """reshape, expand_dims, squeeze and flatten: any change of shape that keeps the order."""

    exact = True
    saves = ""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.new_shape = shape

    def forward(self, xp, x):
        self.in_shape = tuple(x.shape)
        return xp.reshape(x, self.new_shape)

    def backward(self, xp, g):
        return (xp.reshape(g, self.in_shape),)


class PermuteDims(Function):
    exact = True
    saves = ""

    def __init__(self, axes: tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, xp, x):
        return xp.permute_dims(x, self.axes)

    def backward(self, xp, g):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return (xp.permute_dims(g, tuple(inverse)),)


class BroadcastTo(Function):
    saves = ""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.target = shape

    def forward(self, xp, x):
        return xp.broadcast_to(x, self.target)

    def backward(self, xp, g):
        return (g,)  # the engine sums the broadcast axes away


class Astype(Function):
    saves = ""

    def __init__(self, dtype: Any) -> None:
        self.to = dtype

    def forward(self, xp, x):
        return xp.astype(x, self.to)

    def backward(self, xp, g):
        return (g,)  # the engine casts back to the input's dtype


class Clone(Function):
    """A copy with its own memory; the gradient passes through unchanged."""

    exact = True
    saves = ""

    def forward(self, xp, x):
        return xp.asarray(x, copy=True)

    def backward(self, xp, g):
        return (g,)


class Concat(Function):
    exact = True
    saves = ""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, xp, *arrays):
        self.sizes = [a.shape[self.axis] for a in arrays]
        self.ndim = arrays[0].ndim
        return xp.concat(arrays, axis=self.axis)

    def backward(self, xp, g):
        lead = (slice(None),) * (self.axis % self.ndim)
        out, start = [], 0
        for n in self.sizes:
            out.append(g[lead + (slice(start, start + n), ...)])
            start += n
        return tuple(out)


class Pad(Function):
    """Constant padding with torch's ``pad`` layout: (left, right) of the last axis first."""

    exact = True
    saves = ""

    def __init__(self, pad: Sequence[int], value: float) -> None:
        if len(pad) % 2:
            raise ValueError(f"pad needs an even number of entries, got {tuple(pad)}")
        if builtins.any(int(p) < 0 for p in pad):
            raise ValueError(f"pad entries must be non-negative, got {tuple(pad)}")
        self.pad, self.value = [int(p) for p in pad], value

    def forward(self, xp, x):
        n_axes = len(self.pad) // 2
        if n_axes > x.ndim:
            raise ValueError(
                f"pad {tuple(self.pad)} covers {n_axes} axes, but the input has {x.ndim}"
            )
        shape, key = list(x.shape), [slice(None)] * x.ndim
        for i in range(n_axes):
            axis = x.ndim - 1 - i
            before, after = self.pad[2 * i], self.pad[2 * i + 1]
            shape[axis] += before + after
            key[axis] = slice(before, before + x.shape[axis])
        self.key = tuple(key)
        backend = xp.backend
        device = backend.device_of(x)
        with backend.on(device):
            out = xp.full(tuple(shape), self.value, dtype=x.dtype, device=device)
        out[self.key] = x
        return out

    def backward(self, xp, g):
        return (g[self.key],)


class GetItem(Function):
    exact = True
    saves = ""
    fresh = True

    def __init__(self, key: tuple) -> None:
        self.key = key

    def forward(self, xp, x):
        self.in_shape = tuple(x.shape)
        return _index(xp, x, self.key)

    def backward(self, xp, g):
        return (xp.add_at(self.in_shape, self.key, g),)


class AddAt(Function):
    """Zeros of ``shape`` with the input added at ``[key]``: the adjoint of indexing."""

    exact = True
    saves = ""

    def __init__(self, shape: tuple[int, ...], key: tuple) -> None:
        self.out_shape, self.key = shape, key

    def forward(self, xp, values):
        return xp.add_at(self.out_shape, self.key, values)

    def backward(self, xp, g):
        return (_index(xp, g, self.key),)


def _index(xp, x, key):
    """``x[key]`` for a backend array or a Tensor, with TakeKeys run through ``take``."""
    if isinstance(key, TakeKey) and not isinstance(x, Tensor):
        return key.apply(xp, x)
    return x[key]


# ============================================================================================
# operand handling shared by the public functions
# ============================================================================================
def _lift(x: Any, like: Tensor | None = None) -> Any:
    """A Tensor or Python number from whatever the user passed as an operand."""
    if type(x).__module__ == "numpy" and not hasattr(x, "__setitem__"):
        return x.item()  # NumPy scalars (np.float64 is even a float) are not array API operands
    if isinstance(x, Tensor) or isinstance(x, Number):
        return x
    if like is not None and hasattr(x, "shape"):
        backend = _backend.backend_for_array(x)
        if backend.xp is like._xp:
            return Tensor._wrap(x, like._xp)
        if backend.name == "numpy":
            from ._creation import tensor_like

            return tensor_like(x, like)
        raise _backend.BackendError(
            f"cannot combine a {like.backend} tensor with a {backend.name} array"
        )
    from ._creation import tensor, tensor_like

    return tensor(x) if like is None else tensor_like(x, like)


def _promote(a: Any, b: Any, true_divide: bool = False) -> tuple[Any, Any]:
    """torch's mixed-kind promotion, which the standard leaves out: ints meet floats as floats."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a.data.dtype == b.data.dtype:
            if true_divide and not a.dtype.is_floating_point:
                f = _dtypes.default_float
                return astype(a, f), astype(b, f)
            return a, b
        fa, fb = a.dtype.is_floating_point, b.dtype.is_floating_point
        if fa and not fb:
            return a, astype(b, a.dtype)
        if fb and not fa:
            return astype(a, b.dtype), b
        if true_divide and not fa:
            f = _dtypes.default_float
            return astype(a, f), astype(b, f)
        return a, b
    t, s = (a, b) if isinstance(a, Tensor) else (b, a)
    if isinstance(s, bool) and t.dtype is not _dtypes.bool_:
        s = int(s)  # a Python bool meets a number tensor as 0 or 1 (torch's promotion)
        a, b = (t, s) if isinstance(a, Tensor) else (s, t)
    if not t.dtype.is_floating_point and (isinstance(s, float) or true_divide):
        t = astype(t, _dtypes.default_float)
        return (t, s) if isinstance(a, Tensor) else (s, t)
    return a, b


def _binary(op: Function, a: Any, b: Any, true_divide: bool = False) -> Tensor:
    """The general path of a binary op: lift arrays and lists, promote int/float, check."""
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    a, b = _lift(a, like), _lift(b, like)
    if like is None:
        a = _lift(a)
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
                dt = a.data.dtype
                if (
                    b._xp is a._xp
                    and dt is b.data.dtype
                    and (not true_divide or dt in a._xp.floats)
                ):
                    return apply2(cls(), a, b)
            elif (type(b) is float or type(b) is int) and a.data.dtype in a._xp.floats:
                return apply2(cls(), a, b)
        elif (type(a) is float or type(a) is int) and isinstance(b, Tensor):
            if b.data.dtype in b._xp.floats:
                return apply2(cls(), a, b)
        return _binary(cls(), a, b, true_divide)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _tensor_arg(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    from ._creation import tensor

    return tensor(x)


# ============================================================================================
# public functions: arithmetic and elementwise
# ============================================================================================
add = _binary_op(
    Add, "add", "Elementwise ``a + b`` with broadcasting; either side may be a number."
)
subtract = _binary_op(Sub, "subtract", "Elementwise ``a - b`` with broadcasting.")
multiply = _binary_op(Mul, "multiply", "Elementwise ``a * b`` with broadcasting.")
divide = _binary_op(
    Div, "divide", "Elementwise ``a / b`` (integers divide as floats, as in torch).", True
)
pow = _binary_op(Pow, "pow", "Elementwise ``a ** b``; the exponent may be a tensor or a number.")  # noqa: A001


def negative(x: Tensor) -> Tensor:
    """Elementwise ``-x``."""
    return apply1(Neg(), _tensor_arg(x))


def _unary(op_cls: type[Function], doc: str) -> Any:
    def fn(x: Tensor) -> Tensor:
        if isinstance(x, Tensor) and x.data.dtype in x._xp.floats:
            return apply1(op_cls(), x)
        x = _tensor_arg(x)
        if not x.dtype.is_floating_point and op_cls is not Abs:
            x = astype(x, _dtypes.default_float)
        return apply1(op_cls(), x)

    fn.__name__ = fn.__qualname__ = doc.split()[0].strip("`")
    fn.__doc__ = doc
    return fn


abs = _unary(Abs, "abs(x): elementwise absolute value; the gradient at 0 is 0.")  # noqa: A001
exp = _unary(Exp, "exp(x): elementwise exponential.")
log = _unary(Log, "log(x): elementwise natural logarithm.")
log1p = _unary(Log1p, "log1p(x): elementwise log(1 + x), accurate for small x.")
sqrt = _unary(Sqrt, "sqrt(x): elementwise square root.")
sin = _unary(Sin, "sin(x): elementwise sine.")
cos = _unary(Cos, "cos(x): elementwise cosine.")
tanh = _unary(Tanh, "tanh(x): elementwise hyperbolic tangent.")
sigmoid = _unary(Sigmoid, "sigmoid(x): elementwise 1 / (1 + exp(-x)), computed without overflow.")
relu = _unary(Relu, "relu(x): elementwise max(x, 0); the gradient at 0 is 0, as in torch.")
erf = _unary(Erf, "erf(x): elementwise error function.")


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """Elementwise ``x`` for x > 0 and ``negative_slope * x`` otherwise."""
    return apply1(LeakyRelu(negative_slope), _tensor_arg(x))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit ``x * Phi(x)``; ``approximate="tanh"`` as in torch."""
    return apply1(Gelu(approximate), _tensor_arg(x))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``."""
    return apply1(Softplus(beta, threshold), _tensor_arg(x))


maximum = _binary_op(
    Maximum, "maximum", "Elementwise maximum with broadcasting; ties split the gradient evenly."
)
logaddexp = _binary_op(
    LogAddExp, "logaddexp", "Elementwise ``log(exp(a) + exp(b))``, computed without overflow."
)
minimum = _binary_op(
    Minimum, "minimum", "Elementwise minimum with broadcasting; ties split the gradient evenly."
)


def clip(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    """Clamp ``x`` into ``[min, max]`` (either may be None); the gradient passes at the bounds."""
    for name, v in (("min", min), ("max", max)):
        if v is not None and not isinstance(v, Number):
            raise TypeError(
                f"clip {name} must be a Python number or None, not {type(v).__name__}; "
                "use polygrad.maximum / polygrad.minimum for tensor bounds"
            )
    return apply1(Clip(min, max), _tensor_arg(x))


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a`` where ``condition`` is true, else ``b``, with broadcasting."""
    like = next((t for t in (a, b, condition) if isinstance(t, Tensor)), None)
    cond = _lift(condition, like) if like is not None else _tensor_arg(condition)
    if not isinstance(cond, Tensor) or cond.dtype != _dtypes.bool_:
        got = cond.dtype.name if isinstance(cond, Tensor) else type(cond).__name__
        raise TypeError(f"where() needs a bool tensor as condition, not {got}")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        from ._creation import tensor_like

        a = tensor_like(a, cond)
    a, b = _lift(a, cond), _lift(b, cond)
    a, b = _promote(a, b)
    return apply2(Where(cond.data), a, b)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with NumPy's rules: 1-D operands, 2-D, and batched with broadcasting."""
    a, b = _tensor_arg(a), _lift(b, a if isinstance(a, Tensor) else None)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul does not take 0-d tensors; use * to scale")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ValueError(f"matmul shape mismatch: {a.shape} @ {b.shape} ({ka} != {kb})")
    a, b = _promote(a, b)
    return apply2(Matmul(), a, b)


def clone(x: Tensor) -> Tensor:
    """A copy of ``x`` with its own memory, recorded (the gradient flows back to ``x``)."""
    return apply1(Clone(), _tensor_arg(x))


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
    if not target.is_floating_point:
        return Tensor._wrap(x._xp.astype(x.data, to), x._xp)
    return apply1(Astype(to), x)


# ============================================================================================
# public functions: reductions and normalizations
# ============================================================================================
def _float_input(x: Any) -> Tensor:
    x = _tensor_arg(x)
    return x if x.dtype.is_floating_point else astype(x, _dtypes.default_float)


def sum(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (int, tuple or None for all); bools count as int64, as in torch."""
    x = _tensor_arg(x)
    if x.dtype is _dtypes.bool_:
        x = astype(x, _dtypes.int64)
    return apply1(Sum(axis, keepdims), x)


def mean(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (int, tuple or None for all)."""
    return apply1(Mean(axis, keepdims), _float_input(x))


def var(x: Tensor, axis: Any = None, correction: float = 0.0, keepdims: bool = False) -> Tensor:
    """Variance over ``axis`` divided by ``N - correction``.

    ``correction=0`` (the default, as in NumPy and the array API) is the population variance;
    pass ``correction=1`` for torch's default, the unbiased one.
    """
    return apply1(Var(axis, correction, keepdims), _float_input(x))


def std(x: Tensor, axis: Any = None, correction: float = 0.0, keepdims: bool = False) -> Tensor:
    """Standard deviation over ``axis``; ``correction`` as in :func:`var`."""
    return apply1(Std(axis, correction, keepdims), _float_input(x))


def max(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over ``axis``; tied maxima share the gradient evenly (torch's ``amax``)."""
    return apply1(Max(axis, keepdims), _tensor_arg(x))


def min(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over ``axis``; tied minima share the gradient evenly (torch's ``amin``)."""
    return apply1(Min(axis, keepdims), _tensor_arg(x))


def prod(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Product over ``axis``; the gradient is exact where elements are zero."""
    return apply1(Prod(axis, keepdims), _tensor_arg(x))


def logsumexp(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``axis``, computed without overflow."""
    return apply1(LogSumExp(axis, keepdims), _float_input(x))


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis``, computed without overflow."""
    x = _float_input(x)
    a = normalize_axis(axis, x.ndim, "softmax")
    return apply1(Softmax(a if x.ndim else None), x)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """``x - logsumexp(x)`` along ``axis``, computed without overflow."""
    x = _float_input(x)
    a = normalize_axis(axis, x.ndim, "log_softmax")
    return apply1(LogSoftmax(a if x.ndim else None), x)


# ============================================================================================
# public functions: shape
# ============================================================================================
def _shape_arg(shape: Any) -> tuple[Any, ...]:
    """Method varargs ``t.view(2, 3)`` or ``t.view((2, 3))`` as one tuple."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _reshape_arg(shape: Any, op: str) -> tuple[int, ...]:
    """A target shape of ints >= -1 (one -1 allowed), checked: no floats, no other negatives."""
    import operator

    items = (shape,) if hasattr(shape, "__index__") else tuple(shape)
    out = []
    for s in items:
        if isinstance(s, bool) or not hasattr(s, "__index__"):
            raise TypeError(f"{op}: sizes must be integers, got {s!r} in {items}")
        n = operator.index(s)
        if n < -1:
            raise ShapeError(f"{op}: invalid size {n} in shape {items}")
        out.append(n)
    return tuple(out)


def reshape(x: Tensor, shape: Any, copy: bool | None = None) -> Tensor:
    """``x`` with a new shape holding the same elements (one entry may be -1)."""
    x = _tensor_arg(x)
    shape = _reshape_arg(shape, "reshape")
    known = math.prod(s for s in shape if s != -1)
    size = x.numel()
    if (
        shape.count(-1) > 1
        or (-1 not in shape and known != size)
        or (-1 in shape and (known == 0 or size % known))
    ):
        raise ShapeError(
            f"reshape: shape {shape} is invalid for a tensor of shape {x.shape} ({size} elements)"
        )
    if -1 in shape:
        shape = tuple(size // known if s == -1 else s for s in shape)
    if shape == x.shape:
        return x
    return mark_view(apply1(Reshape(shape), x), x, ("reshape", shape))


def permute_dims(x: Tensor, axes: Sequence[int]) -> Tensor:
    """``x`` with its axes reordered: output axis i is input axis ``axes[i]``."""
    x = _tensor_arg(x)
    given = tuple(axes)
    axes = tuple(normalize_axis(a, x.ndim, "permute_dims") for a in given) if x.ndim else ()
    if x.ndim == 0 and given not in ((), (0,), (-1,)):
        raise DimensionError(f"permute_dims: axes {given} do not fit a 0-d tensor")
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute_dims needs a permutation of range({x.ndim}), got {axes}")
    return mark_view(apply1(PermuteDims(axes), x), x, ("permute", axes))


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap axes ``dim0`` and ``dim1`` (torch's ``transpose``)."""
    x = _tensor_arg(x)
    d0 = normalize_axis(dim0, x.ndim, "transpose")
    d1 = normalize_axis(dim1, x.ndim, "transpose")
    if x.ndim < 2:
        return x
    axes = list(range(x.ndim))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return permute_dims(x, axes)


def matrix_transpose(x: Tensor) -> Tensor:
    """Swap the last two axes (``x.mT``)."""
    x = _tensor_arg(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose needs at least 2 dimensions, got shape {x.shape}")
    return transpose(x, -2, -1)


def expand_dims(x: Tensor, axis: int = 0) -> Tensor:
    """Insert a size-1 axis at ``axis`` (torch's ``unsqueeze``)."""
    x = _tensor_arg(x)
    shape = list(x.shape)
    shape.insert(normalize_axis(axis, x.ndim + 1, "expand_dims"), 1)
    shape = tuple(shape)
    return mark_view(apply1(Reshape(shape), x), x, ("reshape", shape))


def squeeze(x: Tensor, axis: Any = None) -> Tensor:
    """Remove size-1 axes: those in ``axis``, or all of them when ``axis`` is None."""
    x = _tensor_arg(x)
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = _axes(axis, x.ndim, "squeeze")
        bad = [a for a in axes if x.shape[a] != 1]
        if bad:
            raise ValueError(
                f"cannot squeeze axis {bad[0]} of size {x.shape[bad[0]]} (shape {x.shape})"
            )
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """``x`` broadcast to ``shape`` (torch's ``expand``); the gradient sums back."""
    x = _tensor_arg(x)
    shape = tuple(int(s) for s in shape)
    lead = len(shape) - x.ndim
    if lead < 0 or builtins.any(n != 1 and n != shape[lead + i] for i, n in enumerate(x.shape)):
        raise ValueError(f"cannot broadcast a tensor of shape {x.shape} to {shape}")
    if shape == x.shape:
        return x
    return mark_view(apply1(BroadcastTo(shape), x), x, ("broadcast", shape))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes ``start_dim`` through ``end_dim`` into one (torch's ``flatten``)."""
    x = _tensor_arg(x)
    s = normalize_axis(start_dim, x.ndim, "flatten")
    e = normalize_axis(end_dim, x.ndim, "flatten")
    if x.ndim == 0:
        return reshape(x, (1,))
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:s] + (math.prod(x.shape[s : e + 1]),) + x.shape[e + 1 :]
    return reshape(x, shape)


def concat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing ``axis``; all other axes must match."""
    tensors = [_tensor_arg(t) for t in tensors]
    if not tensors:
        raise ValueError("concat needs at least one tensor")
    first = tensors[0]
    if first.ndim == 0:
        raise ValueError("concat cannot join 0-d tensors; use stack")
    ax = normalize_axis(axis, first.ndim, "concat")
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or builtins.any(
            a != b for j, (a, b) in enumerate(zip(t.shape, first.shape)) if j != ax
        ):
            raise ValueError(
                f"concat along axis {axis}: tensor {i} has shape {t.shape}, "
                f"tensor 0 has {first.shape}"
            )
    tensors = _promote_all(tensors)
    return apply(Concat(ax), *tensors)


def _promote_all(tensors: list[Tensor]) -> list[Tensor]:
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) == 1:
        return tensors
    floats = [d for d in dtypes if d.is_floating_point]
    target = (
        _dtypes.float64 if _dtypes.float64 in floats else floats[0] if floats else _dtypes.int64
    )
    return [astype(t, target) if t.dtype is not target else t for t in tensors]


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new ``axis``."""
    tensors = [_tensor_arg(t) for t in tensors]
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack needs tensors of one shape, got {sorted(shapes)}")
    return concat([expand_dims(t, axis) for t in tensors], axis)


def split(x: Tensor, split_size_or_sections: Any, axis: int = 0) -> tuple[Tensor, ...]:
    """Split along ``axis`` into chunks of one size (an int) or of the given sizes (a list).

    As torch's ``split``: with an int the last chunk may be smaller.
    """
    x = _tensor_arg(x)
    axis = normalize_axis(axis, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split size must be positive, got {step}")
        sizes = [builtins.min(step, n - s) for s in range(0, n, step)]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise ValueError(f"split sizes {sizes} do not add up to {n} (axis {axis} of {x.shape})")
    lead = (slice(None),) * axis
    out, start = [], 0
    for s in sizes:
        out.append(x[lead + (slice(start, start + s),)])
        start += s
    return tuple(out)


def pad(x: Tensor, pad: Sequence[int], value: float = 0.0) -> Tensor:
    """Constant padding; ``pad`` is torch's layout ``(left, right, top, bottom, ...)``,
    last axis first."""
    return apply1(Pad(pad, value), _tensor_arg(x))


# ============================================================================================
# indexing
# ============================================================================================
def _key_to_backend(x: Tensor, key: Any) -> tuple:
    """An indexing key with Tensors, lists and NumPy arrays turned into backend arrays."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if isinstance(k, Tensor):
            if k._xp is not x._xp:
                raise _backend.BackendError(
                    f"cannot index a {x.backend} tensor with a {k.backend} tensor"
                )
            out.append(k.data)
        elif isinstance(k, (list, tuple)) or (
            hasattr(k, "shape") and type(k).__module__ == "numpy"
        ):
            from ._creation import tensor_like

            out.append(tensor_like(k, x).data)
        elif isinstance(k, bool):
            raise IndexError("a Python bool is not a valid index; use a bool tensor mask")
        else:
            out.append(k)
    # NumPy fills missing trailing axes with ':'; the standard wants an explicit '...'
    xp = x._xp
    used = builtins.sum(
        0 if k is None else k.ndim if hasattr(k, "ndim") and xp.isdtype(k.dtype, "bool") else 1
        for k in out
    )
    # (a bool mask must stay the only index: the standard allows it only that way)
    masks = builtins.any(hasattr(k, "ndim") and xp.isdtype(k.dtype, "bool") for k in out)
    if used < x.ndim and not masks and not builtins.any(k is Ellipsis for k in out):
        out.append(Ellipsis)
    return tuple(out)


def _as_take(x: Tensor, key: tuple) -> TakeKey | None:
    """The key as a TakeKey if it is full slices, integer arrays on consecutive axes, then
    full slices (or ``...``): the advanced indexing every backend can do through ``take``."""
    xp = x._xp
    arrays = [i for i, k in enumerate(key) if hasattr(k, "shape")]
    if not arrays or arrays != list(range(arrays[0], arrays[-1] + 1)):
        return None
    first, n = arrays[0], len(arrays)
    index = [key[i] for i in arrays]
    if first + n > x.ndim or not builtins.all(xp.isdtype(i.dtype, "integral") for i in index):
        return None
    full = slice(None)
    if builtins.any(k != full for k in key[:first]) or builtins.any(
        k != full and k is not Ellipsis for k in key[first + n :]
    ):
        return None
    if n > 1:
        index = xp.broadcast_arrays(*index)
    flat = None
    for axis, idx in zip(range(first, first + n), index):
        size = x.shape[axis]
        check_index_range(xp, idx, size, "indexing", axis)
        idx = xp.where(idx < 0, idx + size, idx)
        flat = idx if flat is None else flat * size + idx
    return TakeKey(first, n, xp.reshape(flat, (-1,)), tuple(index[0].shape))


def getitem(x: Tensor, key: Any) -> Tensor:
    """``x[key]`` with slices, ints, None, ``...``, integer arrays and bool masks.

    An integer array on one axis (``x[idx]``, ``x[:, idx]``) works on every backend: it runs
    as the standard's ``take``. Other advanced keys (several arrays, bool masks) go to the
    backend's own indexing, where the backend allows them. The gradient scatter-adds, so
    repeated indices accumulate.
    """
    if isinstance(key, TakeKey):
        return apply1(GetItem(key), x)
    k = _key_to_backend(x, key)
    if _backend._is_basic(k):  # slices, ints, None, ...: a view of x, as in torch
        return mark_view(apply1(GetItem(k), x), x, ("key", k))
    return apply1(GetItem(_as_take(x, k) or k), x)


def take(x: Tensor, indices: Any, axis: int | None = None) -> Tensor:
    """Elements of ``x`` at integer ``indices`` along ``axis`` (the standard's ``take``).

    ``axis`` may be None only for 1-D ``x``. Negative indices count from the end; repeated
    indices accumulate in the gradient.
    """
    x = _tensor_arg(x)
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"take needs an axis for a tensor of shape {x.shape}")
        axis = 0
    axis = normalize_axis(axis, x.ndim, "take")
    index = _key_to_backend(x, (slice(None),) * axis + (indices, Ellipsis))[axis]
    if not hasattr(index, "ndim") or not x._xp.isdtype(index.dtype, "integral"):
        raise TypeError(f"take: indices must be an integer tensor, not {index!r}")
    if index.ndim != 1:
        raise ValueError(f"take: indices must be 1-D (as the standard's take), not {index.shape}")
    return getitem(x, (slice(None),) * axis + (index,))


def add_at(shape: Sequence[int], key: Any, values: Tensor) -> Tensor:
    """Zeros of ``shape`` with ``values`` added at ``[key]``, repeated indices accumulating:
    the adjoint of indexing (and the rule behind its gradient)."""
    values = _tensor_arg(values)
    if not isinstance(key, TakeKey):
        key = _key_to_backend(values, key)
    return apply1(AddAt(tuple(shape), key), values)


# ============================================================================================
# functions without gradients
# ============================================================================================
def _no_grad_result(x: Tensor, data: Any) -> Tensor:
    return Tensor._wrap(data, x._xp)


def _compare(name: str) -> Any:
    def fn(a: Any, b: Any) -> Tensor:
        like = a if isinstance(a, Tensor) else b
        a, b = _lift(a, like), _lift(b, like)
        if isinstance(a, Tensor) and isinstance(b, Tensor):
            a, b = _promote(a, b)
        xp = like._xp
        return Tensor._wrap(
            getattr(xp, name)(
                a.data if isinstance(a, Tensor) else a, b.data if isinstance(b, Tensor) else b
            ),
            xp,
        )

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{name}(a, b): elementwise comparison giving a bool tensor (no gradient)."
    return fn


less = _compare("less")
less_equal = _compare("less_equal")
greater = _compare("greater")
greater_equal = _compare("greater_equal")
equal = _compare("equal")
not_equal = _compare("not_equal")
logical_and = _compare("logical_and")
logical_or = _compare("logical_or")
logical_xor = _compare("logical_xor")


def logical_not(x: Tensor) -> Tensor:
    """Elementwise not of a bool tensor."""
    return _no_grad_result(x, x._xp.logical_not(x.data))


def sign(x: Tensor) -> Tensor:
    """Elementwise sign (-1, 0 or 1); no gradient (it is zero almost everywhere)."""
    x = _tensor_arg(x)
    return _no_grad_result(x, x._xp.sign(x.data))


def isfinite(x: Tensor) -> Tensor:
    """Elementwise test for finite values (a bool tensor)."""
    x = _tensor_arg(x)
    return _no_grad_result(x, x._xp.isfinite(x.data))


def isnan(x: Tensor) -> Tensor:
    """Elementwise test for NaN (a bool tensor)."""
    x = _tensor_arg(x)
    return _no_grad_result(x, x._xp.isnan(x.data))


def argmax(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the maximum along ``axis`` (of the flattened tensor if None), an int64 tensor."""
    x = _tensor_arg(x)
    return _no_grad_result(x, x._xp.argmax(x.data, axis=axis, keepdims=keepdims))


def argmin(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the minimum along ``axis`` (of the flattened tensor if None), an int64 tensor."""
    x = _tensor_arg(x)
    return _no_grad_result(x, x._xp.argmin(x.data, axis=axis, keepdims=keepdims))


def any(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Whether any element along ``axis`` is true."""
    x = _tensor_arg(x)
    return _no_grad_result(x, x._xp.any(x.data, axis=axis, keepdims=keepdims))


def all(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Whether every element along ``axis`` is true."""
    x = _tensor_arg(x)
    return _no_grad_result(x, x._xp.all(x.data, axis=axis, keepdims=keepdims))


# ============================================================================================
# Tensor methods and operators
# ============================================================================================
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
                import array_api_compat

                data = array_api_compat.to_device(self.data, dev)
            else:
                data = target.from_host(self.numpy(), self.dtype, dev)
            out = Tensor._wrap(data, target.xp)
            out.requires_grad = self.requires_grad and self.is_leaf
    if dtype is not None:
        out = astype(out, dtype, copy=False)
    return out


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
    "__and__": logical_and,
    "__or__": logical_or,
    "__xor__": logical_xor,
    "__invert__": logical_not,
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
    "float": _dtype_method(_dtypes.float32),
    "double": _dtype_method(_dtypes.float64),
    "long": _dtype_method(_dtypes.int64),
    "int": _dtype_method(_dtypes.int32),
    "bool": _dtype_method(_dtypes.bool_),
}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
Tensor.T = property(lambda self: permute_dims(self, tuple(range(self.ndim))[::-1]))
Tensor.mT = property(matrix_transpose)
