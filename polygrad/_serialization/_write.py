"""Writing a checkpoint: the temporary file, its zip members, and cleaning up after killed saves."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .._tensor import Tensor
from ._format import CHUNK, MANIFEST, npy_header


def write_atomically(path: Any, write: Any) -> None:
    """Run ``write(f)`` on a temporary file beside ``path``'s target, then rename it over."""
    target = Path(os.path.realpath(path))  # through symlinks: the link itself stays
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
        if not os.access(target, os.W_OK):  # as open() would refuse, and torch with it
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(target))
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError as e:
        raise _save_error(e, path, target) from None
    try:
        fd, tmp = _create_temp(target)
    except OSError as e:
        raise _save_error(e, path, target) from None
    try:
        started = os.fstat(fd).st_mtime
        with open(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise _save_error(e, path, target) from e
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where possible
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    _remove_stale_temps(target, started)


def _create_temp(target: Path) -> tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = str(target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(target))


def _remove_stale_temps(target: Path, started: float) -> None:
    """Delete our ``.<name>.<8 hex>.tmp`` files older than this save: killed saves' leftovers."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.[0-9a-f]{{8}}\.tmp")
    with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
        for entry in entries:
            if pattern.fullmatch(entry.name):
                with contextlib.suppress(OSError):
                    info = entry.stat(follow_symlinks=False)
                    if stat.S_ISREG(info.st_mode) and info.st_mtime < started:
                        os.unlink(entry.path)


def _save_error(e: OSError, path: Any, target: Path) -> OSError:
    """``e`` reworded to name the checkpoint the user asked for, not our temporary file."""
    reason = e.strerror or str(e)
    if os.fspath(path) != str(target):
        reason += f" (writing the symlink's target {target})"
    if e.errno is None:
        return OSError(f"polygrad.save could not write {os.fspath(path)}: {reason}")
    return OSError(e.errno, f"polygrad.save could not write the checkpoint: {reason}", str(path))


def _umask() -> int:
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0)  # elsewhere: the only portable way to read it
    os.umask(mask)
    return mask


def write_zip(f: BinaryIO, manifest: bytes, sources: list, declared: list, compress: bool) -> None:
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(f, "w", compression=method) as z:
        _write_member(z, MANIFEST, method, manifest)
        for i, (source, (dtype, shape)) in enumerate(zip(sources, declared)):
            host = _host_array(source)
            if host.dtype.name != dtype or host.shape != shape:  # changed while saving?
                raise RuntimeError(f"polygrad.save: array {i} changed while being saved")
            data = memoryview(host.reshape(-1).view(np.uint8)) if host.size else b""
            _write_member(z, f"arrays/{i}.npy", method, npy_header(dtype, shape), data)


def _host_array(source: Any) -> np.ndarray:
    """C-ordered little-endian host data of a tensor or array, copied only when it must be."""
    if isinstance(source, Tensor):
        data = source._data
        source = data if isinstance(data, np.ndarray) else source.numpy()
    return np.require(source, dtype=source.dtype.newbyteorder("<"), requirements="C")


def _write_member(z: zipfile.ZipFile, name: str, method: int, *parts: Any) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # same object, same bytes
    info.compress_type = method
    info.external_attr = 0o644 << 16
    info.file_size = sum(len(p) for p in parts)  # lets zipfile pick ZIP64 before writing
    with z.open(info, "w") as out:
        for part in parts:
            for start in range(0, len(part), CHUNK):
                out.write(part[start : start + CHUNK])
