"""Reading a checkpoint without trusting it: every size, header, name and CRC-32 is checked."""

from __future__ import annotations

import json
import math
import os
import struct
import zipfile
import zlib
from typing import Any, BinaryIO

import numpy as np

from ._format import (
    ARRAY_DTYPES,
    CHUNK,
    FORMAT,
    MANIFEST,
    MAX_RATIO,
    UNSUPPORTED_FLAGS,
    VERSION,
    Bad,
    check_tree,
    is_shape,
    parse_npy_header,
)


def read_checkpoint(f: BinaryIO) -> tuple[Any, dict[int, np.ndarray]]:
    """The manifest tree and host arrays of an open checkpoint, or ``Bad`` saying what is wrong."""
    if f.read(2) != b"PK":
        raise Bad("is not a polygrad checkpoint (it is not a zip archive)")
    size = f.seek(0, os.SEEK_END)
    with zipfile.ZipFile(f) as z:
        infos = z.infolist()
        members = {info.filename: info for info in infos}
        if MANIFEST not in members:
            raise Bad(f"is a zip archive but not a polygrad checkpoint (it has no {MANIFEST})")
        if len(members) != len(infos):
            raise Bad("is corrupt: it holds a zip member twice")
        starts = check_members(f, infos, size)
        tree, declared = _check_manifest(z.read(MANIFEST), len(infos) - 1)
        names = [f"arrays/{i}.npy" for i in range(len(declared))]
        if set(members) != {MANIFEST, *names}:
            unknown = sorted(set(members) - {MANIFEST, *names})
            missing = sorted(set(names) - set(members))
            raise Bad(f"is corrupt: unknown members {unknown}, missing members {missing}")
        headers = []  # every header is checked before any array is allocated
        for name, wanted in zip(names, declared):
            dtype, shape, skip = _check_array_member(f, z, members[name], starts[name], wanted)
            headers.append((dtype, shape, skip))
        seen: set[int] = set()
        check_tree(tree, [(d, s) for d, s, _ in headers], seen, key=False)
        unused = sorted(set(range(len(headers))) - seen)
        if unused:
            raise Bad(f"is corrupt: its manifest leaves arrays {unused} unused")
        arrays = {
            i: _read_array(f, z, members[name], starts[name], *headers[i])
            for i, name in enumerate(names)
        }
    return tree, arrays


def check_members(f: BinaryIO, infos: list[zipfile.ZipInfo], size: int) -> dict[str, int]:
    """Where each member's data starts, after checking its local header and its sizes.

    Members must not overlap (overlapping members are how a small zip expands to terabytes)
    and must lie inside the file; a deflated member may not claim to expand more than deflate
    can, and a stored one must be as long as it claims.
    """
    starts, end = {}, 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        name = info.filename
        if info.flag_bits & UNSUPPORTED_FLAGS or info.compress_type not in (
            zipfile.ZIP_STORED,
            zipfile.ZIP_DEFLATED,
        ):
            raise Bad(f"is corrupt: member {name} is encrypted or compressed in an unknown way")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise Bad(f"is corrupt: stored member {name} has two different sizes")
        if info.file_size > MAX_RATIO * info.compress_size + 1024:
            raise Bad(
                f"is corrupt: member {name} claims {info.file_size} bytes from "
                f"{info.compress_size} compressed ones, more than deflate can give (a zip bomb?)"
            )
        if info.header_offset < end:
            raise Bad(f"is corrupt: member {name} overlaps another member")
        f.seek(info.header_offset)
        local = f.read(30)
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise Bad(f"is truncated or corrupt (member {name} has no local header)")
        name_size, extra_size = struct.unpack("<HH", local[26:30])
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        if f.read(name_size) != info.orig_filename.encode(encoding):
            raise Bad(f"is corrupt: member {name} has another name in its local header")
        starts[name] = info.header_offset + 30 + name_size + extra_size
        end = starts[name] + info.compress_size
        if end > size:
            raise Bad(f"is truncated or corrupt (member {name} runs past the end of the file)")
    return starts


def _check_manifest(text: bytes, members: int) -> tuple[Any, list]:
    """The manifest's tree and its (dtype, shape) per array (None for version 1 files)."""
    manifest = json.loads(text.decode("utf-8"), object_pairs_hook=_unique_keys)
    if type(manifest) is not dict or manifest.get("format") != FORMAT:
        raise Bad(f"is a zip archive but not a polygrad checkpoint (its {MANIFEST} is not ours)")
    version = manifest.get("version")
    if type(version) is not int or version < 1:
        raise Bad(f"is corrupt: its manifest has version {version!r}")
    if version > VERSION:
        raise Bad(
            f"was written by a newer polygrad (format version {version}, this one reads "
            f"{VERSION} and older): upgrade polygrad to load it"
        )
    keys = {"format", "version", "tree"} | ({"arrays"} if version >= 2 else set())
    if set(manifest) != keys:
        raise Bad(f"is corrupt: its manifest has keys {sorted(manifest)}, not {sorted(keys)}")
    if version == 1:  # no declarations: the .npy headers alone say what each array is
        return manifest["tree"], [None] * members
    entries = manifest["arrays"]
    if type(entries) is not list:
        raise Bad("is corrupt: its manifest's arrays are not a list")
    declared = []
    for entry in entries:
        if (
            type(entry) is not dict
            or set(entry) != {"dtype", "shape"}
            or type(entry["dtype"]) is not str
            or entry["dtype"] not in ARRAY_DTYPES
            or not is_shape(entry["shape"], list)
        ):
            raise Bad(f"is corrupt: its manifest declares an array as {entry!r}")
        declared.append((entry["dtype"], tuple(entry["shape"])))
    return manifest["tree"], declared


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise Bad("is corrupt: its manifest repeats a key")
    return obj


def _check_array_member(
    f: BinaryIO, z: zipfile.ZipFile, info: zipfile.ZipInfo, start: int, wanted: tuple | None
) -> tuple[str, tuple[int, ...], int]:
    """Parse and check one array's ``.npy`` header against the manifest and the member size."""
    name = info.filename
    if info.compress_type == zipfile.ZIP_STORED:
        f.seek(start)
        dtype, shape, skip = parse_npy_header(_exact(f.read, name), info.file_size, name)
    else:
        with z.open(info) as member:
            dtype, shape, skip = parse_npy_header(_exact(member.read, name), info.file_size, name)
    if wanted is not None and (dtype, shape) != wanted:
        raise Bad(
            f"is corrupt: {name} holds a {dtype} array of shape {shape}, its manifest "
            f"declares {wanted[0]} of shape {wanted[1]}"
        )
    nbytes = skip + math.prod(shape) * np.dtype(dtype).itemsize
    if nbytes != info.file_size:
        raise Bad(f"is corrupt: {name} has {info.file_size} bytes, its header declares {nbytes}")
    if info.compress_type != zipfile.ZIP_STORED and nbytes > 1 << 20:
        with z.open(info) as member:  # decompress once, keeping nothing, to see the bytes exist
            total = 0
            while chunk := member.read(CHUNK):
                total += len(chunk)
        if total != nbytes:
            raise Bad(f"is truncated or corrupt ({name} holds {total} bytes, not {nbytes})")
    return dtype, shape, skip


def _exact(read: Any, name: str) -> Any:
    def read_exactly(n: int) -> bytes:
        data = read(n)
        if len(data) != n:
            raise Bad(f"is truncated or corrupt ({name} ends early)")
        return data

    return read_exactly


def _read_array(
    f: BinaryIO,
    z: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    start: int,
    dtype: str,
    shape: tuple[int, ...],
    skip: int,
) -> np.ndarray:
    """Read one checked member straight into a new array, verifying its CRC-32."""
    name = info.filename
    out = np.empty(shape, dtype=np.dtype(dtype).newbyteorder("<"))
    view = memoryview(out.reshape(-1).view(np.uint8)) if out.size else memoryview(b"")
    done = 0
    if info.compress_type == zipfile.ZIP_STORED:
        f.seek(start)
        crc = zlib.crc32(_exact(f.read, name)(skip))
        while done < len(view):
            n = f.readinto(view[done : done + CHUNK])
            if not n:
                raise Bad(f"is truncated or corrupt ({name} ends early)")
            crc = zlib.crc32(view[done : done + n], crc)
            done += n
        if crc != info.CRC:
            raise Bad(f"is corrupt ({name} fails its CRC-32 check)")
        return out
    with z.open(info) as member:  # zipfile checks the CRC-32 as the last byte comes out
        _exact(member.read, name)(skip)
        while done < len(view):
            chunk = member.read(min(CHUNK, len(view) - done))
            if not chunk:
                raise Bad(f"is truncated or corrupt ({name} ends early)")
            view[done : done + len(chunk)] = chunk
            done += len(chunk)
    return out
