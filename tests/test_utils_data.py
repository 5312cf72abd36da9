"""polygrad.utils.data against torch.utils.data: datasets, samplers, collation, loaders, workers."""

import collections
import inspect
import os
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tud
from helpers import assert_on_backend

import polygrad as pg
import polygrad.utils.data as pud

Point = collections.namedtuple("Point", ["x", "y"])


def assert_same_batch(ours, theirs, path="batch"):
    """Same structure, types, dtypes, shapes and values as torch's batch (and on our backend)."""
    if isinstance(theirs, torch.Tensor):
        assert_on_backend(ours)
        assert ours.dtype.name == str(theirs.dtype).removeprefix("torch."), path
        assert ours.shape == tuple(theirs.shape), path
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=path)
        return
    assert type(ours) is type(theirs), f"{path}: {type(ours)} != {type(theirs)}"
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs), path
        for k in theirs:
            assert_same_batch(ours[k], theirs[k], f"{path}[{k!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same_batch(a, b, f"{path}[{i}]")
    else:
        assert ours == theirs, path


class Rows:
    """A map-style dataset of mixed samples, usable by both libraries, counting item reads."""

    def __init__(self, n=10):
        self.n = n
        self.reads = []

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.reads.append(i)
        x = np.arange(3, dtype=np.float32) + i
        return {"x": x, "i": i, "w": 0.5 * i, "p": Point(np.int16(i), [i, np.float64(i)])}


class _Stream:
    """0..n-1, split between workers by get_worker_info (of whichever library runs it)."""

    def __init__(self, n, info):
        self.n, self.info = n, info

    def __iter__(self):
        info = self.info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter([(k, float(k)) for k in range(start, self.n, step)])


class Stream(_Stream, pud.IterableDataset):
    pass


class TorchStream(_Stream, tud.IterableDataset):
    pass


# -- signatures ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "DataLoader",
        "RandomSampler",
        "WeightedRandomSampler",
        "BatchSampler",
        "SubsetRandomSampler",
        "SequentialSampler",
        "Subset",
        "TensorDataset",
        "ConcatDataset",
        "random_split",
        "StackDataset",
    ],
)
def test_signatures_match_torch(name):
    theirs = inspect.signature(getattr(tud, name)).parameters
    ours = inspect.signature(getattr(pud, name)).parameters
    assert list(ours) == list(theirs)
    for k, p in theirs.items():
        assert ours[k].kind == p.kind, k
        if k != "generator" or name != "random_split":  # torch's default is its global generator
            assert ours[k].default == p.default, k


# -- collation ----------------------------------------------------------------------------------
def test_default_collate_matches_torch_on_nested_samples():
    ds = Rows(4)
    samples = [ds[i] for i in range(4)]
    assert_same_batch(pud.default_collate(samples), tud.default_collate(samples))
    more = [(np.float32(i), True, "s", b"b", [np.zeros((2, 2), np.uint8)]) for i in range(3)]
    assert_same_batch(pud.default_collate(more), tud.default_collate(more))
    floats = pud.default_collate([1.5, 2.5])
    assert floats.dtype == pg.float64  # Python floats -> float64, as torch's default_collate


def test_default_collate_stacks_polygrad_tensors_and_keeps_gradients():
    rows = [pg.tensor([1.0, 2.0], requires_grad=True), pg.tensor([3.0, 4.0], requires_grad=True)]
    out = pud.default_collate(rows)
    assert_on_backend(out)
    np.testing.assert_array_equal(out.numpy(), [[1, 2], [3, 4]])
    (out * pg.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(rows[1].grad.numpy(), [3, 4])


def test_default_collate_errors_as_torch():
    bad = [
        [np.zeros(2), np.zeros(3)],
        [[1, 2], [1]],
        [object(), object()],
        [np.array(["a"]), np.array(["b"])],
    ]
    for batch in bad:
        with pytest.raises(Exception) as theirs:
            tud.default_collate(batch)
        with pytest.raises(theirs.type):
            pud.default_collate(batch)
    with pytest.raises(RuntimeError, match=r"equal size.*\[2\] at entry 0 and \[3\] at entry 1"):
        pud.default_collate([pg.zeros(2), pg.zeros(3)])


def test_default_convert_matches_torch():
    data = [{"a": np.arange(3), "b": 1, "c": (np.float32(2.0), "s")}, Point(np.ones(2), 3)]
    assert_same_batch(pud.default_convert(data), tud.default_convert(data))


# -- datasets -----------------------------------------------------------------------------------
def test_tensor_concat_subset_stack_datasets_match_torch():
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    ours = pud.TensorDataset(pg.tensor(x), pg.tensor(y))
    theirs = tud.TensorDataset(torch.tensor(x), torch.tensor(y))
    assert len(ours) == len(theirs) == 6
    assert_same_batch(list(ours[4]), list(theirs[4]))
    with pytest.raises(AssertionError, match="Size mismatch"):
        pud.TensorDataset(pg.zeros(3), pg.zeros(4))
    a, b = list(range(3)), list(range(10, 15))
    cat = pud.ConcatDataset([a, b])
    ref = tud.ConcatDataset([a, b])
    assert cat.cumulative_sizes == ref.cumulative_sizes == [3, 8]
    assert [cat[i] for i in range(-8, 8)] == [ref[i] for i in range(-8, 8)]
    with pytest.raises(ValueError, match="absolute value"):
        cat[-9]
    sub = pud.Subset(b, [4, 0, 2])
    assert [sub[i] for i in range(3)] == [tud.Subset(b, [4, 0, 2])[i] for i in range(3)]
    assert len(sub) == 3 and sub.__getitems__([2, 0]) == [12, 14]
    st = pud.StackDataset(a, b[:3])
    assert st[1] == tud.StackDataset(a, b[:3])[1] and len(st) == 3
    assert pud.StackDataset(u=a, v=a)[2] == {"u": 2, "v": 2}
    with pytest.raises(ValueError, match="Size mismatch"):
        pud.StackDataset(a, b)
    summed = pud.Subset(a, [0]) + pud.Subset(b, [1])
    assert isinstance(summed, pud.ConcatDataset) and list(summed) == [0, 11]
    with pytest.raises(NotImplementedError):
        pud.Dataset()[0]


def test_random_split_lengths_and_fractions_as_torch():
    data = list(range(10))
    for lengths in ([3, 7], [0.5, 0.5], [0.3, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25], [1.0]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = pud.random_split(data, lengths, generator=pud.Generator().manual_seed(1))
            theirs = tud.random_split(data, lengths, generator=torch.Generator().manual_seed(1))
        assert [len(s) for s in ours] == [len(s) for s in theirs]
        seen = [v for s in ours for v in (s[i] for i in range(len(s)))]
        assert sorted(seen) == data
    again = pud.random_split(data, [3, 7], generator=pud.Generator().manual_seed(1))
    assert list(again[0].indices) == list(
        ours_first := pud.random_split(data, [3, 7], generator=pud.Generator().manual_seed(1))[
            0
        ].indices
    )
    assert ours_first != list(range(3))
    pg.manual_seed(5)
    a = pud.random_split(data, [5, 5])[0].indices
    pg.manual_seed(5)
    assert pud.random_split(data, [5, 5])[0].indices == a
    with pytest.raises(ValueError, match="Sum of input lengths"):
        pud.random_split(data, [3, 3])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        pud.random_split([1, 2], [0.9, 0.1])


# -- samplers -----------------------------------------------------------------------------------
def test_sequential_and_batch_samplers_equal_torch():
    for n, bs, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (1, 4, False), (0, 2, False)]:
        ours = pud.BatchSampler(pud.SequentialSampler(range(n)), bs, drop)
        theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), bs, drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    for args in [(range(3), 0, False), (range(3), True, False), (range(3), 2, 1)]:
        with pytest.raises(Exception) as theirs:
            tud.BatchSampler(*args)
        with pytest.raises(theirs.type, match=str(theirs.value)):
            pud.BatchSampler(*args)


def test_random_sampler_permutes_each_epoch_reproducibly():
    pg.manual_seed(0)
    s = pud.RandomSampler(range(20))
    epochs = [list(s) for _ in range(3)]
    for e in epochs:
        assert sorted(e) == list(range(20))
    assert epochs[0] != epochs[1] != epochs[2] and epochs[0] != list(range(20))
    pg.manual_seed(0)
    assert [list(s) for _ in range(3)] == epochs
    g = pud.Generator().manual_seed(3)
    first = list(pud.RandomSampler(range(20), generator=g))
    assert first == list(pud.RandomSampler(range(20), generator=pud.Generator().manual_seed(3)))
    long = list(pud.RandomSampler(range(5), num_samples=12, generator=g))
    assert len(long) == 12 and sorted(long[:5]) == sorted(long[5:10]) == list(range(5))
    assert len(set(long[10:])) == 2
    rep = pud.RandomSampler(range(4), replacement=True, num_samples=1000)
    draws = np.array(list(rep))
    assert len(rep) == 1000 and draws.min() == 0 and draws.max() == 3
    assert np.all(np.abs(np.bincount(draws) - 250) < 60)
    for kwargs in [{"replacement": 1}, {"num_samples": 0}, {"num_samples": 2.0}]:
        with pytest.raises(Exception) as theirs:
            tud.RandomSampler(range(3), **kwargs)
        with pytest.raises(theirs.type, match=str(theirs.value)):
            pud.RandomSampler(range(3), **kwargs)


def test_subset_and_weighted_samplers():
    idx = [7, 3, 9, 1]
    s = pud.SubsetRandomSampler(idx, generator=pud.Generator().manual_seed(0))
    a, b = list(s), list(s)
    assert sorted(a) == sorted(idx) == sorted(b) and len(s) == 4 and a != b
    w = pud.WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=pud.Generator().manual_seed(0))
    counts = np.bincount(list(w), minlength=3)
    assert counts[0] == 0 and abs(counts[2] / counts[1] - 3) < 0.4 and len(w) == 4000
    no_rep = list(pud.WeightedRandomSampler([1, 1, 1, 0, 5], 4, replacement=False))
    assert sorted(no_rep) == [0, 1, 2, 4]
    assert list(pud.WeightedRandomSampler([0.0, 2.0], 2, replacement=False)) == [1, 0]  # torch's
    firsts = [next(iter(pud.WeightedRandomSampler([1.0, 3.0], 1, False))) for _ in range(2000)]
    assert abs(np.mean(firsts) - 0.75) < 0.04
    for args in [
        ([[1.0]], 1),
        ([1.0], 0),
        ([1.0], 1, 1),
        ([1.0, -1.0], 1),
        ([1.0, 0.0], 3, False),
        ([0.0, 0.0], 1),
    ]:
        with pytest.raises(Exception) as theirs:
            list(tud.WeightedRandomSampler(*args))
        with pytest.raises(theirs.type):
            list(pud.WeightedRandomSampler(*args))


def test_generator_seed_and_state_round_trip():
    g = pud.Generator()
    assert g.manual_seed(11) is g and g.initial_seed() == 11
    state = g.get_state()
    assert isinstance(state, pg.Tensor) and state.dtype == pg.uint8
    a = list(pud.RandomSampler(range(50), generator=g))
    assert g.set_state(state) is g
    assert list(pud.RandomSampler(range(50), generator=g)) == a
    with pytest.raises(TypeError, match="uint8"):
        g.set_state(pg.zeros(3))
    with pytest.raises(TypeError, match="polygrad.Generator"):
        list(pud.RandomSampler(range(3), generator=torch.Generator()))


# -- DataLoader ---------------------------------------------------------------------------------
LOADER_CASES = [
    {},
    {"batch_size": 3},
    {"batch_size": 3, "drop_last": True},
    {"batch_size": None},
    {"batch_size": 4, "sampler": [9, 1, 5, 3, 0]},
    {"batch_sampler": [[1, 2], [8], [0, 5, 6]]},
    {"batch_size": 2, "collate_fn": lambda b: [s["i"] for s in b]},
]


@pytest.mark.parametrize("kwargs", LOADER_CASES, ids=lambda k: ",".join(k) or "defaults")
def test_dataloader_batches_equal_torch(kwargs):
    ours = pud.DataLoader(Rows(), **kwargs)
    theirs = tud.DataLoader(Rows(), **kwargs)
    assert len(ours) == len(theirs)
    got, want = list(ours), list(theirs)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert_same_batch(a, b)
    assert ours.dataset is not None and isinstance(ours.batch_size, type(theirs.batch_size))


def test_dataloader_is_lazy():
    ds = Rows(10)
    it = iter(pud.DataLoader(ds, batch_size=3))
    assert ds.reads == []
    next(it)
    assert ds.reads == [0, 1, 2]
    next(it)
    assert ds.reads == [0, 1, 2, 3, 4, 5]


def test_dataloader_shuffle_is_a_new_reproducible_permutation_each_epoch():
    ds = pud.TensorDataset(pg.arange(30), pg.arange(30) * 10)
    pg.manual_seed(1)
    loader = pud.DataLoader(ds, batch_size=7, shuffle=True)
    epochs = [[(x.numpy(), y.numpy()) for x, y in loader] for _ in range(2)]
    orders = [np.concatenate([x for x, _ in e]).tolist() for e in epochs]
    for e, order in zip(epochs, orders):
        assert sorted(order) == list(range(30)) and [len(x) for x, _ in e] == [7, 7, 7, 7, 2]
        for x, y in e:
            np.testing.assert_array_equal(y, x * 10)
    assert orders[0] != orders[1] and orders[0] != list(range(30))
    pg.manual_seed(1)
    assert [np.concatenate([x.numpy() for x, _ in loader]).tolist() for _ in range(2)] == orders
    g1 = pud.DataLoader(ds, batch_size=30, shuffle=True, generator=pud.Generator().manual_seed(4))
    g2 = pud.DataLoader(ds, batch_size=30, shuffle=True, generator=pud.Generator().manual_seed(4))
    assert next(iter(g1))[0].numpy().tolist() == next(iter(g2))[0].numpy().tolist()


def test_dataloader_argument_errors_as_torch():
    cases = [
        {"shuffle": True, "sampler": [0]},
        {"batch_sampler": [[0]], "batch_size": 2},
        {"batch_sampler": [[0]], "drop_last": True},
        {"batch_size": None, "drop_last": True},
        {"num_workers": -1},
        {"timeout": -1},
        {"prefetch_factor": 2},
        {"persistent_workers": True},
    ]
    for kwargs in cases:
        with pytest.raises(Exception) as theirs:
            tud.DataLoader(Rows(), **kwargs)
        with pytest.raises(theirs.type):
            pud.DataLoader(Rows(), **kwargs)
    for kwargs in [{"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}]:
        with pytest.raises(ValueError, match="IterableDataset"):
            pud.DataLoader(Stream(4, pud.get_worker_info), **kwargs)
    loader = pud.DataLoader(Rows())
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        loader.batch_size = 4


def test_dataloader_over_iterable_dataset_equals_torch():
    for kwargs in [
        {},
        {"batch_size": 3},
        {"batch_size": 3, "drop_last": True},
        {"batch_size": None},
    ]:
        ours = list(pud.DataLoader(Stream(8, pud.get_worker_info), **kwargs))
        theirs = list(tud.DataLoader(TorchStream(8, tud.get_worker_info), **kwargs))
        assert_same_batch(ours, theirs)


def test_pin_memory_warns_and_changes_nothing():
    with pytest.warns(UserWarning, match="pin_memory"):
        got = list(pud.DataLoader(Rows(4), batch_size=2, pin_memory=True))
    for a, b in zip(got, tud.DataLoader(Rows(4), batch_size=2)):
        assert_same_batch(a, b)


# -- worker processes ---------------------------------------------------------------------------
class WhoLoads(pud.Dataset):
    """Each sample says which worker (and worker seed, and polygrad draw) produced it."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = pud.get_worker_info()
        draw = float(pg.rand(1).numpy()[0])
        return i, info.id, info.num_workers, info.seed, os.getpid(), draw, os.environ.get("TAG", "")


def _tag_worker(worker_id):
    os.environ["TAG"] = f"w{worker_id}"


def test_workers_load_in_order_with_worker_info_and_seeds():
    loader = pud.DataLoader(WhoLoads(), batch_size=2, num_workers=2, worker_init_fn=_tag_worker)
    batches = list(loader)
    assert len(batches) == len(loader) == 6
    i, wid, nw, seed, pid, draw, tag = batches[0]
    for b in batches:
        assert_on_backend(b[0])
    order = np.concatenate([b[0].numpy() for b in batches])
    assert order.tolist() == list(range(12))
    wids = np.concatenate([b[1].numpy() for b in batches])
    assert wids.tolist() == [0, 0, 1, 1] * 3  # batches go round-robin, as in torch
    assert set(np.concatenate([b[2].numpy() for b in batches]).tolist()) == {2}
    seeds = np.concatenate([b[3].numpy() for b in batches])
    assert seeds[2] == seeds[0] + 1  # base_seed + worker_id
    pids = set(np.concatenate([b[4].numpy() for b in batches]).tolist())
    assert len(pids) == 2 and os.getpid() not in pids
    draws = np.concatenate([b[5].numpy() for b in batches])
    assert draws[0] != draws[2]  # workers are seeded differently
    assert [t for b in batches for t in b[6]] == ["w0", "w0", "w1", "w1"] * 3
    assert pud.get_worker_info() is None


@pytest.mark.parametrize("kwargs", LOADER_CASES[1:6], ids=lambda k: ",".join(k))
def test_workers_give_the_same_batches_as_torch(kwargs):
    ours = list(pud.DataLoader(Rows(), num_workers=2, **kwargs))
    theirs = list(tud.DataLoader(Rows(), **kwargs))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert_same_batch(a, b)


@pytest.mark.parametrize("batch_size", [None, 2, 3])
def test_workers_over_iterable_dataset_interleave_as_torch(batch_size):
    kwargs = {"batch_size": batch_size, "num_workers": 2}
    ours = list(pud.DataLoader(Stream(11, pud.get_worker_info), **kwargs))
    theirs = list(tud.DataLoader(TorchStream(11, tud.get_worker_info), **kwargs))
    assert_same_batch(ours, theirs)


class Fails(pud.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            raise KeyError(f"no sample {i}")
        return i


def test_worker_exception_is_raised_in_the_main_process():
    it = iter(pud.DataLoader(Fails(), batch_size=2, num_workers=2))
    assert next(it).numpy().tolist() == [0, 1]
    with pytest.raises(KeyError, match=r"(?s)DataLoader worker process 1.*no sample 3"):
        next(it)


class Slow(pud.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        import time

        time.sleep(3)
        return i


def test_worker_timeout_raises():
    with pytest.raises(RuntimeError, match="timed out after 0.2 seconds"):
        list(pud.DataLoader(Slow(), num_workers=1, timeout=0.2))


def test_persistent_workers_keep_their_processes_across_epochs():
    loader = pud.DataLoader(WhoLoads(), batch_size=3, num_workers=2, persistent_workers=True)
    pids = [set(np.concatenate([b[4].numpy() for b in loader]).tolist()) for _ in range(2)]
    assert pids[0] == pids[1] and len(pids[0]) == 2
    half = iter(loader)
    next(half)  # an epoch abandoned part way does not leak batches into the next one
    order = np.concatenate([b[0].numpy() for b in loader]).tolist()
    assert order == list(range(12))
    fresh = pud.DataLoader(WhoLoads(), batch_size=3, num_workers=2)
    pids_fresh = [set(np.concatenate([b[4].numpy() for b in fresh]).tolist()) for _ in range(2)]
    assert not pids_fresh[0] & pids_fresh[1]


def test_polygrad_utils_is_an_attribute_after_import():
    assert pg.utils.data.DataLoader is pud.DataLoader


def test_tensor_dataset_rows_and_batches_keep_gradients_and_bounds():
    w = pg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    ds = pud.TensorDataset(w, pg.arange(3))
    ((xb, yb),) = list(pud.DataLoader(ds, batch_size=3, sampler=[2, 0, 2]))
    assert xb.requires_grad and yb.numpy().tolist() == [2, 0, 2]
    (xb * pg.tensor([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[2, 2], [0, 0], [4, 4]])
    plain = pud.TensorDataset(pg.arange(3), pg.arange(3))
    assert plain[-1][0].item() == 2 and not plain[0][0].requires_grad
    with pytest.raises(IndexError, match="out of bounds"):
        plain[3]
    batch = next(iter(pud.DataLoader(plain, batch_size=3)))
    assert_on_backend(batch[0])
    assert batch[0].numpy().tolist() == [0, 1, 2] and batch[0].dtype == pg.int64
