"""polygrad.data (digits, generators, DataLoader) and polygrad.save / polygrad.load."""

import os
import zipfile

import numpy as np
import pytest
import torch
from helpers import assert_close, assert_on_backend

import polygrad as pg
from polygrad.data import DataLoader, load_digits, make_blobs, make_moons, make_spiral


def test_digits_are_the_uci_set_with_a_fixed_disjoint_split():
    d = load_digits()
    assert [len(a) for a in d] == [1257, 1257, 180, 180, 360, 360]
    x = np.concatenate([d.x_train, d.x_val, d.x_test])
    y = np.concatenate([d.y_train, d.y_val, d.y_test])
    assert x.shape == (1797, 8, 8) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    # the UCI test set's published class counts
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    flat = {row.tobytes() for row in d.x_test.reshape(360, -1)}
    assert not flat & {row.tobytes() for row in d.x_train.reshape(1257, -1)}
    again = load_digits()
    np.testing.assert_array_equal(again.y_test, d.y_test)


def test_generators_have_the_shapes_labels_and_seeding_they_promise():
    x, y = make_spiral(50, 4, noise=0.1, seed=1)
    assert x.shape == (200, 2) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [50] * 4 and np.abs(x).max() <= 1.5
    np.testing.assert_array_equal(make_spiral(50, 4, 0.1, seed=1)[0], x)
    x, y = make_moons(101, noise=0.0, seed=0)
    assert x.shape == (101, 2) and set(y.tolist()) == {0, 1}
    np.testing.assert_allclose(np.linalg.norm(x[y == 0], axis=1), 1.0, rtol=1e-6)
    x, y = make_blobs(300, centers=[[0, 0], [10, 10]], std=0.5, seed=0)
    assert abs(x[y == 1].mean(axis=0) - 10).max() < 0.2 and abs(x[y == 1].std() - 0.5) < 0.1
    pg.manual_seed(3)
    a = make_spiral(10)[0]
    pg.manual_seed(3)
    np.testing.assert_array_equal(make_spiral(10)[0], a)


def test_dataloader_batches_cover_the_data_on_the_active_device():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    batches = list(DataLoader((x, y), batch_size=4))
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    for xb, yb in batches:
        assert_on_backend(xb)
        assert_on_backend(yb)
    assert_close(batches[2][0], x[8:], rtol=0)
    assert len(DataLoader((x, y), batch_size=4, drop_last=True)) == 2
    assert len(list(DataLoader((x, y), batch_size=4, drop_last=True))) == 2


def test_dataloader_shuffles_reproducibly_and_keeps_pairs_together():
    x = np.arange(10, dtype=np.float32)
    y = np.arange(10) * 10
    pg.manual_seed(0)
    first = [(xb.numpy(), yb.numpy()) for xb, yb in DataLoader((x, y), 3, shuffle=True)]
    pg.manual_seed(0)
    second = [(xb.numpy(), yb.numpy()) for xb, yb in DataLoader((x, y), 3, shuffle=True)]
    seen = np.concatenate([b[0] for b in first])
    assert sorted(seen.tolist()) == x.tolist() and seen.tolist() != x.tolist()
    for (xa, ya), (xb, yb) in zip(first, second):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
        np.testing.assert_array_equal(ya, xa * 10)


def test_dataloader_rejects_mismatched_arrays():
    with pytest.raises(ValueError, match=r"same first dimension.*\(3,\).*\(4,\)"):
        DataLoader((np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader((np.zeros(3),), batch_size=0)


# -- checkpoints --------------------------------------------------------------------------------
def _state():
    return {
        "model": {"w": pg.randn(3, 2, requires_grad=True), "b": pg.zeros(2, dtype=pg.float64)},
        "optimizer": {"state": {0: {"step": 4, "buf": pg.ones(3)}}, "lr": 0.1},
        "epoch": 7,
        "rng": pg.get_rng_state(),
        "history": [0.5, (1, None, "text")],
    }


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


def test_rng_state_restores_the_random_stream(tmp_path):
    pg.manual_seed(5)
    pg.save({"rng": pg.get_rng_state()}, tmp_path / "r.pgz")
    expected = pg.randn(4).numpy()
    pg.set_rng_state(pg.load(tmp_path / "r.pgz")["rng"])
    np.testing.assert_array_equal(pg.randn(4).numpy(), expected)


def test_a_failed_save_leaves_the_previous_checkpoint_intact(tmp_path):
    path = tmp_path / "ckpt.pgz"
    pg.save({"epoch": 1}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"obj\['bad'\].*function"):
        pg.save({"epoch": 2, "bad": lambda: 0}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.pgz"], "no temporary file may be left behind"


def test_a_crash_during_the_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pgz"
    pg.save({"epoch": 1}, path)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", crash)
    with pytest.raises(OSError, match="disk full"):
        pg.save({"epoch": 2, "w": pg.ones(3)}, path)
    monkeypatch.undo()
    assert pg.load(path) == {"epoch": 1}
    assert os.listdir(tmp_path) == ["ckpt.pgz"]


def test_truncated_foreign_and_missing_files_are_clear_errors(tmp_path):
    path = tmp_path / "ckpt.pgz"
    pg.save({"w": pg.randn(100)}, path)
    data = path.read_bytes()
    (tmp_path / "cut.pgz").write_bytes(data[: len(data) // 2])
    with pytest.raises(pg.CheckpointError, match="cut.pgz is truncated or corrupt"):
        pg.load(tmp_path / "cut.pgz")
    (tmp_path / "other.txt").write_text("hello")
    with pytest.raises(pg.CheckpointError, match="other.txt is not a polygrad checkpoint"):
        pg.load(tmp_path / "other.txt")
    with zipfile.ZipFile(tmp_path / "plain.zip", "w") as z:
        z.writestr("x.txt", "x")
    with pytest.raises(pg.CheckpointError, match="plain.zip is a zip archive but not a polygrad"):
        pg.load(tmp_path / "plain.zip")
    with pytest.raises(FileNotFoundError):
        pg.load(tmp_path / "missing.pgz")


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
