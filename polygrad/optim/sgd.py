"""Stochastic gradient descent, with torch's momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from typing import Any

from .optimizer import Optimizer, ParamsT, _check, torch_flags

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), step for step as ``torch.optim.SGD``.

    For each parameter ``w`` with gradient ``g``::

        g = g + weight_decay * w
        b = g                                     # first step
        b = momentum * b + (1 - dampening) * g    # later steps
        g = g + momentum * b  if nesterov  else  b
        w = w - lr * g

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters, or parameter groups with per-group options.
    lr : float
        Learning rate (>= 0).
    momentum : float
        Momentum factor (>= 0); 0 turns momentum off.
    dampening : float
        Dampening of the gradient added to the momentum buffer.
    weight_decay : float
        L2 penalty (>= 0), added to the gradient.
    nesterov : bool
        Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    maximize : bool
        Ascend the objective instead of descending it.
    foreach, capturable, fused, differentiable
        torch's kernel switches: accepted (``differentiable`` only False), same result; see
        :func:`polygrad.optim.optimizer.torch_flags`.

    Raises
    ------
    ValueError
        For a negative ``lr``, ``momentum`` or ``weight_decay``, or ``nesterov`` without
        momentum or with dampening; see also :class:`Optimizer`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.optim as optim
    >>> w = polygrad.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()
    ...     opt.step()
    >>> w
    tensor([0.46, 0.92], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            **torch_flags("SGD", foreach, maximize, None, differentiable, fused),
        )
        super().__init__(params, defaults)

    def _check_options(self, o: dict[str, Any], where: str) -> None:
        # NOTE: `not x < 0` as torch's SGD (a nan passes here, unlike Adam's `0 <= x`)
        _check(not o["lr"] < 0.0, f"Invalid learning rate: {o['lr']}", where)
        _check(not o["momentum"] < 0.0, f"Invalid momentum value: {o['momentum']}", where)
        wd = o["weight_decay"]
        _check(not wd < 0.0, f"Invalid weight_decay value: {wd}", where)
        _check(
            not o["nesterov"] or (o["momentum"] > 0 and o["dampening"] == 0),
            "Nesterov momentum requires a momentum and zero dampening",
            where,
        )

    def _update(self, xp: Any, w: Any, g: Any, state: dict[str, Any], group: dict) -> Any:
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        if group["maximize"]:
            g = -g
        if wd != 0:
            g = g + wd * w
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = xp.asarray(g, copy=True)  # the buffer's own array: g is never written
            else:
                buf *= mu
                buf += (1 - group["dampening"]) * g
            state["momentum_buffer"] = buf
            g = g + mu * buf if group["nesterov"] else buf
        w -= lr * g
        return w
