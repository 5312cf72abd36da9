"""Activations as modules, each a thin wrapper of its ``polygrad.nn.functional`` form."""

from __future__ import annotations

from typing import Any

import polygrad as pg
from polygrad import Tensor

from .. import functional as F
from .module import Module, Parameter


class ReLU(Module):
    """``max(x, 0)`` (``inplace`` is accepted for torch code and changes nothing).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.ReLU()(polygrad.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x, self.inplace)


class LeakyReLU(Module):
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.LeakyReLU(0.5)(polygrad.tensor([-1.0, 2.0])).tolist()
    [-0.5, 2.0]
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope, self.inplace)


class Tanh(Module):
    """Hyperbolic tangent.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.Tanh()(polygrad.tensor([0.0])).tolist()
    [0.0]
    """

    def forward(self, x: Tensor) -> Tensor:
        return pg.tanh(x)


class Sigmoid(Module):
    """Logistic sigmoid ``1 / (1 + exp(-x))``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.Sigmoid()(polygrad.tensor([0.0])).tolist()
    [0.5]
    """

    def forward(self, x: Tensor) -> Tensor:
        return pg.sigmoid(x)


class GELU(Module):
    """Gaussian error linear unit; ``approximate="tanh"`` for torch's tanh formula.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.GELU()(polygrad.tensor([0.0])).tolist()
    [0.0]
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"

    def forward(self, x: Tensor) -> Tensor:
        return pg.gelu(x, self.approximate)


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> round(nn.Softplus()(polygrad.tensor([0.0])).item(), 4)
    0.6931
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"

    def forward(self, x: Tensor) -> Tensor:
        return pg.softplus(x, self.beta, self.threshold)


class Softmax(Module):
    """Softmax along ``dim`` (torch's legacy default axis when None).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.Softmax(dim=-1)(polygrad.tensor([0.0, 0.0])).tolist()
    [0.5, 0.5]
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim)


class LogSoftmax(Module):
    """Log-softmax along ``dim`` (torch's legacy default axis when None).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> round(nn.LogSoftmax(dim=-1)(polygrad.tensor([0.0, 0.0]))[0].item(), 4)
    -0.6931
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.dim)


class _Elementwise(Module):
    """An activation with fixed options: ``_fn(x, **options)``, options shown in ``repr``."""

    _fn: Any = None
    _names: tuple[str, ...] = ()

    def extra_repr(self) -> str:
        parts = [f"{n}={getattr(self, n)}" for n in self._names if n != "inplace"]
        if "inplace" in self._names and self.inplace:
            parts.append("inplace=True")
        return ", ".join(parts)

    def forward(self, x: Tensor) -> Tensor:
        return type(self)._fn(x, **{n: getattr(self, n) for n in self._names})


class _InplaceOnly(_Elementwise):
    _names = ("inplace",)

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class SiLU(_InplaceOnly):
    """``x * sigmoid(x)``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.SiLU()(polygrad.tensor([0.0])).tolist()
    [0.0]
    """

    _fn = F.silu


class Mish(_InplaceOnly):
    """``x * tanh(softplus(x))``."""

    _fn = F.mish


class SELU(_InplaceOnly):
    """``scale * elu(x, alpha)`` with the self-normalizing constants."""

    _fn = F.selu


class ReLU6(_InplaceOnly):
    """``min(max(x, 0), 6)``; the gradient is 0 at 0 and 6, as torch."""

    _fn = F.relu6


class Hardsigmoid(_InplaceOnly):
    """``x / 6 + 1/2`` clamped into ``[0, 1]``."""

    _fn = F.hardsigmoid


class Hardswish(_InplaceOnly):
    """``x * hardsigmoid(x)``."""

    _fn = F.hardswish


class ELU(_Elementwise):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.ELU(alpha=2.0)
    ELU(alpha=2.0)
    """

    _fn, _names = F.elu, ("alpha", "inplace")

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace


class CELU(ELU):
    """``x`` where positive, ``alpha * (exp(x / alpha) - 1)`` elsewhere."""

    _fn = F.celu


class Hardtanh(_Elementwise):
    """``x`` clamped into ``[min_val, max_val]``; the gradient is 0 at the bounds."""

    _fn, _names = F.hardtanh, ("min_val", "max_val", "inplace")

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if not max_val > min_val:  # torch asserts this
            raise AssertionError(
                f"Hardtanh: max_val ({max_val}) must be greater than min_val ({min_val})"
            )
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace


class Threshold(_Elementwise):
    """``x`` where ``x > threshold``, ``value`` elsewhere."""

    _fn, _names = F.threshold, ("threshold", "value", "inplace")

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace


class Softshrink(_Elementwise):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between."""

    _fn, _names = F.softshrink, ("lambd",)

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def extra_repr(self) -> str:
        return str(self.lambd)


class Hardshrink(Softshrink):
    """``x`` where ``|x| > lambd``, 0 elsewhere."""

    _fn = F.hardshrink


class Softsign(_Elementwise):
    """``x / (1 + |x|)``."""

    _fn = F.softsign


class Tanhshrink(_Elementwise):
    """``x - tanh(x)``."""

    _fn = F.tanhshrink


class LogSigmoid(_Elementwise):
    """``log(sigmoid(x))``, without overflow."""

    _fn = F.logsigmoid


class GLU(_Elementwise):
    """Gated linear unit over the two halves of ``dim``: ``a * sigmoid(b)``."""

    _fn, _names = F.glu, ("dim",)

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim


class Softmin(GLU):
    """``softmax(-x)`` along ``dim`` (torch's legacy default axis when None)."""

    _fn = F.softmin

    def __init__(self, dim: int | None = None) -> None:
        super().__init__(dim)


class PReLU(Module):
    """``x`` where positive, ``weight * x`` elsewhere, with a learned ``weight`` of
    ``num_parameters`` slopes (1, or one per channel), initialised to ``init``.

    Examples
    --------
    >>> import polygrad.nn as nn
    >>> nn.PReLU(3).weight.shape
    (3,)
    """

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(pg.full((num_parameters,), init, dtype=dtype, device=device))

    def reset_parameters(self) -> None:
        """Every slope back to ``init``."""
        with pg.no_grad():
            self.weight[...] = pg.full_like(self.weight, self.init)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.weight)
