"""``pad``: constant, reflect, replicate and circular padding (torch's ``F.pad``)."""

from __future__ import annotations

from collections.abc import Sequence

import polygrad as pg
from polygrad import Tensor

from ..._checks import ShapeError, check_int
from ._utils import _as_tensor, creating_like

_MODES = ("constant", "reflect", "replicate", "circular")


def _source_index(n: int, before: int, after: int, mode: str, who: str) -> list[int]:
    """For each output position along an axis of size ``n``: the input element it copies."""
    if mode == "circular":
        if before > n or after > n:
            raise ShapeError(
                f"{who}: circular padding ({before}, {after}) of an axis of size {n} wraps "
                "around more than once"
            )
        lo, hi = max(0, -before), n - max(0, -after)  # negative pads crop first
        kept = hi - lo
        before, after = max(before, 0), max(after, 0)
        if kept <= 0 or before > kept or after > kept:
            raise ShapeError(
                f"{who}: circular padding ({before}, {after}) needs at least that many elements "
                f"left after cropping an axis of size {n}, got {max(kept, 0)}"
            )
        return [lo + (j - before) % kept for j in range(kept + before + after)]
    if mode == "reflect" and (before >= n or after >= n):
        raise ShapeError(
            f"{who}: reflect padding ({before}, {after}) must be less than the size {n} of the "
            "axis it pads"
        )
    out = []
    for j in range(max(n + before + after, 0)):
        i = j - before
        if mode == "reflect":
            i = -i if i < 0 else 2 * (n - 1) - i if i >= n else i
        else:
            i = min(max(i, 0), n - 1)
        out.append(i)
    return out


def _pad_constant(x: Tensor, pad: tuple[int, ...], value: float) -> Tensor:
    """Negative entries crop (torch's ``narrow``), then the positive ones pad with ``value``."""
    key = [slice(None)] * x.ndim
    for i in range(len(pad) // 2):
        axis, (before, after) = x.ndim - 1 - i, pad[2 * i : 2 * i + 2]
        n = x.shape[axis]
        lo, hi = max(0, -before), n - max(0, -after)
        if hi < lo:
            raise ShapeError(
                f"pad: negative padding ({before}, {after}) crops more than the size {n} of axis "
                f"{axis} of an input of shape {x.shape}"
            )
        key[axis] = slice(lo, hi)
    if any(p < 0 for p in pad):
        x = x[tuple(key)]
    if any(p > 0 for p in pad):
        x = pg.pad(x, [max(p, 0) for p in pad], value=value)
    return x


def pad(
    input: Tensor,  # noqa: A002
    pad: Sequence[int],
    mode: str = "constant",
    value: float | None = None,
) -> Tensor:
    """Pad the last ``len(pad) // 2`` axes of ``input`` (torch's ``F.pad``).

    ``pad`` is ``(left, right)`` of the last axis, then ``(top, bottom)`` of the one before, and
    so on; negative entries crop. ``mode``:

    - ``'constant'``: fill with ``value`` (0 by default), any number of axes;
    - ``'reflect'``: mirror without repeating the edge (each pad below the axis size);
    - ``'replicate'``: repeat the edge element;
    - ``'circular'``: wrap around (each pad at most the axis size).

    The non-constant modes pad the last 1, 2 or 3 axes of a batched or unbatched input, as
    torch: 2 pad entries for a 2-d or 3-d input, 4 for 3-d or 4-d, 6 for 4-d or 5-d. The
    gradient sums over the copies of each element.

    Raises
    ------
    ShapeError
        (a RuntimeError, as torch) for an odd-length ``pad``, a pad covering more axes than the
        input has, reflect padding not below the size, circular padding above it, or
        ``value`` with a non-constant mode.
    NotImplementedError
        For an unknown mode or an unsupported input rank with a non-constant mode (as torch).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.pad(polygrad.arange(4.0).reshape(1, 1, 4), (2, 1), mode="reflect").tolist()
    [[[2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0]]]
    """
    x = _as_tensor(input, "pad")
    if isinstance(pad, Tensor) or not isinstance(pad, Sequence):
        raise TypeError(f"pad: pad must be a tuple of ints, got {type(pad).__name__}")
    pad = tuple(check_int(p, "pad", "pad") for p in pad)
    if len(pad) % 2:
        raise ShapeError(f"pad: padding length must be divisible by 2, got pad={pad}")
    if len(pad) // 2 > x.ndim:
        raise ShapeError(
            f"pad: padding length {len(pad)} should be at most twice the input's {x.ndim} "
            f"dimensions (input of shape {x.shape})"
        )
    if mode not in _MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r} (one of {_MODES})")
    if mode == "constant":
        return _pad_constant(x, pad, 0.0 if value is None else value)
    if value is not None:
        raise ShapeError(f"pad: padding mode {mode!r} doesn't take a value argument")
    axes = len(pad) // 2
    if x.ndim not in (axes + 1, axes + 2) or axes > 3:
        raise NotImplementedError(
            f"pad: padding size {len(pad)} is not supported for a {x.ndim}-d input in mode "
            f"{mode!r}: non-constant padding takes 2 entries for 2-d or 3-d inputs, 4 for 3-d "
            "or 4-d, 6 for 4-d or 5-d"
        )
    if mode != "circular" and 0 in x.shape[1:]:
        raise ShapeError(
            f"pad: {mode} padding needs non-empty axes (except the batch), got input of shape "
            f"{x.shape}"
        )
    for i in range(axes):
        axis, (before, after) = x.ndim - 1 - i, pad[2 * i : 2 * i + 2]
        if before == after == 0:
            continue
        index = _source_index(x.shape[axis], before, after, mode, "pad")
        with creating_like(x):
            idx = pg.tensor(index, dtype=pg.int64)
        x = pg.take(x, idx, axis=axis)
    return x
