"""``torch.sparse`` stand-in: polygrad tensors are dense; sparse operations fail at use."""

from __future__ import annotations

from typing import Any

from . import _unsupported

_WHY = "polygrad tensors are dense; use a dense tensor"

mm = _unsupported.function("torch.sparse.mm", _WHY)
addmm = _unsupported.function("torch.sparse.addmm", _WHY)
sum = _unsupported.function("torch.sparse.sum", _WHY)  # noqa: A001  (torch's name)
softmax = _unsupported.function("torch.sparse.softmax", _WHY)
log_softmax = _unsupported.function("torch.sparse.log_softmax", _WHY)
spdiags = _unsupported.function("torch.sparse.spdiags", _WHY)


def __getattr__(name: str) -> Any:
    raise _unsupported.missing_attribute("torch.sparse", name)
