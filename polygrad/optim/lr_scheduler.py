"""torch's ``torch.optim.lr_scheduler``: every scheduler under one module name.

The simple ones (StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, CosineAnnealingLR,
LambdaLR, MultiplicativeLR, ReduceLROnPlateau) live in ``_lr_simple``, the ones made of phases
(SequentialLR, CosineAnnealingWarmRestarts, OneCycleLR) in ``_lr_phases``, which builds on the
first, and PolynomialLR, CyclicLR, ChainedScheduler in ``_lr_cyclic``, which builds on both:
an import graph without a cycle.
"""

from ._lr_cyclic import ChainedScheduler, CyclicLR, PolynomialLR
from ._lr_phases import CosineAnnealingWarmRestarts, OneCycleLR, SequentialLR
from ._lr_simple import (
    ConstantLR,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiplicativeLR,
    MultiStepLR,
    ReduceLROnPlateau,
    StepLR,
)

__all__ = [
    "LRScheduler",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LambdaLR",
    "MultiplicativeLR",
    "ConstantLR",
    "LinearLR",
    "SequentialLR",
    "ReduceLROnPlateau",
    "CosineAnnealingWarmRestarts",
    "OneCycleLR",
    "PolynomialLR",
    "CyclicLR",
    "ChainedScheduler",
]
