"""polygrad.save / polygrad.load: exact round trips, damaged files, bounded memory, safe saves.

The fuzz test runs a few thousand damaged variants in the normal suite; set
``POLYGRAD_CHECKPOINT_FUZZ=long`` for every single-bit flip and every truncation of each file.
"""

import errno
import io
import json
import os
import random
import signal
import struct
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import assert_close

import polygrad as pg
import polygrad.nn as nn
import polygrad.optim as optim
from polygrad._serialization import _write

ROOT = Path(pg.__file__).resolve().parent.parent
FORMAT = "polygrad-checkpoint"


def _state():
    return {
        "model": {"w": pg.randn(3, 2, requires_grad=True), "b": pg.zeros(2, dtype=pg.float64)},
        "optimizer": {"state": {0: {"step": 4, "buf": pg.ones(3)}}, "lr": 0.1},
        "epoch": 7,
        "rng": pg.get_rng_state(),
        "history": [0.5, (1, None, "text")],
    }


def _training_state():
    """A model and optimizer state after one Adam step, and nested Python values."""
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(pg.randn(5, 3)).sum().backward()
    opt.step()
    return {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 3,
        "extra": [1.5, None, (True, "x", -2), {(1, "a"): np.arange(3, dtype=np.int16)}],
        "rng": pg.get_rng_state(),
    }


def _same(a, b) -> bool:
    """Exactly equal: types, dict order, dtypes, shapes, requires_grad and every bit of data."""
    if type(a) is not type(b):
        return False
    if isinstance(a, pg.Tensor):
        return (
            a.dtype == b.dtype
            and a.shape == b.shape
            and a.requires_grad == b.requires_grad
            and a.numpy().tobytes() == b.numpy().tobytes()
        )
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


# -- round trips ----------------------------------------------------------------------------------
def test_save_load_round_trip_on_any_backend(tmp_path):
    state = _state()
    path = tmp_path / "ckpt.pgz"
    pg.save(state, path)
    for backend in (pg.get_backend().name, "torch"):
        back = pg.load(path, backend=backend)
        w = back["model"]["w"]
        assert w.backend == backend and w.requires_grad and w.dtype == pg.float32
        np.testing.assert_array_equal(w.numpy(), state["model"]["w"].numpy())
        assert back["model"]["b"].dtype == pg.float64
        assert back["optimizer"]["state"][0]["step"] == 4
        assert back["epoch"] == 7 and back["history"] == [0.5, (1, None, "text")]
        assert back["rng"] == state["rng"]


def test_a_training_state_round_trips_exactly(tmp_path):
    state = _training_state()
    pg.save(state, tmp_path / "ckpt.pgz")
    assert _same(pg.load(tmp_path / "ckpt.pgz"), state)


def test_rng_state_restores_the_random_stream(tmp_path):
    pg.manual_seed(5)
    pg.save({"rng": pg.get_rng_state()}, tmp_path / "r.pgz")
    expected = pg.randn(4).numpy()
    pg.set_rng_state(pg.load(tmp_path / "r.pgz")["rng"])
    np.testing.assert_array_equal(pg.randn(4).numpy(), expected)


def _extreme_values(dtype: str) -> torch.Tensor:
    """Values at the edges of ``dtype``, as a torch tensor (the reference)."""
    if dtype == "bool":
        return torch.tensor([[True, False], [False, True]])
    if dtype.startswith("complex"):
        real = _extreme_values("float32" if dtype == "complex64" else "float64")
        return torch.complex(real, torch.flip(real, (0,)))
    if dtype.startswith("float"):
        info = torch.finfo(getattr(torch, dtype))
        values = [0.0, -0.0, info.min, info.max, info.tiny, info.tiny / 4, info.eps, 1 / 3]
        return torch.tensor(values + [float("inf"), -float("inf")], dtype=getattr(torch, dtype))
    info = torch.iinfo(getattr(torch, dtype))
    return torch.tensor([info.min, info.max, 0, 1, info.max // 3], dtype=getattr(torch, dtype))


def _every_backends_dtypes() -> list:
    """The dtypes numpy, strict and torch all have (torch lacks uint16 to uint64)."""
    have = []
    for name in ("numpy", "strict", "torch"):
        with pg.use_backend(name):
            have.append(set(pg._backend._active.backend.dtypes))
    common = [d for d in pg._dtypes.ALL if all(d in h for h in have)]
    assert pg.complex128 in common and pg.uint8 in common
    return common


@pytest.mark.parametrize("source", ["numpy", "strict", "torch"])
def test_every_dtype_round_trips_exactly_on_every_backend(tmp_path, source):
    expected = {}
    with pg.use_backend(source):
        saved = {}
        for d in _every_backends_dtypes():
            ref = _extreme_values(d.name)
            expected[d.name] = ref
            grad = d.is_floating_point
            saved[d.name] = pg.tensor(ref.numpy(), requires_grad=grad)
            saved[d.name + " 0-d"] = pg.tensor(ref.numpy()[0])
            saved[d.name + " empty"] = pg.tensor(ref.numpy()[:0].reshape(0, 3, 0))
        saved["nan"] = pg.tensor(np.array([np.nan, -np.nan], dtype=np.float32))
        pg.save(saved, tmp_path / "all.pgz")
    for target in ("numpy", "strict", "torch"):
        back = pg.load(tmp_path / "all.pgz", backend=target)
        assert list(back) == list(saved)
        with pg.use_backend(target):
            device = pg.get_backend().device
        for name, t in back.items():
            kind = name.split()[0]
            assert t.backend == target and t.device == device, name
            assert t.dtype == saved[name].dtype and t.shape == saved[name].shape, name
            assert t.requires_grad == saved[name].requires_grad, name
            assert t.numpy().tobytes() == saved[name].numpy().tobytes(), name  # every bit
            if kind in expected and name == kind:
                assert torch.equal(torch.from_numpy(t.numpy()), expected[kind]), name
                assert t.numpy().dtype == np.dtype(str(expected[kind].dtype)[6:]), name


def test_numpy_arrays_and_python_values_round_trip_exactly(tmp_path):
    state = {
        "half": np.array([1.5, -0.0, 65504], dtype=np.float16),
        "u16": np.arange(5, dtype=np.uint16),
        "u64": np.array([2**64 - 1], dtype=np.uint64),
        "c": np.array([1 + 2j, -3j], dtype=np.complex128),
        "big-endian": np.arange(4, dtype=">i4"),
        "strided": np.arange(12.0).reshape(3, 4).T,
        "scalars": [np.float32(0.1), np.int64(3), np.bool_(True), 2**100, -0.0, float("inf")],
        "keys": {None: 1, True: 2, 3: 3, 2.5: 4, "s": 5, (1, ("t", None)): 6},
        "unicode": "naïve \U0001f600 \x00",
    }
    pg.save(state, tmp_path / "a.pgz")
    back = pg.load(tmp_path / "a.pgz")
    for name in ("half", "u16", "u64", "c", "strided"):
        assert back[name].dtype == state[name].dtype
        np.testing.assert_array_equal(back[name], state[name])
    assert back["big-endian"].dtype == np.dtype("<i4")  # stored little-endian, same values
    np.testing.assert_array_equal(back["big-endian"], state["big-endian"])
    assert back["scalars"] == [float(np.float32(0.1)), 3, True, 2**100, -0.0, float("inf")]
    assert str(back["scalars"][4]) == "-0.0" and type(back["scalars"][1]) is int
    assert list(back["keys"].items()) == list(state["keys"].items())
    assert back["unicode"] == state["unicode"]


def test_loaded_values_match_torch_after_a_round_trip(tmp_path):
    t = torch.randn(4, 3, dtype=torch.float64)
    pg.save({"t": pg.tensor(t.numpy())}, tmp_path / "t.pgz")
    assert_close(pg.load(tmp_path / "t.pgz")["t"], t, rtol=0)


def test_zero_d_tensors_keep_their_shape_and_files_get_normal_permissions(tmp_path):
    path = tmp_path / "scalars.pgz"
    pg.save({"a": pg.tensor(3), "b": pg.tensor(2.5, dtype=pg.float64)}, path)
    back = pg.load(path)
    assert back["a"].shape == () and back["a"].item() == 3 and back["a"].dtype == pg.int64
    assert back["b"].shape == () and back["b"].dtype == pg.float64
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_unstorable_values_are_type_errors_naming_where_and_write_nothing(tmp_path):
    path = tmp_path / "ckpt.pgz"
    cases = {
        r"obj\['f'\].*function": {"f": lambda: 0},
        r"obj\['o'\].*dtype object": {"o": np.array([None])},
        r"obj\['s'\].*dtype <U1": {"s": np.array(["a"])},
        r"obj\['m'\].*MaskedArray": {"m": np.ma.masked_array([1.0], mask=[True])},
        r"a key of obj.*Tensor": {pg.ones(1): 1},
        r"obj\[0\].*complex": [1j],
    }
    for pattern, obj in cases.items():
        with pytest.raises(TypeError, match=pattern):
            pg.save(obj, path)
    assert os.listdir(tmp_path) == []


def test_members_are_plain_npy_files_stored_uncompressed_unless_asked(tmp_path):
    state = {"w": pg.zeros(1000, 100), "i": pg.arange(7)}
    pg.save(state, tmp_path / "plain.pgz")
    pg.save(state, tmp_path / "small.pgz", compress=True)
    with zipfile.ZipFile(tmp_path / "plain.pgz") as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}
        manifest = json.loads(z.read("manifest.json"))
        assert manifest["arrays"] == [
            {"dtype": "float32", "shape": [1000, 100]},
            {"dtype": "int64", "shape": [7]},
        ]
        np.testing.assert_array_equal(np.load(io.BytesIO(z.read("arrays/1.npy"))), np.arange(7))
    with zipfile.ZipFile(tmp_path / "small.pgz") as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}
    assert (tmp_path / "small.pgz").stat().st_size < (tmp_path / "plain.pgz").stat().st_size / 50
    assert _same(pg.load(tmp_path / "small.pgz"), pg.load(tmp_path / "plain.pgz"))


def test_files_of_the_first_format_still_load(tmp_path):
    """Version 1: no array declarations in the manifest, members deflated by np.save."""
    w, step = np.arange(6, dtype=np.float32).reshape(2, 3), np.array(4)
    manifest = {
        "format": FORMAT,
        "version": 1,
        "tree": {
            "dict": [
                ["w", {"tensor": 0, "requires_grad": True}],
                ["step", {"ndarray": 1}],
                ["lr", 0.1],
            ]
        },
    }
    path = tmp_path / "v1.pgz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest))
        for i, a in enumerate((w, step)):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, a, allow_pickle=False)
            z.writestr(f"arrays/{i}.npy", buf.getvalue())
    back = pg.load(path)
    assert back["w"].requires_grad and back["w"].dtype == pg.float32 and back["lr"] == 0.1
    np.testing.assert_array_equal(back["w"].numpy(), w)
    assert back["step"].shape == () and back["step"] == 4


# -- damaged and foreign files --------------------------------------------------------------------
def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=False)
    return buf.getvalue()


def _zip(path: Path, members, method=zipfile.ZIP_STORED) -> Path:
    """A zip of (name, bytes) pairs exactly as given, repeated names included."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about repeated names
        with zipfile.ZipFile(path, "w", compression=method) as z:
            for name, data in members:
                z.writestr(name, data)
    return path


def _manifest(**changes):
    manifest = {
        "format": FORMAT,
        "version": 2,
        "arrays": [{"dtype": "float32", "shape": [2]}],
        "tree": {"dict": [["w", {"tensor": 0, "requires_grad": False}]]},
    }
    manifest.update(changes)
    return json.dumps(manifest)


def _tree(node):
    return _manifest(tree=node)


ONE = _npy(np.ones(2, dtype=np.float32))
INT_ARRAY = [{"dtype": "int64", "shape": [2]}]
MALFORMED = {
    "not a zip": [b"hello, not a zip"],
    "empty": [b""],
    "zip of something else": [("x.txt", b"x")],
    "manifest not utf-8": [("manifest.json", b"\xff\xfe"), ("arrays/0.npy", ONE)],
    "manifest not json": [("manifest.json", b"{"), ("arrays/0.npy", ONE)],
    "manifest a list": [("manifest.json", "[]"), ("arrays/0.npy", ONE)],
    "deeply nested": [("manifest.json", "[" * 100000 + "]" * 100000)],
    "foreign format": [("manifest.json", _manifest(format="other")), ("arrays/0.npy", ONE)],
    "version a string": [("manifest.json", _manifest(version="2")), ("arrays/0.npy", ONE)],
    "version a bool": [("manifest.json", _manifest(version=True)), ("arrays/0.npy", ONE)],
    "version 0": [("manifest.json", _manifest(version=0)), ("arrays/0.npy", ONE)],
    "newer version": [("manifest.json", _manifest(version=99)), ("arrays/0.npy", ONE)],
    "unknown key": [("manifest.json", _manifest(extra=1)), ("arrays/0.npy", ONE)],
    "repeated json key": [("manifest.json", _manifest()[:-1] + ', "version": 2}')],
    "arrays not a list": [("manifest.json", _manifest(arrays={})), ("arrays/0.npy", ONE)],
    "object dtype": [
        ("manifest.json", _manifest(arrays=[{"dtype": "object", "shape": [2]}])),
        ("arrays/0.npy", ONE),
    ],
    "negative shape": [
        ("manifest.json", _manifest(arrays=[{"dtype": "float32", "shape": [-2]}])),
        ("arrays/0.npy", ONE),
    ],
    "float shape": [
        ("manifest.json", _manifest(arrays=[{"dtype": "float32", "shape": [2.0]}])),
        ("arrays/0.npy", ONE),
    ],
    "bool shape": [
        ("manifest.json", _manifest(arrays=[{"dtype": "float32", "shape": [True, True]}])),
        ("arrays/0.npy", ONE),
    ],
    "unknown node": [("manifest.json", _tree({"set": []})), ("arrays/0.npy", ONE)],
    "a bare json list": [("manifest.json", _tree([1, 2])), ("arrays/0.npy", ONE)],
    "tensor index a string": [
        ("manifest.json", _tree({"tensor": "0", "requires_grad": False})),
        ("arrays/0.npy", ONE),
    ],
    "tensor index a bool": [
        ("manifest.json", _tree({"tensor": False, "requires_grad": False})),
        ("arrays/0.npy", ONE),
    ],
    "tensor index out of range": [
        ("manifest.json", _tree({"tensor": 1, "requires_grad": False})),
        ("arrays/0.npy", ONE),
    ],
    "array used twice": [
        ("manifest.json", _tree({"list": [{"ndarray": 0}, {"ndarray": 0}]})),
        ("arrays/0.npy", ONE),
    ],
    "array never used": [("manifest.json", _tree(None)), ("arrays/0.npy", ONE)],
    "requires_grad a string": [
        ("manifest.json", _tree({"tensor": 0, "requires_grad": "no"})),
        ("arrays/0.npy", ONE),
    ],
    "missing requires_grad": [("manifest.json", _tree({"tensor": 0})), ("arrays/0.npy", ONE)],
    "extra node key": [
        ("manifest.json", _tree({"ndarray": 0, "grad": 1})),
        ("arrays/0.npy", ONE),
    ],
    "integer tensor requiring grad": [
        ("manifest.json", _manifest(arrays=INT_ARRAY, tree={"tensor": 0, "requires_grad": True})),
        ("arrays/0.npy", _npy(np.ones(2, dtype=np.int64))),
    ],
    "float16 tensor": [
        (
            "manifest.json",
            _manifest(
                arrays=[{"dtype": "float16", "shape": [2]}],
                tree={"tensor": 0, "requires_grad": False},
            ),
        ),
        ("arrays/0.npy", _npy(np.ones(2, dtype=np.float16))),
    ],
    "dict item not a pair": [
        ("manifest.json", _tree({"dict": [["a", 1, 2], ["w", {"ndarray": 0}]]})),
        ("arrays/0.npy", ONE),
    ],
    "repeated dict key": [
        ("manifest.json", _tree({"dict": [[1, {"ndarray": 0}], [True, 2]]})),
        ("arrays/0.npy", ONE),
    ],
    "unhashable key": [
        ("manifest.json", _tree({"dict": [[{"list": []}, {"ndarray": 0}]]})),
        ("arrays/0.npy", ONE),
    ],
    "tensor as a key": [
        ("manifest.json", _tree({"dict": [[{"ndarray": 0}, 1]]})),
        ("arrays/0.npy", ONE),
    ],
    "missing array": [("manifest.json", _manifest())],
    "unknown member": [("manifest.json", _manifest()), ("arrays/0.npy", ONE), ("x.py", b"")],
    "repeated member": [
        ("manifest.json", _manifest()),
        ("arrays/0.npy", ONE),
        ("arrays/0.npy", ONE),
    ],
    "repeated manifest": [("manifest.json", _manifest()), ("arrays/0.npy", ONE)] * 2,
    "dtype disagrees": [("manifest.json", _manifest()), ("arrays/0.npy", _npy(np.ones(2)))],
    "shape disagrees": [("manifest.json", _manifest()), ("arrays/0.npy", _npy(np.ones((1, 2))))],
    "trailing bytes": [("manifest.json", _manifest()), ("arrays/0.npy", ONE + b"\0" * 8)],
    "short data": [("manifest.json", _manifest()), ("arrays/0.npy", ONE[:-4])],
    "not an npy member": [("manifest.json", _manifest()), ("arrays/0.npy", b"\0" * 136)],
    "fortran order": [
        ("manifest.json", _manifest(arrays=[{"dtype": "float32", "shape": [2, 2]}])),
        ("arrays/0.npy", _npy(np.asfortranarray(np.ones((2, 2), dtype=np.float32)))),
    ],
    "code in the npy header": [
        ("manifest.json", _manifest()),
        ("arrays/0.npy", ONE[:10] + b"__import__('os').system('echo x')".ljust(118) + ONE[128:]),
    ],
    "object npy": [
        ("manifest.json", _manifest()),
        ("arrays/0.npy", ONE.replace(b"'<f4'", b"'|O' ")),
    ],
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_files_are_checkpoint_errors_naming_the_file(tmp_path, case):
    path = tmp_path / "bad.pgz"
    members = MALFORMED[case]
    if isinstance(members[0], bytes):
        path.write_bytes(members[0])
    else:
        _zip(path, members)
    with pytest.raises(pg.CheckpointError, match=str(path)):
        pg.load(path)


def test_the_crafted_files_differ_from_a_good_one_only_where_said(tmp_path):
    """The malformed cases start from a file that loads: each fails for its own reason."""
    good = _zip(tmp_path / "good.pgz", [("manifest.json", _manifest()), ("arrays/0.npy", ONE)])
    back = pg.load(good)
    assert back["w"].dtype == pg.float32 and back["w"].tolist() == [1.0, 1.0]


def test_unsupported_zip_features_are_checkpoint_errors(tmp_path):
    good = [("manifest.json", _manifest()), ("arrays/0.npy", ONE)]
    path = _zip(tmp_path / "bz2.pgz", good, method=zipfile.ZIP_BZIP2)
    with pytest.raises(pg.CheckpointError, match="bz2.pgz is corrupt: member .* compressed in an"):
        pg.load(path)
    data = bytearray(_zip(tmp_path / "enc.pgz", good).read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 1  # the "encrypted" flag bit
    (tmp_path / "enc.pgz").write_bytes(data)
    with pytest.raises(pg.CheckpointError, match="enc.pgz is corrupt: member .* encrypted"):
        pg.load(tmp_path / "enc.pgz")


def test_directories_missing_files_and_old_messages(tmp_path):
    with pytest.raises(pg.CheckpointError, match=f"{tmp_path} is a directory"):
        pg.load(tmp_path)
    with pytest.raises(FileNotFoundError):  # as torch.load: not a damaged file, no file at all
        pg.load(tmp_path / "missing.pgz")
    path = tmp_path / "ckpt.pgz"
    pg.save({"w": pg.randn(100)}, path)
    (tmp_path / "cut.pgz").write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(pg.CheckpointError, match="cut.pgz is truncated or corrupt"):
        pg.load(tmp_path / "cut.pgz")
    (tmp_path / "other.txt").write_text("hello")
    with pytest.raises(pg.CheckpointError, match="other.txt is not a polygrad checkpoint"):
        pg.load(tmp_path / "other.txt")
    _zip(tmp_path / "plain.zip", [("x.txt", b"x")])
    with pytest.raises(pg.CheckpointError, match="plain.zip is a zip archive but not a polygrad"):
        pg.load(tmp_path / "plain.zip")


def _variants(data: bytes, rng: random.Random, count: int, long: bool):
    """Damaged copies of ``data``: bit flips, byte changes, truncations, repeated byte runs."""
    if long:
        for i in range(len(data)):
            for bit in (0, 7):
                yield data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1 :]
        for n in range(len(data)):
            yield data[:n]
        for i in range(0, len(data), 7):
            yield data[: i + 4] + data[i:]
    for k in range(count):
        b = bytearray(data)
        i = rng.randrange(len(b))
        kind = k % 4
        if kind == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif kind == 1:
            for _ in range(rng.randrange(1, 5)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif kind == 2:
            del b[i:]
        else:
            b[i:i] = b[i : i + rng.randrange(1, 40)]
        yield bytes(b)


@pytest.mark.parametrize("compress", [False, True])
def test_damaged_checkpoints_load_exactly_or_raise_checkpoint_error(tmp_path, compress):
    state = _training_state()
    path = tmp_path / "ckpt.pgz"
    pg.save(state, path, compress=compress)
    data = path.read_bytes()
    assert _same(pg.load(path), state)
    long = os.environ.get("POLYGRAD_CHECKPOINT_FUZZ") == "long"
    damaged = tmp_path / "damaged.pgz"
    outcomes = {"same": 0, "error": 0}
    for variant in _variants(data, random.Random(compress), 1500, long):
        damaged.write_bytes(variant)
        try:
            back = pg.load(damaged)
        except pg.CheckpointError as e:
            assert str(damaged) in str(e)
            outcomes["error"] += 1
            continue
        assert _same(back, state), "a damaged file loaded as a different value"
        outcomes["same"] += 1
    # damage to bytes nothing reads (timestamps, attributes) loads; the rest must be caught
    assert outcomes["error"] > 1000 and outcomes["same"] > 10, outcomes


# -- memory ---------------------------------------------------------------------------------------
def _peak_of_load(path: Path):
    tracemalloc.start()
    try:
        try:
            pg.load(path)
        except pg.CheckpointError as e:
            error = e
        else:
            error = None
        return tracemalloc.get_traced_memory()[1], error
    finally:
        tracemalloc.stop()


def _patch_sizes(data: bytes, name: str, size: int, compressed: int | None = None) -> bytes:
    """``data`` with member ``name``'s sizes in its local and central headers replaced."""
    b = bytearray(data)
    for signature, name_at, sizes_at in ((b"PK\x03\x04", 26, 18), (b"PK\x01\x02", 28, 20)):
        at = b.find(signature)
        while at >= 0:
            length = struct.unpack_from("<H", b, at + name_at)[0]
            start = at + name_at + (4 if signature == b"PK\x03\x04" else 18)
            if b[start : start + length] == name.encode():
                if compressed is not None:
                    struct.pack_into("<I", b, at + sizes_at, compressed)
                struct.pack_into("<I", b, at + sizes_at + 4, size)
            at = b.find(signature, at + 1)
    return bytes(b)


def test_a_huge_declared_array_is_refused_before_allocating(tmp_path):
    shape = [2**20, 2**16]  # 256 GiB of float32 in a 1 MB file
    header = _npy(np.ones(2, dtype=np.float32))[:10]
    text = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple(shape)}, }}".ljust(117)
    member = header[:8] + struct.pack("<H", 118) + (text + "\n").encode() + bytes(2**20)
    arrays = [{"dtype": "float32", "shape": shape}]
    path = _zip(
        tmp_path / "huge.pgz",
        [("manifest.json", _manifest(arrays=arrays)), ("arrays/0.npy", member)],
    )
    assert 2**20 < path.stat().st_size < 2**21
    peak, error = _peak_of_load(path)
    assert error is not None and "huge.pgz is corrupt: arrays/0.npy has 1048704 bytes" in str(error)
    assert peak < 4 * 2**20, f"peak {peak} bytes for a refused file"
    # the zip's own sizes lying the same way: the member would run past the end of the file
    lying = _patch_sizes(path.read_bytes(), "arrays/0.npy", 2**32 - 1, 2**32 - 1)
    (tmp_path / "lying.pgz").write_bytes(lying)
    peak, error = _peak_of_load(tmp_path / "lying.pgz")
    assert error is not None and "runs past the end of the file" in str(error)
    assert peak < 4 * 2**20


def test_zip_bombs_are_refused_with_bounded_memory(tmp_path):
    def bomb(name, declared, payload):
        shape = [declared // 4]
        arrays = [{"dtype": "float32", "shape": shape}]
        header = _write.npy_header("float32", tuple(shape))
        members = [("manifest.json", _manifest(arrays=arrays)), ("arrays/0.npy", header + payload)]
        path = _zip(tmp_path / name, members, method=zipfile.ZIP_DEFLATED)
        data = _patch_sizes(path.read_bytes(), "arrays/0.npy", len(header) + declared)
        compressed = zipfile.ZipFile(io.BytesIO(data)).getinfo("arrays/0.npy").compress_size
        path.write_bytes(data)
        return path, compressed

    # claims 3 GiB from about 1 MB of deflated data: more than deflate can expand
    path, compressed = bomb("ratio.pgz", 3 * 2**30, np.random.default_rng(0).bytes(2**20))
    assert compressed > 2**20
    peak, error = _peak_of_load(path)
    assert error is not None and "more than deflate can give" in str(error)
    assert peak < 4 * 2**20
    # claims 512 MiB, which 1 MB of deflated data could give, but holds only 1 MiB
    path, compressed = bomb("short.pgz", 2**29, np.random.default_rng(1).bytes(2**20))
    assert compressed * 1032 > 2**29
    peak, error = _peak_of_load(path)
    assert error is not None and "short.pgz is truncated or corrupt" in str(error)
    assert peak < 16 * 2**20, f"peak {peak} bytes while refusing a 512 MiB claim"


def _local_header(name: bytes, data: bytes) -> bytes:
    crc, size = zlib.crc32(data), len(data)
    return struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, size, size, len(name), 0
    )


def _raw_zip(records: list[tuple[bytes, bytes]], entries: list[tuple[bytes, bytes, int]]) -> bytes:
    """Stored local records laid out in order, and central entries (name, data, offset) that
    point wherever they say."""
    out = b"".join(_local_header(name, data) + name + data for name, data in records)
    central = b"".join(
        struct.pack(
            "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, zlib.crc32(data),
            len(data), len(data), len(name), 0, 0, 0, 0, 0, offset,
        ) + name
        for name, data, offset in entries
    )  # fmt: skip
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                      len(central), len(out), 0)  # fmt: skip
    return out + central + end


def test_overlapping_members_are_refused(tmp_path):
    """A member whose local header sits inside another member's data (how small bombs grow)."""
    inner = _npy(np.zeros(2, dtype=np.float32))
    nested = _local_header(b"arrays/1.npy", inner) + b"arrays/1.npy" + inner
    outer = _npy(np.frombuffer(nested, dtype=np.uint8))
    arrays = [{"dtype": "uint8", "shape": [len(nested)]}, {"dtype": "float32", "shape": [2]}]
    path = tmp_path / "overlap.pgz"

    def build(n):
        tree = {"list": [{"ndarray": i} for i in range(n)]}
        manifest = _manifest(arrays=arrays[:n], tree=tree).encode()
        records = [(b"manifest.json", manifest), (b"arrays/0.npy", outer)]
        outer_at = 30 + len(b"manifest.json") + len(manifest)
        inner_at = outer_at + 30 + len(b"arrays/0.npy") + outer.index(nested)
        entries = [(b"manifest.json", manifest, 0), (b"arrays/0.npy", outer, outer_at)]
        entries += [(b"arrays/1.npy", inner, inner_at)] * (n - 1)
        path.write_bytes(_raw_zip(records, entries))

    build(1)
    back = pg.load(path)  # the hand-made zip is a good checkpoint without the overlap
    assert back[0].tobytes() == nested
    build(2)
    with zipfile.ZipFile(path) as z:  # zipfile itself reads both members
        assert z.read("arrays/1.npy") == inner and z.read("arrays/0.npy") == outer
    with pytest.raises(pg.CheckpointError, match="overlap.pgz is corrupt: member .* overlaps"):
        pg.load(path)


def test_loading_allocates_the_content_once(tmp_path):
    state = {f"w{i}": pg.randn(2**20) for i in range(8)}  # 32 MiB of float32
    path = tmp_path / "ckpt.pgz"
    pg.save(state, path)
    content = 8 * 4 * 2**20
    tracemalloc.start()
    try:
        back = pg.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert _same(back, state)
    assert peak < content * 1.15 + 2**20, f"peak {peak / content:.2f} times the content"


# -- saving ---------------------------------------------------------------------------------------
def test_a_failed_save_leaves_the_previous_checkpoint_intact(tmp_path):
    path = tmp_path / "ckpt.pgz"
    pg.save({"epoch": 1}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"obj\['bad'\].*function"):
        pg.save({"epoch": 2, "bad": lambda: 0}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.pgz"], "no temporary file may be left behind"


def test_a_write_error_names_the_checkpoint_and_leaves_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pgz"
    pg.save({"epoch": 1}, path)

    def disk_full(z, name, *args):
        raise OSError(errno.ENOSPC, "No space left on device", z.fp.name)

    monkeypatch.setattr(_write, "_write_member", disk_full)
    with pytest.raises(OSError, match="No space left on device") as info:
        pg.save({"epoch": 2, "w": pg.ones(3)}, path)
    monkeypatch.undo()
    assert info.value.filename == str(path) and ".tmp" not in str(info.value)
    assert info.value.errno == errno.ENOSPC
    assert pg.load(path) == {"epoch": 1}
    assert os.listdir(tmp_path) == ["ckpt.pgz"]


_KILLED_SAVE = """
import os, sys, zipfile
import polygrad as pg
from polygrad._serialization import _write
where = sys.argv[2]
if where == "mid-data":
    original = zipfile.ZipFile.open
    def dying_open(self, name, mode="r", **kwargs):
        handle = original(self, name, mode, **kwargs)
        if getattr(name, "filename", name) == "arrays/1.npy":
            write = handle.write
            def dying_write(data):
                write(data[: len(data) // 2])
                handle._fileobj.flush()
                os._exit(17)
            handle.write = dying_write
        return handle
    zipfile.ZipFile.open = dying_open
elif where == "before-fsync":
    os.fsync = lambda fd: os._exit(17)
elif where == "before-rename":
    os.replace = lambda a, b: os._exit(17)
pg.save({"epoch": 2, "w": pg.ones(1000), "b": pg.zeros(100000)}, sys.argv[1])
"""


def _run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, timeout=120)


@pytest.mark.parametrize("where", ["mid-data", "before-fsync", "before-rename"])
def test_a_save_killed_at_any_point_leaves_the_old_file_intact(tmp_path, where):
    path = tmp_path / "ckpt.pgz"
    old = {"epoch": 1, "w": pg.arange(5)}
    pg.save(old, path)
    result = _run("-c", _KILLED_SAVE, str(path), where)
    assert result.returncode == 17, result.stderr.decode()  # it died where we said
    assert _same(pg.load(path), old)
    leftovers = [n for n in os.listdir(tmp_path) if n != "ckpt.pgz"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".ckpt.pgz.")
    time.sleep(0.01)
    pg.save({"epoch": 3}, path)  # the next save cleans up what the killed one left
    assert os.listdir(tmp_path) == ["ckpt.pgz"] and pg.load(path) == {"epoch": 3}


_SAVING_LOOP = """
import sys
import numpy as np
import polygrad as pg
states = [{"n": n, "w": pg.tensor(np.full(2**21, n, dtype=np.float32))} for n in (1, 2)]
for k in range(1000):
    print("saving", flush=True)
    pg.save(states[k % 2], sys.argv[1])
"""


def test_a_save_killed_by_sigkill_leaves_a_whole_checkpoint(tmp_path):
    path = tmp_path / "ckpt.pgz"
    pg.save({"n": 0}, path)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    rng = random.Random(0)
    seen = set()
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", _SAVING_LOOP, str(path)], env=env, stdout=subprocess.PIPE
        )
        try:
            for _ in range(rng.randrange(2, 5)):
                assert proc.stdout.readline() == b"saving\n"
            time.sleep(rng.uniform(0, 0.03))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        back = pg.load(path)  # whichever save finished last, whole
        assert back["n"] in (1, 2)
        np.testing.assert_array_equal(back["w"].numpy(), np.full(2**21, back["n"], np.float32))
        seen.add(back["n"])
    pg.save({"n": 3}, path)
    assert os.listdir(tmp_path) == ["ckpt.pgz"]


def test_the_next_save_removes_only_our_own_old_temporary_files(tmp_path):
    names = {
        ".ckpt.pgz.0123abcd.tmp": True,  # a killed save's leftover: removed
        ".ckpt.pgz.fresh000.tmp": False,  # not our random part (hex)
        ".ckpt.pgz.0123abcd.tmp.keep": False,
        ".other.pgz.0123abcd.tmp": False,  # another target's
        "ckpt.pgz.0123abcd.tmp": False,
        ".ckpt.pgz.0123ABCD.tmp": False,
    }
    old = time.time() - 3600
    for name in names:
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (old, old))
    running = tmp_path / ".ckpt.pgz.feedbeef.tmp"  # a concurrent save that started later
    running.write_bytes(b"x")
    os.utime(running, (time.time() + 3600,) * 2)
    pg.save({"epoch": 1}, tmp_path / "ckpt.pgz")
    left = set(os.listdir(tmp_path))
    assert left == {"ckpt.pgz", running.name} | {n for n, gone in names.items() if not gone}


def test_saving_over_a_file_keeps_its_permission_bits(tmp_path):
    path = tmp_path / "ckpt.pgz"
    pg.save({"epoch": 1}, path)
    os.chmod(path, 0o640)
    pg.save({"epoch": 2}, path)
    assert path.stat().st_mode & 0o7777 == 0o640 and pg.load(path) == {"epoch": 2}


def test_saving_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "ckpt.pgz"
    pg.save({"epoch": 1}, target)
    link = tmp_path / "latest.pgz"
    link.symlink_to(target)
    pg.save({"epoch": 2}, link)
    assert link.is_symlink() and link.resolve() == target
    assert pg.load(target) == {"epoch": 2} and pg.load(link) == {"epoch": 2}
    assert os.listdir(tmp_path / "real") == ["ckpt.pgz"]
    dangling = tmp_path / "new.pgz"
    dangling.symlink_to(tmp_path / "real" / "new-target.pgz")
    pg.save({"epoch": 3}, dangling)  # as open() would: the target is created
    assert dangling.is_symlink() and pg.load(tmp_path / "real" / "new-target.pgz") == {"epoch": 3}


def test_save_errors_name_the_target_not_the_temporary_file(tmp_path, monkeypatch):
    missing = tmp_path / "no-such-folder" / "ckpt.pgz"
    with pytest.raises(FileNotFoundError) as info:
        pg.save({"epoch": 1}, missing)
    assert info.value.filename == str(missing) and ".tmp" not in str(info.value)
    (tmp_path / "a-file").write_text("x")
    under_a_file = tmp_path / "a-file" / "ckpt.pgz"
    with pytest.raises(NotADirectoryError) as info:
        pg.save({"epoch": 1}, under_a_file)
    assert info.value.filename == str(under_a_file) and ".tmp" not in str(info.value)
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
    else:  # root writes anywhere: make the folder refuse new files as it would for a user
        real_open = os.open

        def refuse(file, flags, *args, **kwargs):
            if str(file).startswith(str(folder)) and flags & os.O_CREAT:
                raise PermissionError(errno.EACCES, "Permission denied", file)
            return real_open(file, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", refuse)
    try:
        with pytest.raises(PermissionError) as info:
            pg.save({"epoch": 1}, folder / "ckpt.pgz")
    finally:
        monkeypatch.undo()
        folder.chmod(0o755)
    assert info.value.filename == str(folder / "ckpt.pgz") and ".tmp" not in str(info.value)
    assert os.listdir(folder) == []


def test_saving_over_a_read_only_file_is_refused_as_by_open(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pgz"
    pg.save({"epoch": 1}, path)
    path.chmod(0o444)
    if os.geteuid() == 0:  # root may write it; act as a user for whom the bits count
        real_access = os.access
        monkeypatch.setattr(
            os, "access", lambda p, mode: not (mode & os.W_OK) and real_access(p, mode)
        )
    with pytest.raises(PermissionError) as info:
        pg.save({"epoch": 2}, path)
    monkeypatch.undo()
    assert info.value.filename == str(path)
    assert pg.load(path) == {"epoch": 1}
