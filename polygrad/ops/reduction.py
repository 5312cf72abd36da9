"""Reductions (sum, mean, var, max, prod, logsumexp ...) and softmax, forward beside rule."""

from __future__ import annotations

import math
from typing import Any

from .. import _dtypes
from .._checks import normalize_axes, normalize_axis
from .._tensor import Function, Tensor, apply1
from ._common import _float_input, _no_grad_result, _tensor_arg, astype


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
        if self.count == 0:  # an empty input: no g / 0, whose d/dg would be inf * 0 = NaN
            return (xp.broadcast_to(self.expand(xp, g), self.in_shape),)
        return (xp.broadcast_to(self.expand(xp, g) / self.count, self.in_shape),)


class Var(_Reduction):
    fresh = True

    def __init__(self, axis: Any = None, correction: float = 0.0, keepdims: bool = False):
        super().__init__(axis, keepdims)
        self.correction = correction

    def forward(self, xp, x):
        axes = self.setup(x)
        # (all axes as None: array-api-compat's torch var / std of axis=() ignore correction)
        axes = None if len(axes) == x.ndim else axes
        return xp.var(x, axis=axes, correction=self.correction, keepdims=self.keepdims)

    def backward(self, xp, g, x):
        return (self._var_grad(xp, self.expand(xp, g), x),)

    def _var_grad(self, xp, g, x):
        """``g`` (reduced axes kept) times d var / d x.

        NOTE: with no degree of freedom left (N <= correction) torch's rule gives, over all
        axes, NaN where x is its mean and +inf elsewhere; over given axes 2 / (N - correction)
        with 2 / 0 = inf (so NaN times a zero deviation). Both are copied here."""
        centered = x - xp.mean(x, axis=self.axes, keepdims=True)
        dof = self.count - self.correction
        if dof <= 0 and (self.axis is None or x.ndim == 0):
            return g * xp.where(centered == 0, math.nan, xp.full_like(centered, math.inf))
        return g * (2.0 / dof if dof else math.inf) * centered  # torch's order: inf * g first


class Std(Var):
    saves = "both"

    def forward(self, xp, x):
        axes = self.setup(x)
        axes = None if len(axes) == x.ndim else axes
        return xp.std(x, axis=axes, correction=self.correction, keepdims=self.keepdims)

    def backward(self, xp, g, x, y):
        # NOTE: a zero std gets gradient 0 (torch masks it), not 0 / 0
        y = self.expand(xp, y)
        g = xp.where(y == 0, 0.0, self.expand(xp, g) / (y * 2.0))
        return (self._var_grad(xp, g, x),)


class Max(_Reduction):
    saves = "both"
    fresh = True

    def forward(self, xp, x):
        return xp.max(x, axis=self._nonempty(x), keepdims=self.keepdims)

    def _nonempty(self, x):
        """The reduced axes, refusing to reduce an empty slice (no maximum), as torch's amax:
        IndexError over given axes, RuntimeError over all axes."""
        axes = self.setup(x)
        if self.count == 0:
            name = type(self).__name__.lower()
            if self.axis is None:
                raise RuntimeError(
                    f"{name}() of an empty tensor (shape {tuple(x.shape)}) over all axes: "
                    "there is no identity; give the axis to reduce"
                )
            empty = [a for a in axes if x.shape[a] == 0]
            raise IndexError(
                f"{name}(): cannot reduce axis {empty[0]} of size 0 (tensor of shape "
                f"{tuple(x.shape)}, axis={self.axis!r}); there is no identity"
            )
        return axes

    def backward(self, xp, g, x, y):
        # NOTE: ties share the gradient evenly, as torch's amax. A NaN maximum: over all axes
        # the NaNs share it (torch's x.max()); over given axes the slice's gradient is NaN
        # (torch's amax(dim), whose ties mask finds no NaN).
        y = self.expand(xp, y)
        hit = x == y
        if self.axis is None:
            hit = xp.logical_or(hit, xp.logical_and(xp.isnan(x), xp.isnan(y)))
        hit = xp.astype(hit, g.dtype)
        count = xp.sum(hit, axis=self.axes, keepdims=True)
        return (self.expand(xp, g) * hit / count,)


class Min(Max):
    def forward(self, xp, x):
        return xp.min(x, axis=self._nonempty(x), keepdims=self.keepdims)


class Prod(_Reduction):
    fresh = True

    def forward(self, xp, x):
        return xp.prod(x, axis=self.setup(x), keepdims=self.keepdims)

    def backward(self, xp, g, x):
        if isinstance(x, Tensor):  # create_graph: a rule that is itself differentiable
            return (self.expand(xp, g) * self._others(xp, x),)
        # d prod / d x_i is the product of the others: prod/x_i when no zero is in the slice;
        # with exactly one zero only that element gets a gradient; with two or more none does.
        # (Right in value, but its masks are constants: differentiated again, it would lose
        # every second derivative through a zero, so the recorded path uses _others.)
        zero = x == 0
        safe = xp.where(zero, 1.0, x)
        others = xp.prod(safe, axis=self.axes, keepdims=True)
        n_zero = xp.sum(xp.astype(zero, g.dtype), axis=self.axes, keepdims=True)
        grad_nonzero = xp.where(n_zero == 0, others / safe, 0.0)
        grad_zero = xp.where(n_zero == 1, others, 0.0)
        return (self.expand(xp, g) * xp.where(zero, grad_zero, grad_nonzero),)

    def _others(self, xp, x):
        """For each element, the product of the other elements of its slice, as exclusive
        prefix times suffix products (log-step scans of multiplies): no division and no mask,
        so it is exact at zeros and differentiates correctly to any order (as torch's cumprod
        based rule)."""
        n, keep = self.count, [i for i in range(x.ndim) if i not in self.axes]
        moved = xp.permute_dims(x, tuple(keep) + self.axes)
        if n <= 1:
            return xp.ones_like(x)
        flat = xp.reshape(moved, moved.shape[: len(keep)] + (n,))
        before = xp.pad(flat[..., : n - 1], (1, 0), value=1.0)  # before_i = x_{i-1}
        after = xp.pad(flat[..., 1:], (0, 1), value=1.0)  # after_i = x_{i+1}
        step = 1
        while step < n:
            before = before * xp.pad(before[..., : n - step], (step, 0), value=1.0)
            after = after * xp.pad(after[..., step:], (0, step), value=1.0)
            step *= 2
        others = xp.reshape(before * after, moved.shape)
        inverse = [0] * x.ndim
        for i, a in enumerate(tuple(keep) + self.axes):
            inverse[a] = i
        return xp.permute_dims(others, tuple(inverse))


class LogSumExp(_Reduction):
    saves = "both"
    fresh = True

    def forward(self, xp, x):
        axes = self.setup(x)
        if self.count == 0:  # an empty sum: log(0) = -inf, as torch
            return xp.log(xp.sum(xp.exp(x), axis=axes, keepdims=self.keepdims))
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
        if x.ndim and x.shape[self.axis] == 0:  # an empty axis: an empty result, as torch
            return xp.exp(x)
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
        if x.ndim and x.shape[self.axis] == 0:  # an empty axis: an empty result, as torch
            return xp.exp(x)
        z = x - xp.max(x, axis=self.axis, keepdims=True)
        return z - xp.log(xp.sum(xp.exp(z), axis=self.axis, keepdims=True))

    def backward(self, xp, g, y):
        return (g - xp.exp(y) * xp.sum(g, axis=self.axis, keepdims=True),)


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


def argmax(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the maximum along ``axis`` (of the flattened tensor if None), an int64 tensor."""
    x = _tensor_arg(x)
    return _no_grad_result(x, x._xp.argmax(x._data, axis=axis, keepdims=keepdims))


def argmin(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the minimum along ``axis`` (of the flattened tensor if None), an int64 tensor."""
    x = _tensor_arg(x)
    return _no_grad_result(x, x._xp.argmin(x._data, axis=axis, keepdims=keepdims))


def any(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Whether any element along ``axis`` is true."""
    x = _tensor_arg(x)
    return _no_grad_result(x, x._xp.any(x._data, axis=axis, keepdims=keepdims))


def all(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Whether every element along ``axis`` is true."""
    x = _tensor_arg(x)
    return _no_grad_result(x, x._xp.all(x._data, axis=axis, keepdims=keepdims))
