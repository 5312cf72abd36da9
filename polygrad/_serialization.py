"""``polygrad.save`` / ``polygrad.load``: portable checkpoints, written atomically.

A checkpoint is a zip archive holding ``manifest.json`` (the structure of the saved object)
and one ``.npy`` file per array. Arrays are stored as host NumPy arrays, so a checkpoint
written on one backend loads on any other. Nothing is pickled: loading a file runs no code.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from . import _backend
from ._tensor import Tensor

FORMAT = "polygrad-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file is not a polygrad checkpoint, is truncated or corrupt, or holds an unknown type."""


def _encode(obj: Any, arrays: list[np.ndarray], where: str) -> Any:
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Tensor):
        arrays.append(obj.numpy())
        return {"tensor": len(arrays) - 1, "requires_grad": bool(obj.requires_grad)}
    if isinstance(obj, np.ndarray):
        arrays.append(obj)
        return {"ndarray": len(arrays) - 1}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {
            "dict": [
                [_encode(k, arrays, where), _encode(v, arrays, f"{where}[{k!r}]")]
                for k, v in obj.items()
            ]
        }
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    raise TypeError(
        f"polygrad.save cannot store {where}, a {type(obj).__name__}: checkpoints hold tensors, "
        "arrays, numbers, strings, None, and dicts, lists and tuples of them"
    )


def _decode(node: Any, arrays: dict[int, np.ndarray]) -> Any:
    if not isinstance(node, dict):
        return node
    if "tensor" in node:
        from ._creation import tensor

        return tensor(arrays[node["tensor"]], requires_grad=node["requires_grad"])
    if "ndarray" in node:
        return arrays[node["ndarray"]]
    if "dict" in node:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in node["dict"]}
    if "list" in node:
        return [_decode(v, arrays) for v in node["list"]]
    if "tuple" in node:
        return tuple(_decode(v, arrays) for v in node["tuple"])
    raise CheckpointError(f"unknown entry in checkpoint manifest: {sorted(node)}")


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` (state dicts, tensors, numbers ...) to ``path`` atomically.

    The checkpoint is written to a temporary file beside ``path``, flushed to disk, and then
    renamed over ``path`` in one step: a crash mid-save leaves the previous checkpoint intact.

    Parameters
    ----------
    obj : dict, list, tuple, Tensor, NumPy array, number, str or None, nested
        What to save; Tensors are stored as host arrays with their dtype and requires_grad.
    path : str or PathLike
        Where to write (conventionally ``*.pgz``). Its folder must exist.

    Raises
    ------
    TypeError
        If ``obj`` contains something that is not storable (a function, an arbitrary object),
        naming where it is; nothing is written then.

    Examples
    --------
    >>> import polygrad, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.pgz")
    >>> polygrad.save({"epoch": 3, "w": polygrad.ones(2)}, path)
    >>> polygrad.load(path)["epoch"]
    3
    """
    path = Path(path)
    arrays: list[np.ndarray] = []
    manifest = {"format": FORMAT, "version": VERSION, "tree": _encode(obj, arrays, "obj")}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as z:
                z.writestr("manifest.json", json.dumps(manifest))
                for i, a in enumerate(arrays):
                    buf = io.BytesIO()
                    a = np.require(a, requirements="C")  # C order, and 0-d stays 0-d
                    np.lib.format.write_array(buf, a, allow_pickle=False)
                    z.writestr(f"arrays/{i}.npy", buf.getvalue())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where possible
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load(path: str | os.PathLike, backend: str | None = None, device: Any = None) -> Any:
    """Read a checkpoint written by :func:`save`, putting tensors on a backend and device.

    Parameters
    ----------
    path : str or PathLike
    backend : str, optional
        Backend for the loaded tensors (the active one if None).
    device : optional
        Device for the loaded tensors (the backend's default if None).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    CheckpointError
        If the file is not a polygrad checkpoint, or is truncated or corrupt; the message
        names the file.
    """
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] != b"PK":
        raise CheckpointError(f"{path} is not a polygrad checkpoint (it is not a zip archive)")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "manifest.json" not in names:
                raise CheckpointError(f"{path} is a zip archive but not a polygrad checkpoint")
            manifest = json.loads(z.read("manifest.json"))
            if manifest.get("format") != FORMAT:
                raise CheckpointError(f"{path} is not a polygrad checkpoint")
            if manifest.get("version", 0) > VERSION:
                raise CheckpointError(
                    f"{path} was written by a newer polygrad (format {manifest['version']})"
                )
            arrays = {}
            for name in names:
                if name.startswith("arrays/"):
                    with z.open(name) as member:
                        data = io.BytesIO(member.read())
                    arrays[int(name[7:-4])] = np.lib.format.read_array(data, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{path} is truncated or corrupt: {e}") from e
    if backend is None and device is None:
        return _decode(manifest["tree"], arrays)
    name = backend or _backend.get_backend().name
    with _backend.use_backend(name, device):
        return _decode(manifest["tree"], arrays)
