"""polygrad.data: the digits, the generators and DataLoader (checkpoints: test_checkpoints.py)."""

import numpy as np
import pytest
from helpers import assert_close, assert_on_backend

import polygrad as pg
from polygrad.data import (
    DataLoader,
    load_digits,
    load_shakespeare,
    make_blobs,
    make_moons,
    make_spiral,
)


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



def test_shakespeare_is_the_whole_char_rnn_text():
    text = load_shakespeare()
    # char-rnn's input.txt: its size, 65 distinct characters, first and last words
    assert len(text) == 1115394 and len(set(text)) == 65
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert text.rstrip().endswith("Whiles thou art waking.")


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
