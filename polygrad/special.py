"""torch.special's functions that polygrad has; any other name is an ``AttributeError``."""

from __future__ import annotations

from typing import Any

from . import _unsupported
from .ops import digamma, erf, erfc, erfinv, expm1, lgamma, log1p, logit, sigmoid, xlogy

gammaln = lgamma
psi = digamma
expit = sigmoid

__all__ = ["digamma", "erf", "erfc", "erfinv", "expit", "expm1", "gammaln", "log1p", "logit",
           "psi", "xlogy"]  # fmt: skip


def __getattr__(name: str) -> Any:
    raise _unsupported.missing_attribute("torch.special", name)
