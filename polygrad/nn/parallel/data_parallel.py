"""``DataParallel`` as torch's runs without CUDA devices: a wrapper that calls the module."""

from __future__ import annotations

from typing import Any

from ..modules.module import Module


class DataParallel(Module):
    """torch's ``DataParallel(module, device_ids=None, output_device=None, dim=0)`` as it runs
    without CUDA devices: ``forward`` calls ``module`` (polygrad never splits batches across
    devices; the result is the same as torch's on several GPUs, bar BatchNorm statistics).

    Examples
    --------
    >>> import polygrad
    >>> net = polygrad.nn.DataParallel(polygrad.nn.Linear(2, 1))
    >>> sorted(net.state_dict())
    ['module.bias', 'module.weight']
    """

    def __init__(
        self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0
    ) -> None:
        super().__init__()
        self.module = module
        self.device_ids: list = []
        self.output_device = None
        self.dim = dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)
