"""In-place initializers for parameters, with torch's names, formulas and fan conventions.

Each one fills its tensor with numbers drawn by polygrad's seeded generator on the tensor's own
backend and device, under ``no_grad``, and returns the tensor.
"""

from __future__ import annotations

import math
from typing import Any

import polygrad as pg
from polygrad import Tensor

from .functional import creating_like

__all__ = [
    "calculate_gain",
    "calculate_fan_in_and_fan_out",
    "uniform_",
    "normal_",
    "constant_",
    "zeros_",
    "ones_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "trunc_normal_",
    "orthogonal_",
    "eye_",
    "dirac_",
]


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """torch's recommended gain for a nonlinearity (``"relu"`` gives sqrt(2)).

    Parameters
    ----------
    nonlinearity : str
        One of linear, conv1d, conv2d, conv3d, sigmoid, tanh, relu, leaky_relu, selu.
    param : float, optional
        The negative slope of ``leaky_relu`` (0.01 if None).

    Examples
    --------
    >>> import polygrad.nn as nn
    >>> nn.init.calculate_gain("tanh")
    1.6666666666666667
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"negative_slope {slope!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight: ``shape[1]`` and ``shape[0]`` times the receptive
    field size ``prod(shape[2:])``, torch's convention for Linear and Conv weights.

    Raises
    ------
    ValueError
        If the tensor has fewer than 2 dimensions.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.init.calculate_fan_in_and_fan_out(polygrad.empty(8, 3, 5, 5))
    (75, 200)
    """
    if tensor.ndim < 2:
        raise ValueError(
            f"fan in and fan out need a tensor with at least 2 dimensions, got shape {tensor.shape}"
        )
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out  # torch's (private) name


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', not {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor: Tensor, values: Tensor) -> Tensor:
    with pg.no_grad():
        tensor[...] = pg.astype(values, tensor.dtype, copy=False)
    return tensor


def _no_generator(generator: Any, who: str) -> None:
    if generator is not None:
        raise NotImplementedError(
            f"nn.init.{who}(generator=...): polygrad draws from its one seeded generator; "
            "seed it with polygrad.manual_seed instead"
        )


def uniform_(
    tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None
) -> Tensor:
    """Fill ``tensor`` in place with U(a, b) draws; returns it.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> w = nn.init.uniform_(polygrad.empty(1000), -2.0, 2.0)
    >>> -2.0 <= w.min().item() and w.max().item() < 2.0
    True
    """
    _no_generator(generator, "uniform_")
    with creating_like(tensor):
        u = pg.rand(tensor.shape, dtype=tensor.dtype)
    return _fill(tensor, u * (b - a) + a)


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None
) -> Tensor:
    """Fill ``tensor`` in place with N(mean, std**2) draws; returns it.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.init.normal_(polygrad.empty(2, 3), std=0.02).shape
    (2, 3)
    """
    _no_generator(generator, "normal_")
    with creating_like(tensor):
        z = pg.randn(tensor.shape, dtype=tensor.dtype)
    return _fill(tensor, z * std + mean)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill ``tensor`` in place with ``val``; returns it.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.init.constant_(polygrad.empty(2), 0.5).tolist()
    [0.5, 0.5]
    """
    return _fill(tensor, pg.full_like(tensor, val))


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` in place with zeros; returns it."""
    return _fill(tensor, pg.zeros_like(tensor))


def ones_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` in place with ones; returns it."""
    return _fill(tensor, pg.ones_like(tensor))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot uniform: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> w = nn.init.xavier_uniform_(polygrad.empty(30, 20))
    >>> w.abs().max().item() <= (6 / 50) ** 0.5
    True
    """
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot normal: N(0, std**2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """He uniform: U(-b, b) with ``b = gain * sqrt(3 / fan)``, ``gain`` from
    :func:`calculate_gain` (``a`` is the leaky_relu slope). ``a=sqrt(5)`` is the default init
    of torch's Linear and Conv weights, giving ``b = 1 / sqrt(fan_in)``.

    Examples
    --------
    >>> import math
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> w = nn.init.kaiming_uniform_(polygrad.empty(50, 16), a=math.sqrt(5))
    >>> w.abs().max().item() <= 1 / 4
    True
    """
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """He normal: N(0, std**2) with ``std = gain / sqrt(fan)``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.init.kaiming_normal_(polygrad.empty(4, 8), nonlinearity="relu").shape
    (4, 8)
    """
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def _normal_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Any = None,
) -> Tensor:
    """Fill ``tensor`` with draws of N(mean, std**2) truncated to ``[a, b]``, as torch's.

    Drawn by rejection (each entry is redrawn until it falls in ``[a, b]``), which gives
    exactly the truncated normal distribution that torch's inverse-CDF sampler gives.

    Raises
    ------
    ValueError
        If ``[a, b]`` holds less than 0.1% of the normal's mass (rejection would not end in
        reasonable time; torch warns there that the values may be incorrect).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> w = nn.init.trunc_normal_(polygrad.empty(1000), std=0.02, a=-0.04, b=0.04)
    >>> bool((w.abs() <= 0.04).all())
    True
    """
    _no_generator(generator, "trunc_normal_")
    mass = _normal_cdf((b - mean) / std) - _normal_cdf((a - mean) / std)
    if not mass >= 1e-3:
        raise ValueError(
            f"trunc_normal_: [a, b] = [{a}, {b}] holds {mass:.2g} of the mass of N({mean}, "
            f"{std}**2); polygrad's rejection sampler needs at least 0.1%"
        )
    with creating_like(tensor), pg.no_grad():
        out = pg.randn(tensor.shape, dtype=tensor.dtype) * std + mean
        bad = (out < a) | (out > b)
        while bool(pg.any(bad)):
            fresh = pg.randn(tensor.shape, dtype=tensor.dtype) * std + mean
            out = pg.where(bad, fresh, out)
            bad = (out < a) | (out > b)
    return _fill(tensor, out)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Fill ``tensor`` with a (semi-)orthogonal matrix times ``gain``, as torch's: the Q of the
    QR decomposition of a standard normal matrix of shape ``(rows, numel / rows)``, with the
    signs of R's diagonal folded in (so Q is Haar-distributed).

    Raises
    ------
    ValueError
        If the tensor has fewer than 2 dimensions.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> w = nn.init.orthogonal_(polygrad.empty(3, 5))
    >>> bool(polygrad.all(polygrad.abs(w @ w.T - polygrad.eye(3)) < 1e-5))
    True
    """
    _no_generator(generator, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    with creating_like(tensor), pg.no_grad():
        flat = pg.randn(rows, cols, dtype=tensor.dtype)
        if rows < cols:
            flat = flat.T
        q, r = pg.linalg.qr(flat)
        d = pg.linalg.diagonal(r)
        q = q * pg.sign(d)
        if rows < cols:
            q = q.T
    return _fill(tensor, pg.reshape(q, tensor.shape) * gain)


def eye_(tensor: Tensor) -> Tensor:
    """Fill the 2-D ``tensor`` with the identity matrix (ones on the diagonal), as torch's.

    Raises
    ------
    ValueError
        If the tensor is not 2-D.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.init.eye_(polygrad.empty(2, 3)).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    with creating_like(tensor):
        return _fill(tensor, pg.eye(*tensor.shape, dtype=tensor.dtype))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3-, 4- or 5-D convolution weight with the Dirac delta (the convolution then
    passes ``groups`` groups of its input channels through), as torch's.

    Raises
    ------
    ValueError
        If the tensor is not 3-, 4- or 5-D, or its first dimension is not divisible by
        ``groups``.
    """
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    out_channels = tensor.shape[0]
    if out_channels % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = out_channels // groups
    n = min(per_group, tensor.shape[1])
    centre = tuple(k // 2 for k in tensor.shape[2:])
    with pg.no_grad():
        tensor.zero_()
        for g in range(groups):
            for i in range(n):
                tensor[(g * per_group + i, i, *centre)] = 1
    return tensor
