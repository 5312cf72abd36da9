"""The one switch the engine checks for ``polygrad.compile``: the active recorder, or None.

Engine sites call into ``rec`` only when it is not None (one ``is None`` check per site on the
eager path); ``host`` marks a library function (``optimizer.step``, ``zero_grad``, gradient
clipping) that a captured program replays by calling it again, as a whole.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

#: the recorder of the capture under way (``polygrad._compile._record.Recorder``), or None
rec: Any = None


def host(fn: Callable) -> Callable:
    """Mark ``fn`` as a host step: a capture records "call ``fn`` again with these arguments"
    instead of the array calls inside it (its Python scalars change from step to step)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if rec is None:
            return fn(*args, **kwargs)
        return rec.host(fn, args, kwargs)

    wrapper.__polygrad_host__ = True  # type: ignore[attr-defined]
    return wrapper


def pure(fn: Callable) -> Callable:
    """Mark ``fn`` (Tensors and plain values in, a tuple of Tensors and plain values out) as a
    deterministic function of its inputs' values that works on backend arrays inside (shape
    and dtype bookkeeping, value checks): a capture records "run ``fn`` again on the replay's
    arrays", so its checks run on every replay too."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if rec is None:
            return fn(*args, **kwargs)
        return rec.pure(fn, args, kwargs)

    return wrapper


def call(fn: Callable, *args: Any) -> Any:
    """``fn(*args)``: a function of backend arrays (each one a slot of the capture: an
    argument's, an op's result, or a tensor read with ``rec.spec``) and plain values that
    returns one array, with no gradient (index arithmetic, and its range check); put the
    arrays last, so a replay binds the leading constants once.
    A capture records it as a step that runs ``fn`` again on the replay's arrays, so a value
    it depends on (the token ids of a new batch) and the checks inside it are live on every
    replay, never baked in."""
    if rec is None:
        return fn(*args)
    return rec.call(fn, args)
