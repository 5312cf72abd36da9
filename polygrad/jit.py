"""``torch.jit`` stand-in: no TorchScript. Compiling or loading fails at use; the markers that are
no-ops in eager torch (``is_scripting``, ``ignore``, ``unused``, ``export``) behave as there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _unsupported

_WHY = "polygrad runs eagerly (no TorchScript); call the model or function directly"

script = _unsupported.function("torch.jit.script", _WHY)
trace = _unsupported.function("torch.jit.trace", _WHY)
trace_module = _unsupported.function("torch.jit.trace_module", _WHY)
freeze = _unsupported.function("torch.jit.freeze", _WHY)
optimize_for_inference = _unsupported.function("torch.jit.optimize_for_inference", _WHY)
save = _unsupported.function("torch.jit.save", _WHY + "; polygrad.save stores state dicts")
load = _unsupported.function("torch.jit.load", _WHY + "; polygrad.load reads state dicts")
ScriptModule = _unsupported.cls("torch.jit.ScriptModule", _WHY)
ScriptFunction = _unsupported.cls("torch.jit.ScriptFunction", _WHY)


def is_scripting() -> bool:
    """False, as in eager torch: code is never being compiled by TorchScript."""
    return False


def is_tracing() -> bool:
    """False, as in eager torch: code is never being traced."""
    return False


def _marker(fn: Callable | None = None, **kwargs: Any) -> Any:
    """``@torch.jit.ignore`` / ``unused`` / ``export``: they only instruct the compiler, so in
    eager mode (torch's and polygrad's) the function is returned unchanged."""
    return fn if fn is not None else (lambda f: f)


ignore = unused = export = _marker


def __getattr__(name: str) -> Any:
    raise _unsupported.missing_attribute("torch.jit", name)
