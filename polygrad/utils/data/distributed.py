"""``DistributedSampler``: each process's share of a data set, as torch's, index for index.

The shuffled order is the one ``torch.randperm(n, generator=g)`` gives after
``g.manual_seed(seed + epoch)``, reproduced without torch: torch's CPU generator is a
Mersenne Twister (MT19937) seeded with the low 32 bits of the seed, the same initialisation as
NumPy's legacy ``RandomState(seed)``, and its ``randperm`` swaps position ``i`` with
``i + draw % (n - i)`` for 32-bit draws (a Fisher-Yates shuffle). torch switches to 64-bit draws
for data sets of more than ``2**32 // 20`` elements; that size is refused rather than given a
different order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized

import numpy as np

from .sampler import Sampler

__all__ = ["DistributedSampler"]

#: above this size torch's randperm draws 64-bit numbers (a different stream)
_RANDPERM_32BIT_LIMIT = (2**32 - 1) // 20


def torch_randperm(n: int, seed: int) -> list[int]:
    """``torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()``."""
    if n >= _RANDPERM_32BIT_LIMIT:
        raise NotImplementedError(
            f"DistributedSampler: shuffling {n} indices (torch uses 64-bit draws from "
            f"{_RANDPERM_32BIT_LIMIT} on, not reproduced); pass shuffle=False or shard first"
        )
    draws = np.random.RandomState(seed & 0xFFFFFFFF)._bit_generator.random_raw(max(n - 1, 0))
    perm = list(range(n))
    for i, d in enumerate(draws.tolist()):
        j = i + d % (n - i)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


class DistributedSampler(Sampler[int]):
    """The indices of ``dataset`` for process ``rank`` of ``num_replicas``.

    Every replica gets ``len(self)`` indices: the (shuffled) index list is padded by repeating
    its start so it divides evenly, or cut to a multiple of ``num_replicas`` with
    ``drop_last=True``; rank ``r`` takes every ``num_replicas``-th index from position ``r``.
    Call ``set_epoch(epoch)`` before each epoch for a new shuffle, as with torch.

    Parameters
    ----------
    dataset : Sized
        What to sample from (only its length is used).
    num_replicas, rank : int, optional
        Default to ``polygrad.distributed.get_world_size()`` and ``get_rank()``.
    shuffle : bool
        Shuffle with seed ``seed + epoch`` (torch's stream); else in order.
    seed : int
        The same on every rank.
    drop_last : bool
        Drop the tail instead of padding with repeated indices.

    Examples
    --------
    >>> from polygrad.utils.data.distributed import DistributedSampler
    >>> list(DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False))
    [1, 3, 0]
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            from ... import distributed as dist

            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.epoch, self.drop_last, self.shuffle, self.seed = 0, drop_last, shuffle, seed
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        indices = torch_randperm(n, self.seed + self.epoch) if self.shuffle else list(range(n))
        if self.drop_last:
            indices = indices[: self.total_size]
        else:
            pad = self.total_size - len(indices)
            if pad:
                indices += (indices * math.ceil(pad / len(indices)))[:pad]
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` for the next shuffle (every rank must pass the same)."""
        self.epoch = epoch

    def __repr__(self) -> str:
        return (
            f"DistributedSampler(num_replicas={self.num_replicas}, rank={self.rank}, "
            f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last})"
        )
