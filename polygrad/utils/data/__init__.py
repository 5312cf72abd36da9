"""torch's data-loading API (``torch.utils.data``) for polygrad Tensors.

A torch training script's data code runs unchanged after ``import polygrad as torch``: datasets
(``Dataset``, ``TensorDataset``, ``Subset``, ``random_split`` ...), samplers, ``DataLoader`` with
``default_collate`` and worker processes, and ``Generator`` for seeded random streams. Batches are
polygrad Tensors on the active backend. See ``dataloader`` (worker processes) and ``sampler``
(random streams) for the decisions where polygrad differs from torch.
"""

from ._collate import default_collate, default_convert
from ._generator import Generator
from .dataloader import DataLoader, WorkerInfo, get_worker_info
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .distributed import DistributedSampler
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DistributedSampler",
    "DataLoader",
    "Dataset",
    "Generator",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
