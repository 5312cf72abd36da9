"""Grad-mode switches as torch's ``torch.autograd.grad_mode``: ``no_grad``, ``enable_grad``,
``set_grad_enabled``, ``inference_mode`` (context managers and decorators)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .._grad_mode import _SetGrad, enable_grad, is_grad_enabled, no_grad
from .._tensor import grad_mode

__all__ = [
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
]


class set_grad_enabled(_SetGrad):
    """Turn recording on or off: at once when called, and back when its ``with`` block ends.

    As torch: ``set_grad_enabled(False)`` used as a plain call switches recording off until it
    is switched back; as a context manager or decorator the previous mode is restored after.

    Parameters
    ----------
    mode : bool
        Record ops (True) or not (False).

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.autograd import set_grad_enabled
    >>> x = polygrad.ones(2, requires_grad=True)
    >>> with set_grad_enabled(False):
    ...     y = x * 2
    >>> y.requires_grad, polygrad.is_grad_enabled()
    (False, True)
    """

    def __new__(cls, mode: bool) -> set_grad_enabled:
        return object.__new__(cls)

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled expects a bool mode, got {type(mode).__name__}")
        self._prev = grad_mode.enabled
        self.mode = mode
        grad_mode.enabled = mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        grad_mode.enabled = self._prev

    def __call__(self, fn: Callable) -> Callable:
        grad_mode.enabled = self._prev  # decorating does not change the mode (as torch)
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper

    def clone(self) -> set_grad_enabled:
        """A new switch to the same mode (torch's API for reusing decorators)."""
        return set_grad_enabled(self.mode)


class _InferenceState:
    depth = 0


_inference = _InferenceState()


class inference_mode(_SetGrad):
    """``no_grad`` for inference, as ``torch.inference_mode``: nothing is recorded.

    ``inference_mode(False)`` changes nothing. Unlike torch, tensors created inside are ordinary
    tensors (torch's "inference tensors" refuse later use in autograd; polygrad has no such
    kind, so code that works in torch works here too).

    Parameters
    ----------
    mode : bool
        Enable inference mode (the default) or leave grad mode as it is.

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.autograd import inference_mode
    >>> x = polygrad.ones(2, requires_grad=True)
    >>> with inference_mode():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # used bare as a decorator: @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)

    def __enter__(self) -> None:
        self._prev = grad_mode.enabled
        if self.mode:
            grad_mode.enabled = False
            _inference.depth += 1

    def __exit__(self, *exc: object) -> None:
        if self.mode:
            _inference.depth -= 1
        grad_mode.enabled = self._prev

    def __call__(self, fn: Callable) -> Callable:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper

    def clone(self) -> inference_mode:
        """A new context of the same mode."""
        return inference_mode(self.mode)


def is_inference_mode_enabled() -> bool:
    """True inside an enabled ``inference_mode`` block."""
    return _inference.depth > 0
