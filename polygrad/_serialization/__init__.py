"""``polygrad.save`` / ``polygrad.load``: portable checkpoints, written atomically, read warily.

A checkpoint is a zip archive: ``manifest.json`` describes the saved object and every array in it
(dtype and shape), and ``arrays/<i>.npy`` holds array ``i`` as a standard ``.npy`` file. Members
are stored uncompressed unless ``compress=True``. Nothing is pickled, so loading runs no code.

Loading trusts nothing in the file: the manifest is checked against a fixed grammar, each
``.npy`` header against the manifest and against the zip member's size before any memory is
allocated, and every member against its CRC-32, so a damaged file is a ``CheckpointError`` naming
it, never another exception and never a different value.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any

from .. import _backend
from ._format import FORMAT, VERSION, Bad, CheckpointError, decode, encode
from ._read import read_checkpoint
from ._write import write_atomically

__all__ = ["FORMAT", "VERSION", "CheckpointError", "load", "save"]


def save(obj: Any, path: str | os.PathLike, *, compress: bool = False) -> None:
    """Write ``obj`` (state dicts, tensors, numbers ...) to ``path`` atomically.

    The checkpoint goes to a temporary file ``.<name>.<random>.tmp`` beside the target, is
    flushed to disk and then renamed over it in one step: a save that fails or is killed at any
    point leaves the previous file intact. The next save to the same target removes temporary
    files a killed save left (only its own pattern, only files older than the running save).

    Saving over an existing file keeps its permission bits (a new file gets those ``open``
    would give); saving through a symlink writes the link's target and keeps the link. As with
    torch, saving over a file you may not write is a ``PermissionError``.

    Values are stored exactly: tensors with dtype, shape and ``requires_grad`` (not ``.grad``
    or the graph; a non-leaf loads as a leaf, as in torch); NumPy arrays with their dtype (in
    little-endian byte order); bools, ints, floats, strings and None. Dicts, lists and tuples
    nest; dict keys may be bools, ints, floats, strings, None or tuples of them. Subclasses are
    stored as their base type (an ``OrderedDict`` loads as a ``dict``, an ``IntEnum`` as an
    ``int``) and NumPy scalars as Python numbers.

    Parameters
    ----------
    obj : dict, list, tuple, Tensor, NumPy array, number, str or None, nested
        What to save.
    path : str or PathLike
        Where to write (conventionally ``*.pgz``). Its folder must exist.
    compress : bool
        Deflate the members. Off by default: model weights barely compress and deflating
        them is slow; worth it for mostly-zero or low-entropy data.

    Raises
    ------
    TypeError
        If ``obj`` contains something that is not storable (a function, an arbitrary object),
        naming where it is; nothing is written then.
    OSError
        If the file cannot be written (missing or unwritable folder, disk full); the
        message and ``filename`` name ``path``, and the previous file is untouched.

    Examples
    --------
    >>> import polygrad, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.pgz")
    >>> polygrad.save({"epoch": 3, "w": polygrad.ones(2)}, path)
    >>> polygrad.load(path)["epoch"]
    3
    """
    sources: list = []
    tree = encode(obj, sources, "obj")
    declared = [(s.dtype.name, tuple(int(n) for n in s.shape)) for s in sources]
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "arrays": [{"dtype": d, "shape": list(shape)} for d, shape in declared],
        "tree": tree,
    }
    text = json.dumps(manifest, separators=(",", ":")).encode()
    write_atomically(path, text, sources, declared, compress)


def load(path: str | os.PathLike, backend: str | None = None, device: Any = None) -> Any:
    """Read a checkpoint written by :func:`save`, putting tensors on a backend and device.

    Every part of the file is checked before it is used: a file that is truncated, damaged
    anywhere (zip CRC-32s are verified), not a zip, a zip of something else, or whose manifest,
    member list or arrays disagree in any way raises ``CheckpointError``, whatever the damage.
    Memory is bounded by what the file really holds: shapes and dtypes are checked against the
    zip members' sizes before anything is allocated, and array data is read straight into its
    final array, which becomes the tensor without a copy on CPU backends. Compressed members
    larger than 1 MiB are decompressed once to check their size before allocating, so a
    compressed checkpoint loads at about half speed. Files written by polygrad's first format
    (version 1) load too.

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
        names the file and what is wrong with it.
    """
    where = os.fspath(path)
    info = os.stat(path)  # FileNotFoundError / PermissionError as for open()
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise CheckpointError(f"{where} is {kind}, not a polygrad checkpoint")
    with open(path, "rb") as f:
        try:
            tree, arrays = read_checkpoint(f)
        except Bad as e:
            raise CheckpointError(f"{where} {e}") from None
        except Exception as e:  # whatever a damaged file makes zipfile, zlib or json raise
            reason = f"{type(e).__name__}: {e}"
            raise CheckpointError(f"{where} is truncated or corrupt ({reason})") from e
    name = backend or _backend.get_backend().name
    with _backend.use_backend(name, device):
        target, dev = _backend.active()
        return decode(tree, arrays, target, dev)
