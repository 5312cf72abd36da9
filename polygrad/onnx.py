"""``torch.onnx`` stand-in: polygrad cannot export ONNX graphs; calling anything here says so."""

from __future__ import annotations

from typing import Any

from . import _unsupported

_WHY = "polygrad records no exportable graph; export the model from torch instead"

export = _unsupported.function("torch.onnx.export", _WHY)
dynamo_export = _unsupported.function("torch.onnx.dynamo_export", _WHY)


def is_in_onnx_export() -> bool:
    """False: polygrad never exports, so no code runs inside an ONNX export."""
    return False


def __getattr__(name: str) -> Any:
    raise _unsupported.missing_attribute("torch.onnx", name)
