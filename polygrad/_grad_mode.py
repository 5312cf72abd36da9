"""Grad mode: whether ops are recorded for backward, and ``no_grad`` / ``enable_grad``, which set
it for a block or a function. A leaf of the import graph: ``_tensor`` and everything above it
read ``grad_mode.enabled``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


class _GradMode:
    enabled = True


grad_mode = _GradMode()


class _SetGrad:
    """Base of no_grad / enable_grad: a context manager that also works as a decorator."""

    value = True

    def __new__(cls, orig_func: Callable | None = None) -> Any:
        if callable(orig_func):  # used bare as a decorator, ``@no_grad``, as torch allows
            return cls()(orig_func)
        return super().__new__(cls)

    def __enter__(self) -> None:
        self._prev = grad_mode.enabled
        grad_mode.enabled = self.value

    def __exit__(self, *exc: object) -> None:
        grad_mode.enabled = self._prev

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_SetGrad):
    """Context manager and decorator in which no op is recorded for backward.

    Examples
    --------
    >>> import polygrad
    >>> x = polygrad.ones(2, requires_grad=True)
    >>> with polygrad.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    value = False


class enable_grad(_SetGrad):
    """Context manager and decorator that turns recording back on inside ``no_grad``."""

    value = True


def is_grad_enabled() -> bool:
    """True when ops are being recorded for backward."""
    return grad_mode.enabled
