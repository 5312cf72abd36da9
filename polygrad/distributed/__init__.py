"""Data-parallel communication with torch's ``torch.distributed`` API on MPI, gloo or NCCL.

Which engine runs a collective lives in ``_engines`` (the one file importing mpi4py,
``torch.distributed`` or CuPy's NCCL); this module checks arguments, turns Tensors into the
engine's buffers and back, and wraps requests into ``Work`` handles.

Buffers: NumPy arrays (and contiguous CPU torch tensors) are handed to MPI and gloo without a
copy, so the collective writes the Tensor's memory; CuPy arrays go to NCCL as device buffers;
array-api-strict arrays (and anything non-contiguous) go through a host copy that is written back
into the Tensor when the collective completes (``wait()`` for ``async_op=True``).

Example, run with ``mpiexec -n 2 python script.py``::

    import polygrad as pg
    import polygrad.distributed as dist

    dist.init_process_group()           # mpi under mpiexec
    t = pg.tensor([1.0 + dist.get_rank()])
    dist.all_reduce(t)                  # [3.0] on both ranks
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from .. import _unsupported
from .._tensor import Tensor
from . import _engines

__all__ = [
    "ReduceOp", "Work", "all_gather", "all_gather_into_tensor", "all_reduce", "barrier",
    "broadcast", "destroy_process_group", "gather", "get_backend", "get_rank", "get_world_size",
    "init_process_group", "irecv", "is_available", "is_initialized", "isend", "recv",
    "reduce_scatter_tensor", "scatter", "send",
]  # fmt: skip

#: torch's default process-group timeout
default_pg_timeout = timedelta(minutes=30)


class ReduceOp(enum.Enum):
    """How ``all_reduce`` and ``reduce_scatter_tensor`` combine the ranks' values."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


class DistributedError(RuntimeError, ValueError):
    """A process-group misuse: a RuntimeError, and a ValueError as torch raises for it."""


_state: dict[str, Any] = {"engine": None}


def _engine() -> Any:
    engine = _state["engine"]
    if engine is None:
        raise DistributedError(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    return engine


def is_available() -> bool:
    """True: ``polygrad.distributed`` exists (the engines are checked at init)."""
    return True


def is_mpi_available() -> bool:
    """True when mpi4py is importable."""
    return _engines.mpi_available()


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: timedelta | None = None,
    world_size: int = -1,
    rank: int = -1,
    **kwargs: Any,
) -> None:
    """Join the process group of this job, as ``torch.distributed.init_process_group``.

    Parameters
    ----------
    backend : {"mpi", "gloo", "nccl"}, optional
        The engine. None picks ``nccl`` on the cupy backend, ``mpi`` when launched by
        ``mpiexec`` (mpi4py installed), ``gloo`` when ``RANK`` and ``WORLD_SIZE`` are set, else
        ``mpi`` with a world of one process.
    init_method : str, optional
        gloo's rendezvous, default ``"env://"`` (``MASTER_ADDR``, ``MASTER_PORT``, ``RANK``,
        ``WORLD_SIZE``); MPI's ranks come from the launcher.
    timeout : datetime.timedelta, optional
        How long a collective may wait before the job is aborted (default 30 minutes).
    world_size, rank : int
        -1 reads them from the launcher; otherwise they must agree with it.

    Raises
    ------
    DistributedError
        If a process group is already initialized.
    """
    if _state["engine"] is not None:
        raise DistributedError("trying to initialize the default process group twice!")
    if kwargs.get("group_name") or kwargs.get("pg_options") or kwargs.get("store"):
        raise NotImplementedError("init_process_group: store, group_name, pg_options")
    if backend is None:
        from .._backend import get_backend as tensor_backend

        backend = _engines.default_backend(tensor_backend().name)
    engine = _engines.make_engine(
        backend.lower(), init_method, world_size, rank, timeout or default_pg_timeout
    )
    _state["engine"] = engine


def is_initialized() -> bool:
    """True between ``init_process_group`` and ``destroy_process_group``."""
    return _state["engine"] is not None


def get_rank(group: Any = None) -> int:
    """This process's rank in the group."""
    _check_group(group)
    return _engine().rank


def get_world_size(group: Any = None) -> int:
    """The number of processes in the group."""
    _check_group(group)
    return _engine().size


def get_backend(group: Any = None) -> str:
    """The engine's name: ``"mpi"``, ``"gloo"`` or ``"nccl"``."""
    _check_group(group)
    return _engine().name


def destroy_process_group(group: Any = None) -> None:
    """Leave the process group; a later ``init_process_group`` may join again (gloo)."""
    _check_group(group)
    engine = _engine()
    _state["engine"] = None
    engine.close()


def _check_group(group: Any) -> None:
    if group is not None:
        raise NotImplementedError("polygrad.distributed supports only the default group (None)")


class Work:
    """The handle of a collective launched with ``async_op=True``.

    ``wait()`` blocks until it completed (and its result is in the Tensors);
    ``is_completed()`` asks without blocking. ``wait``'s ``timeout`` is accepted for torch's
    signature; the limit that applies is the process group's (``init_process_group(timeout=)``).
    """

    def __init__(self, requests: Sequence[Any], finish: Callable[[Sequence[Any]], Any]) -> None:
        self._requests, self._finish, self._result = list(requests), finish, None

    def is_completed(self) -> bool:
        if self._finish is not None and all(r.test() for r in self._requests):
            self.wait()  # the result (AVG's division, the copy back) is in place once True
        return self._finish is None

    def wait(self, timeout: timedelta | None = None) -> bool:
        if self._finish is not None:
            statuses = [r.wait() for r in self._requests]
            finish, self._finish = self._finish, None
            self._result = finish(statuses)
        return True


def _launch(requests: Sequence[Any], finish: Callable, async_op: bool) -> Work | None:
    work = Work(requests, finish)
    if async_op:
        return work
    work.wait()
    return None


def _buffer(t: Tensor, name: str, what: str) -> tuple[Any, bool]:
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: {what} must be a polygrad Tensor, not {type(t).__name__}")
    return _engines.host_buffer(t._data, _engine())


def _written(t: Tensor, buf: Any, copied: bool) -> None:
    """Finish an in-place write of ``buf`` into ``t``: copy back if needed, bump its version."""
    if copied:
        _engines.write_back(t._data, t._xp, buf)
    if t._vc is not None:
        t._vc[0] += 1


def _same_kind(name: str, a: Tensor, b: Tensor, factor: int, a_what: str, b_what: str) -> None:
    """``a`` has ``factor`` times as many elements as ``b``, and the same dtype."""
    if a.dtype != b.dtype:
        raise TypeError(f"{name}: {a_what} is {a.dtype} but {b_what} is {b.dtype}")
    if a.numel() != factor * b.numel():
        raise RuntimeError(
            f"{name}: {a_what} of shape {tuple(a.shape)} must have world_size ({factor}) times "
            f"the elements of {b_what} of shape {tuple(b.shape)}"
        )


def _check_rank(name: str, what: str, r: int) -> None:
    size = _engine().size
    if not 0 <= r < size:
        raise ValueError(f"{name}: {what}={r} is not a rank of this world of {size}")


def all_reduce(
    tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Combine ``tensor`` across all ranks with ``op``; every rank gets the result, in place.

    Examples
    --------
    >>> import polygrad as pg, polygrad.distributed as dist  # doctest: +SKIP
    >>> t = pg.ones(3); dist.all_reduce(t, dist.ReduceOp.AVG)  # doctest: +SKIP
    """
    _check_group(group)
    op = ReduceOp(op)
    if op is ReduceOp.AVG and not tensor.dtype.is_floating_point:
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating dtype, got {tensor.dtype}")
    buf, copied = _buffer(tensor, "all_reduce", "tensor")
    size = _engine().size
    wire, how = buf, op.value
    if tensor.dtype.kind == "bool":
        # NOTE: as torch's NCCL backend: SUM and MAX of bools are a logical or, PRODUCT and
        # MIN a logical and (MPI reduces no bool type with them), on the bytes in place
        wire = _engines.as_bytes(buf)
        how = "max" if op in (ReduceOp.SUM, ReduceOp.MAX) else "min"

    def finish(_: Any) -> None:
        if op is ReduceOp.AVG:
            buf[...] /= size
        _written(tensor, buf, copied)

    return _launch([_engine().all_reduce(wire, how)], finish, async_op)


def broadcast(tensor: Tensor, src: int, group: Any = None, async_op: bool = False) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank."""
    _check_group(group)
    _check_rank("broadcast", "src", src)
    buf, copied = _buffer(tensor, "broadcast", "tensor")
    return _launch(
        [_engine().broadcast(buf, src)], lambda _: _written(tensor, buf, copied), async_op
    )


def all_gather_into_tensor(
    output_tensor: Tensor, input_tensor: Tensor, group: Any = None, async_op: bool = False
) -> Work | None:
    """Concatenate every rank's ``input_tensor`` (in rank order, along the first axis) into
    ``output_tensor`` on every rank."""
    _check_group(group)
    name = "all_gather_into_tensor"
    _same_kind(name, output_tensor, input_tensor, _engine().size, "output_tensor", "input_tensor")
    out, copied = _buffer(output_tensor, name, "output_tensor")
    inp, _ = _buffer(input_tensor, name, "input_tensor")
    return _launch(
        [_engine().all_gather(out, inp)], lambda _: _written(output_tensor, out, copied), async_op
    )


def all_gather(
    tensor_list: list[Tensor], tensor: Tensor, group: Any = None, async_op: bool = False
) -> Work | None:
    """Rank ``i``'s ``tensor`` into ``tensor_list[i]`` on every rank."""
    _check_group(group)
    size = _engine().size
    _check_list("all_gather", "tensor_list", tensor_list, tensor, size)
    inp, _ = _buffer(tensor, "all_gather", "tensor")
    out = _engines.empty_like_buffer(inp, size)

    def finish(_: Any) -> None:
        for i, t in enumerate(tensor_list):
            _written(t, out[i], True)

    return _launch([_engine().all_gather(out, inp)], finish, async_op)


def _check_list(name: str, what: str, tensors: Any, like: Tensor, size: int) -> None:
    if tensors is None or len(tensors) != size:
        n = "None" if tensors is None else len(tensors)
        raise ValueError(f"{name}: {what} must hold world_size ({size}) tensors, got {n}")
    for i, t in enumerate(tensors):
        if tuple(t.shape) != tuple(like.shape) or t.dtype != like.dtype:
            raise ValueError(
                f"{name}: {what}[{i}] is {tuple(t.shape)} {t.dtype} but the tensor is "
                f"{tuple(like.shape)} {like.dtype}"
            )


def reduce_scatter_tensor(
    output: Tensor,
    input: Tensor,  # noqa: A002 (torch's name)
    op: ReduceOp = ReduceOp.SUM,
    group: Any = None,
    async_op: bool = False,
) -> Work | None:
    """Reduce ``input`` (world_size blocks along the first axis) across ranks with ``op``; rank
    ``i`` gets block ``i`` in ``output``."""
    _check_group(group)
    op = ReduceOp(op)
    name = "reduce_scatter_tensor"
    _same_kind(name, input, output, _engine().size, "input", "output")
    out, copied = _buffer(output, name, "output")
    inp, _ = _buffer(input, name, "input")
    size = _engine().size

    def finish(_: Any) -> None:
        if op is ReduceOp.AVG:
            out[...] /= size
        _written(output, out, copied)

    return _launch([_engine().reduce_scatter(out, inp, op.value)], finish, async_op)


def gather(
    tensor: Tensor,
    gather_list: list[Tensor] | None = None,
    dst: int = 0,
    group: Any = None,
    async_op: bool = False,
) -> Work | None:
    """Rank ``i``'s ``tensor`` into ``gather_list[i]`` on rank ``dst`` (only)."""
    _check_group(group)
    _check_rank("gather", "dst", dst)
    engine = _engine()
    inp, _ = _buffer(tensor, "gather", "tensor")
    out = None
    if engine.rank == dst:
        _check_list("gather", "gather_list", gather_list, tensor, engine.size)
        out = _engines.empty_like_buffer(inp, engine.size)

    def finish(_: Any) -> None:
        if out is not None:
            for i, t in enumerate(gather_list):
                _written(t, out[i], True)

    return _launch([engine.gather(out, inp, dst)], finish, async_op)


def scatter(
    tensor: Tensor,
    scatter_list: list[Tensor] | None = None,
    src: int = 0,
    group: Any = None,
    async_op: bool = False,
) -> Work | None:
    """``scatter_list[i]`` of rank ``src`` into ``tensor`` on rank ``i``."""
    _check_group(group)
    _check_rank("scatter", "src", src)
    engine = _engine()
    out, copied = _buffer(tensor, "scatter", "tensor")
    inp = None
    if engine.rank == src:
        _check_list("scatter", "scatter_list", scatter_list, tensor, engine.size)
        inp = _engines.empty_like_buffer(out, engine.size)
        for i, t in enumerate(scatter_list):
            inp[i] = _buffer(t, "scatter", f"scatter_list[{i}]")[0].reshape(out.shape)
    return _launch([engine.scatter(out, inp, src)], lambda _: _written(tensor, out, copied),
                   async_op)  # fmt: skip


def isend(tensor: Tensor, dst: int, group: Any = None, tag: int = 0) -> Work:
    """Send ``tensor`` to rank ``dst`` without blocking; ``wait()`` on the handle."""
    _check_group(group)
    _check_rank("isend", "dst", dst)
    buf, _ = _buffer(tensor, "isend", "tensor")
    return Work([_engine().send(buf, dst, tag)], lambda _: None)


def irecv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0) -> Work:
    """Receive into ``tensor`` from rank ``src`` (any rank when None) without blocking."""
    _check_group(group)
    if src is not None:
        _check_rank("irecv", "src", src)
    buf, copied = _buffer(tensor, "irecv", "tensor")
    engine = _engine()

    def finish(statuses: Sequence[Any]) -> int:
        _written(tensor, buf, copied)
        return engine.source_of(statuses[0])

    return Work([engine.recv(buf, src, tag)], finish)


def send(tensor: Tensor, dst: int, group: Any = None, tag: int = 0) -> None:
    """Send ``tensor`` to rank ``dst``; returns once it may be reused."""
    isend(tensor, dst, group, tag).wait()


def recv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0) -> int:
    """Receive into ``tensor`` from ``src`` (any rank when None); returns the sender's rank."""
    work = irecv(tensor, src, group, tag)
    work.wait()
    return work._result


def barrier(group: Any = None, async_op: bool = False) -> Work | None:
    """Block until every rank reached this barrier."""
    _check_group(group)
    return _launch([_engine().barrier()], lambda _: None, async_op)


def is_torchelastic_launched() -> bool:
    """False: polygrad does not read torchelastic's launcher variables (torchrun's env://
    rendezvous variables are read by ``init_process_group`` all the same)."""
    return False


new_group = _unsupported.function(
    "torch.distributed.new_group", "polygrad has only the default process group (all ranks)"
)


def __getattr__(name: str) -> Any:
    raise _unsupported.missing_attribute("torch.distributed", name)
