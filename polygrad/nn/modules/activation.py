"""Activations as modules: ReLU, LeakyReLU, Tanh, Sigmoid, GELU, Softplus, Softmax, LogSoftmax."""

from __future__ import annotations

import polygrad as pg
from polygrad import Tensor

from .. import functional as F
from .module import Module


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
        return pg.relu(x)


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
        return pg.leaky_relu(x, self.negative_slope)


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
