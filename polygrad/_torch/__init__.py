# ruff: noqa: E501, A001, A002, A004
"""torch's argument conventions over polygrad's ops: ``dim=``/``keepdim=`` (``axis=``/``keepdims=``
accepted too), ``input=``/``other=``, ``out=`` refused, ``(values, indices)`` return types.

Every function here is a thin adapter: it renames and checks arguments, then calls the op in
``polygrad.ops`` that ``polygrad.array_api`` calls too.
"""

from __future__ import annotations

import functools
import inspect
from collections import namedtuple
from collections.abc import Callable
from typing import Any

#: torch.return_types: named (values, indices) pairs
return_types = type(inspect)("polygrad.return_types")
for _n in ("max", "min", "sort", "topk", "median", "nanmedian", "mode", "kthvalue"):
    _t = namedtuple(_n, ["values", "indices"])
    _t.__module__ = "polygrad.return_types"
    setattr(return_types, _n, _t)


def torch_function(fn: Callable) -> Callable:
    """Give ``fn`` torch's argument handling: ``out=`` refused, ``axis=``/``keepdims=`` as
    aliases of ``dim=``/``keepdim=``."""
    params = inspect.signature(fn).parameters
    aliases = {k: v for k, v in (("axis", "dim"), ("keepdims", "keepdim")) if v in params}

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("out", None) is not None:
            raise NotImplementedError(
                f"polygrad.{fn.__name__}: out= is not supported; assign the result instead"
            )
        kwargs.pop("out", None)
        for alias, name in aliases.items():
            if alias in kwargs:
                kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    return wrapper


def _dim(dim: Any) -> Any:
    return tuple(dim) if isinstance(dim, list) else dim


def sizes(args: tuple, op: str) -> tuple[int, ...]:
    """``f(2, 3)`` or ``f((2, 3))`` (-1 allowed where the op allows it)."""
    if len(args) == 1 and not hasattr(args[0], "__index__") and hasattr(args[0], "__iter__"):
        args = tuple(args[0])
    return tuple(int(a) for a in args)


