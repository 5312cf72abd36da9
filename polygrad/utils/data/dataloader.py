"""``DataLoader``, as ``torch.utils.data``: batches drawn lazily from a dataset, maybe by workers.

Worker processes (decision): with ``num_workers > 0`` the loader starts that many processes from
``multiprocessing_context`` (the platform default when None: fork on Linux), as torch does. Each
worker gets the dataset, the active polygrad backend, device and default dtype, seeds polygrad's
generator and Python's ``random`` with ``base_seed + worker_id`` and NumPy's global generator with
a seed derived from both (``base_seed`` is drawn once per epoch from ``generator`` or polygrad's
global stream), sets ``get_worker_info()`` and calls ``worker_init_fn(worker_id)``. The main
process sends lists of indices round-robin, at most ``prefetch_factor`` per worker in flight;
a worker fetches the samples and runs ``collate_fn`` (as in torch), then pickles the batch. Tensors
travel as host NumPy data plus their backend and device names and are rebuilt in the main process
on the same backend and device, so every batch is on the active backend. Batches are yielded in
sampler order. An exception in a worker is raised again in the main process with the same type and
the worker's traceback; a worker that dies, or ``timeout`` seconds without a batch, raise
``RuntimeError``. ``persistent_workers=True`` keeps the processes (and their state) across epochs.

``pin_memory`` and ``pin_memory_device`` are accepted and change nothing: polygrad's backends here
have no pinned host memory (torch warns and ignores it too without an accelerator).
``in_order=False`` is accepted; batches still come in order.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import pickle
import queue
import random
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ... import _backend, _dtypes
from ._collate import default_collate, default_convert
from ._generator import Generator, draw_seed
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "WorkerInfo"]


class WorkerInfo:
    """What a worker process knows about itself: ``id``, ``num_workers``, ``seed``, ``dataset``.

    The attributes cannot be changed.
    """

    def __init__(self, **kwargs: Any) -> None:
        for k, v in kwargs.items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, key: str, value: Any) -> None:
        raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)}" for k in ("id", "num_workers", "seed"))
        return f"WorkerInfo({fields}, dataset={type(self.dataset).__name__})"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker process, its ``WorkerInfo``; None in the main process.

    Examples
    --------
    >>> from polygrad.utils.data import get_worker_info
    >>> get_worker_info() is None
    True
    """
    return _worker_info


class _InfiniteConstantSampler(Sampler[None]):
    """The sampler of an iterable dataset: None for ever (the dataset decides when to stop)."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


class _MapFetcher:
    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable, drop_last: bool):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, index: Any) -> Any:
        if self.auto_collation:
            getitems = getattr(self.dataset, "__getitems__", None)
            if callable(getitems):
                data = getitems(index)
            else:
                data = [self.dataset[i] for i in index]
        else:
            data = self.dataset[index]
        return self.collate_fn(data)


class _IterableFetcher:
    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable, drop_last: bool):
        self.iterator = iter(dataset)
        self.auto_collation, self.collate_fn, self.drop_last = auto_collation, collate_fn, drop_last
        self.ended = False

    def fetch(self, index: Any) -> Any:
        if self.ended:
            raise StopIteration
        if self.auto_collation:
            data = []
            for _ in index:
                try:
                    data.append(next(self.iterator))
                except StopIteration:
                    self.ended = True
                    break
            if not data or (self.drop_last and len(data) < len(index)):
                raise StopIteration
        else:
            data = next(self.iterator)
        return self.collate_fn(data)


class _ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its traceback."""

    def __init__(self, exc: BaseException, where: str) -> None:
        self.exc_type = type(exc)
        self.message = f"Caught {type(exc).__name__} {where}.\nOriginal {traceback.format_exc()}"

    def reraise(self) -> None:
        try:
            exc = self.exc_type(self.message)
        except Exception:
            raise RuntimeError(self.message) from None
        raise exc


class _IterableEnd:
    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id


def _worker_loop(
    is_iterable: bool,
    dataset: Any,
    index_queue: Any,
    result_queue: Any,
    collate_fn: Callable,
    auto_collation: bool,
    drop_last: bool,
    base_seed: int,
    init_fn: Callable | None,
    worker_id: int,
    num_workers: int,
    backend: tuple[str, str, str],
) -> None:
    global _worker_info
    failure = None
    try:
        name, device, default_dtype = backend
        _backend.set_backend(name, device)
        _dtypes.default_float = _dtypes.to_dtype(default_dtype)
        seed = base_seed + worker_id
        _backend.manual_seed(seed)
        random.seed(seed)
        np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
        _worker_info = WorkerInfo(
            id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset
        )
        if init_fn is not None:
            init_fn(worker_id)
    except Exception as exc:
        failure = _ExceptionWrapper(exc, f"in DataLoader worker process {worker_id}")
    kind = _IterableFetcher if is_iterable else _MapFetcher
    fetcher, epoch_of_fetcher = None, None
    while True:
        try:
            task = index_queue.get()
        except (KeyboardInterrupt, EOFError, OSError):
            return
        if task is None:
            return
        epoch, idx, index = task
        data: Any
        if failure is not None:
            data = failure
        else:
            try:
                if epoch != epoch_of_fetcher:
                    fetcher = kind(dataset, auto_collation, collate_fn, drop_last)
                    epoch_of_fetcher = epoch
                data = fetcher.fetch(index)
            except StopIteration:
                data = _IterableEnd(worker_id) if is_iterable else None
            except Exception as exc:
                data = _ExceptionWrapper(exc, f"in DataLoader worker process {worker_id}")
        try:
            blob = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            where = f"pickling a batch in DataLoader worker process {worker_id}"
            blob = pickle.dumps(_ExceptionWrapper(exc, where))
        result_queue.put((epoch, idx, blob))


class _SingleProcessIter:
    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        _warn_pin_memory(loader)
        self._base_seed = draw_seed(loader.generator)
        self._sampler_iter = iter(loader._index_sampler)
        kind = _IterableFetcher if loader._is_iterable else _MapFetcher
        self._fetcher = kind(
            loader.dataset, loader._auto_collation, loader.collate_fn, loader.drop_last
        )

    def __iter__(self) -> _SingleProcessIter:
        return self

    def __next__(self) -> Any:
        index = next(self._sampler_iter)
        return self._fetcher.fetch(index)

    def __len__(self) -> int:
        return len(self._loader)


class _WorkerPool:
    """The worker processes of one loader, their index queues and the shared result queue."""

    def __init__(self, loader: DataLoader, base_seed: int) -> None:
        ctx = loader.multiprocessing_context
        if ctx is None:
            ctx = multiprocessing.get_context()
        elif isinstance(ctx, str):
            ctx = multiprocessing.get_context(ctx)
        b, device = _backend.active()
        backend = (b.name, b.device_name(device), _dtypes.default_float.name)
        self.result_queue = ctx.Queue()
        self.index_queues, self.workers = [], []
        self.epoch = 0
        for worker_id in range(loader.num_workers):
            index_queue = ctx.Queue()
            w = ctx.Process(
                target=_worker_loop,
                args=(
                    loader._is_iterable, loader.dataset, index_queue, self.result_queue,
                    loader.collate_fn, loader._auto_collation, loader.drop_last, base_seed,
                    loader.worker_init_fn, worker_id, loader.num_workers, backend,
                ),
                daemon=True,
            )
            w.start()
            self.index_queues.append(index_queue)
            self.workers.append(w)
        self.closed = False

    def get(self, timeout: float) -> tuple[int, int, Any]:
        start = time.monotonic()
        while True:
            wait = 1.0 if timeout <= 0 else min(1.0, max(timeout - (time.monotonic() - start), 0))
            try:
                epoch, idx, blob = self.result_queue.get(timeout=wait)
                return epoch, idx, pickle.loads(blob)
            except queue.Empty:
                dead = [w for w in self.workers if not w.is_alive()]
                if dead:
                    pids = ", ".join(f"pid {w.pid}, exit code {w.exitcode}" for w in dead)
                    self.shutdown(force=True)
                    raise RuntimeError(
                        f"DataLoader worker ({pids}) exited unexpectedly"
                    ) from None
                if timeout > 0 and time.monotonic() - start >= timeout:
                    self.shutdown(force=True)
                    raise RuntimeError(f"DataLoader timed out after {timeout} seconds") from None

    def shutdown(self, force: bool = False) -> None:
        """Stop the workers: ask them to exit (or terminate them at once when ``force``)."""
        if self.closed:
            return
        self.closed = True
        for q in self.index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for w in self.workers:
            w.join(timeout=0.0 if force else 5.0)
            if w.is_alive():
                w.terminate()
                w.join()
        for q in [*self.index_queues, self.result_queue]:
            q.cancel_join_thread()
            q.close()

    def __del__(self) -> None:
        try:
            self.shutdown()
        except Exception:
            pass


class _MultiProcessIter:
    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        _warn_pin_memory(loader)
        base_seed = draw_seed(loader.generator)
        if loader.persistent_workers and loader._pool is not None:
            self._pool = loader._pool
        else:
            self._pool = _WorkerPool(loader, base_seed)
            if loader.persistent_workers:
                loader._pool = self._pool
        self._pool.epoch += 1
        self._epoch = self._pool.epoch
        n = loader.num_workers
        self._sampler_iter = iter(loader._index_sampler)
        self._send_idx = self._rcvd_idx = 0
        self._tasks: dict[int, tuple] = {}  # index -> (worker,) or (worker, batch) when early
        self._active = [True] * n
        self._cycle = itertools.cycle(range(n))
        self._done = False
        for _ in range(loader.prefetch_factor * n):
            self._put_task()

    def _put_task(self) -> None:
        for _ in range(len(self._active)):
            worker = next(self._cycle)
            if self._active[worker]:
                break
        else:
            return
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        self._pool.index_queues[worker].put((self._epoch, self._send_idx, index))
        self._tasks[self._send_idx] = (worker,)
        self._send_idx += 1

    def __iter__(self) -> _MultiProcessIter:
        return self

    def __len__(self) -> int:
        return len(self._loader)

    def _finish(self) -> None:
        self._done = True
        if not self._loader.persistent_workers:
            self._pool.shutdown()

    def __next__(self) -> Any:
        if self._done:
            raise StopIteration
        while True:
            while self._rcvd_idx < self._send_idx:
                task = self._tasks[self._rcvd_idx]
                if len(task) == 2 or self._active[task[0]]:
                    break
                del self._tasks[self._rcvd_idx]  # sent to a worker whose stream had ended
                self._rcvd_idx += 1
                self._put_task()
            else:
                self._finish()
                raise StopIteration
            task = self._tasks[self._rcvd_idx]
            if len(task) == 2:
                del self._tasks[self._rcvd_idx]
                return self._deliver(task[1])
            epoch, idx, data = self._pool.get(self._loader.timeout)
            if epoch != self._epoch:
                continue  # a batch of an epoch abandoned part way (persistent workers)
            if isinstance(data, _IterableEnd):
                self._active[data.worker_id] = False
                continue
            if idx != self._rcvd_idx:
                self._tasks[idx] = (self._tasks[idx][0], data)
                continue
            del self._tasks[idx]
            return self._deliver(data)

    def _deliver(self, data: Any) -> Any:
        self._rcvd_idx += 1
        if isinstance(data, _ExceptionWrapper):
            self._finish()
            data.reraise()
        self._put_task()
        return data

    def __del__(self) -> None:
        try:
            if not self._loader.persistent_workers:
                self._pool.shutdown()
        except Exception:
            pass


def _warn_pin_memory(loader: DataLoader) -> None:
    if loader.pin_memory:
        warnings.warn(
            "'pin_memory' argument is set as true but polygrad has no pinned host memory on "
            f"backend {_backend.get_backend().name}, so it changes nothing.",
            stacklevel=3,
        )


class DataLoader:
    """Iterate over a dataset in batches, as ``torch.utils.data.DataLoader``.

    Parameters
    ----------
    dataset : Dataset or IterableDataset
        Anything with ``__getitem__`` and ``__len__`` (map-style), or an ``IterableDataset``.
    batch_size : int or None
        Samples per batch; None turns automatic batching off (each sample goes through
        ``default_convert`` instead of ``default_collate``).
    shuffle : bool, optional
        A new random order every epoch (a ``RandomSampler`` with ``generator``).
    sampler : Sampler or iterable of indices, optional
        The order of indices; exclusive with ``shuffle``.
    batch_sampler : Sampler or iterable of index lists, optional
        Whole batches of indices; exclusive with batch_size, shuffle, sampler and drop_last.
    num_workers : int
        Worker processes; 0 loads in the main process. See the module docstring.
    collate_fn : callable, optional
        Makes a batch from a list of samples; ``default_collate`` by default.
    pin_memory : bool
        Accepted; changes nothing (no pinned memory on polygrad's backends).
    drop_last : bool
        Drop the last batch when it is smaller than ``batch_size``.
    timeout : float
        Seconds to wait for a batch from the workers (0: no limit).
    worker_init_fn : callable, optional
        Called as ``worker_init_fn(worker_id)`` in each worker after seeding.
    multiprocessing_context : str or context, optional
        ``"fork"``, ``"spawn"``, ``"forkserver"`` or a ``multiprocessing`` context.
    generator : polygrad.utils.data.Generator, optional
        The random stream of the shuffling sampler and of the workers' base seed.
    prefetch_factor : int, optional
        Batches in flight per worker (2 when workers are used).
    persistent_workers : bool
        Keep the worker processes alive between epochs.

    Examples
    --------
    >>> import polygrad as pg
    >>> from polygrad.utils.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(pg.arange(10) * 1.0, pg.arange(10))
    >>> [xb.shape for xb, yb in DataLoader(ds, batch_size=4)]
    [(4,), (4,), (2,)]
    """

    _frozen_attributes = (
        "batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers",
    )

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler[list] | Iterable[list] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                "multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing. Let "
                "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        is_iterable = isinstance(dataset, IterableDataset)
        if is_iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(
                        f"DataLoader with IterableDataset: expected unspecified {name} option, "
                        f"but got {name}={value}"
                    )
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with "
                "drop_last"
            )
        if sampler is None:
            if is_iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._is_iterable = is_iterable
        self._pool: _WorkerPool | None = None
        self._initialized = True

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_initialized", False) and name in self._frozen_attributes:
            raise ValueError(
                f"{name} attribute should not be set after {type(self).__name__} is initialized"
            )
        super().__setattr__(name, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        return _MultiProcessIter(self)

    def __len__(self) -> int:
        if self._is_iterable:
            n = len(self.dataset)  # type: ignore[arg-type]
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
            return n
        return len(self._index_sampler)

    def __del__(self) -> None:
        pool = self.__dict__.get("_pool")
        if pool is not None:
            pool.shutdown()
