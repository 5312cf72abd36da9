"""Helpers over a model's parameters: gradient clipping (``clip_grad_norm_``,
``clip_grad_value_``) and flattening (``parameters_to_vector``, ``vector_to_parameters``)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import polygrad as pg
from polygrad import Tensor, _capture

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "parameters_to_vector",
    "vector_to_parameters",
]


def _with_grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def _norm(x: Tensor, norm_type: float) -> Tensor:
    """torch's ``vector_norm`` of ``x`` (0-d for an empty ``x``: 0, or -inf's max of nothing)."""
    a = pg.abs(x)
    if norm_type == math.inf:
        return pg.max(a) if a.numel() else pg.sum(a)
    if norm_type == -math.inf:
        return pg.min(a) if a.numel() else pg.sum(a) + math.inf
    if norm_type == 0.0:  # the number of non-zero entries
        return pg.sum(pg.astype(a != 0, x.dtype))
    if norm_type == 2.0:
        return pg.sqrt(pg.sum(x * x))
    if norm_type == 1.0:
        return pg.sum(a)
    return pg.sum(a**norm_type) ** (1.0 / norm_type)


@_capture.host
def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale the gradients of ``parameters`` so that their joint norm is at most ``max_norm``.

    As torch: the total norm is the ``norm_type`` norm of the per-parameter gradient norms,
    and every gradient is multiplied by ``min(max_norm / (total + 1e-6), 1)``. Parameters
    without a gradient are skipped. Nothing is synchronized with the host unless
    ``error_if_nonfinite`` is set.

    Parameters
    ----------
    parameters : Tensor or iterable of Tensors
        Typically ``model.parameters()``.
    max_norm : float
    norm_type : float
        2.0 by default; ``float("inf")`` for the largest absolute value.
    error_if_nonfinite : bool
        Raise RuntimeError if the total norm is nan or inf (and leave the gradients alone).
    foreach : bool or None
        Accepted for torch code; the result is the same either way.

    Returns
    -------
    Tensor
        The total norm before clipping (0-d).

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.nn.utils import clip_grad_norm_
    >>> w = polygrad.tensor([3.0, 4.0], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> clip_grad_norm_([w], max_norm=1.0).item()
    10.0
    >>> [round(v, 4) for v in w.grad.tolist()]
    [0.6, 0.8]
    """
    params = _with_grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not params:
        return pg.tensor(0.0)
    with pg.no_grad():
        first = params[0].grad
        norms = [
            _norm(p.grad, norm_type).to(backend=first.backend, device=first.device) for p in params
        ]
        total = _norm(pg.stack(norms), norm_type)  # float32 with float64 stacks as float64
        if error_if_nonfinite and not pg.isfinite(total).item():
            raise RuntimeError(
                f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                "non-finite, so it cannot be clipped; pass error_if_nonfinite=False to clip anyway"
            )
        coef = pg.clip(max_norm / (total + 1e-6), max=1.0)
        for p in params:  # in place, as torch: a reference to a .grad sees the clipped values
            g = p.grad
            g *= pg.astype(coef.to(backend=g.backend, device=g.device), g.dtype, copy=False)
    return total


@_capture.host
def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient of ``parameters`` into ``[-clip_value, clip_value]``, in place.

    As torch: the lower bound is applied first, so a negative ``clip_value`` sets every entry
    to ``clip_value``; nan stays nan. ``foreach`` is accepted for torch code.

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.nn.utils import clip_grad_value_
    >>> w = polygrad.tensor([3.0, -4.0], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> clip_grad_value_([w], 1.0)
    >>> w.grad.tolist()
    [1.0, -1.0]
    """
    clip_value = float(clip_value)
    with pg.no_grad():
        for p in _with_grads(parameters):
            p.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All ``parameters`` flattened and concatenated into one 1-D tensor (differentiable, as
    torch's).

    Examples
    --------
    >>> import polygrad.nn as nn
    >>> from polygrad.nn.utils import parameters_to_vector
    >>> parameters_to_vector(nn.Linear(3, 2).parameters()).shape
    (8,)
    """
    return pg.concat([pg.reshape(p, (-1,)) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into ``parameters`` (in place, not recorded).

    Raises
    ------
    TypeError
        If ``vec`` is not a Tensor (as torch).
    RuntimeError
        If ``vec`` has fewer or more entries than the parameters.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> from polygrad.nn.utils import vector_to_parameters
    >>> layer = nn.Linear(2, 1)
    >>> vector_to_parameters(polygrad.arange(3.0), layer.parameters())
    >>> layer.weight.tolist(), layer.bias.tolist()
    ([[0.0, 1.0]], [2.0])
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected polygrad.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise RuntimeError(
            f"vector_to_parameters: vec of shape {vec.shape} for parameters with {total} "
            "entries in all"
        )
    offset = 0
    with pg.no_grad():
        for p in params:
            n = p.numel()
            p.copy_(pg.reshape(vec[offset : offset + n], p.shape))
            offset += n
