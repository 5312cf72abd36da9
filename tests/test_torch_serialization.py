"""polygrad.save / polygrad.load against the real torch.save / torch.load, both directions.

torch-written files load into polygrad with the same values, dtypes, shapes and containers;
polygrad-written torch-format files load in ``torch.load(weights_only=True)``; whole Modules
round-trip under torch 2.6's allow-list rules; and a hostile or damaged file is only ever a
``CheckpointError`` (no code runs, nothing outsized is allocated).
"""

import collections
import io
import pickle
import random
import zipfile

import numpy as np
import pytest
import torch
from helpers import assert_on_backend

import polygrad as pg
import polygrad.nn as nn

DTYPES = [
    (torch.float32, pg.float32),
    (torch.float64, pg.float64),
    (torch.int64, pg.int64),
    (torch.int32, pg.int32),
    (torch.int16, pg.int16),
    (torch.int8, pg.int8),
    (torch.uint8, pg.uint8),
    (torch.bool, pg.bool),
]


def _torch_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _pg_bytes(obj, **kwargs):
    buf = io.BytesIO()
    pg.save(obj, buf, **kwargs)
    return buf.getvalue()


def _assert_same(got, want):
    """A polygrad object equals a torch object: tensors by value, dtype and shape, containers
    by type and contents."""
    if isinstance(want, torch.Tensor):
        assert_on_backend(got)
        assert got.dtype.name == str(want.dtype).replace("torch.", "")
        assert got.shape == tuple(want.shape)
        assert got.requires_grad == want.requires_grad
        np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
    elif isinstance(want, dict):
        assert type(got) is type(want) and list(got) == list(want)
        for k in want:
            _assert_same(got[k], want[k])
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want):
            _assert_same(g, w)
    else:
        assert type(got) is type(want) and got == want


def _assert_same_reverse(got, want):
    """A torch object (loaded by torch.load) equals the polygrad object that was saved."""
    if isinstance(want, pg.Tensor):
        assert isinstance(got, torch.Tensor)
        assert str(got.dtype) == f"torch.{want.dtype.name}"
        assert tuple(got.shape) == want.shape and got.requires_grad == want.requires_grad
        np.testing.assert_array_equal(got.detach().numpy(), want.numpy())
    elif isinstance(want, dict):
        assert type(got) is type(want) and list(got) == list(want)
        for k in want:
            _assert_same_reverse(got[k], want[k])
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want):
            _assert_same_reverse(g, w)
    else:
        assert got == want


# -- torch.save -> polygrad.load --------------------------------------------------------------
@pytest.mark.parametrize("tdtype, pdtype", DTYPES, ids=lambda d: str(d))
def test_torch_written_dtypes_load(tdtype, pdtype):
    x = (torch.arange(12) % 5).to(tdtype).reshape(3, 4)
    got = pg.load(io.BytesIO(_torch_bytes({"x": x, "s": x[0, 0].clone()})))
    _assert_same(got, {"x": x, "s": x[0, 0].clone()})
    assert got["x"].dtype is pdtype


def test_torch_state_dict_with_views_and_nesting_loads():
    w = torch.arange(24.0, dtype=torch.float64).reshape(2, 3, 4)
    state = collections.OrderedDict(
        w=w,
        column=w[:, 1],  # a strided view sharing w's storage, with an offset
        t=w.transpose(0, 2),  # non-contiguous strides
        empty=torch.zeros(0, 3),
        scalar=torch.tensor(2.5),
        grad=torch.ones(2, requires_grad=True),
        nested={"list": [1, 2.5, True, None, "s", (3, 4)], "b": b"\x00\xff"},
        epoch=7,
    )
    got = pg.load(io.BytesIO(_torch_bytes(state)))
    _assert_same(got, state)


def test_torch_model_state_dict_drives_a_polygrad_model_to_torch_outputs():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    pm = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    pm.load_state_dict(pg.load(io.BytesIO(_torch_bytes(tm.state_dict()))))
    x = torch.randn(5, 4)
    np.testing.assert_allclose(
        pm(pg.tensor(x.numpy())).numpy(), tm(x).detach().numpy(), rtol=1e-6, atol=1e-6
    )


def test_torch_nn_parameter_loads_as_polygrad_parameter():
    p = torch.nn.Parameter(torch.ones(2, 2))
    got = pg.load(io.BytesIO(_torch_bytes({"p": p})))["p"]
    assert isinstance(got, nn.Parameter) and got.requires_grad
    np.testing.assert_array_equal(got.numpy(), np.ones((2, 2), np.float32))


def test_torch_dtypes_devices_and_sizes_load_as_polygrad_ones():
    got = pg.load(io.BytesIO(_torch_bytes([torch.float64, torch.device("cpu"), torch.Size([2])])))
    assert got[0] is pg.float64
    assert got[1] == pg.device("cpu") and isinstance(got[1], pg.device)
    assert got[2] == (2,)


def test_torch_written_path_loads(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(3)}, path)
    _assert_same(pg.load(path), {"w": torch.ones(3)})
    _assert_same(pg.load(str(path), map_location="cpu"), {"w": torch.ones(3)})


def test_map_location_forms():
    data = _torch_bytes({"w": torch.ones(2)})
    device = pg.get_backend().device
    for where in (None, device, {"cpu": device}, {"cuda:0": "cpu"}):
        got = pg.load(io.BytesIO(data), map_location=where)["w"]
        assert_on_backend(got)
    with pytest.raises(NotImplementedError, match="callable"):
        pg.load(io.BytesIO(data), map_location=lambda storage, loc: storage)


def test_half_precision_torch_file_is_refused_clearly():
    with pytest.raises(pg.CheckpointError, match="float16"):
        pg.load(io.BytesIO(_torch_bytes({"w": torch.ones(2, dtype=torch.float16)})))


def test_legacy_torch_format_is_refused_clearly():
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf, _use_new_zipfile_serialization=False)
    with pytest.raises(pg.CheckpointError, match="legacy"):
        pg.load(io.BytesIO(buf.getvalue()))


# -- polygrad.save -> torch.load ----------------------------------------------------------------
def test_polygrad_written_file_object_loads_in_torch_weights_only():
    model = nn.Linear(3, 2)
    obj = {
        "model": model.state_dict(),
        "param": model.weight,
        "ints": pg.arange(6).reshape(2, 3),
        "mask": pg.tensor([True, False]),
        "f64": pg.tensor([[1.5, -2.0]], dtype=pg.float64),
        "scalar": pg.tensor(3.25, requires_grad=True),
        "empty": pg.zeros(0, 4),
        "meta": {"epoch": 3, "lr": 0.1, "name": "run", "t": (1, 2), "none": None},
        "dtype": pg.float64,
        "device": pg.device("cpu"),
        "np_number": np.float64(0.5),
    }
    got = torch.load(io.BytesIO(_pg_bytes(obj)), weights_only=True)
    assert isinstance(got["param"], torch.nn.Parameter) and got["param"].requires_grad
    assert got["dtype"] is torch.float64 and got["device"] == torch.device("cpu")
    assert got["np_number"] == 0.5 and type(got["np_number"]) is float
    for key in ("model", "param", "ints", "mask", "f64", "scalar", "empty", "meta"):
        _assert_same_reverse(got[key], obj[key])


def test_polygrad_written_pt_path_is_torch_format(tmp_path):
    path = tmp_path / "weights.pth"
    pg.save({"w": pg.ones(2, 3)}, path)
    assert any(n.endswith("/data.pkl") for n in zipfile.ZipFile(path).namelist())
    got = torch.load(path, weights_only=True)
    torch.testing.assert_close(got["w"], torch.ones(2, 3))


def test_other_paths_keep_polygrad_format_and_format_overrides(tmp_path):
    pg.save({"w": pg.ones(2)}, tmp_path / "a.pgz")
    assert "manifest.json" in zipfile.ZipFile(tmp_path / "a.pgz").namelist()
    pg.save({"w": pg.ones(2)}, tmp_path / "b.pgz", format="torch")
    torch.testing.assert_close(torch.load(tmp_path / "b.pgz")["w"], torch.ones(2))
    buf = io.BytesIO(_pg_bytes({"w": pg.ones(2)}, format="polygrad"))
    assert "manifest.json" in zipfile.ZipFile(buf).namelist()
    np.testing.assert_array_equal(pg.load(buf)["w"].numpy(), np.ones(2, np.float32))
    with pytest.raises(ValueError, match="format"):
        pg.save({}, io.BytesIO(), format="onnx")


def test_torch_format_round_trip_in_polygrad():
    obj = collections.OrderedDict(w=pg.randn(3, 2, dtype=pg.float64), n=[1, {"k": pg.ones(1)}])
    got = pg.load(io.BytesIO(_pg_bytes(obj)))
    assert type(got) is collections.OrderedDict
    np.testing.assert_array_equal(got["w"].numpy(), obj["w"].numpy())
    assert got["w"].dtype is pg.float64 and got["n"][0] == 1
    assert_on_backend(got["n"][1]["k"])


# -- whole modules, torch 2.6 style -----------------------------------------------------------
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(3, 4)
        self.out = nn.Linear(4, 1)

    def forward(self, x):
        return self.out(pg.relu(self.hidden(x)))


def test_whole_module_needs_allow_listing_as_in_torch():
    net = Net()
    data = _pg_bytes(net)
    x = pg.randn(2, 3)
    with pytest.raises(pg.CheckpointError, match=r"test_torch_serialization\.Net"):
        pg.load(io.BytesIO(data))
    with pg.serialization.safe_globals([Net, nn.Linear]):
        loaded = pg.load(io.BytesIO(data))
    assert Net not in pg.serialization.get_safe_globals()  # the block's allowance ended
    np.testing.assert_array_equal(loaded(x).numpy(), net(x).numpy())
    assert isinstance(loaded.hidden.weight, nn.Parameter)
    loaded = pg.load(io.BytesIO(data), weights_only=False)
    np.testing.assert_array_equal(loaded(x).numpy(), net(x).numpy())
    pg.serialization.add_safe_globals([Net, nn.Linear])
    try:
        assert type(pg.load(io.BytesIO(data))) is Net
    finally:
        pg.serialization.clear_safe_globals()
    # torch refuses the same file by default, for the same reason
    with pytest.raises(pickle.UnpicklingError, match="Net"):
        torch.load(io.BytesIO(data))


def test_polygrad_format_refuses_a_module_naming_it(tmp_path):
    with pytest.raises(TypeError, match="Net"):
        pg.save(Net(), tmp_path / "net.pgz")


def test_torch_module_is_refused_naming_the_global():
    data = _torch_bytes(torch.nn.Linear(2, 2))
    with pytest.raises(pg.CheckpointError, match=r"torch\.nn\.modules\.linear\.Linear"):
        pg.load(io.BytesIO(data))


# -- hostile and damaged files ------------------------------------------------------------------
def _replace_pickle(data: bytes, pkl: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in src.namelist():
            z.writestr(name, pkl if name.endswith("data.pkl") else src.read(name))
    return out.getvalue()


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_code_in_the_pickle_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    data = _replace_pickle(_torch_bytes({}), pickle.dumps({"x": _Evil(str(marker))}, protocol=2))
    with pytest.raises(pg.CheckpointError, match=r"builtins\.open|io\.open"):
        pg.load(io.BytesIO(data))
    assert not marker.exists()
    evil = pickle.dumps(__import__("os").system, protocol=2)
    with pytest.raises(pg.CheckpointError, match="system"):
        pg.load(io.BytesIO(_replace_pickle(_torch_bytes({}), evil)))


def _opcodes(obj) -> bytes:
    """The pickle opcodes that push ``obj``, without memo writes (so they fit anywhere)."""
    f = io.BytesIO()
    pickler = pickle.Pickler(f, protocol=2)
    pickler.fast = True
    pickler.dump(obj)
    return f.getvalue()[2:-1]  # without PROTO and STOP


@pytest.mark.parametrize(
    "args, message",
    [
        ((0, (4, 4), (4, 1)), "reaches element"),  # more than the 6 stored elements
        ((5, (2,), (1,)), "reaches element"),  # offset past the end
        ((0, (3, 2), (2, 3)), "reaches element"),  # element 7 of 6
        ((0, (3, 2), (1, 3)), None),  # a transposed view: the last element is 5
        ((0, (2, 3), (0, 1)), None),  # fine: stride 0 along a dim stays within 6 elements
        ((0, (1000, 3), (0, 1)), "expanded view"),
        ((0, (2, -3), (3, 1)), "size"),
        ((0, (2, 3), (3,)), "size"),
    ],
)
def test_declared_shapes_are_checked_against_the_storage(args, message):
    data = _torch_bytes({"w": torch.arange(6.0)})
    pkl = zipfile.ZipFile(io.BytesIO(data)).read("archive/data.pkl")
    spelled = b"K\x00K\x06\x85q\x08K\x01\x85q\t"  # offset 0, size (6,), stride (1,)
    assert pkl.count(spelled) == 1
    pkl = pkl.replace(spelled, b"".join(_opcodes(a) for a in args))
    loaded = _replace_pickle(data, pkl)
    if message is None:
        assert pg.load(io.BytesIO(loaded))["w"].shape == args[1]
        return
    with pytest.raises(pg.CheckpointError, match=message):
        pg.load(io.BytesIO(loaded))


def test_storage_size_is_checked_against_its_declaration():
    data = _torch_bytes({"w": torch.arange(6.0)})
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in src.namelist():
            body = src.read(name)
            z.writestr(name, body[:8] if name.endswith("data/0") else body)
    with pytest.raises(pg.CheckpointError, match="declares 6 elements"):
        pg.load(io.BytesIO(out.getvalue()))


def test_fuzzed_torch_files_only_raise_checkpoint_error():
    state = {"w": torch.randn(3, 4), "b": torch.arange(5), "meta": {"epoch": 2, "l": [1.5]}}
    data = _torch_bytes(state)
    rng = random.Random(0)
    outcomes = collections.Counter()
    for i in range(300):
        blob = bytearray(data)
        kind = i % 4
        if kind == 0:  # flip bytes
            for _ in range(rng.randint(1, 4)):
                blob[rng.randrange(len(blob))] ^= 1 << rng.randrange(8)
        elif kind == 1:  # truncate
            del blob[rng.randrange(len(blob)) :]
        elif kind == 2:  # insert junk
            at = rng.randrange(len(blob))
            blob[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:  # overwrite a run with one value
            at = rng.randrange(len(blob))
            blob[at : at + rng.randint(1, 32)] = bytes([rng.randrange(256)]) * 32
        try:
            got = pg.load(io.BytesIO(bytes(blob)))
        except pg.CheckpointError:
            outcomes["refused"] += 1
            continue
        _assert_same(got, state)  # a mutation that loads (zip padding, dates) changed nothing
        outcomes["loaded"] += 1
    assert outcomes["refused"] > 200, outcomes
