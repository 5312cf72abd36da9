"""NAdam, step for step as ``torch.optim.NAdam``."""

from __future__ import annotations

from typing import Any

from .optimizer import (
    Optimizer,
    ParamsT,
    _check_adam_family,
    adam_moments,
    adam_prologue,
    scalar_dtype_round,
    torch_flags,
)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """Adam with Nesterov momentum (Dozat 2016), as ``torch.optim.NAdam``.

    At step ``t``, for each parameter ``w`` with gradient ``g``::

        g = g + weight_decay * w                      # (decoupled: w = w * (1 - lr * wd))
        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        P = P * mu_t                                  # the product of the mu's so far
        m = m + (1 - beta1) * (g - m)
        v = beta2 * v + (1 - beta2) * g * g
        d = sqrt(v / (1 - beta2**t)) + eps
        w = w - lr * (1 - mu_t) / (1 - P) * g / d - lr * mu_{t+1} / (1 - P * mu_{t+1}) * m / d

    NOTE: as torch, ``mu_product`` is kept in torch's scalar dtype (float32 unless the default
    dtype is float64), so the steps equal torch's to the last bit of float64 arithmetic.

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
    momentum_decay : float
        The schedule of ``mu_t`` (>= 0).
    decoupled_weight_decay : bool
        Decay the weights directly (NAdamW) instead of adding the penalty to the gradient.
    foreach, maximize, capturable, differentiable
        As torch; see :func:`polygrad.optim.optimizer.torch_flags` (``maximize`` ascends).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.optim as optim
    >>> w = polygrad.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = optim.NAdam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.8944, -0.8944]
    """

    _scalar_state = ("mu_product",)

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
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
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            **torch_flags("NAdam", foreach, maximize, capturable, differentiable),
        )
        super().__init__(params, defaults)

    def _check_options(self, o: dict[str, Any], where: str) -> None:
        _check_adam_family(o, where, "momentum_decay")

    def _update(self, xp: Any, w: Any, g: Any, state: dict[str, Any], group: dict) -> Any:
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        decay = group["momentum_decay"]
        w, g, step = adam_prologue(
            xp, w, g, state, group, ("exp_avg", "exp_avg_sq"), {"mu_product": 1.0}
        )
        bias_correction2 = 1 - beta2**step
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
        # torch multiplies its 0-d scalar-dtype tensor by mu (cast to that dtype)
        product = scalar_dtype_round(state["mu_product"] * scalar_dtype_round(mu))
        state["mu_product"] = product
        m, v = adam_moments(state, g, beta1, beta2)
        denom = xp.sqrt(v / bias_correction2)
        denom += eps
        w -= (lr * (1.0 - mu) / (1.0 - product)) * (g / denom)
        w -= (lr * mu_next / (1.0 - product * mu_next)) * (m / denom)
        return w
