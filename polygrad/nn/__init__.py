"""polygrad.nn: modules, layers, losses and initializers that mirror ``torch.nn``.

``import polygrad.nn as nn`` and write models as with torch: subclass ``nn.Module``, assign
layers and Parameters as attributes, and call ``model.parameters()`` for an optimizer. The
functional forms live in ``polygrad.nn.functional``, initializers in ``polygrad.nn.init``
and gradient clipping in ``polygrad.nn.utils``.
"""

from . import functional, init, utils
from .modules import (
    GELU,
    MLP,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    BCELoss,
    BCEWithLogitsLoss,
    Conv2d,
    CrossEntropyLoss,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    IncompatibleKeys,
    L1Loss,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    Module,
    ModuleList,
    MSELoss,
    NLLLoss,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)

__all__ = [
    "functional",
    "init",
    "utils",
    "Module",
    "Parameter",
    "IncompatibleKeys",
    "Sequential",
    "ModuleList",
    "Identity",
    "Flatten",
    "Linear",
    "Embedding",
    "Dropout",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "ReLU",
    "LeakyReLU",
    "Tanh",
    "Sigmoid",
    "GELU",
    "Softplus",
    "Softmax",
    "LogSoftmax",
    "MLP",
    "MSELoss",
    "L1Loss",
    "CrossEntropyLoss",
    "NLLLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
]

from . import parallel as parallel  # noqa: E402  (torch.nn.parallel)
from .parallel import DataParallel as DataParallel  # noqa: E402
