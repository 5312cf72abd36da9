"""The functions behind the nn layers: activations, linear, convolution, pooling, normalization,
dropout, embedding and the losses, each composed from polygrad Tensor ops.

Names and signatures follow ``torch.nn.functional`` (``dim=`` rather than ``axis=``), so code
written against torch runs with only the import changed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import polygrad as pg
from polygrad import Function, Tensor

__all__ = [
    "relu",
    "leaky_relu",
    "tanh",
    "sigmoid",
    "gelu",
    "softplus",
    "softmax",
    "log_softmax",
    "linear",
    "embedding",
    "dropout",
    "layer_norm",
    "batch_norm",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "mse_loss",
    "l1_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]


# ============================================================================================
# shared helpers
# ============================================================================================
def creating_like(t: Tensor) -> AbstractContextManager:
    """Context in which polygrad's creation functions allocate on ``t``'s backend and device."""
    return pg.use_backend(t.backend, t.device)


def _pair(value: Any, name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    pair = tuple(int(v) for v in value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return pair


def _as_tensor(x: Any, who: str, what: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: {what} must be a polygrad Tensor, got {type(x).__name__}")
    return x


def _check_float(x: Tensor, who: str, what: str = "input") -> None:
    if not x.dtype.is_floating_point:
        raise TypeError(f"{who}: {what} must be a floating-point tensor, got dtype {x.dtype.name}")


# ============================================================================================
# activations
# ============================================================================================
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


# ============================================================================================
# linear, embedding, dropout
# ============================================================================================
# NOTE: one fused op rather than matmul(x, weight.mT) + bias: the weight gradient comes out as
# g^T @ x, contiguous in the weight's own layout (not a transposed view the engine would have
# to copy), and the bias gradient is one sum, with no broadcast to undo.
class _Linear(Function):
    """``x @ weight.T (+ bias)`` for x of shape (..., in) and weight of shape (out, in)."""

    fresh = True

    def forward(self, xp, x, weight, bias=None):
        out = xp.matmul(x, xp.matrix_transpose(weight))
        if bias is not None:
            out += bias  # in place: out is the matmul's own new array
        return out

    def backward(self, xp, g, x, weight, bias=None):
        needs = self.next
        gx = xp.matmul(g, weight) if needs[0] is not None else None
        g2 = g if g.ndim == 2 else xp.reshape(g, (-1, g.shape[-1]))
        gw = gb = None
        if needs[1] is not None:
            x2 = x if x.ndim == 2 else xp.reshape(x, (-1, x.shape[-1]))
            gw = xp.matmul(xp.matrix_transpose(g2), x2)
        if bias is not None and needs[2] is not None:
            gb = xp.sum(g2, axis=0)
        return gx, gw, gb


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` with torch's weight layout ``(out_features, in_features)``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.linear(polygrad.ones(2, 3), polygrad.ones(4, 3)).shape
    (2, 4)
    """
    if (
        x.ndim < 1
        or weight.ndim != 2
        or x.shape[-1] != weight.shape[1]
        or (bias is not None and bias.shape != (weight.shape[0],))
        or x.dtype != weight.dtype
        or (bias is not None and bias.dtype != weight.dtype)
    ):  # the general path: 1-D weights, broadcasting biases, mixed dtypes, shape errors
        out = pg.matmul(x, weight.mT if weight.ndim > 1 else weight)
        return out if bias is None else out + bias
    op = _Linear()
    return op(x, weight) if bias is None else op(x, weight, bias)


def _check_indices(who: str, indices: Tensor, size: int, what: str) -> None:
    if indices.dtype.kind not in ("int", "uint"):
        raise TypeError(
            f"{who}: {what} must be an integer tensor of indices, got dtype {indices.dtype.name}"
        )
    if indices.numel() and pg.any((indices < 0) | (indices >= size)).item():
        bad = sorted({v for v in _flat(indices.tolist()) if not 0 <= v < size})
        raise IndexError(f"{who}: {what} {bad} out of range for size {size} (valid: 0..{size - 1})")


def _flat(nested: Any) -> list:
    if not isinstance(nested, list):
        return [nested]
    return [v for item in nested for v in _flat(item)]


def embedding(x: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` picked by the integer tensor ``input``; output shape
    ``x.shape + (embedding_dim,)``. Row ``padding_idx`` gets no gradient.

    Raises
    ------
    TypeError
        If ``input`` is not an integer tensor.
    IndexError
        If an index is outside ``[0, num_embeddings)`` (checked on the host: one sync).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.embedding(polygrad.tensor([2, 0]), polygrad.eye(3)).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    x = _as_tensor(x, "embedding")
    _check_indices("embedding", x, weight.shape[0], "index")
    out = weight[x]
    if padding_idx is not None:
        if padding_idx < 0:
            padding_idx += weight.shape[0]
        pad_rows = pg.expand_dims(x == padding_idx, -1)
        out = pg.where(pad_rows, out.detach(), out)
    return out


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by
    ``1 / (1 - p)``; the identity when ``training`` is False.

    The mask is ``polygrad.rand(x.shape, dtype=x.dtype) >= p`` drawn on ``x``'s
    device, so it is reproducible under ``polygrad.manual_seed``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> x = polygrad.ones(1000)
    >>> y = F.dropout(x, 0.5)
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> F.dropout(x, 0.5, training=False) is x
    True
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    with creating_like(x):
        u = pg.rand(x.shape, dtype=x.dtype)
    scale = pg.astype(u >= p, x.dtype) * (1.0 / (1.0 - p))
    return x * scale


# ============================================================================================
# normalization
# ============================================================================================
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
    var = pg.var(x, axis=axes, keepdims=True)
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
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        n = x.numel() // c
        if n <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, "
                f"got input of shape {x.shape}"
            )
        mean = pg.mean(x, axis=axes, keepdims=True)
        var = pg.var(x, axis=axes, keepdims=True)
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


# ============================================================================================
# convolution and pooling
# ============================================================================================
def _windows(
    x: Tensor, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> Tensor:
    """im2col: every kernel offset's strided view of ``x`` (N, C, H, W), stacked to
    (N, C, kh * kw, H_out, W_out) with the offset axis in row-major kernel order."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    h, w = x.shape[-2:]
    h_out = (h - dh * (kh - 1) - 1) // sh + 1
    w_out = (w - dw * (kw - 1) - 1) // sw + 1
    views = []
    for i in range(kh):
        for j in range(kw):
            top, left = i * dh, j * dw
            rows = slice(top, top + sh * (h_out - 1) + 1, sh)
            cols = slice(left, left + sw * (w_out - 1) + 1, sw)
            views.append(x[:, :, rows, cols])
    return pg.stack(views, axis=2)


def _out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _batched(x: Tensor, who: str) -> tuple[Tensor, bool]:
    """A 4-d view of a (N, C, H, W) or unbatched (C, H, W) input, and whether it was unbatched."""
    if x.ndim == 3:
        return pg.expand_dims(x, 0), True
    if x.ndim == 4:
        return x, False
    raise ValueError(f"{who}: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got {x.shape}")


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> Tensor:
    """2-d cross-correlation (torch's ``conv2d``) of ``input`` (N, C_in, H, W) with ``weight``
    (C_out, C_in / groups, kh, kw).

    Built as im2col: ``kh * kw`` strided slices of the zero-padded input stacked together,
    then one matmul batched over the groups. ``padding`` may be ints or ``"valid"`` / ``"same"``
    (stride 1 only; an odd total padding puts the extra row and column at the end, as torch).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.conv2d(polygrad.ones(1, 1, 4, 4), polygrad.ones(2, 1, 3, 3), padding=1).shape
    (1, 2, 4, 4)
    """
    in_shape = x.shape
    x, unbatched = _batched(x, "conv2d")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    o, c_per_group, kh, kw = weight.shape
    n, c, h, w = x.shape
    if c != c_per_group * groups:
        raise ValueError(
            f"conv2d: input of shape {in_shape} has {c} channels, but weight of shape "
            f"{weight.shape} with groups={groups} expects {c_per_group * groups}"
        )
    if o % groups:
        raise ValueError(f"conv2d: {o} output channels are not divisible by groups={groups}")
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError("conv2d: padding='same' needs stride 1")
            th, tw = dilation[0] * (kh - 1), dilation[1] * (kw - 1)
            pads = (tw // 2, tw - tw // 2, th // 2, th - th // 2)
        else:
            raise ValueError(f"conv2d: padding must be 'valid', 'same' or ints, not {padding!r}")
    else:
        ph, pw = _pair(padding, "padding")
        pads = (pw, pw, ph, ph)
    h_out = (h + pads[2] + pads[3] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    w_out = (w + pads[0] + pads[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    if h_out <= 0 or w_out <= 0:
        raise ValueError(
            f"conv2d: input of shape {in_shape} is too small for kernel {(kh, kw)} with "
            f"dilation {dilation} and padding {padding}"
        )
    if any(pads):
        x = pg.pad(x, pads)
    cols = _windows(x, (kh, kw), stride, dilation)  # (N, C, kh*kw, H_out, W_out)
    cols = pg.reshape(cols, (n, groups, c_per_group * kh * kw, h_out * w_out))
    w_mat = pg.reshape(weight, (groups, o // groups, c_per_group * kh * kw))
    out = pg.reshape(pg.matmul(w_mat, cols), (n, o, h_out, w_out))
    if bias is not None:
        out = out + pg.reshape(bias, (o, 1, 1))
    return pg.squeeze(out, axis=0) if unbatched else out


def _pool_setup(
    who: str, x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any
) -> tuple:
    in_shape = x.shape
    x, unbatched = _batched(x, who)
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    padding, dilation = _pair(padding, "padding"), _pair(dilation, "dilation")
    for p, k, d in zip(padding, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(
                f"{who}: padding {padding} should be at most half of the effective kernel size "
                f"{kernel} (dilation {dilation})"
            )
    h, w = x.shape[-2:]
    sizes = [
        _out_size(n, k, s, p, d) for n, k, s, p, d in zip((h, w), kernel, stride, padding, dilation)
    ]
    if min(sizes) <= 0:
        raise ValueError(f"{who}: input of shape {in_shape} is too small for kernel {kernel}")
    return x, unbatched, kernel, stride, padding, dilation


def max_pool2d(
    x: Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> Tensor:
    """Maximum over each ``kernel_size`` window (stride defaults to the kernel size); padding
    is -inf. The gradient goes to the first maximum of each window, as in torch.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.max_pool2d(polygrad.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    x, unbatched, kernel, stride, padding, dilation = _pool_setup(
        "max_pool2d", x, kernel_size, stride, padding, dilation
    )
    if any(padding):
        ph, pw = padding
        x = pg.pad(x, (pw, pw, ph, ph), value=-math.inf)
    win = _windows(x, kernel, stride, dilation)  # (N, C, K, H_out, W_out)
    k = kernel[0] * kernel[1]
    first_max = pg.argmax(win, axis=2, keepdims=True)
    with creating_like(win):
        offsets = pg.reshape(pg.arange(k), (1, 1, k, 1, 1))
    out = pg.sum(pg.where(offsets == first_max, win, 0.0), axis=2)
    return pg.squeeze(out, axis=0) if unbatched else out


def avg_pool2d(
    x: Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each ``kernel_size`` window (stride defaults to the kernel size) of the
    zero-padded input; with ``count_include_pad=False`` padding is left out of the count.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.avg_pool2d(polygrad.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    x, unbatched, kernel, stride, padding, _ = _pool_setup(
        "avg_pool2d", x, kernel_size, stride, padding, 1
    )
    ph, pw = padding
    total = pg.sum(
        _windows(pg.pad(x, (pw, pw, ph, ph)) if ph or pw else x, kernel, stride, (1, 1)), axis=2
    )
    if divisor_override is not None:
        out = total / float(divisor_override)
    elif count_include_pad or not (ph or pw):
        out = total / float(kernel[0] * kernel[1])
    else:
        ones = pg.ones_like(x[:1, :1])
        counts = pg.sum(_windows(pg.pad(ones, (pw, pw, ph, ph)), kernel, stride, (1, 1)), axis=2)
        out = total / counts
    return pg.squeeze(out, axis=0) if unbatched else out


# ============================================================================================
# losses
# ============================================================================================
_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(who: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{who}: reduction must be 'mean', 'sum' or 'none', not {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return pg.mean(loss)
    if reduction == "sum":
        return pg.sum(loss)
    return loss


def _check_pair(who: str, x: Any, target: Any, float_target: bool = False) -> None:
    _as_tensor(x, who)
    _as_tensor(target, who, "target")
    _check_float(x, who)
    if float_target:
        _check_float(target, who, "target")
    if x.shape != target.shape:
        raise ValueError(
            f"{who}: input of shape {x.shape} and target of shape {target.shape} differ; "
            "they must have the same shape"
        )


def mse_loss(x: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Squared error ``(input - target) ** 2``, reduced by ``reduction``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.mse_loss(polygrad.tensor([1.0, 2.0]), polygrad.tensor([1.0, 4.0])).item()
    2.0
    """
    _check_reduction("mse_loss", reduction)
    _check_pair("mse_loss", x, target)
    d = x - target
    return _reduce(d * d, reduction)


def l1_loss(x: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Absolute error ``|input - target|``, reduced by ``reduction``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.l1_loss(polygrad.tensor([1.0, 2.0]), polygrad.tensor([1.0, 4.0])).item()
    1.0
    """
    _check_reduction("l1_loss", reduction)
    _check_pair("l1_loss", x, target)
    return _reduce(pg.abs(x - target), reduction)


# NOTE: torch's rule, not the derivative of the clamped logs: d loss / dp is
# (p - y) / max(p (1 - p), eps), finite at p = 0 and p = 1 where the logs were clamped; eps is
# torch's float32 1e-12, as a float64 number. The target's gradient uses the unclamped logs,
# as torch's does.
_BCE_EPS = 9.999999960041972e-13
class _BinaryCrossEntropy(Function):
    """Elementwise ``-(y log p + (1 - y) log(1 - p))`` with each log clamped at -100."""

    fresh = True

    def forward(self, xp, p, y):
        log_p = xp.clip(xp.log(p), min=-100.0)
        log_q = xp.clip(xp.log1p(-p), min=-100.0)
        return (y - 1.0) * log_q - y * log_p

    def backward(self, xp, g, p, y):
        needs = self.next
        gp = gy = None
        if needs[0] is not None:
            gp = g * (p - y) / xp.clip(p * (1.0 - p), min=_BCE_EPS)
        if needs[1] is not None:
            gy = g * (xp.log1p(-p) - xp.log(p))  # unclamped, as torch's (inf at p = 0 or 1)
        return gp, gy


def binary_cross_entropy(
    x: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """``-(y log p + (1 - y) log(1 - p))`` for probabilities ``p = input``; each log is
    clamped at -100 as in torch, so p of exactly 0 or 1 gives a finite loss.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> round(F.binary_cross_entropy(polygrad.tensor([0.5]), polygrad.tensor([1.0])).item(), 4)
    0.6931
    """
    _check_reduction("binary_cross_entropy", reduction)
    _check_pair("binary_cross_entropy", x, target, float_target=True)
    loss = _BinaryCrossEntropy()(x, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    x: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Binary cross-entropy of ``sigmoid(input)``, computed stably from the logits:
    ``(1 - y) x + (1 + (pos_weight - 1) y) * softplus(-x)`` with
    ``softplus(-x) = max(-x, 0) + log1p(exp(-|x|))``, which never overflows.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.binary_cross_entropy_with_logits(polygrad.tensor([800.0]), polygrad.tensor([1.0])).item()
    0.0
    """
    who = "binary_cross_entropy_with_logits"
    _check_reduction(who, reduction)
    _check_pair(who, x, target, float_target=True)
    neg_log_sigmoid = pg.maximum(-x, 0.0) + pg.log1p(pg.exp(-pg.abs(x)))
    if pos_weight is None:
        loss = (1.0 - target) * x + neg_log_sigmoid
    else:
        loss = (1.0 - target) * x + ((pos_weight - 1.0) * target + 1.0) * neg_log_sigmoid
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def _class_coefficients(
    who: str,
    x: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float = 0.0,
) -> tuple[int, Tensor, Tensor]:
    """Check class-index targets; return the class axis, the per-class coefficients ``coef``
    (loss = -sum over classes of coef * log p) and the mean's denominator.

    With weights w and smoothing e over C classes, as torch defines them:
    coef_c = (1 - e) w_y [c == y] + (e / C) w_c, zero for ignored targets; the mean divides
    by the sum of w_y over the targets not ignored.
    """
    _as_tensor(x, who)
    _as_tensor(target, who, "target")
    _check_float(x, who)
    if target.dtype.kind not in ("int", "uint"):
        raise TypeError(
            f"{who}: target must be an integer tensor of class indices, got dtype "
            f"{target.dtype.name}; convert it with target.long() (class-probability targets "
            "are not supported)"
        )
    if x.ndim == 0:
        raise ValueError(f"{who}: input must have a class dimension, got a 0-d tensor")
    axis = 0 if x.ndim == 1 else 1
    n_classes = x.shape[axis]
    expected = x.shape[:axis] + x.shape[axis + 1 :]
    if target.shape != expected:
        raise ValueError(
            f"{who}: input of shape {x.shape} needs a target of shape {expected}, "
            f"got {target.shape}"
        )
    if weight is not None and weight.shape != (n_classes,):
        raise ValueError(
            f"{who}: weight must have shape ({n_classes},), one per class, got {weight.shape}"
        )
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{who}: label_smoothing must be between 0 and 1, got {label_smoothing}")
    # The rest is bookkeeping with no gradient, done on the backend arrays directly: a dozen
    # polygrad ops here cost more than the whole fused loss on a small batch.
    xp = x._xp
    t = target.data
    if t.dtype != xp.int64:
        t = xp.astype(t, xp.int64)
    valid = t != ignore_index
    if target.numel() and bool(xp.any(valid & ((t < 0) | (t >= n_classes)))):  # a host sync
        flat, ok = target.numpy().reshape(-1), (target != ignore_index).numpy().reshape(-1)
        values = sorted({int(v) for v, keep in zip(flat, ok) if keep and not 0 <= v < n_classes})
        raise IndexError(
            f"{who}: target class indices {values} out of range for {n_classes} classes "
            f"(valid: 0..{n_classes - 1}, or ignore_index={ignore_index})"
        )
    class_shape = tuple(n_classes if i == axis else 1 for i in range(x.ndim))
    backend, device, dtype = xp.backend, x.device, x.data.dtype
    with backend.on(device):
        classes = xp.reshape(xp.arange(n_classes, dtype=xp.int64, device=device), class_shape)
    valid = xp.expand_dims(valid, axis=axis)
    onehot = xp.astype((xp.expand_dims(t, axis=axis) == classes) & valid, dtype)
    w = None if weight is None else xp.reshape(xp.astype(weight.data, dtype), class_shape)
    picked = onehot if w is None else onehot * w
    coef = picked * (1.0 - label_smoothing) if label_smoothing else picked
    if label_smoothing:
        spread = xp.astype(valid, dtype) * (label_smoothing / n_classes)
        coef = coef + (spread if w is None else spread * w)
    coef, denominator = Tensor._wrap(coef, xp), Tensor._wrap(xp.sum(picked), xp)
    return axis, coef, denominator


# NOTE: loss = -sum_c coef_c log_softmax(x)_c, so d loss / dx = sum(coef) softmax(x) - coef;
# the rule recomputes softmax from x, which keeps it exact under double backward.
class _SoftmaxCrossEntropy(Function):
    """Cross-entropy of ``softmax(x)`` against per-class coefficients, in one fused op."""

    fresh = True

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, xp, x, coef):
        z = x - xp.max(x, axis=self.axis, keepdims=True)
        log_p = z - xp.log(xp.sum(xp.exp(z), axis=self.axis, keepdims=True))
        # a class with coefficient 0 adds nothing, even where its logit is -inf (masked)
        return -xp.sum(coef * xp.where(coef == 0, xp.zeros_like(log_p), log_p), axis=self.axis)

    def backward(self, xp, g, x, coef):
        e = xp.exp(x - xp.max(x, axis=self.axis, keepdims=True))
        p = e / xp.sum(e, axis=self.axis, keepdims=True)
        total = xp.sum(coef, axis=self.axis, keepdims=True)
        return xp.expand_dims(g, axis=self.axis) * (p * total - coef), None


class _IndexCrossEntropy(Function):
    """Cross-entropy of logits (N, C) against class indices (N,), reduced by mean or sum, in
    one op: the common case, kept free of per-call bookkeeping. ``ignore_index`` rows count
    for nothing (the mean divides by the rows kept), as in torch."""

    fresh = True
    exact = True

    def __init__(self, ignore_index: int, reduction: str) -> None:
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, xp, x, target):
        n, c = x.shape
        backend = xp.backend
        device = backend.device_of(x)
        with backend.on(device):
            self.classes = xp.arange(c, dtype=target.dtype, device=device)
        # one host sync for the range check: the smallest and largest target together
        lo, hi = backend.to_numpy(xp.stack([xp.min(target), xp.max(target)])).tolist()
        ignored = lo <= self.ignore_index <= hi
        if not ignored and (lo < 0 or hi >= c) or ignored and self._bad(xp, backend, target, c):
            bad = backend.to_numpy(target)
            bad = bad[(bad != self.ignore_index) & ((bad < 0) | (bad >= c))]
            raise IndexError(
                f"cross_entropy: target class indices {sorted({int(v) for v in bad})} out of "
                f"range for {c} classes (valid: 0..{c - 1}, or ignore_index={self.ignore_index})"
            )
        # rows whose target is ignore_index count for nothing; without any, no mask at all
        self.valid = xp.astype(target != self.ignore_index, x.dtype) if ignored else None
        if self.reduction == "mean":
            self.count = xp.sum(self.valid) if ignored else float(n)
        else:
            self.count = None
        z = x - xp.max(x, axis=1, keepdims=True)
        onehot = xp.expand_dims(target, axis=1) == self.classes
        # loss_i = logsumexp(x_i) - x_i[target_i] = log(sum(exp(z_i))) - z_i[target_i]; picked
        # with where, not a product, so a masked (-inf) logit of another class adds nothing
        picked = xp.sum(xp.where(onehot, z, xp.zeros_like(z)), axis=1)
        rows = xp.log(xp.sum(xp.exp(z), axis=1)) - picked
        total = xp.sum(rows if self.valid is None else rows * self.valid)
        return total / self.count if self.count is not None else total

    def _bad(self, xp, backend, target, c):
        keep = target != self.ignore_index
        return bool(xp.any(keep & ((target < 0) | (target >= c))))

    def backward(self, xp, g, x, target):
        e = xp.exp(x - xp.max(x, axis=1, keepdims=True))
        p = e / xp.sum(e, axis=1, keepdims=True)
        onehot = xp.astype(xp.expand_dims(target, axis=1) == self.classes, p.dtype)
        scale = g / self.count if self.count is not None else g
        if self.valid is not None:
            scale = xp.expand_dims(self.valid, axis=1) * scale
        return (p - onehot) * scale, None


def cross_entropy(
    x: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between ``softmax(input)`` along the class axis and class-index targets,
    fused and numerically stable (log-softmax based), with torch's exact semantics.

    Parameters
    ----------
    input : Tensor
        Logits of shape (C,), (N, C) or (N, C, d1, ...).
    target : Tensor
        Integer class indices of shape (), (N,) or (N, d1, ...).
    weight : Tensor, optional
        A weight per class, shape (C,).
    ignore_index : int
        Targets equal to it contribute nothing, neither to the sum nor to the mean's count.
    reduction : {"mean", "sum", "none"}
        "mean" divides by the number of targets not ignored (by the sum of their class
        weights when ``weight`` is given).
    label_smoothing : float
        Mixes the one-hot target with the uniform distribution over the C classes.

    Raises
    ------
    TypeError
        If ``target`` is not an integer tensor (e.g. float class indices).
    IndexError
        If a target is outside ``[0, C)`` and not ``ignore_index`` (checked on the host).
    ValueError
        If the shapes of ``input``, ``target`` or ``weight`` do not fit together.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> logits = polygrad.tensor([[0.0, 0.0], [0.0, 0.0]])
    >>> round(F.cross_entropy(logits, polygrad.tensor([0, 1])).item(), 4)
    0.6931
    """
    who = "cross_entropy"
    _check_reduction(who, reduction)
    if (
        weight is None
        and not label_smoothing
        and reduction != "none"
        and isinstance(x, Tensor)
        and isinstance(target, Tensor)
        and x.ndim == 2
        and target.shape == x.shape[:1]
        and x.data.dtype in x._xp.floats
        and x._xp.isdtype(target.data.dtype, "integral")
    ):  # the common case, one fused op
        return _IndexCrossEntropy(ignore_index, reduction)(x, target)
    axis, coef, denominator = _class_coefficients(
        who, x, target, weight, ignore_index, label_smoothing
    )
    loss = _SoftmaxCrossEntropy(axis)(x, coef)
    if reduction == "mean":
        return pg.sum(loss) / denominator
    return pg.sum(loss) if reduction == "sum" else loss


def nll_loss(
    x: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood ``-input[target]`` of log-probabilities along the class axis;
    ``weight``, ``ignore_index`` and ``reduction`` as in :func:`cross_entropy`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.nll_loss(polygrad.tensor([[-1.0, -2.0]]), polygrad.tensor([1])).item()
    2.0
    """
    who = "nll_loss"
    _check_reduction(who, reduction)
    axis, coef, denominator = _class_coefficients(who, x, target, weight, ignore_index)
    # where, not x * coef alone: a masked (-inf) log-probability of another class adds nothing
    loss = -pg.sum(pg.where(coef == 0, pg.zeros_like(x), x) * coef, axis=axis)
    if reduction == "mean":
        return pg.sum(loss) / denominator
    return pg.sum(loss) if reduction == "sum" else loss
