"""``polygrad.save`` / ``polygrad.load``: portable checkpoints, written atomically, read warily.

Two formats. polygrad's own (below), and torch's (``torch.save``'s zip of a pickle and raw
storages, see ``_torch``), which polygrad writes for ``.pt``/``.pth`` paths, file objects or
``format="torch"``, and reads with a restricted unpickler.

polygrad's own checkpoint is a zip archive: ``manifest.json`` describes the saved object and
every array in it (dtype and shape), and ``arrays/<i>.npy`` holds array ``i`` as a standard
``.npy`` file. Members are stored uncompressed unless ``compress=True``. Nothing is pickled, so
loading runs no code.

Loading trusts nothing in the file: the manifest is checked against a fixed grammar, each
``.npy`` header against the manifest and against the zip member's size before any memory is
allocated, and every member against its CRC-32, so a damaged file is a ``CheckpointError`` naming
it, never another exception and never a different value.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import zipfile
from typing import Any, BinaryIO

from .. import _backend
from .._tensor import Tensor
from ._format import FORMAT, MANIFEST, VERSION, Bad, CheckpointError, decode, encode
from ._read import check_members, read_checkpoint
from ._torch import TorchReader, torch_prefix, write_torch
from ._write import write_atomically, write_zip

#: path suffixes that make ``save`` write torch's format (torch's conventional names)
TORCH_SUFFIXES = (".pt", ".pth")

__all__ = ["FORMAT", "VERSION", "CheckpointError", "load", "save"]


def save(
    obj: Any,
    f: str | os.PathLike | BinaryIO,
    pickle_module: Any = None,
    pickle_protocol: int = 2,
    _use_new_zipfile_serialization: bool = True,
    _disable_byteorder_record: bool = False,
    *,
    compress: bool = False,
    format: str | None = None,  # noqa: A002
) -> None:
    """Write ``obj`` (state dicts, tensors, numbers, whole Modules ...) to a path or file object.

    Which format (decision): **torch's** when ``f`` is a file object (``io.BytesIO`` ...) or a
    path ending in ``.pt`` or ``.pth``, so files named as torch users name them open in
    ``torch.load(weights_only=True)``; **polygrad's own** for any other path (conventionally
    ``*.pgz``); ``format="torch"`` or ``format="polygrad"`` overrides the choice.
    ``polygrad.load`` reads both, whatever the name.

    - polygrad's format pickles nothing: a manifest and ``.npy`` arrays. It stores tensors
      (dtype, shape, ``requires_grad``), NumPy arrays, bools, ints, floats, strings, None and
      dicts, lists and tuples of them (an ``OrderedDict`` loads as a ``dict``); anything else,
      a Module say, is a ``TypeError``.
    - torch's format (``archive/data.pkl`` and ``archive/data/N``) is a pickle, so it also
      stores whole Modules and other objects, as ``torch.save``; tensors are written as torch
      writes them (``torch._utils._rebuild_tensor_v2`` on a storage), Parameters as torch
      Parameters, dtypes as ``torch.float32`` ..., devices as ``torch.device``, without
      importing torch. Each tensor gets its own storage (torch shares one between views).

    Saving to a path is atomic in both formats: the file goes to a temporary file
    ``.<name>.<random>.tmp`` beside the target, is flushed to disk and renamed over it in one
    step, so a save that fails or is killed leaves the previous file intact; the next save to
    the same target removes temporary files a killed save left. Saving over an existing file
    keeps its permission bits; saving through a symlink writes the link's target. As with
    torch, saving over a file you may not write is a ``PermissionError``.

    Parameters
    ----------
    obj : object
        What to save.
    f : str, PathLike or binary file object
        Where to write. A path's folder must exist; a file object is written from its
        current position.
    pickle_module, pickle_protocol, _use_new_zipfile_serialization, _disable_byteorder_record
        torch's arguments, accepted: the pickle is always protocol 2 of Python's ``pickle``, in
        the zip format (as torch's defaults).
    compress : bool
        polygrad's format: deflate the members (off by default: weights barely compress).
    format : {"polygrad", "torch"}, optional
        Override the choice by name.

    Raises
    ------
    TypeError
        If ``obj`` contains something the format cannot store, naming where it is; nothing is
        written then.
    OSError
        If the file cannot be written; the message and ``filename`` name ``f``, and the
        previous file is untouched.

    Examples
    --------
    >>> import polygrad, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.pgz")
    >>> polygrad.save({"epoch": 3, "w": polygrad.ones(2)}, path)
    >>> polygrad.load(path)["epoch"]
    3
    """
    is_path = isinstance(f, (str, os.PathLike))
    if format is None:
        torch_name = is_path and os.fspath(f).lower().endswith(TORCH_SUFFIXES)
        format = "torch" if not is_path or torch_name else "polygrad"  # noqa: A001
    if format not in ("polygrad", "torch"):
        raise ValueError(f"polygrad.save: format must be 'polygrad' or 'torch', not {format!r}")
    if format == "torch":
        if is_path:
            write_atomically(f, lambda out: write_torch(out, obj))
        else:
            write_torch(f, obj)
        return
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
    if is_path:
        write_atomically(f, lambda out: write_zip(out, text, sources, declared, compress))
    else:
        write_zip(f, text, sources, declared, compress)


def load(
    f: str | os.PathLike | BinaryIO,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    backend: str | None = None,
    device: Any = None,
    **pickle_load_args: Any,
) -> Any:
    """Read a checkpoint written by :func:`save` or by ``torch.save``, from a path or file object.

    Tensors land on ``backend`` (the active one if None) and on ``device`` or
    ``map_location`` (the backend's default device if None), whatever device the file names.

    polygrad's format is checked completely before it is used: a file that is truncated,
    damaged anywhere (zip CRC-32s are verified), or whose manifest, member list or arrays
    disagree in any way raises ``CheckpointError``; shapes are checked against member sizes
    before anything is allocated. Files of polygrad's first format (version 1) load too.

    torch's format is unpickled as ``torch.load`` does in torch 2.6 and later: by default
    (``weights_only=True``) only tensors, Parameters, storages, dicts (``OrderedDict``),
    lists, tuples, sets, numbers, strings, None, bytes, dtypes, devices, ``torch.Size`` and
    the classes allow-listed with ``polygrad.serialization.add_safe_globals`` or
    ``safe_globals`` are rebuilt; any other global, and so any code, is refused with a
    ``CheckpointError`` naming it. Nothing is imported to load a file, torch included.
    ``weights_only=False`` trusts the file, as in torch: its pickle may then run any code.
    Every storage's size is checked against its declaration, and every tensor's offset, shape
    and strides against its storage, before an array is allocated; a tensor that views more
    elements than its storage holds (an expanded view) is refused. Tensors are copies (views
    of one storage in torch load as separate tensors). float16 and bfloat16 tensors are
    refused: convert them in torch first.

    Parameters
    ----------
    f : str, PathLike or binary file object
    map_location : str, polygrad.device, torch.device or dict, optional
        Where tensors go, as in torch: a device, or a dict from the device names stored in the
        file (``"cuda:0"``) to devices; names it lacks go to the default device. A callable
        is not supported (``NotImplementedError``).
    pickle_module, mmap, pickle_load_args
        torch's arguments: accepted when None or empty (``mmap=True`` is refused).
    weights_only : bool, optional
        True unless False is given (torch 2.6's default).
    backend : str, optional
        Backend for the loaded tensors (polygrad's addition; the active one if None).
    device : optional
        Same as a device ``map_location``.

    Raises
    ------
    FileNotFoundError
        If ``f`` is a path that does not exist.
    CheckpointError
        If the file is not a polygrad or torch checkpoint, is truncated or corrupt, or (with
        ``weights_only``) holds a global that is not allowed; the message names the file and
        what is wrong with it.
    """
    if pickle_module is not None or pickle_load_args or mmap:
        raise NotImplementedError(
            "polygrad.load does not take pickle_module, mmap=True or pickle_load_args "
            "(torch.load's options for custom unpicklers and memory-mapped files)"
        )
    if callable(map_location) and not isinstance(map_location, (str, dict)):
        raise NotImplementedError("polygrad.load: map_location as a callable is not supported")
    if isinstance(map_location, dict):
        mapping = {str(k): v for k, v in map_location.items()}
    else:
        mapping = None
        device = device if map_location is None else map_location
    is_path = isinstance(f, (str, os.PathLike))
    where = os.fspath(f) if is_path else f"the checkpoint in {type(f).__name__}"
    with contextlib.ExitStack() as stack:
        if is_path:
            info = os.stat(f)  # FileNotFoundError / PermissionError as for open()
            if not stat.S_ISREG(info.st_mode):
                kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
                raise CheckpointError(f"{where} is {kind}, not a polygrad checkpoint")
            f = stack.enter_context(open(f, "rb"))
        try:
            return _read_any(f, mapping, device, backend, weights_only is not False)
        except Bad as e:
            raise CheckpointError(f"{where} {e}") from None
        except (CheckpointError, _backend.BackendError):
            raise
        except Exception as e:  # whatever a damaged file makes zipfile, zlib or pickle raise
            reason = f"{type(e).__name__}: {e}"
            raise CheckpointError(f"{where} is truncated or corrupt ({reason})") from e


def _read_any(f: BinaryIO, mapping: Any, device: Any, backend: str | None, weights_only: bool):
    start = f.tell()
    magic = f.read(2)
    if magic != b"PK":
        if magic[:1] == b"\x80":
            raise Bad(
                "is in torch's legacy (pre-1.6) format, which polygrad does not read; "
                "re-save it with torch.save from a recent torch"
            )
        raise Bad("is not a polygrad checkpoint (it is not a zip archive)")
    f.seek(start)
    with zipfile.ZipFile(f) as z:
        names = z.namelist()
    name = backend or _backend.get_backend().name
    if MANIFEST not in names and torch_prefix(names) is not None:
        return _read_torch(f, torch_prefix(names), mapping, device, name, weights_only)
    f.seek(start)
    tree, arrays = read_checkpoint(f)
    with _backend.use_backend(name, device):
        target, dev = _backend.active()
        return decode(tree, arrays, target, dev)


def _read_torch(f, prefix, mapping, device, backend_name, weights_only):
    size = f.seek(0, os.SEEK_END)
    with zipfile.ZipFile(f) as z:
        infos = z.infolist()
        if len({i.filename for i in infos}) != len(infos):
            raise Bad("is corrupt: it holds a zip member twice")
        check_members(f, infos, size)
        target = _backend.backend_by_name(backend_name)
        default = target.normalize_device(device)
        devices: dict[str, Any] = {}

        def place(host: Any, location: str) -> Tensor:
            if location not in devices:
                wanted = mapping.get(location) if mapping is not None else None
                devices[location] = default if wanted is None else target.normalize_device(wanted)
            dev = devices[location]
            with target.on(dev):
                data = target.compat.asarray(host, device=dev, copy=None)
            return Tensor._wrap(data, target.xp)

        return TorchReader(z, prefix, place).load(weights_only)
