"""``polygrad.autograd.functional``: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``,
``vhp`` with torch's signatures and return structures.

Everything is built from reverse-mode ``grad``: a Jacobian is one vector-Jacobian product per
output element (``vectorize`` is accepted and changes nothing but speed in torch), a
Jacobian-vector product is the derivative of a VJP with respect to its (dummy) cotangent,
and a Hessian is the Jacobian of the gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _autograd
from .._grad_mode import enable_grad
from .._tensor import Tensor

__all__ = ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"]


def _as_tuple(x: Any, arg: str, fn: str) -> tuple[bool, tuple[Tensor, ...]]:
    """(was it a tuple, its Tensors), refusing anything else with torch's TypeError."""
    is_tuple = isinstance(x, tuple)
    items = x if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            if is_tuple:
                raise TypeError(
                    f"The {arg} given to {fn} must be either a Tensor or a tuple of Tensors but"
                    f" the value at index {i} has type {type(t)}."
                )
            raise TypeError(
                f"The {arg} given to {fn} must be either a Tensor or a tuple of Tensors but the"
                f" given {arg} has type {type(t)}."
            )
    return is_tuple, items


def _outputs(func: Callable, inputs: tuple, fn: str) -> tuple[bool, tuple[Tensor, ...]]:
    with enable_grad():
        out = func(*inputs)
    return _as_tuple(out, "outputs of the user-provided function", fn)


def _prepare(inputs: tuple, create_graph: bool) -> tuple[Tensor, ...]:
    """Inputs the function is differentiated at: fresh leaves, or (create_graph) tensors
    still wired to the caller's graph."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t * 1 if t.is_leaf else t)
        else:
            out.append(t.detach().requires_grad_(t.dtype.is_floating_point))
    return tuple(out)


def _grads(outputs: tuple, inputs: tuple, cotangents: tuple, create_graph: bool) -> tuple:
    """VJP of ``outputs`` at ``inputs``; None for inputs the outputs do not depend on."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    wanted = [i for i, t in enumerate(inputs) if t.requires_grad]
    if not pairs or not wanted:
        return (None,) * len(inputs)
    got = _autograd.grad(
        [o for o, _ in pairs],
        [inputs[i] for i in wanted],
        [c for _, c in pairs],
        retain_graph=True,
        create_graph=create_graph,
        allow_unused=True,
    )
    result: list = [None] * len(inputs)
    for i, g in zip(wanted, got):
        result[i] = g
    return tuple(result)


def _fill(grads: tuple, like: tuple, strict: bool, fn: str, what: str) -> tuple:
    """Zeros for the None entries (torch's non-strict result), or torch's strict error."""
    out = []
    for i, (g, t) in enumerate(zip(grads, like)):
        if g is None:
            if strict:
                raise RuntimeError(
                    f"The {what} for the user-provided function is independent of input {i}."
                    " This is not allowed in strict mode."
                )
            g = t.detach() * 0
        out.append(g)
    return tuple(out)


def _detach_all(ts: tuple, create_graph: bool) -> tuple:
    return ts if create_graph else tuple(t.detach() for t in ts)


def _check_v(v: Any, like: tuple, fn: str, what: str) -> tuple:
    _, vs = _as_tuple(v, "v", fn)
    if len(vs) != len(like):
        raise RuntimeError(
            f"The given v should contain a single Tensor for each {what}; got {len(vs)} "
            f"for {len(like)}"
        )
    for i, (a, b) in enumerate(zip(vs, like)):
        if a.shape != b.shape:
            raise RuntimeError(
                f"Entry {i} in v has invalid size: should be {list(b.shape)} but got "
                f"{list(a.shape)}."
            )
    return vs


def _default_v(outputs: tuple, fn: str) -> tuple:
    if len(outputs) != 1 or outputs[0].numel() != 1:
        raise RuntimeError(
            f"The vector v can only be None if the user-provided function returns a single "
            f"Tensor with a single element (in {fn})."
        )
    return (outputs[0].detach() * 0 + 1,)


def _inputs_and_v(inputs: Any, v: Any, create_graph: bool, fn: str) -> tuple:
    """(was it a tuple, the prepared inputs, the tangents ``v``: ones for one scalar input)."""
    is_tuple, inputs = _as_tuple(inputs, "inputs", fn)
    inputs = _prepare(inputs, create_graph)
    if v is not None:
        return is_tuple, inputs, _check_v(v, inputs, fn, "input")
    if len(inputs) != 1 or inputs[0].numel() != 1:
        raise RuntimeError(
            "The vector v can only be None if the input to the user-provided function is "
            "a single Tensor with a single element."
        )
    return is_tuple, inputs, (inputs[0].detach() * 0 + 1,)


def vjp(
    func: Callable,
    inputs: Tensor | tuple[Tensor, ...],
    v: Tensor | tuple[Tensor, ...] | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(*inputs), v^T J)``: the vector-Jacobian product, as torch's.

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.autograd.functional import vjp
    >>> out, g = vjp(lambda x: (x ** 2).sum(), polygrad.tensor([1.0, 2.0]))
    >>> g.tolist()
    [2.0, 4.0]
    """
    is_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    inputs = _prepare(inputs, create_graph)
    out_tuple, outputs = _outputs(func, inputs, "vjp")
    vs = _default_v(outputs, "vjp") if v is None else _check_v(v, outputs, "vjp", "output")
    g = _fill(_grads(outputs, inputs, vs, create_graph), inputs, strict, "vjp", "output")
    outputs, g = _detach_all(outputs, create_graph), _detach_all(g, create_graph)
    return (outputs if out_tuple else outputs[0]), (g if is_tuple else g[0])


def jvp(
    func: Callable,
    inputs: Tensor | tuple[Tensor, ...],
    v: Tensor | tuple[Tensor, ...] | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(*inputs), J v)``: the Jacobian-vector product, as torch's (by the double-VJP
    trick torch also uses: ``J v`` is the gradient of ``<v^T J, ...>`` in the cotangent).

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.autograd.functional import jvp
    >>> out, t = jvp(lambda x: x ** 2, polygrad.tensor([1.0, 2.0]), polygrad.tensor([1.0, 1.0]))
    >>> t.tolist()
    [2.0, 4.0]
    """
    is_tuple, inputs, vs = _inputs_and_v(inputs, v, create_graph, "jvp")
    out_tuple, outputs = _outputs(func, inputs, "jvp")
    dummies = tuple(o.detach() * 0 for o in outputs)
    dummies = tuple(d.requires_grad_(d.dtype.is_floating_point) for d in dummies)
    with enable_grad():
        g = _grads(outputs, inputs, dummies, True)
        used = [(gi, vi) for gi, vi in zip(g, vs) if gi is not None and gi.requires_grad]
        if used:
            jv = _grads(
                tuple(gi for gi, _ in used), dummies, tuple(vi for _, vi in used), create_graph
            )
        else:
            jv = (None,) * len(outputs)
    jv = _fill(jv, outputs, strict, "jvp", "output")
    outputs, jv = _detach_all(outputs, create_graph), _detach_all(jv, create_graph)
    return (outputs if out_tuple else outputs[0]), (jv if out_tuple else jv[0])


def jacobian(
    func: Callable,
    inputs: Tensor | tuple[Tensor, ...],
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of ``func`` at ``inputs``, shaped ``output.shape + input.shape``.

    A Tensor for one input and one output; a tuple over inputs, or over outputs, or a tuple (per
    output) of tuples (per input) when those are tuples, as torch. ``vectorize`` is accepted (it
    only changes torch's speed); ``strategy="forward-mode"`` needs ``vectorize=True`` as in torch
    and gives the same values.

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.autograd.functional import jacobian
    >>> jacobian(lambda x: x ** 2, polygrad.tensor([1.0, 2.0])).tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(  # torch's error type
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
            'function has more outputs than inputs, "forward-mode" tends to be more performant.'
            ' Otherwise, prefer to use "reverse-mode".'
        )
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError(
            "Computing Jacobian using forward-AD or forward-over-reverse Hessian is only "
            "implemented for `vectorize=True`."
        )
    is_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    inputs = _prepare(inputs, create_graph)
    out_tuple, outputs = _outputs(func, inputs, "jacobian")
    import polygrad as pg

    rows = []  # rows[i][j]: d output i / d input j
    for i, out in enumerate(outputs):
        n = out.numel()
        per_input: list[list] = [[] for _ in inputs]
        with pg.use_backend(out.backend, out.device):
            eye = pg.eye(n, dtype=out.dtype) if n else None
        for k in range(n):
            onehot = pg.reshape(eye[k], out.shape)
            g = _grads((out,), inputs, (onehot,), create_graph)
            for j, gj in enumerate(g):
                if gj is None and strict:
                    raise RuntimeError(
                        f"Output {i} of the user-provided function is independent of input {j}."
                        " This is not allowed in strict mode."
                    )
                per_input[j].append(gj)
        row = []
        for j, t in enumerate(inputs):
            parts = [t.detach() * 0 if g is None else g for g in per_input[j]]
            if parts:
                jac = pg.reshape(pg.stack(parts), out.shape + t.shape)
            else:
                with pg.use_backend(t.backend, t.device):
                    jac = pg.zeros(out.shape + t.shape, dtype=t.dtype)
            row.append(jac if create_graph else jac.detach())
        rows.append(tuple(row))
    if out_tuple:
        return tuple(r if is_tuple else r[0] for r in rows)
    return rows[0] if is_tuple else rows[0][0]


def hessian(
    func: Callable,
    inputs: Tensor | tuple[Tensor, ...],
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of a scalar ``func`` at ``inputs``, shaped ``input.shape + input.shape``
    (a tuple of tuples for a tuple of inputs), as torch's.

    Raises
    ------
    RuntimeError
        If ``func`` does not return a single-element Tensor.

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.autograd.functional import hessian
    >>> hessian(lambda x: (x ** 3).sum(), polygrad.tensor([1.0, 2.0])).tolist()
    [[6.0, 0.0], [0.0, 12.0]]
    """
    is_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs: Tensor) -> tuple[Tensor, ...]:
        out_tuple, out = _outputs(func, xs, "hessian")
        if out_tuple or out[0].numel() != 1:
            raise RuntimeError(
                "The function given to hessian should return a single Tensor with a single element"
            )
        g = _grads(out, xs, _default_v(out, "hessian"), True)
        return _fill(g, xs, strict, "hessian", "gradient")

    result = jacobian(
        gradient,
        inputs if is_tuple else inputs[0],
        create_graph,
        strict,
        vectorize,
        outer_jacobian_strategy,
    )
    return result if is_tuple else result[0]


def vhp(
    func: Callable,
    inputs: Tensor | tuple[Tensor, ...],
    v: Tensor | tuple[Tensor, ...] | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(*inputs), v^T H)`` for a scalar ``func``, as torch's."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(
    func: Callable,
    inputs: Tensor | tuple[Tensor, ...],
    v: Tensor | tuple[Tensor, ...] | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(*inputs), H v)`` for a scalar ``func``, as torch's (the Hessian is symmetric,
    so this equals ``vhp``).

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.autograd.functional import hvp
    >>> x, v = polygrad.tensor([1.0, 2.0]), polygrad.tensor([1.0, 0.0])
    >>> hvp(lambda x: (x ** 3).sum(), x, v)[1].tolist()
    [6.0, 0.0]
    """
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(
    func: Callable, inputs: Any, v: Any, create_graph: bool, strict: bool, fn: str
) -> tuple[Any, Any]:
    is_tuple, inputs, vs = _inputs_and_v(inputs, v, create_graph, fn)
    out_tuple, out = _outputs(func, inputs, fn)
    if out_tuple or out[0].numel() != 1:
        raise RuntimeError(
            f"The function given to {fn} should return a single Tensor with a single element"
        )
    with enable_grad():
        g = _fill(_grads(out, inputs, _default_v(out, fn), True), inputs, strict, fn, "jacobian")
        used = [(gi, vi) for gi, vi in zip(g, vs) if gi.requires_grad]
        hv = (None,) * len(inputs)
        if used:
            hv = _grads(
                tuple(gi for gi, _ in used), inputs, tuple(vi for _, vi in used), create_graph
            )
    hv = _fill(hv, inputs, strict, fn, "hessian")
    out, hv = _detach_all(out, create_graph), _detach_all(hv, create_graph)
    return out[0], (hv if is_tuple else hv[0])
