"""RAdam, step for step as ``torch.optim.RAdam``."""

from __future__ import annotations

import math
from typing import Any

from .optimizer import (
    Optimizer,
    ParamsT,
    _check_adam_family,
    adam_moments,
    adam_prologue,
    torch_flags,
)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """Rectified Adam (Liu et al. 2019), as ``torch.optim.RAdam``.

    At step ``t``, for each parameter ``w`` with gradient ``g``::

        g = g + weight_decay * w                  # (decoupled: w = w * (1 - lr * wd))
        m = m + (1 - beta1) * (g - m)
        v = beta2 * v + (1 - beta2) * g * g
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        if rho_t > 5:   w = w - lr * m / (1 - beta1**t) * r_t * sqrt(1 - beta2**t) / (sqrt(v) + eps)
        else:           w = w - lr * m / (1 - beta1**t)

    with the variance rectification
    ``r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))``.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters, or parameter groups with per-group options.
    lr : float
        Learning rate (>= 0).
    betas : (float, float)
        Decay rates of the moment estimates, each in [0, 1).
    eps : float
        Added to the denominator (>= 0).
    weight_decay : float
        L2 penalty (>= 0).
    decoupled_weight_decay : bool
        Decay the weights directly (RAdamW) instead of adding the penalty to the gradient.
    foreach, maximize, capturable, differentiable
        As torch; see :func:`polygrad.optim.optimizer.torch_flags` (``maximize`` ascends).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.optim as optim
    >>> w = polygrad.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = optim.RAdam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([ 0.8, -0.8], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            **torch_flags("RAdam", foreach, maximize, capturable, differentiable),
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _check_options(self, o: dict[str, Any], where: str) -> None:
        _check_adam_family(o, where)

    def _update(self, xp: Any, w: Any, g: Any, state: dict[str, Any], group: dict) -> Any:
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        w, g, step = adam_prologue(xp, w, g, state, group, ("exp_avg", "exp_avg_sq"))
        m, v = adam_moments(state, g, beta1, beta2)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        corrected = m / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = math.sqrt(
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            )
            denom = xp.sqrt(v)
            denom += eps
            corrected *= lr
            corrected *= bias_correction2**0.5 / denom
            corrected *= rect
            w -= corrected
        else:
            w -= corrected * lr
        return w
