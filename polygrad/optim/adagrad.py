"""Adagrad, step for step as ``torch.optim.Adagrad``."""

from __future__ import annotations

from typing import Any

from .optimizer import Optimizer, ParamsT, _check_nonnegative, torch_flags

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011), as ``torch.optim.Adagrad``.

    At step ``t``, for each parameter ``w`` with gradient ``g``::

        g = g + weight_decay * w
        s = s + g * g                       # s starts at initial_accumulator_value
        w = w - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    As torch, the state (``step`` and ``sum``) of every parameter given to the constructor is
    created at once, so a fresh optimizer's ``state_dict`` already holds it.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters, or parameter groups with per-group options.
    lr : float
        Learning rate (>= 0).
    lr_decay : float
        Learning-rate decay per step (>= 0).
    weight_decay : float
        L2 penalty (>= 0).
    initial_accumulator_value : float
        Start of the sum of squared gradients (>= 0).
    eps : float
        Added to the denominator (>= 0).
    foreach, maximize, differentiable, fused
        As torch; see :func:`polygrad.optim.optimizer.torch_flags` (``maximize`` ascends).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.optim as optim
    >>> w = polygrad.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = optim.Adagrad([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([ 0.9, -0.9], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            **torch_flags("Adagrad", foreach, maximize, None, differentiable, fused),
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = self._initial_state(p._xp, p._data, group)

    def _check_options(self, o: dict[str, Any], where: str) -> None:
        _check_nonnegative(
            o, where, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"
        )

    @staticmethod
    def _initial_state(xp: Any, w: Any, group: dict) -> dict[str, Any]:
        return {"step": 0, "sum": xp.full_like(w, group["initial_accumulator_value"])}

    def _update(self, xp: Any, w: Any, g: Any, state: dict[str, Any], group: dict) -> Any:
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        if not state:  # a group added after construction
            state.update(self._initial_state(xp, w, group))
        state["step"] = step = state["step"] + 1
        if group["maximize"]:
            g = -g
        if wd != 0:
            g = g + wd * w
        clr = lr / (1 + (step - 1) * group["lr_decay"])
        s = state["sum"]
        s += g * g
        state["sum"] = s
        std = xp.sqrt(s)
        std += eps
        w -= clr * (g / std)
        return w
