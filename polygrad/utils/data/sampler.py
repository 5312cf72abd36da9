"""Samplers, as ``torch.utils.data``: which indices a DataLoader draws, in which order.

Random streams (decision): ``RandomSampler``, ``SubsetRandomSampler`` and
``WeightedRandomSampler`` draw on the host from their ``generator=`` (a
``polygrad.utils.data.Generator``) or, when it is None, from polygrad's global generator
(``polygrad.manual_seed``). As in torch, a ``RandomSampler`` without a generator draws one seed
from the global stream per epoch and shuffles with a fresh stream from it, so each epoch is a new
permutation and the whole run is reproducible under one ``manual_seed``. The permutations differ
from torch's (another generator algorithm); their structure and distribution are the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any, Generic, TypeVar

import numpy as np

from ._generator import Generator, draw_seed, host_rng

__all__ = [
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
]

T_co = TypeVar("T_co", covariant=True)


class Sampler(Generic[T_co]):
    """Base class: an iterable of indices (or of lists of indices, for batch samplers)."""

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")


def _check_bool(name: str, value: Any, error: type = TypeError) -> None:
    if not isinstance(value, bool):
        raise error(f"{name} should be a boolean value, but got {name}={value}")


class RandomSampler(Sampler[int]):
    """Indices in random order: a fresh permutation each epoch, or draws with replacement.

    Parameters
    ----------
    data_source : sized
    replacement : bool
        Draw ``num_samples`` indices independently (with repeats) instead of permuting.
    num_samples : int, optional
        Indices per epoch; ``len(data_source)`` by default. Without replacement, more than the
        length concatenates whole permutations, as in torch.
    generator : polygrad.utils.data.Generator, optional
        The random stream; see the module docstring when None.

    Examples
    --------
    >>> from polygrad.utils.data import Generator, RandomSampler
    >>> sorted(RandomSampler(range(5), generator=Generator().manual_seed(1)))
    [0, 1, 2, 3, 4]
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        _check_bool("replacement", replacement)
        _check_positive_int("num_samples", self.num_samples)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        if self.generator is None:
            rng = np.random.default_rng(draw_seed(None) % 2**64)
        else:
            rng = host_rng(self.generator)
        if self.replacement:
            for _ in range(self.num_samples // 32):
                yield from rng.integers(0, n, size=32).tolist()
            yield from rng.integers(0, n, size=self.num_samples % 32).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from rng.permutation(n).tolist()
            yield from rng.permutation(n)[: self.num_samples % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given ``indices`` in a random order, a new one each epoch."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in host_rng(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``.

    Parameters
    ----------
    weights : sequence of float
        Non-negative, not all zero; need not sum to 1.
    num_samples : int
    replacement : bool
        Without replacement, each index appears at most once (successive draws in proportion
        to the remaining weights; zero-weight indices come last, in random order, as in torch).
    generator : polygrad.utils.data.Generator, optional
    """

    def __init__(
        self,
        weights: Sequence[float],
        num_samples: int,
        replacement: bool = True,
        generator: Generator | None = None,
    ) -> None:
        _check_positive_int("num_samples", num_samples)
        _check_bool("replacement", replacement, ValueError)  # torch raises ValueError here
        host = weights.numpy() if hasattr(weights, "numpy") else weights
        w = np.asarray(host, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(
                f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}"
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise RuntimeError(
                "WeightedRandomSampler: probability tensor contains either `inf`, `nan` or "
                "element < 0"
            )
        if w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > len(w):
            raise RuntimeError(
                f"cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                f"(n_sample={num_samples}, {len(w)} weights)"
            )
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        rng = host_rng(self.generator)
        n = len(self.weights)
        if self.replacement:
            p = self.weights / self.weights.sum()
            yield from rng.choice(n, size=self.num_samples, replace=True, p=p).tolist()
            return
        # exponential race: the smallest Exp(1) / w first is a weighted draw without replacement
        with np.errstate(divide="ignore"):
            keys = rng.standard_exponential(n) / self.weights
        order = np.lexsort((rng.permutation(n), keys))
        yield from order[: self.num_samples].tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Lists of ``batch_size`` indices from ``sampler`` (the last may be shorter).

    Examples
    --------
    >>> from polygrad.utils.data import BatchSampler, SequentialSampler
    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(
        self, sampler: Sampler[int] | Iterable[int], batch_size: int, drop_last: bool
    ) -> None:
        _check_positive_int("batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
