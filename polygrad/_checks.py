"""The central argument checks: axes, integer indices and sizes, with torch's error types.

Every op that takes an axis, an index array or a size calls one of these, so a bad value is
refused the same way everywhere instead of wrapping around silently. The errors subclass both
torch's type and the array API world's (``IndexError`` and ``ValueError`` for an axis, as NumPy's
``AxisError`` does), so code written against either convention catches them.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from . import _capture


class DimensionError(IndexError, ValueError):
    """An axis (torch: dim) outside ``[-ndim, ndim)``: torch raises IndexError, NumPy AxisError."""


class ShapeError(RuntimeError, ValueError):
    """A size or shape that cannot be: torch raises RuntimeError, the array API ValueError."""


class GradDtypeError(RuntimeError, TypeError):
    """``requires_grad`` on an integer, bool or complex tensor: torch raises RuntimeError for
    integers and bools (complex tensors are values-only in polygrad)."""


def refuse_grad(dtype: Any) -> None:
    """Raise GradDtypeError for ``requires_grad`` on a tensor of non-float ``dtype``."""
    if dtype.is_complex:
        raise GradDtypeError(
            f"{dtype.name} tensors cannot require gradients: complex tensors in polygrad hold "
            "values only (complex autograd is not implemented); use real and imaginary parts"
        )
    raise GradDtypeError(
        f"only floating-point tensors can require gradients, not {dtype.name} ones"
    )


def normalize_axis(axis: Any, ndim: int, op: str) -> int:
    """``axis`` as a non-negative int for a tensor of ``ndim`` dimensions.

    A 0-d tensor accepts axis 0 and -1 (torch's convention: a scalar has one implicit dim).

    Raises
    ------
    DimensionError
        If ``axis`` is outside ``[-ndim, ndim)``.
    TypeError
        If ``axis`` is not an integer.
    """
    try:
        a = operator.index(axis)
    except TypeError:
        raise TypeError(f"{op}: axis must be an integer, not {type(axis).__name__}") from None
    n = max(ndim, 1)
    if not -n <= a < n:
        raise DimensionError(
            f"{op}: axis {a} is out of range for a tensor with {ndim} dimension"
            f"{'' if ndim == 1 else 's'} (expected one in [{-n}, {n - 1}])"
        )
    return a % n if ndim else 0


def normalize_axes(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """An axis argument (None for all, an int, or a sequence) as a sorted tuple of axes.

    Raises
    ------
    DimensionError
        If an axis is out of range.
    ValueError
        If an axis repeats.
    """
    if axis is None:
        return tuple(range(ndim))
    items = (axis,) if not isinstance(axis, Sequence) else tuple(axis)
    out = [normalize_axis(a, ndim, op) for a in items]
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis {tuple(items)} repeats an axis")
    return tuple(sorted(out)) if ndim else ()


def check_index_range(
    xp: Any,
    index: Any,
    size: int,
    op: str,
    axis: int | None = None,
    shape: tuple[int, ...] | None = None,
) -> None:
    """Refuse integer indices outside ``[-size, size)`` (torch's IndexError), naming ``op``,
    the ``axis`` and the ``shape`` of the indexed array when given.

    This reads two numbers back to the host (a device sync on a GPU), which is the price of
    never wrapping or clamping an index silently. ``polygrad.compile`` replays it as part of
    a recorded step (``_capture.call``); called outside one, it is a graph break.
    """
    if _capture.rec is not None:  # polygrad.compile: a check the replay would skip
        _capture.rec.graph_break(f"{op}: a value-dependent index check outside an op")
    if index.shape == () or 0 not in index.shape:
        lo = int(xp.min(index))
        hi = int(xp.max(index))
        if lo < -size or hi >= size:
            bad = lo if lo < -size else hi
            where = f" along axis {axis}" if axis is not None else ""
            if shape is not None:
                where += f" of a tensor of shape {tuple(shape)}"
            raise IndexError(
                f"{op}: index {bad} is out of range for size {size}{where} "
                f"(valid indices are {-size} to {size - 1})"
            )


def check_size(size: Sequence[Any], op: str) -> tuple[int, ...]:
    """A shape given by the user as a tuple of non-negative ints.

    Raises
    ------
    TypeError
        If an entry is not an integer (``2.5``, a string), as torch.
    ShapeError
        If an entry is negative.
    """
    out = []
    for s in size:
        if isinstance(s, bool) or not hasattr(s, "__index__"):
            raise TypeError(
                f"{op}: sizes must be integers, got {s!r} ({type(s).__name__}) in {tuple(size)}"
            )
        n = operator.index(s)
        if n < 0:
            raise ShapeError(f"{op}: negative dimension {n} in size {tuple(size)}")
        out.append(n)
    return tuple(out)


class IndexArgumentError(AssertionError, IndexError, ValueError):
    """An index given as an argument (Embedding's ``padding_idx``) outside its range: torch
    asserts (AssertionError), or fails to index (IndexError) when there are no rows."""


def _is_integer(value: Any) -> bool:
    # bools count, as in torch (``Linear(True, 3)`` has one input feature)
    return hasattr(value, "__index__")


def _bound(minimum: int) -> str:
    return "non-negative" if minimum == 0 else "positive" if minimum == 1 else f">= {minimum}"


def check_int(
    value: Any, op: str, name: str, minimum: int | None = None, error: type = ShapeError
) -> int:
    """An integer argument of a layer or function (a size, a stride, ...) as a Python int.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (``2.5``, a string), as torch.
    error
        If it is below ``minimum`` (ShapeError, a RuntimeError as torch's, unless told).
    """
    if not _is_integer(value):
        raise TypeError(f"{op}: {name} must be an integer, got {value!r} ({type(value).__name__})")
    n = operator.index(value)
    if minimum is not None and n < minimum:
        raise error(f"{op}: {name}={n} must be {_bound(minimum)}")
    return n


def check_int_tuple(
    value: Any, n: int, op: str, name: str, minimum: int | None = None
) -> tuple[int, ...]:
    """An int, or a sequence of 1 or ``n`` ints, as ``n`` checked ints (torch's ``_pair``).

    Raises
    ------
    TypeError
        If an entry is not an integer.
    ShapeError
        If the sequence has another length, or an entry is below ``minimum``.
    """
    items = tuple(value) if isinstance(value, Sequence) and not isinstance(value, str) else (value,)
    if len(items) == 1:
        items *= n
    if len(items) != n:
        raise ShapeError(f"{op}: {name} must be an integer or {n} integers, got {value!r}")
    if not all(_is_integer(v) for v in items):
        raise TypeError(f"{op}: {name} must be integers, got {value!r}")
    out = tuple(operator.index(v) for v in items)
    if minimum is not None and min(out) < minimum:
        raise ShapeError(f"{op}: {name}={value!r} must be {_bound(minimum)}")
    return out


def check_probability(p: Any, op: str) -> float:
    """A probability in ``[0, 1]`` as a float (nan passes, as in torch's Python-side check).

    Raises
    ------
    TypeError
        If ``p`` is not a real number.
    ValueError
        If it is below 0 or above 1.
    """
    if not isinstance(p, (int, float)) and not hasattr(p, "__float__"):
        raise TypeError(f"{op}: p must be a number, got {p!r} ({type(p).__name__})")
    p = float(p)
    if p < 0.0 or p > 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got p={p}")
    return p
class LinAlgError(RuntimeError, ValueError):
    """A matrix the decomposition cannot handle (not positive-definite, singular): torch raises
    ``torch.linalg.LinAlgError`` (a RuntimeError), NumPy ``numpy.linalg.LinAlgError`` (a
    ValueError)."""


class LinAlgDtypeError(RuntimeError, TypeError):
    """A linear algebra op given an integer or bool tensor: torch raises RuntimeError."""


def is_backend_linalg_error(error: Exception) -> bool:
    """Whether ``error`` is a backend's own LinAlgError (NumPy's, torch's, CuPy's)."""
    return any("LinAlgError" in cls.__name__ for cls in type(error).__mro__)


class DtypeMismatchError(RuntimeError, TypeError):
    """Operands of one op (a convolution's input and weight) with different dtypes: torch raises
    RuntimeError."""
