"""Data for the examples and tests: the bundled digits and text, synthetic generators, DataLoader.

Datasets are host NumPy arrays (they are inputs, not computations); ``DataLoader`` moves them
to the active backend's device once and yields batches of polygrad Tensors from there.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import Any, NamedTuple

import numpy as np

from .. import _backend
from .._creation import tensor
from .._tensor import Tensor

__all__ = [
    "Digits",
    "load_digits",
    "load_shakespeare",
    "make_spiral",
    "make_moons",
    "make_blobs",
    "DataLoader",
]


class Digits(NamedTuple):
    """The digits split into train, validation and test arrays.

    Images are float32 in [0, 1] of shape (n, 8, 8); labels are int64 in 0..9.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


DIGITS_SPLIT_SEED = 20240601
DIGITS_TEST, DIGITS_VAL = 360, 180


def load_digits() -> Digits:
    """The UCI 8x8 handwritten digits (1,797 images, 10 classes), bundled with polygrad.

    The split is fixed (a seeded permutation, the same on every machine): 1,257 training,
    180 validation and 360 test images. Source: E. Alpaydin and C. Kaynak, "Optical
    Recognition of Handwritten Digits", UCI Machine Learning Repository (CC BY 4.0).

    Returns
    -------
    Digits
        ``x_*`` float32 arrays of shape (n, 8, 8) scaled to [0, 1]; ``y_*`` int64 labels.

    Examples
    --------
    >>> from polygrad.data import load_digits
    >>> d = load_digits()
    >>> d.x_train.shape, d.y_test.shape
    ((1257, 8, 8), (360,))
    """
    with resources.files(__package__).joinpath("digits.npz").open("rb") as f:
        with np.load(f) as z:
            images, labels = z["images"], z["labels"]
    x = images.astype(np.float32) / 16.0
    y = labels.astype(np.int64)
    order = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(y))
    test, val, train = np.split(order, [DIGITS_TEST, DIGITS_TEST + DIGITS_VAL])
    return Digits(x[train], y[train], x[val], y[val], x[test], y[test])


def load_shakespeare() -> str:
    """Tiny Shakespeare: 1,115,394 characters of the plays (40,000 lines), bundled with polygrad.

    The text Andrej Karpathy assembled for char-rnn (public domain), shipped gzip-compressed
    as ``polygrad/data/tinyshakespeare.txt.gz``; ``examples/char_lm.py`` trains on it.

    Returns
    -------
    str
        The whole text, 65 distinct characters.

    Examples
    --------
    >>> from polygrad.data import load_shakespeare
    >>> text = load_shakespeare()
    >>> len(text), text[:14]
    (1115394, 'First Citizen:')
    """
    with resources.files(__package__).joinpath("tinyshakespeare.txt.gz").open("rb") as f:
        return gzip.decompress(f.read()).decode("utf-8")


def _generator(seed: int | None) -> np.random.Generator:
    """A generator seeded by ``seed``, or polygrad's own (``manual_seed``) when None."""
    return np.random.default_rng(seed) if seed is not None else _backend.rng()


def make_spiral(
    n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class: a classic test of non-linear classifiers.

    Parameters
    ----------
    n_per_class : int
        Points on each arm.
    n_classes : int
        Number of arms (classes).
    noise : float
        Standard deviation of the angular jitter.
    seed : int, optional
        Seed for this draw; None uses polygrad's generator (``polygrad.manual_seed``).

    Returns
    -------
    x : float32 array of shape (n_per_class * n_classes, 2), in about [-1, 1]
    y : int64 array of class labels
    """
    rng = _generator(seed)
    r = np.tile(np.linspace(0.0, 1.0, n_per_class), n_classes)
    arm = np.repeat(np.arange(n_classes), n_per_class)
    start = arm * (2 * math.pi / n_classes)
    theta = start + r * 4.0 + rng.standard_normal(r.shape) * noise
    x = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)
    return x.astype(np.float32), arm.astype(np.int64)


def make_moons(
    n_samples: int = 200, noise: float = 0.1, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (labels 0 and 1) with Gaussian noise.

    Returns float32 points of shape (n_samples, 2) and int64 labels.
    """
    rng = _generator(seed)
    n_top = n_samples // 2
    n_bottom = n_samples - n_top
    t_top = np.linspace(0.0, math.pi, n_top)
    t_bottom = np.linspace(0.0, math.pi, n_bottom)
    top = np.stack([np.cos(t_top), np.sin(t_top)], axis=1)
    bottom = np.stack([1.0 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)], axis=1)
    x = np.concatenate([top, bottom]) + rng.standard_normal((n_samples, 2)) * noise
    y = np.concatenate([np.zeros(n_top), np.ones(n_bottom)])
    return x.astype(np.float32), y.astype(np.int64)


def make_blobs(
    n_samples: int = 300,
    centers: int | Sequence[Sequence[float]] = 3,
    std: float = 1.0,
    n_features: int = 2,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs around ``centers`` (a count, placed at random in [-10, 10], or points).

    Returns float32 points of shape (n_samples, n_features) and int64 labels.
    """
    rng = _generator(seed)
    if isinstance(centers, int):
        centers = rng.uniform(-10.0, 10.0, size=(centers, n_features))
    centers = np.asarray(centers, dtype=np.float64)
    labels = np.arange(n_samples) % len(centers)
    x = centers[labels] + rng.standard_normal((n_samples, centers.shape[1])) * std
    return x.astype(np.float32), labels.astype(np.int64)


class DataLoader:
    """Batches of Tensors on the active backend's device, shuffled reproducibly.

    Parameters
    ----------
    dataset_or_arrays : tuple of arrays, or a dataset
        Arrays (NumPy arrays or Tensors) with the same first dimension, or an object with
        ``__len__`` and ``__getitem__`` returning a tuple of arrays per example.
    batch_size : int
        Examples per batch.
    shuffle : bool
        Reshuffle every epoch, with polygrad's generator (reproducible under
        ``polygrad.manual_seed``).
    drop_last : bool
        Drop the last batch when it is smaller than ``batch_size``.

    Examples
    --------
    >>> import numpy as np
    >>> from polygrad.data import DataLoader
    >>> x, y = np.zeros((10, 3), np.float32), np.arange(10)
    >>> [xb.shape for xb, yb in DataLoader((x, y), batch_size=4)]
    [(4, 3), (4, 3), (2, 3)]
    """

    def __init__(
        self,
        dataset_or_arrays: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
    ) -> None:
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        arrays = self._as_arrays(dataset_or_arrays)
        lengths = {len(a) for a in arrays}
        if len(lengths) != 1:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            raise ValueError(f"DataLoader arrays must have the same first dimension: {shapes}")
        self.arrays = arrays
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self._on_device: tuple[tuple, list[Tensor]] | None = None

    @staticmethod
    def _as_arrays(data: Any) -> list[Any]:
        if isinstance(data, (tuple, list)) and all(hasattr(a, "shape") for a in data):
            return list(data)
        if hasattr(data, "shape"):
            return [data]
        if hasattr(data, "__len__") and hasattr(data, "__getitem__"):
            items = [data[i] for i in range(len(data))]
            if not items:
                raise ValueError("DataLoader got an empty dataset")
            first = items[0] if isinstance(items[0], tuple) else (items[0],)
            columns = []
            for j in range(len(first)):
                column = [it[j] if isinstance(it, tuple) else it for it in items]
                columns.append(np.stack([_host(c) for c in column]))
            return columns
        raise TypeError(
            f"DataLoader needs a tuple of arrays or a dataset with __len__ and __getitem__, "
            f"not {type(data).__name__}"
        )

    def __len__(self) -> int:
        n = len(self.arrays[0])
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _device_tensors(self) -> list[Tensor]:
        """The arrays as Tensors on the active backend and device, made once per device."""
        key = tuple(_backend.get_backend())
        if self._on_device is None or self._on_device[0] != key:
            tensors = []
            for a in self.arrays:
                if isinstance(a, Tensor):
                    a = a.numpy()
                tensors.append(tensor(a))
            self._on_device = (key, tensors)
        return self._on_device[1]

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        data = self._device_tensors()
        n = len(self.arrays[0])
        order = _backend.rng().permutation(n) if self.shuffle else None
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            end = min(start + self.batch_size, n)
            if order is None:
                yield tuple(t[start:end] for t in data)
            else:
                index = tensor(order[start:end])
                yield tuple(t[index] for t in data)


def _host(x: Any) -> np.ndarray:
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)
