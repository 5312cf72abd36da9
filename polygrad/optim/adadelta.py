"""Adadelta, step for step as ``torch.optim.Adadelta``."""

from __future__ import annotations

from typing import Any

from .optimizer import Optimizer, ParamsT, _check, _check_nonnegative, torch_flags

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012), as ``torch.optim.Adadelta``.

    At each step, for each parameter ``w`` with gradient ``g``::

        g = g + weight_decay * w
        v = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        w = w - lr * delta

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters, or parameter groups with per-group options.
    lr : float
        Scale of the update (>= 0; 1.0 as in the paper).
    rho : float
        Decay of the running averages, in [0, 1].
    eps : float
        Added inside the square roots (>= 0).
    weight_decay : float
        L2 penalty (>= 0).
    foreach, capturable, maximize, differentiable
        As torch; see :func:`polygrad.optim.optimizer.torch_flags` (``maximize`` ascends).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.optim as optim
    >>> w = polygrad.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = optim.Adadelta([w])
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> [round(v, 6) for v in w.tolist()]
    [0.996838, -0.996838]
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            rho=rho,
            eps=eps,
            weight_decay=weight_decay,
            **torch_flags("Adadelta", foreach, maximize, capturable, differentiable),
        )
        super().__init__(params, defaults)

    def _check_options(self, o: dict[str, Any], where: str) -> None:
        _check_nonnegative(o, where, "lr")
        _check(0.0 <= o["rho"] <= 1.0, f"Invalid rho value: {o['rho']}", where)
        _check_nonnegative(o, where, "eps", "weight_decay")

    def _update(self, xp: Any, w: Any, g: Any, state: dict[str, Any], group: dict) -> Any:
        lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(w)
            state["acc_delta"] = xp.zeros_like(w)
        state["step"] += 1
        if group["maximize"]:
            g = -g
        if wd != 0:
            g = g + wd * w
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * (g * g)
        delta = xp.sqrt(u + eps)
        delta /= xp.sqrt(v + eps)
        delta *= g
        u *= rho
        u += (1 - rho) * (delta * delta)
        state["square_avg"], state["acc_delta"] = v, u
        w -= lr * delta
        return w
