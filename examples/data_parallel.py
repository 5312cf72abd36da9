"""Data-parallel training for the examples: join the job, shard the data, wrap the model.

An example gets a ``--distributed`` flag from :func:`add_flag` and a :class:`Parallel`
(``Parallel(args.distributed)``). Under ``mpiexec -n P`` each of the P processes trains a
DistributedDataParallel copy of the model (BatchNorm layers turned into SyncBatchNorm) on
its DistributedSampler shard of every epoch, so ``--batch-size`` is per process and the
global batch is ``P x --batch-size`` (the learning rate is not rescaled). Only rank 0 prints
(the other ranks' stdout goes to /dev/null; errors still reach stderr) and writes files.
Checkpoints hold no per-rank state: the model and optimizer are the same on every rank and
the shuffle follows from the seed and the epoch, so a run may resume with another P.

Without a launcher, ``--distributed`` runs as a world of one process (MPI's singleton); no
mpi4py and no ``RANK``/``WORLD_SIZE`` is a usage error naming what to install.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

import polygrad as pg
import polygrad.distributed as dist
import polygrad.nn as nn
from polygrad.data import DataLoader
from polygrad.nn.parallel import DistributedDataParallel
from polygrad.utils.data.distributed import DistributedSampler


def add_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--distributed`` to an example's options."""
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel over the processes of mpiexec -n P (--batch-size is per process)",
    )


class ShardLoader:
    """This rank's batches of ``arrays``: a DistributedSampler shard, reshuffled per epoch."""

    def __init__(self, arrays: Sequence[Any], batch_size: int, seed: int) -> None:
        self.arrays, self.batch_size = list(arrays), batch_size
        self.sampler = DistributedSampler(range(len(self.arrays[0])), shuffle=True, seed=seed)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[pg.Tensor, ...]]:
        rows = np.fromiter(self.sampler, dtype=np.int64)
        yield from DataLoader(tuple(a[rows] for a in self.arrays), self.batch_size)


class Parallel:
    """This process's part in the job: ``rank``, ``size``, ``main`` (rank 0) and helpers that
    do the single-process thing when ``enabled`` is False."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.rank, self.size = enabled, 0, 1
        if enabled:
            try:
                dist.init_process_group()
            except RuntimeError as e:
                sys.exit(f"--distributed: {e}")
            self.rank, self.size = dist.get_rank(), dist.get_world_size()
        self.main = self.rank == 0
        if not self.main:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (for the life of the process)
        if enabled:
            launcher = "" if self.size > 1 else " (launch with mpiexec -n P for P processes)"
            print(f"data-parallel on {self.size} process(es), {dist.get_backend()}{launcher}")

    def train_loader(self, arrays: Sequence[Any], batch_size: int, seed: int) -> Any:
        """Shuffled batches: this rank's shard (call :func:`set_epoch`), or all of them."""
        if not self.enabled:
            return DataLoader(tuple(arrays), batch_size, shuffle=True)
        return ShardLoader(arrays, batch_size, seed)

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module to train: DDP over ``model`` with SyncBatchNorm, or ``model`` itself.
        ``model`` keeps its (shared) parameters, so its state_dict has no ``module.`` prefix."""
        if not self.enabled:
            return model
        return DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(model))

    def seed_epoch(self, seed: int, epoch: int) -> None:
        """Under ``--distributed``, seed this rank's generator from (``seed``, ``epoch``, rank):
        its random numbers of an epoch then depend on nothing else (not on where a run was
        resumed, nor on the number of processes before). Does nothing on a single process."""
        if self.enabled:
            state = np.random.SeedSequence([seed, epoch, self.rank]).generate_state(1)
            pg.manual_seed(int(state[0]))

    def average(self, *values: float) -> tuple[float, ...]:
        """Per-rank numbers (an epoch's loss, accuracy) averaged over the ranks."""
        if not self.enabled:
            return values
        t = pg.tensor(values, dtype=pg.float64)
        dist.all_reduce(t, dist.ReduceOp.AVG)
        return tuple(t.tolist())


def set_epoch(loader: Any, epoch: int) -> None:
    """Tell a ShardLoader the epoch (its shuffle); plain DataLoaders shuffle by themselves."""
    if isinstance(loader, ShardLoader):
        loader.set_epoch(epoch)
