"""Adamax, step for step as ``torch.optim.Adamax``."""

from __future__ import annotations

from typing import Any

from .optimizer import Optimizer, ParamsT, _check_adam_family, adam_prologue, torch_flags

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax, Adam's infinity-norm variant (Kingma and Ba 2014), as ``torch.optim.Adamax``.

    At step ``t``, for each parameter ``w`` with gradient ``g``::

        g = g + weight_decay * w
        m = m + (1 - beta1) * (g - m)
        u = max(beta2 * u, |g| + eps)
        w = w - lr / (1 - beta1**t) * m / u

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters, or parameter groups with per-group options.
    lr : float
        Learning rate (>= 0).
    betas : (float, float)
        Decay rates of the first moment and of the infinity norm, each in [0, 1).
    eps : float
        Added to ``|g|`` (>= 0).
    weight_decay : float
        L2 penalty (>= 0).
    foreach, maximize, differentiable, capturable
        As torch; see :func:`polygrad.optim.optimizer.torch_flags` (``maximize`` ascends).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.optim as optim
    >>> w = polygrad.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = optim.Adamax([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([ 0.9, -0.9], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            **torch_flags("Adamax", foreach, maximize, capturable, differentiable),
        )
        super().__init__(params, defaults)

    def _check_options(self, o: dict[str, Any], where: str) -> None:
        _check_adam_family(o, where)

    def _update(self, xp: Any, w: Any, g: Any, state: dict[str, Any], group: dict) -> Any:
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        w, g, step = adam_prologue(xp, w, g, state, group, ("exp_avg", "exp_inf"))
        m, u = state["exp_avg"], state["exp_inf"]
        m += (1 - beta1) * (g - m)  # torch's lerp_(g, 1 - beta1)
        u *= beta2
        u = xp.maximum(u, xp.abs(g) + eps)
        state["exp_avg"], state["exp_inf"] = m, u
        clr = lr / (1 - beta1**step)
        w -= clr * (m / u)
        return w
