"""polygrad.autograd: torch's ``torch.autograd`` API on polygrad's engine.

``grad`` and ``backward`` (torch's signatures), custom ops with :class:`Function` and its
``ctx``, the grad-mode switches (``no_grad``, ``enable_grad``, ``set_grad_enabled``,
``inference_mode``, ``is_grad_enabled``) and :mod:`polygrad.autograd.functional`
(``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``, ``vhp``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import _autograd
from .._tensor import Tensor
from . import forward_ad, functional
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)

__all__ = [
    "Function",
    "FunctionCtx",
    "backward",
    "enable_grad",
    "forward_ad",
    "functional",
    "grad",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "once_differentiable",
    "set_grad_enabled",
]


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, as ``torch.autograd.grad``.

    Parameters
    ----------
    outputs, inputs : Tensor or sequence of Tensors
    grad_outputs : Tensor or sequence, optional
        One upstream gradient per output (None: ones, for one-element outputs).
    retain_graph : bool, optional
        Defaults to ``create_graph``.
    create_graph : bool
        Record the backward, for higher derivatives.
    only_inputs : bool
        Ignored (deprecated in torch, where it has no effect either).
    allow_unused : bool, optional
        None for inputs the outputs do not depend on, instead of an error (default False;
        ``materialize_grads=True`` implies it).
    is_grads_batched : bool
        Treat the first axis of each ``grad_outputs`` as a batch of upstream gradients and
        return gradients with that leading axis (one backward per batch entry).
    materialize_grads : bool
        Zeros instead of None for unused inputs.

    Returns
    -------
    tuple of Tensor or None

    Examples
    --------
    >>> import polygrad
    >>> from polygrad import autograd
    >>> x = polygrad.tensor([1.0, 2.0], requires_grad=True)
    >>> autograd.grad((x ** 2).sum(), x)[0].tolist()
    [2.0, 4.0]
    """
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True, "
            "but got: allow_unused=False."
        )
    allow = bool(allow_unused) or materialize_grads
    single = isinstance(inputs, Tensor)
    inputs_list = [inputs] if single else list(inputs)
    if is_grads_batched:
        result = _batched(outputs, inputs_list, grad_outputs, retain_graph, create_graph, allow)
    else:
        result = _autograd.grad(
            outputs, inputs_list, grad_outputs, retain_graph, create_graph, allow
        )
    if materialize_grads:
        result = tuple(_zeros_like(t) if g is None else g for g, t in zip(result, inputs_list))
    return result


def _zeros_like(t: Tensor) -> Tensor:
    return t.detach() * 0


def _batched(
    outputs: Any,
    inputs: list,
    grad_outputs: Any,
    retain_graph: bool | None,
    create_graph: bool,
    allow: bool,
) -> tuple:
    import polygrad as pg

    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    gos = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
    n = gos[0].shape[0]
    per = []
    for k in range(n):
        per.append(
            _autograd.grad(
                outs,
                inputs,
                [g[k] for g in gos],
                True if k < n - 1 else retain_graph,
                create_graph,
                allow,
            )
        )
    return tuple(
        None if per[0][j] is None else pg.stack([p[j] for p in per]) for j in range(len(inputs))
    )


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Any = None,
    inputs: Tensor | Sequence[Tensor] | None = None,
) -> None:
    """Accumulate the gradients of ``tensors`` into the leaves' ``.grad``, as
    ``torch.autograd.backward`` (``inputs`` restricts which leaves get them).

    Examples
    --------
    >>> import polygrad
    >>> from polygrad import autograd
    >>> x = polygrad.tensor([1.0, 2.0], requires_grad=True)
    >>> autograd.backward([(x ** 2).sum()])
    >>> x.grad.tolist()
    [2.0, 4.0]
    """
    if grad_variables is not None:
        grad_tensors = grad_variables
    roots = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None:
        grads: list = [None] * len(roots)
    elif isinstance(grad_tensors, Tensor):
        grads = [grad_tensors]
    else:
        grads = list(grad_tensors)
    if len(grads) != len(roots):
        raise RuntimeError(
            f"grad can be implicitly created only for scalar outputs: got {len(grads)} "
            f"grad_tensors for {len(roots)} tensors"
        )
    if inputs is None:
        _autograd.backward(roots, grads, retain_graph, create_graph)
        return
    leaves = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    got = _autograd.grad(roots, leaves, grads, retain_graph, create_graph, True)
    for t, g in zip(leaves, got):
        if g is not None:
            t.grad = g if t.grad is None else t.grad + g
