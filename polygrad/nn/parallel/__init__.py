"""``torch.nn.parallel``: ``DistributedDataParallel`` across processes (on
``polygrad.distributed``), and ``DataParallel``, which is what torch's is on a machine without
CUDA: a wrapper that calls the module (its state dict keys gain the ``module.`` prefix).
"""

from typing import Any

from ... import _unsupported
from .data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]


def __getattr__(name: str) -> Any:
    raise _unsupported.missing_attribute("torch.nn.parallel", name)
