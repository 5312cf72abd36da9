"""RMSprop, with torch's smoothing constant, momentum and centered variant."""

from __future__ import annotations

from typing import Any

from .optimizer import Optimizer, ParamsT, _check_nonnegative, torch_flags

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, step for step as ``torch.optim.RMSprop``.

    For each parameter ``w`` with gradient ``g``::

        g = g + weight_decay * w
        v = alpha * v + (1 - alpha) * g * g
        a = sqrt(v) + eps                          # centered: sqrt(v - ga * ga) + eps, with
                                                   #   ga = ga + (1 - alpha) * (g - ga)
        b = momentum * b + g / a;  w = w - lr * b  # momentum > 0
        w = w - lr * g / a                         # otherwise

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters, or parameter groups with per-group options.
    lr : float
        Learning rate (>= 0).
    alpha : float
        Smoothing constant of the squared-gradient average (>= 0).
    eps : float
        Added to the denominator for stability (>= 0).
    weight_decay : float
        L2 penalty (>= 0), added to the gradient.
    momentum : float
        Momentum factor (>= 0).
    centered : bool
        Normalize by an estimate of the gradient's variance instead of its second moment.
    maximize : bool
        Ascend the objective instead of descending it.
    foreach, capturable, fused, differentiable
        torch's kernel switches: accepted (``differentiable`` only False), same result; see
        :func:`polygrad.optim.optimizer.torch_flags`.

    Raises
    ------
    ValueError
        For a negative ``lr``, ``alpha``, ``eps``, ``momentum`` or ``weight_decay``; see also
        :class:`Optimizer`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.optim as optim
    >>> w = polygrad.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = optim.RMSprop([w], lr=0.01, alpha=0.75, eps=0.0)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([ 0.98, -0.98], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            **torch_flags("RMSprop", foreach, maximize, capturable, differentiable),
        )
        super().__init__(params, defaults)

    def _check_options(self, o: dict[str, Any], where: str) -> None:
        _check_nonnegative(o, where, "lr", "eps", "momentum", "weight_decay", "alpha")

    def _update(self, xp: Any, w: Any, g: Any, state: dict[str, Any], group: dict) -> Any:
        lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        mu = group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(w)
        if mu > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = xp.zeros_like(w)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = xp.zeros_like(w)
        state["step"] += 1
        if group["maximize"]:
            g = -g
        if wd != 0:
            g = g + wd * w

        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * g * g
        state["square_avg"] = v
        if group["centered"]:
            ga = state["grad_avg"]
            ga += (1 - alpha) * (g - ga)  # torch's lerp_(g, 1 - alpha)
            state["grad_avg"] = ga
            avg = xp.sqrt(v - ga * ga)
        else:
            avg = xp.sqrt(v)
        avg += eps

        if mu > 0:
            buf = state["momentum_buffer"]
            buf *= mu
            buf += g / avg
            state["momentum_buffer"] = buf
            w -= lr * buf
        else:
            w -= lr * g / avg
        return w
