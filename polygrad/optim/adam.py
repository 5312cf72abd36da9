"""Adam and AdamW, with torch's bias correction, AMSGrad and (coupled or decoupled) weight decay."""

from __future__ import annotations

from typing import Any

from .._tensor import mark_modified
from .optimizer import (
    Optimizer,
    ParamsT,
    _check_adam_family,
    adam_moments,
    adam_prologue,
    torch_flags,
)

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, step for step as ``torch.optim.Adam``.

    At step ``t``, for each parameter ``w`` with gradient ``g``::

        g = g + weight_decay * w                  # (AdamW instead: w = w * (1 - lr * wd))
        m = m + (1 - beta1) * (g - m)
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                     # amsgrad only; then v_max replaces v below
        w = w - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters, or parameter groups with per-group options.
    lr : float
        Learning rate (>= 0).
    betas : (float, float)
        Decay rates of the first and second moment estimates, each in [0, 1).
    eps : float
        Added to the denominator for stability (>= 0).
    weight_decay : float
        L2 penalty (>= 0).
    amsgrad : bool
        Use the running maximum of the second moment (AMSGrad).
    maximize : bool
        Ascend the objective instead of descending it.
    foreach, capturable, fused : bool or None
        torch's kernel choices: accepted, the result is the same (see ``torch_flags``).
    differentiable : bool
        Only False (True raises NotImplementedError).
    decoupled_weight_decay : bool
        Decay the weights directly, as AdamW, instead of adding the penalty to the gradient.

    Raises
    ------
    ValueError
        For a negative ``lr``, ``eps`` or ``weight_decay``, or a beta outside [0, 1); see also
        :class:`Optimizer`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.optim as optim
    >>> w = polygrad.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([ 0.9, -0.9], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            **torch_flags(
                type(self).__name__, foreach, maximize, capturable, differentiable, fused
            ),
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _check_options(self, o: dict[str, Any], where: str) -> None:
        _check_adam_family(o, where)

    def _update(self, xp: Any, w: Any, g: Any, state: dict[str, Any], group: dict) -> Any:
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        w, g, step = adam_prologue(xp, w, g, state, group, ("exp_avg", "exp_avg_sq"))
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = xp.zeros_like(w)
        m, v = adam_moments(state, g, beta1, beta2)

        # NOTE: the bias corrections are Python floats (float64), computed as torch does
        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        if group["amsgrad"]:
            v = state["max_exp_avg_sq"] = xp.maximum(state["max_exp_avg_sq"], v)
        t = xp.sqrt(v)
        t /= bias_correction2_sqrt
        t += eps  # torch's denom
        u = m * step_size
        u /= t
        # torch's addcdiv_(m, denom, value=-step_size), which computes w + (-step_size * m) /
        # denom: negation is exact, so this is bitwise the same
        w -= u
        return w

    def _step_group(self, group: dict[str, Any], params: list) -> None:
        """The whole group in one pass per operation when its state fits one flat array per
        buffer (small same-dtype parameters, see ``Optimizer._flat_state``): the update of
        ``_update`` on the concatenated gradients, bitwise the same per element."""
        flat = None
        if not group["amsgrad"] and group["weight_decay"] == 0:
            flat = self._flat_state(params, ("exp_avg", "exp_avg_sq"))
        if flat is None:
            return super()._step_group(group, params)
        xp = params[0]._xp
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        # the flat gradient and the temporaries live in the flat state's reused buffers where
        # the backend can write into them (Backend.into); the values are the same either way
        g = flat.flatten(xp, [p.grad._data for p in params], into="grad")
        if group["maximize"]:
            g = -g
        for state in flat.states:
            state["step"] = step = state["step"] + 1
        m, v = adam_moments(flat.flats, g, beta1, beta2, scratch=flat)
        del g
        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        t = flat.temp("sqrt", v)  # the same sequence of passes as _update's
        t /= bias_correction2_sqrt
        t += eps
        u = flat.temp("multiply", m, step_size, buffer="grad")  # g's buffer: g is dead
        u /= t
        for p, piece in zip(params, flat.pieces(xp, u)):
            p._data -= piece
            mark_modified(p)


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay, step for step as ``torch.optim.AdamW``.

    Before the Adam step each weight is multiplied by ``1 - lr * weight_decay``; the decay never
    enters the moment estimates. Parameters are those of :class:`Adam`, with ``weight_decay``
    defaulting to 0.01.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.optim as optim
    >>> w = polygrad.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([ 0.85, -0.85], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # as torch: an AdamW always decouples its decay
            group["decoupled_weight_decay"] = True
