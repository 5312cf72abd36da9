"""Activations: relu, leaky_relu, tanh, sigmoid, gelu, softplus, softmax, log_softmax."""

from __future__ import annotations

import polygrad as pg
from polygrad import Tensor


def relu(x: Tensor) -> Tensor:
    """``max(x, 0)`` elementwise; the gradient at 0 is 0, as in torch.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.relu(polygrad.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    return pg.relu(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.leaky_relu(polygrad.tensor([-2.0, 3.0]), 0.5).tolist()
    [-1.0, 3.0]
    """
    return pg.leaky_relu(x, negative_slope)


def tanh(x: Tensor) -> Tensor:
    """Elementwise hyperbolic tangent."""
    return pg.tanh(x)


def sigmoid(x: Tensor) -> Tensor:
    """Elementwise ``1 / (1 + exp(-x))``, without overflow."""
    return pg.sigmoid(x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit ``x * Phi(x)``; ``approximate="tanh"`` as in torch."""
    return pg.gelu(x, approximate)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``."""
    return pg.softplus(x, beta, threshold)


def _softmax_dim(ndim: int) -> int:
    # NOTE: torch's legacy choice when no dim is given (it warns; we follow it silently)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(x: Tensor, dim: int | None = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``, without overflow.

    ``dim=None`` picks torch's legacy default (0 for 0-, 1- and 3-d inputs, else 1).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.softmax(polygrad.tensor([[0.0, 0.0]]), dim=1).tolist()
    [[0.5, 0.5]]
    """
    return pg.softmax(x, axis=_softmax_dim(x.ndim) if dim is None else dim)


def log_softmax(x: Tensor, dim: int | None = None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``, without overflow (``dim=None`` as in :func:`softmax`)."""
    return pg.log_softmax(x, axis=_softmax_dim(x.ndim) if dim is None else dim)
