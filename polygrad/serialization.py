"""``torch.serialization``: the allow-list of classes that weights-only loading may rebuild.

``polygrad.load`` (like ``torch.load`` since torch 2.6) rebuilds only tensors, containers and
numbers from a torch-format checkpoint unless more classes are allowed, globally with
``add_safe_globals([MyNet, nn.Linear])`` or for a block with ``with safe_globals([...]):``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from ._serialization import CheckpointError, load, save
from ._serialization._torch import SAFE_GLOBALS, global_name

__all__ = [
    "CheckpointError",
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "load",
    "safe_globals",
    "save",
]


def _entries(globals_: Iterable[Any]) -> dict[str, Any]:
    out = {}
    for g in globals_:
        if isinstance(g, tuple):  # torch's (obj, "module.name") form
            obj, name = g
            out[name] = obj
        else:
            out[global_name(g)] = g
    return out


def add_safe_globals(safe_globals: list[Any]) -> None:
    """Allow weights-only loading to rebuild these classes or functions (by their full name).

    Entries are objects (``MyNet``) or ``(object, "module.name")`` pairs, as in torch.

    Examples
    --------
    >>> import polygrad
    >>> polygrad.serialization.add_safe_globals([polygrad.nn.Linear])
    >>> polygrad.nn.Linear in polygrad.serialization.get_safe_globals()
    True
    >>> polygrad.serialization.clear_safe_globals()
    """
    SAFE_GLOBALS.update(_entries(safe_globals))


def get_safe_globals() -> list[Any]:
    """The objects allowed with ``add_safe_globals`` (and active ``safe_globals`` blocks)."""
    return list(SAFE_GLOBALS.values())


def clear_safe_globals() -> None:
    """Forget every allowed object."""
    SAFE_GLOBALS.clear()


@contextlib.contextmanager
def safe_globals(safe_globals: list[Any]) -> Iterator[None]:
    """Allow these objects (as ``add_safe_globals``) inside a ``with`` block only."""
    saved = dict(SAFE_GLOBALS)
    SAFE_GLOBALS.update(_entries(safe_globals))
    try:
        yield
    finally:
        SAFE_GLOBALS.clear()
        SAFE_GLOBALS.update(saved)
