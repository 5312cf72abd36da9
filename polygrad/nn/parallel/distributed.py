"""``DistributedDataParallel``: one model replica per process, gradients averaged in buckets
whose all-reduce is launched during the backward, as soon as the bucket's gradients are ready.

How it works (as torch's reducer): the parameters are grouped, last layer first (the order in
which a backward produces their gradients), into buckets of at most ``bucket_cap_mb``. Each
parameter has a post-accumulate-grad hook; when the last gradient of a bucket has been
accumulated, the bucket's gradients are flattened into one buffer and an asynchronous
``all_reduce(AVG)`` is launched, so it overlaps the rest of the backward. Buckets are launched in
the same order on every rank (a bucket waits for the ones before it), as MPI requires. When the
last bucket is launched, the backward waits for all of them and writes the averaged gradients
into each parameter's ``.grad``.

Memory (as torch's default, ``gradient_as_bucket_view=False``): each bucket owns one flat buffer,
allocated at its first use and reused every step; the gradients are copied into it, reduced in
place, and the averages copied back into the ``.grad`` arrays the backward made (in place, so a
``.grad`` never shares memory with the bucket or with another step's gradient). Allocating a
fresh multi-MB buffer per step instead cost ~40% of an MLP's step in page faults and heap
trimming. In a world of one process the average is the gradient itself: nothing is copied.

``state_dict``: as torch's, the keys carry the ``module.`` prefix of the wrapper, so checkpoints
load into torch's DDP and into this one; save ``ddp.module.state_dict()`` for a checkpoint that
loads into the bare model (what the examples do).
"""

from __future__ import annotations

import contextlib
import functools
import weakref
from collections.abc import Iterator
from typing import Any

from ... import distributed as dist
from ..._grad_mode import no_grad
from ..._tensor import Function, Tensor
from ..modules.module import Module


class _Bucket:
    """Parameters whose gradients are reduced together in one flat buffer."""

    def __init__(self, params: list[tuple[str, Tensor]]) -> None:
        self.params = params
        self.pending = len(params)
        self.work: Any = None
        self.flat: Tensor | None = None  # the reused flat buffer (None until first launched)
        self.numel = sum(p.numel() for _, p in params)


#: the size cap of the first gradient bucket (torch's ``dist._DEFAULT_FIRST_BUCKET_BYTES``)
FIRST_BUCKET_BYTES = 1024 * 1024


class _Reducer:
    """The per-iteration state of the gradient reduction (kept out of the Module's attribute
    walk, which would otherwise list its tensors as parameters)."""

    def __init__(self, named: list[tuple[str, Tensor]], cap_bytes: int) -> None:
        self.buckets: list[_Bucket] = []
        current: dict[Any, list] = {}  # dtype -> the bucket being filled
        sizes: dict[Any, int] = {}
        for name, p in reversed(named):
            nbytes = p.numel() * p.dtype.bits // 8
            group = current.setdefault(p.dtype, [])
            # as torch: the first bucket (the last layers' gradients, ready first) holds at most
            # FIRST_BUCKET_BYTES, so its all-reduce starts early in the backward
            cap = min(cap_bytes, FIRST_BUCKET_BYTES) if not self.buckets else cap_bytes
            if group and sizes[p.dtype] + nbytes > cap:
                self.buckets.append(_Bucket(group))
                group = current[p.dtype] = []
                sizes[p.dtype] = 0
            group.append((name, p))
            sizes[p.dtype] = sizes.get(p.dtype, 0) + nbytes
        self.buckets += [_Bucket(g) for g in current.values() if g]
        self.where = {id(p): b for b in self.buckets for _, p in b.params}
        self.ready: set[int] = set()
        self.unused: set[int] = set()
        self.launched = 0
        self.armed = False
        self.world = 0  # the number of processes, set by the wrapper

    def reset(self) -> None:
        for b in self.buckets:
            b.pending, b.work = len(b.params), None
        self.ready, self.unused, self.launched = set(), set(), 0


class DistributedDataParallel(Module):
    """Wrap ``module`` so that every process trains the same model on its share of the data.

    Parameters
    ----------
    module : Module
        The model; its parameters and buffers are broadcast from rank 0 at construction.
    bucket_cap_mb : float
        The size of a gradient bucket in MiB (default 25, as torch). As in torch, the first
        bucket (the last layers' gradients, which the backward produces first) holds at most
        1 MiB, so communication starts early in the backward.
    broadcast_buffers : bool
        Broadcast the buffers (e.g. BatchNorm's running statistics) from rank 0 before each
        forward.
    find_unused_parameters : bool
        Walk the graph after each forward to find parameters the output does not depend on, so
        their buckets do not wait for gradients that never come.

    Raises
    ------
    RuntimeError
        If no process group is initialized, or the ranks' models differ in parameter shapes.

    Examples
    --------
    >>> ddp = DistributedDataParallel(model)      # doctest: +SKIP
    >>> loss_fn(ddp(x), y).backward()             # grads averaged over all ranks
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if process_group is not None:
            raise NotImplementedError("DistributedDataParallel: only the default process group")
        if kwargs.get("static_graph") or kwargs.get("gradient_as_bucket_view"):
            raise NotImplementedError("DistributedDataParallel: static_graph, bucket views")
        dist.get_world_size()  # the clear error when init_process_group was not called
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        # every parameter (frozen ones too, as torch) and buffer: same shapes, rank 0's values
        everything = list(module.named_parameters()) + list(module.named_buffers())
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        _check_same_shapes(everything)
        with no_grad():
            for _, t in everything:
                dist.broadcast(t, src=0)
        cap = 25.0 if bucket_cap_mb is None else bucket_cap_mb
        self._reducer = _Reducer(named, int(cap * 1024 * 1024))
        self._reducer.world = dist.get_world_size()
        self._sync = True
        # the hooks hold the wrapper weakly, so a dropped DDP leaves nothing behind
        hook = functools.partial(_grad_ready, weakref.ref(self))
        self._hooks = [p.register_post_accumulate_grad_hook(hook) for _, p in named]

    # -- forward ---------------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        r = self._reducer
        if r.armed and r.ready:
            missing = [n for b in r.buckets for n, p in b.params if id(p) not in r.ready]
            raise RuntimeError(
                "DistributedDataParallel: expected to have finished reduction in the prior "
                f"iteration before starting a new one; parameters {missing[:5]} received no "
                "gradient: pass find_unused_parameters=True if the forward does not use "
                "every parameter"
            )
        if self.broadcast_buffers:
            with no_grad():
                for _, b in self.module.named_buffers():
                    dist.broadcast(b, src=0)
        r.reset()
        r.armed = self._sync and _grad_enabled()
        out = self.module(*args, **kwargs)
        if r.armed and self.find_unused_parameters:
            reached = _leaves_reached(out)
            for b in r.buckets:
                for _, p in b.params:
                    if id(p) not in reached:
                        r.unused.add(id(p))
                        self._mark_ready(p)
        return out

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Within this context, backward accumulates gradients locally without communication;
        the first synced backward after it averages the accumulated sums."""
        previous, self._sync = self._sync, False
        try:
            yield
        finally:
            self._sync = previous

    # -- the reduction ---------------------------------------------------------------------------
    def _mark_ready(self, p: Tensor) -> None:
        r = self._reducer
        if id(p) in r.ready:
            raise RuntimeError(
                "DistributedDataParallel: a parameter was marked ready twice in one iteration "
                f"(shape {tuple(p.shape)}): one backward per forward, or use no_sync()"
            )
        r.ready.add(id(p))
        r.where[id(p)].pending -= 1
        while r.launched < len(r.buckets) and r.buckets[r.launched].pending == 0:
            self._launch(r.buckets[r.launched])
            r.launched += 1
        if r.launched == len(r.buckets):
            self._finish()

    def _launch(self, bucket: _Bucket) -> None:
        r = self._reducer
        if r.world == 1:  # the average over one process is the gradient: nothing to do
            return
        ref = bucket.params[0][1]._data
        xp = bucket.params[0][1]._xp
        flat = _bucket_buffer(bucket, ref, xp)
        parts = []
        start = 0
        for _, p in bucket.params:
            n = p.numel()
            g = None if id(p) in r.unused or p.grad is None else xp.reshape(p.grad._data, (-1,))
            if flat is None:
                parts.append(xp.zeros(n, dtype=ref.dtype, device=_device(ref)) if g is None else g)
            elif g is None:
                flat[start : start + n] = 0
            else:
                flat[start : start + n] = g
            start += n
        if flat is None:  # arrays that cannot be written in place: a new buffer per step
            flat = xp.concat(parts)
        bucket.flat = Tensor._wrap(flat, xp)
        bucket.work = dist.all_reduce(bucket.flat, dist.ReduceOp.AVG, async_op=True)

    def _finish(self) -> None:
        r = self._reducer
        r.armed = False
        used_somewhere = None
        # was a locally unused parameter used on another rank? Every rank takes part in this
        # all-reduce whenever unused parameters are looked for, even one that used them all
        # (else the ranks' collectives would pair with each other's next ones)
        if self.find_unused_parameters and r.world > 1:
            xp = r.buckets[0].params[0][1]._xp
            flags = [0 if id(p) in r.unused else 1 for b in r.buckets for _, p in b.params]
            ref = r.buckets[0].params[0][1]._data
            used = Tensor._wrap(xp.asarray(flags, dtype=xp.int64, device=_device(ref)), xp)
            dist.all_reduce(used, dist.ReduceOp.MAX)
            used_somewhere = used.tolist()
        k = 0
        for b in r.buckets:
            if b.work is None:  # a world of one: the gradients already are the averages
                continue
            b.work.wait()
            xp, flat, start = b.flat._xp, b.flat._data, 0
            for _, p in b.params:
                n = p.numel()
                if used_somewhere is None or used_somewhere[k]:
                    _set_grad(p, xp.reshape(flat[start : start + n], p.shape), xp)
                start += n
                k += 1
            b.work = None
        r.ready = set()


def _bucket_buffer(bucket: _Bucket, ref: Any, xp: Any) -> Any:
    """The bucket's reused flat buffer (made again if the parameters changed dtype or device),
    or None where arrays cannot be written in place."""
    from array_api_compat import is_writeable_array

    flat = None if bucket.flat is None else bucket.flat._data
    if flat is None or flat.dtype != ref.dtype or _device(flat) != _device(ref):
        flat = xp.empty(bucket.numel, dtype=ref.dtype, device=_device(ref))
    return flat if is_writeable_array(flat) else None


def _set_grad(p: Tensor, avg: Any, xp: Any) -> None:
    """Write the averaged gradient ``avg`` (a view of the bucket) into ``p.grad``: in place
    into the array the backward made, else into a new array; never a view of the bucket."""
    from array_api_compat import is_writeable_array

    g = p.grad
    if g is not None and g._node is None and not g.requires_grad and is_writeable_array(g._data):
        g._data[...] = avg
        if g._vc is not None:
            g._vc[0] += 1
    else:
        p.grad = Tensor._wrap(xp.asarray(avg, copy=True), xp)


def _grad_ready(ddp_ref: Any, p: Tensor) -> None:
    """A parameter's post-accumulate hook: mark it ready if its wrapper is mid-iteration."""
    ddp = ddp_ref()
    if ddp is not None and ddp._reducer.armed:
        ddp._mark_ready(p)


def _device(a: Any) -> Any:
    from array_api_compat import device

    return device(a)


def _grad_enabled() -> bool:
    from ..._grad_mode import is_grad_enabled

    return is_grad_enabled()


def _leaves_reached(out: Any) -> set[int]:
    """ids of the leaf tensors the graph below ``out`` (tensors in any nesting) reaches."""
    stack: list[Any] = [out]
    seen: set[int] = set()
    reached: set[int] = set()
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            if x._node is None:
                reached.add(id(x))
            else:
                stack.append(x._node)
        elif isinstance(x, Function):
            if id(x) in seen or x.next is None:
                continue
            seen.add(id(x))
            for e in x.next:
                if isinstance(e, Function):
                    stack.append(e)
                elif e is not None:
                    reached.add(id(e))
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
    return reached


def _check_same_shapes(named: list[tuple[str, Tensor]]) -> None:
    """Every rank wraps a model with the same tensors' shapes (compared with MIN and MAX
    all-reduces of a signature vector), else a RuntimeError naming the first difference."""
    from ... import int64
    from ... import tensor as make_tensor

    signature = [len(named)]
    for _, t in named:
        signature += [t.ndim, *t.shape]
    count = make_tensor([len(signature)], dtype=int64)
    longest = make_tensor([len(signature)], dtype=int64)
    dist.all_reduce(count, dist.ReduceOp.MIN)
    dist.all_reduce(longest, dist.ReduceOp.MAX)
    n = int(longest.item())
    padded = signature + [-1] * (n - len(signature))
    low, high = make_tensor(padded, dtype=int64), make_tensor(padded, dtype=int64)
    dist.all_reduce(low, dist.ReduceOp.MIN)
    dist.all_reduce(high, dist.ReduceOp.MAX)
    if count.item() == n and low.tolist() == high.tolist():
        return
    differs = [i for i, (a, b) in enumerate(zip(low.tolist(), high.tolist())) if a != b]
    first = differs[0] if differs else min(n, len(signature))
    pos, where = 1, "the number of parameters and buffers"
    for name, t in named if first > 0 else ():  # 0: the counts differ
        end = pos + 1 + t.ndim
        if first < end:
            where = f"{name!r} (shape {tuple(t.shape)} on rank {dist.get_rank()})"
            break
        pos = end
    raise RuntimeError(
        "DistributedDataParallel: the model differs across ranks at " + where + "; every rank "
        "must build the same model"
    )
