"""``layer_norm`` and ``batch_norm``."""

from __future__ import annotations

from collections.abc import Sequence

import polygrad as pg
from polygrad import Tensor


def layer_norm(
    x: Tensor,
    normalized_shape: Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` axes (biased variance), then scale and
    shift elementwise.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> y = F.layer_norm(polygrad.tensor([[1.0, 3.0]]), (2,))
    >>> [round(v, 4) for v in y[0].tolist()]
    [-1.0, 1.0]
    """
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if x.shape[x.ndim - k :] != normalized_shape:
        raise ValueError(
            f"layer_norm: expected input whose last dimensions are {normalized_shape}, "
            f"got shape {x.shape}"
        )
    axes = tuple(range(-k, 0))
    mean = pg.mean(x, axis=axes, keepdims=True)
    var = pg.var(x, dim=axes, keepdim=True, correction=0)
    out = (x - mean) / pg.sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel (axis 1) over the batch and any trailing axes.

    In training the batch statistics normalize (biased variance) and, when given, the
    running statistics are updated in place: ``running = (1 - momentum) * running +
    momentum * batch`` with the unbiased batch variance, as torch does. Otherwise the running
    statistics normalize.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> mean, var = polygrad.zeros(2), polygrad.ones(2)
    >>> y = F.batch_norm(polygrad.tensor([[0.0, 1.0], [2.0, 3.0]]), mean, var, training=True)
    >>> [round(v, 2) for v in mean.tolist()]
    [0.1, 0.2]
    """
    if x.ndim < 2 or x.shape[1] == 0:
        # torch fails on zero channels (an IndexError from inside its kernel)
        raise IndexError(
            f"batch_norm: expected an input (N, C, ...) with at least one channel C, "
            f"got shape {x.shape}"
        )
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, c) + (1,) * (x.ndim - 2)
    if training and x.numel() == 0:
        # an empty batch, as torch: an empty output, the running statistics untouched, and
        # zero gradients for weight and bias (zero statistics keep the graph without a 0/0)
        mean = pg.sum(x, axis=axes, keepdims=True)
        var = mean
    elif training:
        n = x.numel() // c
        if n <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, "
                f"got input of shape {x.shape}"
            )
        mean = pg.mean(x, axis=axes, keepdims=True)
        var = pg.var(x, dim=axes, keepdim=True, correction=0)
        if running_mean is not None and running_var is not None:
            with pg.no_grad():
                new_mean = running_mean * (1.0 - momentum) + pg.reshape(mean, (c,)) * momentum
                unbiased = pg.reshape(var, (c,)) * (n / (n - 1))
                new_var = running_var * (1.0 - momentum) + unbiased * momentum
                running_mean[...] = pg.astype(new_mean, running_mean.dtype)
                running_var[...] = pg.astype(new_var, running_var.dtype)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(
                "batch_norm: running_mean and running_var are needed when not training"
            )
        mean = pg.reshape(running_mean, shape)
        var = pg.reshape(running_var, shape)
    out = (x - mean) / pg.sqrt(var + eps)
    if weight is not None:
        out = out * pg.reshape(weight, shape)
    if bias is not None:
        out = out + pg.reshape(bias, shape)
    return out
