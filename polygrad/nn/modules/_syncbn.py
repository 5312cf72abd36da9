"""SyncBatchNorm: batch normalization whose statistics span every rank of the process group."""

from __future__ import annotations

from typing import Any

import polygrad as pg
from polygrad import Tensor

from ... import distributed as dist
from ...autograd.function import Function, once_differentiable
from .. import functional as F
from .module import Module
from .normalization import _BatchNorm, _InstanceNorm


def _layout(x: Tensor) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The reduced axes (all but channel axis 1) and the broadcast shape of a per-channel row."""
    return (0,) + tuple(range(2, x.ndim)), (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _summed(t: Tensor, group: Any) -> Tensor:
    """``t`` summed over the ranks (a fresh Tensor: the collective writes in place)."""
    t = pg.clone(t)
    dist.all_reduce(t, dist.ReduceOp.SUM, group=group)
    return t


# NOTE: the statistics are the two-pass ones of one process over the concatenated batch: a
# first all_reduce of (per-channel sums, count) gives the global mean, a second one of the
# squared deviations from it the global biased variance. Summing counts handles uneven (and
# empty) shards exactly; unlike one all_reduce of sums of squares there is no E[x^2] - E[x]^2
# cancellation in float32. torch all_gathers per-rank (mean, invstd, count) instead.
class _SyncBatchNormFunction(Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor | None, bias: Tensor | None,
                running_mean: Tensor | None, running_var: Tensor | None, eps: float,
                momentum: float, group: Any) -> Tensor:  # fmt: skip
        axes, shape = _layout(x)
        c = x.shape[1]
        first = pg.cat([pg.sum(x, axis=axes), pg.full((1,), x.numel() // c, dtype=x.dtype,
                                                      device=x.device)])  # fmt: skip
        first = _summed(first, group)
        total = int(first[c].item())
        if total == 0:  # every rank's shard is empty: as batch_norm on an empty batch
            ctx.empty = True
            ctx.save_for_backward(x, weight, bias)
            return pg.clone(x)
        mean = pg.reshape(first[:c] / total, shape)
        xmu = x - mean
        var = _summed(pg.sum(xmu * xmu, axis=axes), group) / total
        if running_mean is not None and running_var is not None:
            if total == 1:
                raise ValueError(
                    f"SyncBatchNorm: expected more than 1 value per channel over all ranks "
                    f"when training, got input of shape {x.shape} and 1 value in all"
                )
            new_mean = running_mean * (1.0 - momentum) + pg.reshape(mean, (c,)) * momentum
            new_var = running_var * (1.0 - momentum) + var * (momentum * total / (total - 1))
            running_mean[...] = pg.astype(new_mean, running_mean.dtype)
            running_var[...] = pg.astype(new_var, running_var.dtype)
        invstd = pg.reshape(1.0 / pg.sqrt(var + eps), shape)
        ctx.empty, ctx.total, ctx.group = False, total, group
        ctx.save_for_backward(xmu, invstd, weight)
        out = xmu * invstd
        if weight is not None:
            out = out * pg.reshape(weight, shape)
        if bias is not None:
            out = out + pg.reshape(bias, shape)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, g: Tensor) -> tuple:
        none = (None,) * 5
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if ctx.empty:  # zeros, not None, so DDP's buckets still fill on every rank
            zeros = [pg.zeros_like(t) if t is not None and need else None
                     for t, need in zip(ctx.saved_tensors, (need_x, need_w, need_b))]  # fmt: skip
            return (*zeros, *none)
        xmu, invstd, weight = ctx.saved_tensors
        axes, shape = _layout(g)
        c = g.shape[1]
        sum_dy = pg.sum(g, axis=axes)
        sum_dy_xmu = pg.sum(g * xmu, axis=axes)
        # weight and bias get this rank's share only: DDP averages them as any gradient
        grad_w = sum_dy_xmu * pg.reshape(invstd, (c,)) if need_w else None
        grad_b = sum_dy if need_b else None
        grad_x = None
        if need_x:
            both = _summed(pg.cat([sum_dy, sum_dy_xmu]), ctx.group) / ctx.total
            mean_dy = pg.reshape(both[:c], shape)
            mean_dy_xmu = pg.reshape(both[c:], shape)
            scale = invstd if weight is None else invstd * pg.reshape(weight, shape)
            grad_x = (g - mean_dy - xmu * (invstd * invstd) * mean_dy_xmu) * scale
        return (grad_x, grad_w, grad_b, *none)


class SyncBatchNorm(_BatchNorm):
    """Batch normalization whose batch statistics are taken over every rank, as
    ``torch.nn.SyncBatchNorm``.

    In training, under an initialized process group of more than one rank, the mean and
    variance of each channel are those of the concatenated global batch (ranks may hold
    different batch sizes, even empty ones), so the output and the running statistics equal a
    single-process BatchNorm on all ranks' data; backward all-reduces the per-channel sums the
    input gradient needs (the weight and bias gradients stay per rank, for DDP to average).
    In eval, or without a process group (or with one rank), it is plain batch norm. Inputs
    are (N, C, ...) with any number of trailing axes. Unlike torch, which requires GPU inputs
    for synchronization, it synchronizes on every backend (MPI, gloo or NCCL, as the process
    group is); only the default group (``process_group=None``) is supported.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> bn = nn.SyncBatchNorm(3)
    >>> bn(polygrad.randn(4, 3, 2)).shape  # no process group: BatchNorm
    (4, 3, 2)
    >>> model = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm1d(3)))
    >>> type(model[0]).__name__
    'SyncBatchNorm'
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group: Any = None,
                 device: Any = None, dtype: Any = None, *, bias: bool = True) -> None:  # fmt: skip
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)  # fmt: skip
        self.process_group = process_group

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {x.ndim}D input)")
        if x.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")
        if x.shape[1] != self.num_features:
            # torch's message comes from batch_norm's check of the running statistics
            raise RuntimeError(
                f"{self._header()}: expected input of shape (N, C, ...) with "
                f"C={self.num_features}, got shape {x.shape}"
            )
        factor = self._count_batch()
        batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        running_mean = self.running_mean if track else None
        running_var = self.running_var if track else None
        sync = self.training and dist.is_initialized()
        if not sync or dist.get_world_size(self.process_group) == 1:
            return F.batch_norm(x, running_mean, running_var, self.weight, self.bias,
                                batch_stats, factor, self.eps)  # fmt: skip
        stats = (running_mean, running_var, self.eps, factor, self.process_group)
        return _SyncBatchNormFunction.apply(x, self.weight, self.bias, *stats)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """Replace every BatchNorm layer in ``module`` (recursively) by a SyncBatchNorm that
        shares its weight, bias and running statistics and keeps its training flag, as torch.

        Returns the module itself with its layers replaced, or a new SyncBatchNorm when
        ``module`` is a BatchNorm layer. Instance norms stay as they are.

        Examples
        --------
        >>> import polygrad.nn as nn
        >>> net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
        >>> net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
        >>> [type(m).__name__ for m in net]
        ['Linear', 'SyncBatchNorm']
        """
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, _InstanceNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group,
                      bias=module.bias is not None)  # fmt: skip
            if module.affine:
                out.weight, out.bias = module.weight, module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out
