"""Torch features polygrad does not have: names that import fine and fail clearly when used.

Scripts import more than they use (``import torch.onnx``, ``from torch.nn.parallel import
DistributedDataParallel``), so the names exist and raise ``NotImplementedError`` only when called
or instantiated. Any other torch attribute a script touches is an ``AttributeError`` saying that
polygrad has no such torch feature (``missing_attribute``, used by module ``__getattr__``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

GUIDE = "see 'Coming from PyTorch' in polygrad's README"


def refuse(feature: str, why: str = "") -> NoReturn:
    """Raise the ``NotImplementedError`` for torch feature ``feature`` (``"torch.jit.script"``)."""
    reason = f": {why}" if why else ""
    raise NotImplementedError(f"polygrad does not implement {feature}{reason} ({GUIDE})")


def function(feature: str, why: str = "") -> Callable[..., NoReturn]:
    """A stand-in for torch function ``feature`` that raises ``NotImplementedError`` when called."""

    def unsupported(*args: Any, **kwargs: Any) -> NoReturn:
        refuse(feature, why)

    unsupported.__name__ = unsupported.__qualname__ = feature.rsplit(".", 1)[-1]
    unsupported.__doc__ = f"Not implemented: calling it raises NotImplementedError ({feature})."
    return unsupported


def cls(feature: str, why: str = "", base: type = object) -> type:
    """A stand-in for torch class ``feature``: ``isinstance`` works, instantiating raises."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        refuse(feature, why)

    name = feature.rsplit(".", 1)[-1]
    doc = f"Not implemented: instantiating it raises NotImplementedError ({feature})."
    return type(name, (base,), {"__init__": __init__, "__doc__": doc})


def missing_attribute(module: str, name: str) -> AttributeError:
    """The ``AttributeError`` for ``module.name`` (``module`` as torch spells it: ``torch.nn``)."""
    pg_module = module.replace("torch", "polygrad", 1)
    return AttributeError(
        f"module {pg_module!r} has no attribute {name!r}: polygrad has no torch feature "
        f"{module}.{name} ({GUIDE})"
    )
