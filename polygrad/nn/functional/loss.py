"""The losses: mse, l1, binary cross-entropy (with logits), cross-entropy and nll."""

from __future__ import annotations

from typing import Any

import polygrad as pg
from polygrad import Function, Tensor, _capture

from ._utils import _as_tensor, _check_float

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


def _check_class_args(who: str, weight: Any, n_classes: int, label_smoothing: float) -> None:
    """torch's RuntimeErrors for a class ``weight`` of the wrong shape and ``label_smoothing``
    outside ``[0, 1]``."""
    if weight is not None and weight.shape != (n_classes,):
        raise RuntimeError(
            f"{who}: weight must have shape ({n_classes},), one per class, got {weight.shape}"
        )
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(
            f"{who}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}"
        )


@_capture.pure  # polygrad.compile runs it (and its target check) again on each replay
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
    if target.dtype.kind not in ("int", "uint"):  # torch: RuntimeError, Long expected
        raise RuntimeError(
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
        # torch: ValueError for another batch size, RuntimeError for another number of axes
        raise (ValueError if target.ndim == len(expected) else RuntimeError)(
            f"{who}: input of shape {x.shape} needs a target of shape {expected}, "
            f"got {target.shape}"
        )
    _check_class_args(who, weight, n_classes, label_smoothing)
    # The rest is bookkeeping with no gradient, done on the backend arrays directly: a dozen
    # polygrad ops here cost more than the whole fused loss on a small batch.
    xp = x._xp
    t = target._data
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
    backend, device, dtype = xp.backend, x.device, x._data.dtype
    with backend.on(device):
        classes = xp.reshape(xp.arange(n_classes, dtype=xp.int64, device=device), class_shape)
    valid = xp.expand_dims(valid, axis=axis)
    onehot = xp.astype((xp.expand_dims(t, axis=axis) == classes) & valid, dtype)
    w = None if weight is None else xp.reshape(xp.astype(weight._data, dtype), class_shape)
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
        gx = xp.expand_dims(g, axis=self.axis) * (p * total - coef)
        # a row whose coefficients are all zero (an ignored target) adds nothing to the loss,
        # so its gradient is zero even when g is inf (a mean over no targets, as torch's)
        return xp.where(total == 0, xp.zeros_like(gx), gx), None


_CONSTANTS: dict[tuple, tuple] = {}


def _class_constants(xp: Any, device: Any, c: int, index_dtype: Any, dtype: Any) -> tuple:
    """``arange(c)`` of the targets' dtype and ``ones(c)`` of the logits' dtype on ``device``,
    made once per (backend, device, c, dtypes) and then shared: every user only reads them
    (comparisons, a matmul), so sharing them is safe, and it saves two allocations and two
    device contexts on every call of the index cross-entropy."""
    try:
        key = (xp.backend.name, device, c, index_dtype, dtype)
        hit = _CONSTANTS.get(key)
    except TypeError:  # an unhashable device or dtype: make them each time
        key = hit = None
    if hit is None:
        with xp.backend.on(device):
            hit = (
                xp.arange(c, dtype=index_dtype, device=device),
                xp.ones((c,), dtype=dtype, device=device),
            )
        if key is not None:
            if len(_CONSTANTS) >= 64:
                _CONSTANTS.clear()
            _CONSTANTS[key] = hit
    return hit


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
        self.classes, ones = _class_constants(xp, device, c, target.dtype, x.dtype)
        # one host sync for the range check: the smallest and largest target together
        lo, hi = backend.extrema(target)
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
        # loss_i = logsumexp(x_i) - x_i[target_i] = log(sum(exp(z_i))) - z_i[target_i]; the
        # target's logit gathered, so a masked (-inf) logit of another class adds nothing
        # (an ignored row gathers class 0 instead, and its loss is replaced by 0 below)
        keep = target != self.ignore_index if ignored else None
        index = xp.where(keep, target, 0) if ignored else target
        picked = backend.pick_rows(z, index)
        # exp(z) and its row sums are kept for a first-order backward; the row sums as a
        # product with ones, which NumPy's short-row reduction is several times slower than
        self.e = e = xp.exp(z)
        self.sum_e = xp.expand_dims(xp.matmul(e, ones), axis=1)
        rows = xp.log(xp.reshape(self.sum_e, (n,))) - picked
        total = xp.sum(rows if keep is None else xp.where(keep, rows, 0.0))
        return total / self.count if self.count is not None else total

    def _bad(self, xp, backend, target, c):
        keep = target != self.ignore_index
        return bool(xp.any(keep & ((target < 0) | (target >= c))))

    def backward(self, xp, g, x, target):
        scale = g / self.count if self.count is not None else g
        if isinstance(x, Tensor):  # create_graph=True: recompute from x, so it is recorded
            e = xp.exp(x - xp.max(x, axis=1, keepdims=True))
            p = e / xp.sum(e, axis=1, keepdims=True)
            onehot = xp.astype(xp.expand_dims(target, axis=1) == self.classes, p.dtype)
            gx = (p - onehot) * scale
        else:  # the forward's exp(z) and sums: softmax - onehot, then the scale, in place
            gx = self.e / self.sum_e
            gx -= xp.astype(xp.expand_dims(target, axis=1) == self.classes, gx.dtype)
            gx *= scale
        if self.valid is not None:  # ignored rows get zero, even when the count is 0 (inf scale)
            keep = xp.expand_dims(self.valid, axis=1) != 0
            gx = xp.where(keep, gx, xp.zeros_like(gx))
        return gx, None


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
        Integer class indices of shape (), (N,) or (N, d1, ...), or class probabilities: a
        float tensor of the input's shape (then "mean" divides by the number of positions,
        ``ignore_index`` is refused as in torch, and the target gets a gradient).
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
        and x.shape[0] > 0
        and x._data.dtype in x._xp.floats
        and x._xp.isdtype(target._data.dtype, "integral")
    ):  # the common case, one fused op
        return _IndexCrossEntropy(ignore_index, reduction)(x, target)
    if isinstance(target, Tensor) and target.dtype.is_floating_point:
        return _probability_cross_entropy(x, target, weight, ignore_index, reduction,
                                          label_smoothing)  # fmt: skip
    axis, coef, denominator = _class_coefficients(
        who, x, target, weight, ignore_index, label_smoothing
    )
    loss = _SoftmaxCrossEntropy(axis)(x, coef)
    if reduction == "mean":
        return pg.sum(loss) / denominator
    return pg.sum(loss) if reduction == "sum" else loss


def _probability_cross_entropy(
    x: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
) -> Tensor:
    """Cross-entropy against class probabilities (a float target of the input's shape), as
    torch: loss = -sum_c w_c ((1 - e) t_c + e / C) log_softmax(x)_c per position; "mean"
    divides by the number of positions (not by the weights). Differentiable in the target."""
    who = "cross_entropy"
    _as_tensor(x, who)
    _check_float(x, who)
    if ignore_index >= 0:  # torch: a negative one is accepted and has nothing to ignore
        raise RuntimeError(
            f"{who}: ignore_index is not supported for floating point target (got "
            f"ignore_index={ignore_index})"
        )
    if x.ndim == 0:
        raise ValueError(f"{who}: input must have a class dimension, got a 0-d tensor")
    if target.shape != x.shape:
        raise RuntimeError(
            f"{who}: a float target holds class probabilities and must have the input's shape "
            f"{x.shape}, got {target.shape} of dtype {target.dtype.name}; class indices must be "
            "an integer tensor (target.long())"
        )
    if target.dtype != x.dtype:
        target = target.to(x.dtype)
    axis = 0 if x.ndim == 1 else 1
    n_classes = x.shape[axis]
    _check_class_args(who, weight, n_classes, label_smoothing)
    coef = target * (1.0 - label_smoothing) + label_smoothing / n_classes
    if weight is not None:
        shape = tuple(n_classes if i == axis else 1 for i in range(x.ndim))
        coef = coef * pg.reshape(weight, shape)
    if target.requires_grad:  # composed, so the target gets its gradient too
        from .activation import log_softmax

        loss = -pg.sum(coef * log_softmax(x, dim=axis), dim=axis)
    else:
        loss = _SoftmaxCrossEntropy(axis)(x, coef)
    if reduction == "mean":  # over the positions; an empty input gives nan, as torch
        return pg.sum(loss) / (x.numel() // max(1, n_classes))
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
