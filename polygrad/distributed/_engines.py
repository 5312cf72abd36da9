"""The communication engines behind ``polygrad.distributed``: MPI (mpi4py), gloo
(``torch.distributed``) and NCCL (CuPy). The only file that imports any of them.

Every engine takes contiguous host NumPy buffers (MPI and gloo; gloo wraps them with
``torch.from_numpy``, which shares the memory) and returns a *request* with ``test()`` and
``wait()``; ``polygrad.distributed`` turns Tensors into those buffers and requests into
``Work`` handles.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from datetime import timedelta
from typing import Any

import numpy as np

#: environment variables that MPICH's and Open MPI's launchers set in each process
_MPI_LAUNCH_VARS = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "MPI_LOCALRANKID")


def launched_by_mpiexec() -> bool:
    """True when this process was started by ``mpiexec`` / ``mpirun``."""
    return any(v in os.environ for v in _MPI_LAUNCH_VARS)


def mpi_available() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


class _MPIRequest:
    """An mpi4py request whose ``wait`` gives up after the process group's timeout."""

    def __init__(self, engine: MPIEngine, req: Any, what: str) -> None:
        self.engine, self.req, self.what = engine, req, what
        self.status, self.done = engine.MPI.Status(), False

    def test(self) -> bool:
        # NOTE: a completed request is freed by MPI; its status is kept for wait()
        self.done = self.done or bool(self.req.Test(self.status))
        return self.done

    def wait(self) -> Any:
        # MPI progresses a nonblocking collective only inside MPI calls: poll without pausing
        # for a while (as MPI_Wait spins), then back off to at most 1 ms between polls
        start = time.monotonic()
        status = self.status
        pause = 0.0
        while not self.test():
            now = time.monotonic()
            if now - start > self.engine.timeout:
                self.engine.abort(
                    f"{self.what} did not complete within {self.engine.timeout:.0f} s on rank "
                    f"{self.engine.rank} (another rank failed, hung or never called it)"
                )
            if now - start > 0.05:
                time.sleep(pause)
                pause = min(2 * pause + 1e-6, 1e-3)
        return status


class MPIEngine:
    """MPI through mpi4py on ``MPI.COMM_WORLD``; NumPy buffers go to MPI without copies."""

    name = "mpi"

    def __init__(self, timeout: timedelta) -> None:
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.timeout = timeout.total_seconds()
        self._ops = {"sum": MPI.SUM, "avg": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN,
                     "product": MPI.PROD}  # fmt: skip
        # an uncaught exception on one rank aborts the whole job (naming the rank) instead of
        # leaving the others blocked in their next collective
        self._previous_hook = sys.excepthook
        sys.excepthook = self._abort_on_exception

    def _abort_on_exception(self, kind: Any, value: Any, tb: Any) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        self.abort(f"uncaught exception:\n{text}")

    def abort(self, why: str) -> None:
        sys.stderr.write(f"polygrad.distributed: rank {self.rank} of {self.size} aborts: {why}\n")
        sys.stderr.flush()
        self.comm.Abort(1)

    def _req(self, req: Any, what: str) -> _MPIRequest:
        return _MPIRequest(self, req, what)

    def all_reduce(self, buf: np.ndarray, op: str) -> _MPIRequest:
        return self._req(self.comm.Iallreduce(self.MPI.IN_PLACE, buf, self._ops[op]), "all_reduce")

    def broadcast(self, buf: np.ndarray, src: int) -> _MPIRequest:
        return self._req(self.comm.Ibcast(buf, root=src), "broadcast")

    def all_gather(self, out: np.ndarray, inp: np.ndarray) -> _MPIRequest:
        return self._req(self.comm.Iallgather(inp, out), "all_gather")

    def reduce_scatter(self, out: np.ndarray, inp: np.ndarray, op: str) -> _MPIRequest:
        req = self.comm.Ireduce_scatter_block(inp, out, self._ops[op])
        return self._req(req, "reduce_scatter")

    def gather(self, out: np.ndarray | None, inp: np.ndarray, dst: int) -> _MPIRequest:
        return self._req(self.comm.Igather(inp, out, root=dst), "gather")

    def scatter(self, out: np.ndarray, inp: np.ndarray | None, src: int) -> _MPIRequest:
        return self._req(self.comm.Iscatter(inp, out, root=src), "scatter")

    def send(self, buf: np.ndarray, dst: int, tag: int) -> _MPIRequest:
        return self._req(self.comm.Isend(buf, dest=dst, tag=tag), "send")

    def recv(self, buf: np.ndarray, src: int | None, tag: int) -> _MPIRequest:
        source = self.MPI.ANY_SOURCE if src is None else src
        return self._req(self.comm.Irecv(buf, source=source, tag=tag), "recv")

    @staticmethod
    def source_of(status: Any) -> int:
        return status.Get_source()

    def barrier(self) -> _MPIRequest:
        return self._req(self.comm.Ibarrier(), "barrier")

    def close(self) -> None:
        sys.excepthook = self._previous_hook  # MPI itself is finalized at interpreter exit


class _TorchRequest:
    def __init__(self, work: Any, source: int | None = None) -> None:
        self.work, self.source = work, source

    def test(self) -> bool:
        return self.work.is_completed()

    def wait(self) -> Any:
        self.work.wait()
        return self


class GlooEngine:
    """``torch.distributed`` with the gloo backend (env:// rendezvous as torchrun sets it).

    Buffers are NumPy arrays wrapped by ``torch.from_numpy`` (no copy; on the torch backend
    they are views of the CPU tensors themselves).
    """

    name = "gloo"

    def __init__(
        self, init_method: str | None, world_size: int, rank: int, timeout: timedelta
    ) -> None:
        import torch
        import torch.distributed as dist

        self.torch, self.dist = torch, dist
        dist.init_process_group(
            "gloo", init_method=init_method or "env://", world_size=world_size, rank=rank,
            timeout=timeout,
        )  # fmt: skip
        self.rank, self.size = dist.get_rank(), dist.get_world_size()
        R = dist.ReduceOp
        self._ops = {"sum": R.SUM, "avg": R.SUM, "max": R.MAX, "min": R.MIN,
                     "product": R.PRODUCT}  # fmt: skip

    def _t(self, buf: np.ndarray) -> Any:
        return self.torch.from_numpy(buf)

    def _blocks(self, buf: np.ndarray, like: np.ndarray) -> list:
        """``buf`` as world_size torch views shaped like ``like`` (gloo wants exact shapes)."""
        return list(self._t(buf).reshape(self.size, *like.shape).unbind(0))

    def all_reduce(self, buf: np.ndarray, op: str) -> _TorchRequest:
        return _TorchRequest(self.dist.all_reduce(self._t(buf), self._ops[op], async_op=True))

    def broadcast(self, buf: np.ndarray, src: int) -> _TorchRequest:
        return _TorchRequest(self.dist.broadcast(self._t(buf), src, async_op=True))

    def all_gather(self, out: np.ndarray, inp: np.ndarray) -> _TorchRequest:
        parts = self._blocks(out, inp)
        return _TorchRequest(self.dist.all_gather(parts, self._t(inp), async_op=True))

    def reduce_scatter(self, out: np.ndarray, inp: np.ndarray, op: str) -> _TorchRequest:
        # gloo has no reduce_scatter: reduce everything, keep this rank's block
        whole = inp.copy()
        self.dist.all_reduce(self._t(whole), self._ops[op])
        out[...] = whole.reshape(self.size, *out.shape)[self.rank]
        return _TorchRequest(_Done())

    def gather(self, out: np.ndarray | None, inp: np.ndarray, dst: int) -> _TorchRequest:
        parts = self._blocks(out, inp) if out is not None else None
        return _TorchRequest(self.dist.gather(self._t(inp), parts, dst=dst, async_op=True))

    def scatter(self, out: np.ndarray, inp: np.ndarray | None, src: int) -> _TorchRequest:
        parts = self._blocks(inp, out) if inp is not None else None
        return _TorchRequest(self.dist.scatter(self._t(out), parts, src=src, async_op=True))

    def send(self, buf: np.ndarray, dst: int, tag: int) -> _TorchRequest:
        return _TorchRequest(self.dist.isend(self._t(buf), dst, tag=tag))

    def recv(self, buf: np.ndarray, src: int | None, tag: int) -> _TorchRequest:
        work = self.dist.irecv(self._t(buf), src, tag=tag)
        return _TorchRequest(work, src)

    @staticmethod
    def source_of(request: _TorchRequest) -> int:
        if request.source is not None:
            return request.source
        return request.work._source_rank()

    def barrier(self) -> _TorchRequest:
        return _TorchRequest(self.dist.barrier(async_op=True))

    def abort(self, why: str) -> None:
        raise RuntimeError(f"polygrad.distributed: rank {self.rank}: {why}")

    def close(self) -> None:
        self.dist.destroy_process_group()


class _Done:
    def is_completed(self) -> bool:
        return True

    def wait(self) -> bool:
        return True


class NCCLEngine:
    """NCCL for CuPy device arrays (``cupy.cuda.nccl``), the unique id broadcast over MPI.

    Needs an NVIDIA GPU per process (rank r uses GPU r modulo the GPUs visible); not exercised
    on CPU-only machines (the tests skip it, saying so). Every collective runs on the current
    stream: all_reduce, broadcast, all_gather and reduce_scatter are NCCL's own; gather, scatter,
    send and recv are NCCL point-to-point calls (grouped for gather and scatter); the barrier is
    MPI's, after the stream's pending work. NCCL has no message tags and no receive from any
    source: ``tag != 0`` and ``recv(src=None)`` raise NotImplementedError naming the call.
    """

    name = "nccl"

    def __init__(self, timeout: timedelta) -> None:
        import cupy
        from cupy.cuda import nccl

        if cupy.cuda.runtime.getDeviceCount() == 0:
            raise RuntimeError("the nccl backend needs a CUDA GPU; none is visible")
        self.mpi = MPIEngine(timeout)
        self.rank, self.size = self.mpi.rank, self.mpi.size
        cupy.cuda.Device(self.rank % cupy.cuda.runtime.getDeviceCount()).use()
        uid = nccl.get_unique_id() if self.rank == 0 else None
        uid = self.mpi.comm.bcast(uid, root=0)
        self.cupy, self.nccl = cupy, nccl
        self.comm = nccl.NcclCommunicator(self.size, uid, self.rank)
        self._ops = {"sum": nccl.NCCL_SUM, "avg": nccl.NCCL_SUM, "max": nccl.NCCL_MAX,
                     "min": nccl.NCCL_MIN, "product": nccl.NCCL_PROD}  # fmt: skip

    def _dtype(self, buf: Any) -> int:
        names = {"float16": "HALF", "float32": "FLOAT", "float64": "DOUBLE", "int32": "INT32",
                 "int64": "INT64", "uint8": "UINT8", "int8": "INT8", "uint32": "UINT32",
                 "uint64": "UINT64"}  # fmt: skip
        name = names.get(buf.dtype.name)
        if name is None:
            raise TypeError(f"polygrad.distributed (nccl): NCCL has no {buf.dtype.name} type")
        return getattr(self.nccl, f"NCCL_{name}")

    def _stream(self) -> Any:
        return self.cupy.cuda.get_current_stream()

    def all_reduce(self, buf: Any, op: str) -> _CupyRequest:
        stream = self._stream()
        self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, self._dtype(buf),
                            self._ops[op], stream.ptr)  # fmt: skip
        return _CupyRequest(stream)

    def broadcast(self, buf: Any, src: int) -> _CupyRequest:
        stream = self._stream()
        self.comm.bcast(buf.data.ptr, buf.size, self._dtype(buf), src, stream.ptr)
        return _CupyRequest(stream)

    def all_gather(self, out: Any, inp: Any) -> _CupyRequest:
        stream = self._stream()
        self.comm.allGather(inp.data.ptr, out.data.ptr, inp.size, self._dtype(inp), stream.ptr)
        return _CupyRequest(stream)

    def reduce_scatter(self, out: Any, inp: Any, op: str) -> _CupyRequest:
        stream = self._stream()
        self.comm.reduceScatter(inp.data.ptr, out.data.ptr, out.size, self._dtype(out),
                                self._ops[op], stream.ptr)  # fmt: skip
        return _CupyRequest(stream)

    def _p2p(self, pairs: list[tuple[str, Any, int]]) -> _CupyRequest:
        """NCCL sends and receives (``("send" | "recv", buffer, peer)``) as one group."""
        stream = self._stream()
        self.nccl.groupStart()
        try:
            for kind, buf, peer in pairs:
                call = self.comm.send if kind == "send" else self.comm.recv
                call(buf.data.ptr, buf.size, self._dtype(buf), peer, stream.ptr)
        finally:
            self.nccl.groupEnd()
        return _CupyRequest(stream)

    def gather(self, out: Any | None, inp: Any, dst: int) -> _CupyRequest:
        if self.rank != dst:
            return self._p2p([("send", inp, dst)])
        out[self.rank] = inp
        return self._p2p([("recv", out[r], r) for r in range(self.size) if r != dst])

    def scatter(self, out: Any, inp: Any | None, src: int) -> _CupyRequest:
        if self.rank != src:
            return self._p2p([("recv", out, src)])
        out[...] = inp[self.rank]
        return self._p2p([("send", inp[r], r) for r in range(self.size) if r != src])

    @staticmethod
    def _no_tags(what: str, tag: int) -> None:
        if tag != 0:
            raise NotImplementedError(
                f"polygrad.distributed: {what} with tag={tag} is not supported by the nccl "
                "backend (NCCL has no message tags); use tag=0"
            )

    def send(self, buf: Any, dst: int, tag: int) -> _CupyRequest:
        self._no_tags("send", tag)
        return self._p2p([("send", buf, dst)])

    def recv(self, buf: Any, src: int | None, tag: int) -> _CupyRequest:
        self._no_tags("recv", tag)
        if src is None:
            raise NotImplementedError(
                "polygrad.distributed: recv from any source (src=None) is not supported by the "
                "nccl backend: name the sending rank"
            )
        request = self._p2p([("recv", buf, src)])
        request.source = src
        return request

    @staticmethod
    def source_of(request: _CupyRequest) -> int:
        return request.source

    def barrier(self) -> _MPIRequest:
        self._stream().synchronize()  # this rank's launched collectives are done
        return self.mpi.barrier()

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(
            f"polygrad.distributed: the collective {name!r} is not supported by the nccl backend"
        )

    def abort(self, why: str) -> None:
        self.mpi.abort(why)

    def close(self) -> None:
        self.mpi.close()


class _CupyRequest:
    def __init__(self, stream: Any) -> None:
        self.event = stream.record()
        self.source: int | None = None  # the sender, for a receive

    def test(self) -> bool:
        return self.event.done

    def wait(self) -> Any:
        self.event.synchronize()
        return self


def make_engine(
    backend: str, init_method: str | None, world_size: int, rank: int, timeout: timedelta
) -> Any:
    """The engine named ``backend``, checked against ``world_size``/``rank`` when given."""
    if backend == "mpi":
        engine = MPIEngine(timeout)
    elif backend == "gloo":
        engine = GlooEngine(init_method, world_size, rank, timeout)
    elif backend == "nccl":
        engine = NCCLEngine(timeout)
    else:
        raise ValueError(f"unknown distributed backend {backend!r}; use 'mpi', 'gloo' or 'nccl'")
    for what, given, actual in (("world_size", world_size, engine.size), ("rank", rank,
                                                                           engine.rank)):
        if given not in (-1, None) and given != actual:
            engine.close()
            raise ValueError(
                f"init_process_group({what}={given}) but the {backend} launcher gave {actual}"
            )
    return engine


def default_backend(tensor_backend: str) -> str:
    """What ``init_process_group(backend=None)`` picks, from the launcher and the backend."""
    if tensor_backend == "cupy":
        return "nccl"
    if launched_by_mpiexec() and mpi_available():
        return "mpi"
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        return "gloo"
    if mpi_available():
        return "mpi"  # a world of one process
    raise RuntimeError(
        "init_process_group: no communication engine: install mpi4py (pip install "
        "'polygrad[mpi]') and launch with mpiexec, or set RANK/WORLD_SIZE/MASTER_ADDR/"
        "MASTER_PORT for torch.distributed's gloo"
    )


# -- Tensor data <-> engine buffers --------------------------------------------------------------
def as_bytes(buf: Any) -> Any:
    """A bool buffer viewed as uint8 (NumPy's dtype serves CuPy arrays too), in place."""
    return buf.view(np.uint8)


def host_buffer(data: Any, engine: Any) -> tuple[Any, bool]:
    """A contiguous buffer for ``data`` the engine can use, and whether it is a copy.

    NumPy arrays and contiguous CPU torch tensors are used in place (``Tensor.numpy()`` shares
    the memory); CuPy arrays go to NCCL as they are; anything else (array-api-strict, GPU torch
    tensors, non-contiguous arrays) goes through a host copy written back after the collective.
    """
    if engine.name == "nccl":
        if not type(data).__module__.startswith("cupy"):
            raise TypeError(
                "polygrad.distributed: the nccl backend communicates CuPy device arrays, not "
                f"{type(data).__module__}.{type(data).__name__}: use POLYGRAD_BACKEND=cupy, or "
                "the mpi / gloo backend for CPU tensors"
            )
        if not data.flags.c_contiguous:
            return data.copy(order="C"), True
        return data, False
    if isinstance(data, np.ndarray):
        if data.flags.c_contiguous and data.flags.writeable:
            return data, False
        return np.ascontiguousarray(data), True
    if type(data).__module__.startswith("torch"):
        if data.device.type == "cpu" and data.is_contiguous():
            return data.numpy(), False
        return np.ascontiguousarray(data.cpu().numpy()), True
    from .._backend import backend_for_array

    return np.ascontiguousarray(backend_for_array(data).to_numpy(data)), True


def empty_like_buffer(buf: Any, n: int) -> Any:
    """An uninitialized buffer of ``n`` blocks shaped like ``buf``, on the same side."""
    if isinstance(buf, np.ndarray):
        return np.empty((n, *buf.shape), dtype=buf.dtype)
    import cupy

    return cupy.empty((n, *buf.shape), dtype=buf.dtype)


def write_back(data: Any, xp: Any, values: Any) -> None:
    """Copy ``values`` (a host or engine buffer) into the backend array ``data``, in place."""
    if isinstance(data, np.ndarray):
        data[...] = np.reshape(values, data.shape)
        return
    from array_api_compat import device

    data[...] = xp.reshape(xp.asarray(values, device=device(data)), data.shape)
