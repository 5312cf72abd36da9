"""Gradient checking for users: polygrad's backward against central differences, in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ._autograd import grad as _grad
from ._dtypes import float64
from ._tensor import Tensor
from .ops import astype

__all__ = ["GradcheckError", "assert_close", "gradcheck", "gradgradcheck"]


class GradcheckError(AssertionError):
    """Raised when an analytical gradient disagrees with the numerical one."""


def _outputs(fn: Callable, inputs: Sequence[Any]) -> list[Tensor]:
    out = fn(*inputs)
    outs = [out] if isinstance(out, Tensor) else [o for o in out if isinstance(o, Tensor)]
    if not outs:
        raise TypeError("the function passed to gradcheck must return a Tensor or Tensors")
    return outs


def _flat(t: Tensor) -> Any:
    return t._xp.reshape(t._data, (-1,))


def _float64_inputs(inputs: Sequence[Any]) -> list[Any]:
    out = []
    for x in inputs:
        if isinstance(x, Tensor) and x.dtype.is_floating_point:
            y = astype(x.detach(), float64)
            y.requires_grad = x.requires_grad
            out.append(y)
        else:
            out.append(x)
    return out


def _one_hot(t: Tensor, j: int, scale: float) -> Any:
    """``scale`` at flat position j of an array shaped like ``t`` (on t's device), else 0."""
    xp = t._xp
    n = t.numel()
    hot = xp.arange(n, device=t.device) == j
    return xp.reshape(xp.astype(hot, t._data.dtype), t._data.shape) * scale


def gradcheck(
    fn: Callable,
    inputs: Sequence[Any] | Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Compare the gradients polygrad computes for ``fn`` with central differences.

    Every floating input with ``requires_grad`` is checked, element by element, against every
    output element: ``|analytical - numerical| <= atol + rtol * |numerical|``. Inputs are
    copied to float64 first, so a float32 function is checked at float64 precision.

    Parameters
    ----------
    fn : callable
        Takes the inputs and returns a Tensor or a tuple of Tensors.
    inputs : Tensor or sequence
        Tensors (those with ``requires_grad`` are checked) and any other arguments.
    eps : float
        Step of the central difference.
    atol, rtol : float
        Tolerances.
    raise_exception : bool
        Raise :class:`GradcheckError` on a mismatch (the default) instead of returning False.

    Returns
    -------
    bool
        True when every element agrees.

    Raises
    ------
    GradcheckError
        Naming the input, the output, the element and both values where they disagree.

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.testing import gradcheck
    >>> x = polygrad.randn(3, requires_grad=True)
    >>> gradcheck(lambda t: (t.sin() * t).sum(), [x])
    True
    """
    if isinstance(inputs, Tensor):
        inputs = [inputs]
    inputs = _float64_inputs(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck needs at least one input tensor with requires_grad=True")
    outs = _outputs(fn, inputs)

    # analytical Jacobian, one output element at a time
    analytic: dict[tuple[int, int, int, int], float] = {}
    for k, out in enumerate(outs):
        if not out.requires_grad:
            continue
        for i_out in range(out.numel()):
            seed = Tensor._wrap(_one_hot(out, i_out, 1.0), out._xp)
            grads = _grad(
                [out], [inputs[i] for i in checked], [seed], retain_graph=True, allow_unused=True
            )
            for i, gi in zip(checked, grads):
                if gi is not None:
                    for j, v in enumerate(gi.numpy().reshape(-1).tolist()):
                        analytic[(i, k, i_out, j)] = v

    # numerical Jacobian, one input element at a time
    for i in checked:
        x = inputs[i]
        original = x._data
        for j in range(x.numel()):
            step = _one_hot(x, j, eps)
            # not under no_grad: fn may itself differentiate (gradgradcheck's fn does)
            try:
                x._data = original + step
                plus = [o.numpy().reshape(-1) for o in _outputs(fn, inputs)]
                x._data = original - step
                minus = [o.numpy().reshape(-1) for o in _outputs(fn, inputs)]
            finally:
                x._data = original
            for k in range(len(outs)):
                numeric = (plus[k] - minus[k]) / (2 * eps)
                for i_out, num in enumerate(numeric.tolist()):
                    ana = analytic.get((i, k, i_out, j), 0.0)
                    if abs(ana - num) > atol + rtol * abs(num):
                        if not raise_exception:
                            return False
                        raise GradcheckError(
                            f"gradient mismatch for input {i} (shape {x.shape}) at flat element "
                            f"{j}, output {k} element {i_out}: analytical {ana:.10g}, numerical "
                            f"{num:.10g}, difference {abs(ana - num):.3g} > "
                            f"atol + rtol*|numerical| = {atol + rtol * abs(num):.3g}"
                        )
    return True


def gradgradcheck(
    fn: Callable,
    inputs: Sequence[Any] | Tensor,
    grad_outputs: Sequence[Tensor] | Tensor | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check second derivatives: gradcheck applied to the (recorded) backward of ``fn``.

    The backward ``v -> J(x)^T v`` is a function of the inputs ``x`` and the upstream gradient
    ``v``; its own gradients are compared with central differences. ``grad_outputs`` are the
    ``v`` (random normal if None).

    Raises
    ------
    GradcheckError
        As :func:`gradcheck`, where a second derivative disagrees.
    """
    if isinstance(inputs, Tensor):
        inputs = [inputs]
    inputs = _float64_inputs(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outs = _outputs(fn, inputs)
    if grad_outputs is None:
        from ._creation import randn

        grad_outputs = [
            randn(o.shape, dtype=float64, device=o.device, requires_grad=True) for o in outs
        ]
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    vs = _float64_inputs(grad_outputs)
    for v in vs:
        v.requires_grad = True
    n = len(inputs)

    def backward_fn(*args: Any) -> tuple[Tensor, ...]:
        xs, v = list(args[:n]), list(args[n:])
        grads = _grad(
            _outputs(fn, xs), [xs[i] for i in checked], v, create_graph=True, allow_unused=True
        )
        return tuple(g for g in grads if g is not None)

    return gradcheck(backward_fn, [*inputs, *vs], eps, atol, rtol, raise_exception)


#: torch.testing.assert_close's default (rtol, atol) per dtype; integers and bool compare exactly
_TOLERANCES = {
    "float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7),
}  # fmt: skip


def assert_close(
    actual: Any, expected: Any, *, rtol: float | None = None, atol: float | None = None,
    equal_nan: bool = False, check_dtype: bool = True, msg: str | None = None, **ignored: Any,
) -> None:  # fmt: skip
    """torch.testing.assert_close for tensors and numbers: same shape, same dtype (unless
    ``check_dtype=False``), ``|actual - expected| <= atol + rtol * |expected|`` elementwise
    with torch's default tolerances per dtype.

    Raises
    ------
    AssertionError
        If they differ; ValueError if only one of ``rtol``/``atol`` is given.

    Examples
    --------
    >>> import polygrad
    >>> polygrad.testing.assert_close(polygrad.ones(2), polygrad.ones(2) + 1e-7)
    """
    from ._creation import tensor
    from .ops import abs as _abs
    from .ops import isnan
    from .ops import max as _max
    from .ops import sum as _sum

    if (rtol is None) != (atol is None):
        raise ValueError("Both 'rtol' and 'atol' must be either specified or omitted")
    a = actual if isinstance(actual, Tensor) else tensor(actual)
    e = expected if isinstance(expected, Tensor) else tensor(expected, device=a.device)
    if a.shape != e.shape:
        raise AssertionError(
            msg or f"The values for attribute 'shape' do not match: {a.shape} != {e.shape}."
        )
    if check_dtype and a.dtype != e.dtype:
        raise AssertionError(
            msg or f"The values for attribute 'dtype' do not match: {a.dtype} != {e.dtype}."
        )
    if rtol is None:
        rtol, atol = _TOLERANCES.get(a.dtype.name, (0.0, 0.0))
    a, e = a.detach(), e.detach()
    if a.dtype != e.dtype:
        e = astype(e, a.dtype)
    a64, e64 = astype(a, float64), astype(e, float64)
    diff = _abs(a64 - e64)
    close = (a64 == e64) | (diff <= atol + rtol * _abs(e64))
    if equal_nan:
        close = close | (isnan(a64) & isnan(e64))
    n_bad = int(_sum(astype(~close, float64)).item())
    if n_bad:
        worst = float(_max(diff).item())
        raise AssertionError(
            msg
            or f"Tensor-likes are not close!\n\nMismatched elements: {n_bad} / {a.numel()} "
            f"({100 * n_bad / max(a.numel(), 1):.1f}%)\nGreatest absolute difference: {worst} "
            f"(up to {atol} allowed)\nrtol {rtol}"
        )
