"""Normalization: layer, batch, group, instance, RMS and local response norms; ``normalize``."""

from __future__ import annotations

import math
from collections.abc import Sequence

import polygrad as pg
from polygrad import Tensor
from polygrad.ops import normalization as _norm_ops
from polygrad.ops.linalg import vector_norm as _vector_norm


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
    if _fusable(x, normalized_shape, weight, bias):
        return _norm_ops.layer_norm(x, k, weight, bias, eps)
    axes = tuple(range(-k, 0))
    mean = pg.mean(x, axis=axes, keepdims=True)
    var = pg.var(x, dim=axes, keepdim=True, correction=0)
    out = (x - mean) / pg.sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _fusable(x: Tensor, shape: tuple, weight: Tensor | None, bias: Tensor | None) -> bool:
    """Whether ``layer_norm`` can take the one fused node: a non-empty float input and affine
    parameters (when given) of exactly the normalized shape, dtype and backend; anything else
    (broadcast or mixed-dtype parameters, empty rows) takes the composed ops."""
    if not isinstance(x, Tensor) or x._data.dtype not in x._xp.floats or not x.numel():
        return False
    return all(
        p is None
        or isinstance(p, Tensor) and p._xp is x._xp and p._data.dtype == x._data.dtype
        and p.shape == shape
        for p in (weight, bias)
    )  # fmt: skip


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


def _normalized(x: Tensor, axes: tuple[int, ...], eps: float) -> Tensor:
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` (biased variance)."""
    mean = pg.mean(x, axis=axes, keepdims=True)
    return (x - mean) / pg.sqrt(pg.var(x, axis=axes, keepdims=True, correction=0) + eps)


def _per_channel(x: Tensor, out: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * pg.reshape(weight, shape)
    if bias is not None:
        out = out + pg.reshape(bias, shape)
    return out


def group_norm(
    x: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each sample over groups of ``C / num_groups`` channels (and all trailing
    axes), then scale and shift per channel.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.group_norm(polygrad.randn(2, 4, 3), 2).shape
    (2, 4, 3)
    """
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise RuntimeError(
            f"group_norm: expected an input (N, C, *) with C divisible by num_groups="
            f"{num_groups}, got shape {x.shape}"
        )
    n = x.shape[0]
    grouped = pg.reshape(x, (n, num_groups, -1))
    out = pg.reshape(_normalized(grouped, (2,), eps), x.shape)
    return _per_channel(x, out, weight, bias)


def instance_norm(
    x: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each sample's channel over the trailing (spatial) axes of ``(N, C, *)``.

    With ``use_input_stats`` and running statistics given, they move towards the batch's
    average instance mean and unbiased instance variance by ``momentum``, as torch; without
    ``use_input_stats`` the running statistics normalize.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> y = F.instance_norm(polygrad.tensor([[[1.0, 3.0]]]))
    >>> [round(v, 4) for v in y[0, 0].tolist()]
    [-1.0, 1.0]
    """
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected an input (N, C, *), got shape {x.shape}")
    axes = tuple(range(2, x.ndim))
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: running_mean and running_var are needed")
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    m = math.prod(x.shape[2:])
    if m <= 1:
        raise ValueError(
            f"instance_norm: expected more than 1 spatial element when training, got input "
            f"of shape {x.shape}"
        )
    if running_mean is not None and running_var is not None:
        with pg.no_grad():
            mean = pg.mean(pg.mean(x, axis=axes), axis=0)
            var = pg.mean(pg.var(x, axis=axes, correction=1), axis=0)
            new_mean = running_mean * (1.0 - momentum) + mean * momentum
            new_var = running_var * (1.0 - momentum) + var * momentum
            running_mean[...] = pg.astype(new_mean, running_mean.dtype)
            running_var[...] = pg.astype(new_var, running_var.dtype)
    return _per_channel(x, _normalized(x, axes, eps), weight, bias)


_EPS = {"float64": 2.220446049250313e-16, "float32": 1.1920928955078125e-07,
        "float16": 0.0009765625, "bfloat16": 0.0078125}  # fmt: skip


def rms_norm(
    x: Tensor,
    normalized_shape: Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """``x / sqrt(mean(x^2) + eps)`` over the trailing ``normalized_shape`` axes, times
    ``weight``; ``eps=None`` is the machine epsilon of ``x``'s dtype, as torch.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> [round(v, 4) for v in F.rms_norm(polygrad.tensor([3.0, 4.0]), (2,)).tolist()]
    [0.8485, 1.1314]
    """
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if x.ndim < k or x.shape[x.ndim - k :] != normalized_shape:
        raise RuntimeError(
            f"rms_norm: expected input whose last dimensions are {normalized_shape}, "
            f"got shape {x.shape}"
        )
    if eps is None:
        eps = _EPS[x.dtype.name]
    ms = pg.mean(x * x, axis=tuple(range(-k, 0)), keepdims=True)
    out = x / pg.sqrt(ms + eps)
    return out * weight if weight is not None else out


def local_response_norm(
    x: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """``x / (k + alpha * mean of x^2 over size neighbouring channels) ** beta``, the window
    zero-padded at the channel ends (``size // 2`` before, ``(size - 1) // 2`` after).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.local_response_norm(polygrad.ones(1, 4, 2), 3).shape
    (1, 4, 2)
    """
    if x.ndim < 3:
        raise ValueError(
            f"local_response_norm: expected 3D or higher dimensionality input, got shape {x.shape}"
        )
    c = x.shape[1]
    sq = x * x
    before, after = size // 2, (size - 1) // 2
    pads = [pg.zeros_like(sq[:, :1]) for _ in range(max(before, after))]
    padded = pg.concat(pads[:before] + [sq] + pads[:after], axis=1) if pads else sq
    window = padded[:, 0:c]
    for i in range(1, size):
        window = window + padded[:, i : i + c]
    return x / (window * (alpha / size) + k) ** beta


def normalize(x: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> [round(v, 4) for v in F.normalize(polygrad.tensor([[3.0, 4.0]]))[0].tolist()]
    [0.6, 0.8]
    """
    return x / pg.clip(p_norm(x, p, dim, keepdim=True), min=eps)


def p_norm(x: Tensor, p: float, dim: int, keepdim: bool = False) -> Tensor:
    """The vector ``p``-norm along ``dim``, torch's ``norm``: any real ``p``, ``inf`` (max of
    ``|x|``), ``-inf`` (min), 0 (count of nonzeros), with torch's gradient rules (0 where the
    norm is 0, so a zero vector gives no NaN; see ``polygrad.ops.linalg.VectorNorm``)."""
    return _vector_norm(x, axis=dim, keepdims=keepdim, ord=float(p))
