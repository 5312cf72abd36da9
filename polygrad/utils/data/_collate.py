"""``default_collate`` and ``default_convert``: samples to batches, with torch's rules.

``default_collate`` stacks a list of samples into a batch, recursing into the structure of the
first sample: polygrad Tensors are stacked on their backend; NumPy arrays are stacked on the host
(keeping their dtype) and moved to the active backend once; Python floats become a float64
tensor, ints an int64 tensor and bools a bool tensor; NumPy scalars keep their dtype; strings and
bytes stay a list; mappings, namedtuples and sequences keep their type (a plain tuple becomes a
list, as in torch). ``default_convert`` (used when ``batch_size=None``) only turns NumPy arrays and
scalars into Tensors.
"""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..._creation import tensor
from ..._grad_mode import is_grad_enabled
from ..._tensor import Tensor
from ...ops import stack

__all__ = ["default_collate", "default_convert", "collate", "default_collate_fn_map"]

# NumPy dtypes of strings, bytes and objects cannot become tensors
_STR_OBJ_DTYPE = re.compile(r"[SaUO]")

_ERR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def _check_same_shape(batch: list, what: str) -> None:
    first = tuple(batch[0].shape)
    for i, b in enumerate(batch):
        if tuple(b.shape) != first:
            raise RuntimeError(
                f"default_collate: stack expects each {what} to be equal size, but got "
                f"{list(first)} at entry 0 and {list(b.shape)} at entry {i}"
            )


def collate_tensor_fn(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    """Stack polygrad Tensors along a new first axis (recorded for backward if any needs it)."""
    _check_same_shape(batch, "tensor")
    xp = batch[0]._xp
    if is_grad_enabled() and any(t.requires_grad for t in batch):
        return stack(batch, 0)
    if any(t._xp is not xp or t.device != batch[0].device for t in batch):
        raise RuntimeError(
            "default_collate: all tensors of a batch must be on one backend and device, got "
            + ", ".join(sorted({f"{t.backend}:{t.device}" for t in batch}))
        )
    # nothing to record: one stack in the backend's namespace instead of a graph op per sample
    return Tensor._wrap(xp.stack([t._data for t in batch], axis=0), xp)


def collate_numpy_array_fn(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    """Stack NumPy arrays on the host, then make one Tensor (the dtype is kept)."""
    if _STR_OBJ_DTYPE.search(batch[0].dtype.str) is not None:
        raise TypeError(_ERR.format(batch[0].dtype))
    _check_same_shape(batch, "array")
    return tensor(np.stack(batch))


def collate_numpy_scalar_fn(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    """NumPy scalars keep their dtype."""
    return tensor(np.asarray(batch))


def collate_float_fn(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    """Python floats become float64, as in torch's default_collate."""
    return tensor(batch, dtype="float64")


def collate_int_fn(batch: list, *, collate_fn_map: dict | None = None) -> Tensor:
    """Python ints become int64 (bools become bool)."""
    return tensor(batch)


def collate_str_fn(batch: Sequence, *, collate_fn_map: dict | None = None) -> Sequence:
    """Strings and bytes stay as they are: the batch's list (or tuple, inside a structure)."""
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def collate(batch: Sequence, *, collate_fn_map: dict | None = None) -> Any:
    """Collate ``batch`` using ``collate_fn_map`` (type -> function) for the leaves.

    The structure (mappings, namedtuples, sequences) is handled here; a leaf's function is
    found by its exact type first, then by ``isinstance`` in the map's order.

    Raises
    ------
    TypeError
        If a leaf's type has no function in the map.
    RuntimeError
        If the sequences in the batch have different lengths.
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for kind, fn in collate_fn_map.items():
            if isinstance(elem, kind):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        fields = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                  for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update(fields)
                return clone
            return elem_type(fields)
        except TypeError:
            return fields
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple
        return elem_type(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns  # torch returns a list for plain tuples
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, column in enumerate(columns):
                    clone[i] = column
                return clone
            return elem_type(columns)
        except TypeError:
            return columns
    raise TypeError(_ERR.format(elem_type))


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, as ``torch.utils.data.default_collate``.

    Parameters
    ----------
    batch : list
        Samples of one structure (Tensors, NumPy arrays, numbers, strings, or mappings,
        namedtuples and sequences of them).

    Returns
    -------
    The batch with the samples' structure; each leaf a Tensor on the active backend with a new
    first axis of ``len(batch)``, or a list for strings.

    Examples
    --------
    >>> from polygrad.utils.data import default_collate
    >>> out = default_collate([(1, 0.5), (2, 1.5)])
    >>> out[0].dtype, out[1].dtype
    (polygrad.int64, polygrad.float64)
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays and scalars inside ``data`` into Tensors; leave the rest unchanged.

    Used by ``DataLoader`` when ``batch_size=None`` (no automatic batching), as in torch.
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if _STR_OBJ_DTYPE.search(data.dtype.str) is not None else tensor(data)
    if isinstance(data, (np.bool_, np.number)):
        return tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        fields = {key: default_convert(data[key]) for key in data}
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update(fields)
                return clone
            return type(data)(fields)
        except TypeError:
            return fields
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        items = [default_convert(d) for d in data]
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, item in enumerate(items):
                    clone[i] = item
                return clone
            return type(data)(items)
        except TypeError:
            return items
    return data
