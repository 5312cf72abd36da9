"""In-place writes (``t[k] = v``, ``t += y``, ``t.add_(y)``, ``t.zero_()`` ...) with torch's
autograd semantics, and the views that share a tensor's storage.

One mechanism serves every in-place method:

1. refuse what torch refuses: a leaf that requires grad (outside ``no_grad``), a view of one,
   and a broadcast tensor (several elements share one memory location);
2. compute the result out of place with the ordinary, recorded op (so the write becomes a node
   of the graph: gradients flow to the written values, and to what was overwritten only
   where it survives);
3. write the result into the tensor's storage, and bump the storage's version counter, which
   the tensor shares with its views and ``detach()`` results. A backward that needs an array
   saved before the write then raises instead of using the changed values.

A view (reshape, permute, basic indexing, broadcast, detach) records its base and the steps
from the base to it. Writing into a view rewrites the base as "the old base with the view's
elements replaced" (recorded, so the base's gradient is right too), and any other view of the
same base is re-derived from the base the next time an op reads it: reading a view always sees
the storage as it is now, with a graph that says how it got there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _capture, _tensor
from . import ops as _ops
from ._grad_mode import no_grad
from ._tensor import Function, Tensor, View, apply2, grad_mode, mark_modified
from .ops._common import _lift
from .ops.indexing import _key_to_backend


# -- views ------------------------------------------------------------------------------------
def _broadcast_shape(a: tuple, b: tuple) -> tuple:
    """The broadcast of two shapes; ValueError if they do not broadcast."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x != y and x != 1 and y != 1:
            raise ValueError(f"shapes {a} and {b} do not broadcast")
        out.append(y if x == 1 else x)
    return tuple(out)


def _positions(view: View) -> Any:
    """Flat positions in the base of the view's elements, as an int64 array of the view's shape."""
    base = view.base
    xp = base._xp
    n = base.numel()
    device = xp.backend.device_of(base._data)
    with xp.backend.on(device):
        pos = xp.arange(n, dtype=xp.int64, device=device)
    pos = xp.reshape(pos, base.shape)
    for kind, arg in view.steps:
        if kind == "key":
            pos = pos[arg]
        elif kind == "reshape":
            pos = xp.reshape(pos, arg)
        elif kind == "permute":
            pos = xp.permute_dims(pos, arg)
        else:  # broadcast
            pos = xp.broadcast_to(pos, arg)
    return pos


def refresh_view(t: Tensor) -> None:
    """Re-derive view ``t`` (data and, when recording, graph) from its base's current storage."""
    if _capture.rec is not None:  # polygrad.compile: an unrecorded rebinding of t's array
        _capture.rec.graph_break("reading a view after an in-place write to its base")
    view = t._view
    base = view.base
    if base._view is not None:  # cannot happen for bases made here; kept for safety
        raise RuntimeError("internal error: a view's base is itself a view")
    pos = _positions(view)
    xp = t._xp
    flat_pos = xp.reshape(pos, (-1,))
    t._view = None  # what follows reads the base, not this view
    try:
        flat = _ops.reshape(base, (-1,))
        picked = _ops.getitem(flat, (Tensor._wrap(flat_pos, xp),))
        fresh = _ops.reshape(picked, tuple(pos.shape))
    finally:
        t._view = view
    t._data = fresh._data
    if fresh.requires_grad:
        t._node, t.requires_grad = fresh._node, True
    view.synced = t._vc[0]


_tensor._refresh_view = refresh_view


def _placement(xp: Any, flat_pos: Any, n: int) -> tuple[Any, Any, Any]:
    """Where a write at the non-empty flat positions ``flat_pos`` of an n-element array lands:
    ``written`` (n bools), ``source`` (for each element, the index of the value written there,
    meaningful where written) and the sorted positions (to find repeats). A gather, so exact
    for every dtype, from standard functions only (array-api-strict has no scatter)."""
    device = xp.backend.device_of(flat_pos)
    order = xp.argsort(flat_pos)
    sorted_pos = xp.take(flat_pos, order)
    with xp.backend.on(device):
        targets = xp.arange(n, dtype=sorted_pos.dtype, device=device)
    slot = xp.clip(xp.searchsorted(sorted_pos, targets), max=flat_pos.shape[0] - 1)
    written = xp.take(sorted_pos, slot) == targets
    return written, xp.take(order, slot), sorted_pos


def _write_through(view: View, values: Tensor) -> Tensor:
    """The view's base with the view's elements replaced by ``values``: recorded, so the
    gradient reaches ``values`` at those elements and the old base everywhere else."""
    base = view.base
    xp = base._xp
    flat_pos = xp.reshape(_positions(view), (-1,))
    if flat_pos.shape[0] == 0:
        return base
    written, source = _placement(xp, flat_pos, base.numel())[:2]
    placed = _ops.take(_ops.reshape(values, (-1,)), Tensor._wrap(source, xp))
    mask = Tensor._wrap(xp.reshape(written, base.shape), xp)
    return _ops.where(mask, _ops.reshape(placed, base.shape), base)


# -- the in-place write -----------------------------------------------------------------------
def _store(t: Tensor, data: Any) -> None:
    """Write ``data`` into ``t``'s storage (NumPy's immutable 0-d scalars are replaced)."""
    if _capture.rec is not None:  # polygrad.compile is capturing
        _capture.rec.store(t, data)
    if not hasattr(t._data, "__setitem__"):
        t._data = t._xp.asarray(data, copy=True)
        return
    try:
        t._data[...] = data
    except (ValueError, RuntimeError) as e:
        raise RuntimeError(
            f"cannot write in place into this tensor of shape {t.shape} ({e}); clone() it first"
        ) from e


def _fit_dtype(name: str, r: Tensor, t: Tensor) -> Tensor:
    """The result cast to ``t``'s dtype, where torch allows the cast in place."""
    if r.dtype is t.dtype:
        return r
    order = {"bool": 0, "uint": 1, "int": 1, "float": 2, "complex": 3}
    if order[r.dtype.kind] > order[t.dtype.kind]:
        raise RuntimeError(
            f"{name}: result type {r.dtype.name} can't be cast to the {t.dtype.name} tensor "
            "written in place"
        )
    return _ops.astype(r, t.dtype)


def inplace(t: Tensor, name: str, compute: Callable[[Tensor], Tensor], needs_old: bool) -> Tensor:
    """Replace ``t``'s values by ``compute(t)``, in its storage; returns ``t``.

    ``needs_old`` says whether the op's gradient needs the old values (``mul_`` does, ``add_``
    does not): they are copied before being overwritten.
    """
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} needs a polygrad Tensor, not {type(t).__name__}")
    recording = grad_mode.enabled
    view = t._view
    if recording and t.requires_grad and t._node is None:
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad (shape {t.shape}) is being used in an "
            "in-place operation; do it under polygrad.no_grad(), or on t.detach() / t.clone()"
        )
    if view is not None:
        if view.broadcast:
            raise RuntimeError(
                f"{name}: cannot write in place into a broadcast (expanded) tensor of shape "
                f"{t.shape}: several of its elements share one memory location; clone() it first"
            )
        base = view.base
        if recording and base.requires_grad and base._node is None:
            raise RuntimeError(
                f"{name}: a view of a leaf tensor that requires grad (base shape {base.shape}) "
                "is being used in an in-place operation; do it under polygrad.no_grad(), or on "
                "a clone()"
            )
        if view.synced != t._vc[0]:
            refresh_view(t)
    src = t
    if needs_old and recording and t.requires_grad:
        # the op saves the old values for its backward: give it a copy that the write below
        # cannot change
        src = Tensor._wrap(t._xp.asarray(t._data, copy=True), t._xp, t._node)
    saved_view, t._view = t._view, None  # compute reads t's current values as they are
    try:
        r = compute(src)
    finally:
        t._view = saved_view
    if r.shape != t.shape:
        raise RuntimeError(
            f"{name}: the result has shape {r.shape}, which does not fit the tensor of shape "
            f"{t.shape} written in place (in-place ops cannot broadcast the tensor itself)"
        )
    r = _fit_dtype(name, r, t)
    graph = recording and r.requires_grad
    if view is not None:
        base = view.base
        if graph or (recording and base.requires_grad):
            new_base = _write_through(view, r)
        else:
            with no_grad():
                new_base = _write_through(view, r)
        _store(base, new_base._data)
        if recording and new_base.requires_grad:
            base._node, base.requires_grad = new_base._node, True
    _store(t, r._data)
    mark_modified(t)
    if view is not None:
        view.synced = t._vc[0]
    if recording:
        t._node, t.requires_grad = (r._node, True) if r.requires_grad else (None, False)
    return t


def _backend_is_basic(key: tuple) -> bool:
    from ._backend import _is_basic

    return _is_basic(key)


# -- setitem: the write of values at a key, as an op ------------------------------------------
class SetItem(Function):
    """``x`` with ``x[key]`` replaced by ``v``: the gradient of ``x`` is zero at ``key``, and
    ``v`` gets the gradient at ``key`` (summed back over broadcasting by the engine)."""

    saves = ""
    fresh = True

    def __init__(self, key: tuple) -> None:
        self.key = key

    def forward(self, xp, x, v):
        if _backend_is_basic(self.key):
            out = xp.asarray(x, copy=True)
            out[self.key] = v
            keep = xp.ones_like(x)
            keep[self.key] = False if x.dtype == xp.bool else 0  # strict: no int into bools
            self.keep = keep
            return out
        # integer arrays or a bool mask: each written element gathers its value (see _placement)
        backend = xp.backend
        device = backend.device_of(x)
        n = 1
        for d in x.shape:
            n *= d
        with backend.on(device):
            pos = xp.reshape(xp.arange(n, dtype=xp.int64, device=device), x.shape)[self.key]
        flat_pos = xp.reshape(pos, (-1,))
        m = flat_pos.shape[0]
        if m == 0:
            self.keep = xp.ones_like(x)
            return xp.asarray(x, copy=True)
        written, source, sorted_pos = _placement(xp, flat_pos, n)
        if m > 1 and bool(xp.any(sorted_pos[1:] == sorted_pos[:-1])):
            raise ValueError(
                "setitem: the index selects some elements more than once; which value would win "
                "is undefined (torch) so polygrad refuses it: use index_put / add_at to accumulate"
            )
        values = xp.reshape(xp.broadcast_to(v, pos.shape), (-1,))
        placed = xp.reshape(xp.take(values, source), x.shape)
        written = xp.reshape(written, x.shape)
        self.keep = xp.astype(xp.logical_not(written), x.dtype)
        return xp.where(written, placed, x)

    def backward(self, xp, g):
        gv = g[self.key] if self.next[1] is not None else None
        return g * self.keep, gv


def _setitem_result(x: Tensor, key: Any, value: Any) -> Tensor:
    k = _key_to_backend(x, key)
    if isinstance(value, Tensor):
        if value._xp is not x._xp:
            raise _tensor._backend.BackendError(
                f"cannot write a {value.backend} tensor into a {x.backend} tensor"
            )
        v = value if value.dtype is x.dtype else _ops.astype(value, x.dtype)
    else:
        from ._creation import tensor_like

        lifted = _lift(value, x)
        v = lifted if isinstance(lifted, Tensor) else tensor_like(lifted, x, dtype=x.dtype)
        if v.dtype is not x.dtype:
            v = _ops.astype(v, x.dtype)
    with no_grad():
        target_shape = _ops.getitem(Tensor._wrap(x._data, x._xp), key).shape
    try:
        _broadcast_shape(tuple(v.shape), tuple(target_shape))
    except ValueError:
        raise ValueError(
            f"setitem: cannot assign values of shape {v.shape} to the selection of shape "
            f"{tuple(target_shape)} of a tensor of shape {x.shape}"
        ) from None
    return apply2(SetItem(k), x, v)


def setitem(self: Tensor, key: Any, value: Any) -> None:
    """``t[key] = value``: in place, recorded when grad mode is on (see module docstring)."""
    inplace(self, "setitem", lambda src: _setitem_result(src, key, value), needs_old=False)


# -- the in-place methods ---------------------------------------------------------------------
def _all_true(x: Tensor) -> Any:
    return x._xp.ones_like(x._data, dtype=x._xp.bool)


def _replace(src: Tensor, value: Any) -> Tensor:
    """``value`` broadcast to ``src``'s shape, as a recorded op whose gradient to ``src`` is 0."""
    return _ops.where(Tensor._wrap(_all_true(src), src._xp), value, src)


def _method(name: str, fn: Callable[..., Tensor], needs_old: bool) -> Callable[..., Tensor]:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return inplace(self, name, lambda src: fn(src, *args, **kwargs), needs_old)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place ``{name[:-1] if name.endswith('_') else name}``; returns self."
    return method


def _add(src: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    return _ops.add(src, other if alpha == 1 else _ops.multiply(other, alpha))


def _sub(src: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    return _ops.subtract(src, other if alpha == 1 else _ops.multiply(other, alpha))


def _fill(src: Tensor, value: Any) -> Tensor:
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(
            f"fill_ only takes a 0-d tensor or a number, got a tensor of shape {value.shape}"
        )
    return _replace(src, value)


def _copy(src: Tensor, other: Any) -> Tensor:
    other = _lift(other, src)
    if isinstance(other, Tensor):
        if other._xp is not src._xp:
            other = other.to(backend=src.backend, device=src.device)
        if other.dtype is not src.dtype:
            other = _ops.astype(other, src.dtype)
        try:
            _broadcast_shape(other.shape, src.shape)
        except ValueError:
            raise RuntimeError(
                f"copy_: the source of shape {other.shape} does not broadcast to {src.shape}"
            ) from None
        if _broadcast_shape(other.shape, src.shape) != src.shape:
            raise RuntimeError(
                f"copy_: the source of shape {other.shape} does not broadcast to {src.shape}"
            )
    return _replace(src, other)


def _random_fill(draw: str) -> Callable[..., Tensor]:
    def fill(src: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
        from . import _backend

        rng = _backend.rng()
        host = rng.normal(a, b, src.shape) if draw == "normal" else rng.uniform(a, b, src.shape)
        from ._creation import tensor_like

        return _replace(src, tensor_like(host, src, dtype=src.dtype))

    return fill


def _clamp(src: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    return _ops.clip(src, min, max)


_IN_PLACE: dict[str, tuple[Callable[..., Tensor], bool]] = {
    "add_": (_add, False),
    "sub_": (_sub, False),
    "mul_": (lambda s, o: _ops.multiply(s, o), True),
    "div_": (lambda s, o: _ops.divide(s, o), True),
    "pow_": (lambda s, o: _ops.pow(s, o), True),
    "neg_": (lambda s: _ops.negative(s), False),
    "abs_": (lambda s: _ops.abs(s), True),
    "exp_": (lambda s: _ops.exp(s), False),
    "log_": (lambda s: _ops.log(s), True),
    "sqrt_": (lambda s: _ops.sqrt(s), False),
    "sin_": (lambda s: _ops.sin(s), True),
    "cos_": (lambda s: _ops.cos(s), True),
    "tanh_": (lambda s: _ops.tanh(s), False),
    "sigmoid_": (lambda s: _ops.sigmoid(s), False),
    "relu_": (lambda s: _ops.relu(s), False),
    "clamp_": (_clamp, True),
    "clip_": (_clamp, True),
    "floor_divide_": (lambda s, o: _ops.floor_divide(s, o), True),
    "remainder_": (lambda s, o: _ops.remainder(s, o), True),
    "bitwise_and_": (lambda s, o: _ops.bitwise_and(s, o), False),
    "bitwise_or_": (lambda s, o: _ops.bitwise_or(s, o), False),
    "bitwise_xor_": (lambda s, o: _ops.bitwise_xor(s, o), False),
    "bitwise_left_shift_": (lambda s, o: _ops.bitwise_left_shift(s, o), False),
    "bitwise_right_shift_": (lambda s, o: _ops.bitwise_right_shift(s, o), False),
    "zero_": (lambda s: _replace(s, 0), False),
    "fill_": (_fill, False),
    "copy_": (_copy, False),
    "normal_": (_random_fill("normal"), False),
    "uniform_": (_random_fill("uniform"), False),
}
_OPERATORS = {
    "__iadd__": ("add_", False),
    "__isub__": ("sub_", False),
    "__imul__": ("mul_", True),
    "__itruediv__": ("div_", True),
    "__ipow__": ("pow_", True),
    "__ifloordiv__": ("floor_divide_", True),
    "__imod__": ("remainder_", True),
    "__iand__": ("bitwise_and_", False),
    "__ior__": ("bitwise_or_", False),
    "__ixor__": ("bitwise_xor_", False),
    "__ilshift__": ("bitwise_left_shift_", False),
    "__irshift__": ("bitwise_right_shift_", False),
}

for _name, (_fn, _needs_old) in _IN_PLACE.items():
    setattr(Tensor, _name, _method(_name, _fn, _needs_old))
for _dunder, (_name, _needs_old) in _OPERATORS.items():
    setattr(Tensor, _dunder, _method(_name, _IN_PLACE[_name][0], _needs_old))
Tensor.__setitem__ = setitem
