# ruff: noqa: E501, A001, A002, A004
"""torch's creation and random functions not in ``_creation``: ``*_like`` with dtype/device,
``randperm``, ``randint`` in both forms, ``multinomial``, ``bernoulli``, ``normal``."""

from __future__ import annotations

from typing import Any

from .. import _backend, _creation, _dtypes
from .._creation import _random, _size, tensor_like
from .._tensor import Tensor


def _rng(generator: Any) -> Any:
    return _backend.rng() if generator is None else generator._rng


def _like(input: Tensor, dtype: Any, device: Any) -> tuple:  # noqa: A002
    return (
        dtype if dtype is not None else input.dtype,
        device if device is not None else input.device,
    )


def zeros_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002, E501
    """torch.zeros_like."""
    d, dev = _like(input, dtype, device)
    return _creation.full(input.shape, 0, dtype=d, device=dev, requires_grad=requires_grad)


def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002, E501
    """torch.ones_like."""
    d, dev = _like(input, dtype, device)
    return _creation.full(input.shape, 1, dtype=d, device=dev, requires_grad=requires_grad)


empty_like = zeros_like


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002, E501
    """torch.full_like."""
    d, dev = _like(input, dtype, device)
    return _creation.full(input.shape, fill_value, dtype=d, device=dev, requires_grad=requires_grad)


def rand_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002, E501
    """torch.rand_like."""
    d, dev = _like(input, dtype, device)
    return _creation.rand(input.shape, dtype=d, device=dev, requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002, E501
    """torch.randn_like."""
    d, dev = _like(input, dtype, device)
    return _creation.randn(input.shape, dtype=d, device=dev, requires_grad=requires_grad)


def randint(*args: Any, size: Any = None, generator: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: E501
    """torch.randint: ``randint(high, size)`` or ``randint(low, high, size)``, int64."""
    args = list(args)
    if size is None:
        if not args or hasattr(args[-1], "__index__"):
            raise TypeError("randint() missing the size argument")
        size = args.pop()
    low, high = (0, args[0]) if len(args) == 1 else args
    if high <= low:
        raise RuntimeError(f"randint: expected low < high, got low={low}, high={high}")
    draw = _rng(generator).integers(low, high, size=_size((size,), "randint"))
    return _random(draw, _dtypes.to_dtype(dtype or _dtypes.int64), device, requires_grad)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *, dtype: Any = None, device: Any = None) -> Tensor:  # noqa: A002, E501
    """torch.randint_like: ``randint_like(x, high)`` or ``randint_like(x, low, high)``."""
    if high is None:
        low, high = 0, low
    d, dev = _like(input, dtype, device)
    return randint(low, high, input.shape, dtype=d, device=dev)


def randperm(n: int, *, generator: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: E501
    """torch.randperm: a random permutation of ``0 .. n-1`` (int64)."""
    draw = _rng(generator).permutation(int(n))
    return _random(draw, _dtypes.to_dtype(dtype or _dtypes.int64), device, requires_grad)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None) -> Tensor:  # noqa: A002, E501
    """torch.multinomial: indices drawn by the (unnormalized) weights in each row of ``input``."""
    w = input.numpy().astype("float64")
    rows = w.reshape(-1, w.shape[-1]) if w.ndim else None
    if rows is None or w.ndim > 2:
        raise RuntimeError(f"multinomial: expected a 1-D or 2-D tensor, got {input.shape}")
    if (rows < 0).any() or not (rows.sum(-1) > 0).all():
        raise RuntimeError("multinomial: weights must be non-negative with a positive sum")
    if not replacement and num_samples > (rows > 0).sum(-1).min():
        raise RuntimeError(
            f"multinomial: cannot draw {num_samples} samples without replacement from "
            f"{int((rows > 0).sum(-1).min())} categories with nonzero weight"
        )
    rng = _rng(generator)
    out = [rng.choice(len(r), size=num_samples, replace=replacement, p=r / r.sum()) for r in rows]
    data = [[int(i) for i in p] for p in out]
    return tensor_like(data if w.ndim == 2 else data[0], input, dtype=_dtypes.int64)


def bernoulli(input: Tensor, p: float | None = None, *, generator: Any = None) -> Tensor:  # noqa: A002
    """torch.bernoulli: 1 with probability ``input`` (or ``p``), else 0, in input's dtype."""
    probs = input.numpy() if p is None else p
    draw = _rng(generator).random(input.shape) < probs
    return tensor_like(draw, input, dtype=input.dtype)


def normal(mean: Any, std: Any = 1.0, size: Any = None, *, generator: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: E501
    """torch.normal: tensors of means and/or stds, or two numbers and a ``size``."""
    like = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    if like is None:
        if size is None:
            raise TypeError("normal(mean: float, std: float) needs a size")
        draw = _rng(generator).normal(mean, std, _size((size,), "normal"))
        return _random(draw, _dtypes.to_dtype(dtype or _dtypes.default_float), device, requires_grad)
    m = mean.numpy() if isinstance(mean, Tensor) else mean
    s = std.numpy() if isinstance(std, Tensor) else std
    draw = _rng(generator).normal(m, s)
    return tensor_like(draw, like, dtype=like.dtype)


def from_numpy(ndarray: Any) -> Tensor:
    """torch.from_numpy: a tensor of the array's dtype (shares memory on the numpy backend)."""
    backend, _ = _backend.active()
    if backend.name == "numpy":
        return Tensor(ndarray)
    return _creation.tensor(ndarray)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """torch.as_tensor: ``data`` itself if it is already a matching Tensor."""
    return _creation.asarray(data, dtype=dtype, device=device)
