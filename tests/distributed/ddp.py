"""Run under mpiexec: DistributedDataParallel training equals one process with the global batch.

Rank r trains on its contiguous shard of each global batch; after N steps of SGD the parameters
must equal those of one process (computed here on every rank, without communication) trained on
the whole batch: float64, rtol 1e-12. Cases: several buckets (a cap smaller than the model),
no_sync accumulation over two micro-batches, and a parameter unused on some ranks only.
In a world of one process (``mpiexec -n 1``, or no launcher at all: MPI's singleton), where DDP
copies and communicates nothing, the parameters and ``.grad`` arrays must be bitwise those of
the unwrapped model and no bucket buffer may have been filled.
"""

import sys

import numpy as np

import polygrad as pg
import polygrad.distributed as dist
import polygrad.nn as nn
import polygrad.optim as optim
from polygrad.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group()
rank, size = dist.get_rank(), dist.get_world_size()
pg.set_default_dtype(pg.float64)
GLOBAL, STEPS = 12, 4  # 12 splits evenly over 1, 2, 3 and 4 processes


class Net(nn.Module):
    def __init__(self, seed: int, unused: bool = False) -> None:
        super().__init__()
        pg.manual_seed(seed)  # a different init per rank: DDP must broadcast rank 0's
        self.fc1 = nn.Linear(5, 16)
        self.fc2 = nn.Linear(16, 8)
        self.head = nn.Linear(8, 3)
        if unused:
            self.extra = nn.Linear(8, 3)  # used only for the rows of rank 0's shard
            self.never = nn.Linear(2, 2)  # used by no rank: its .grad stays None

    def forward(self, x, extra_rows=None):
        h = self.fc2(self.fc1(x).tanh()).tanh()
        out = self.head(h)
        return out if extra_rows is None else out + self.extra(h) * extra_rows


rng = np.random.default_rng(0)
data = [(rng.standard_normal((GLOBAL, 5)), rng.standard_normal((GLOBAL, 3))) for _ in range(STEPS)]


def shard(a):
    n = len(a) // size
    return a[rank * n : (rank + 1) * n]


def train(model, parallel, micro=1, unused=False):
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in data:
        if parallel:
            x, y = shard(x), shard(y)
        opt.zero_grad()
        # unused: the extra head adds to the rows of rank 0's shard only, so on the other
        # ranks it is not in the graph at all (the reference masks the same rows)
        rows = np.zeros((len(x), 1))
        rows[: GLOBAL // size] = 1.0
        chunks = np.array_split(np.arange(len(x)), micro)
        for i, idx in enumerate(chunks):
            xb, yb = pg.tensor(x[idx]), pg.tensor(y[idx])
            extra = None
            if unused and (not parallel or rank == 0):
                extra = pg.tensor(rows[idx])
            ctx = model.no_sync() if parallel and i < micro - 1 else _null()
            with ctx:
                out = model(xb, extra_rows=extra)
                loss = ((out - yb) ** 2).mean() / micro
                loss.backward()
        opt.step()
    return model


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def check(case, **kw):
    cap = kw.pop("bucket_cap_mb", 25)
    find = kw.get("unused", False)
    ddp = DDP(Net(100 + rank, find), bucket_cap_mb=cap, find_unused_parameters=find)
    if case == "buckets":
        assert len(ddp._reducer.buckets) >= 3, len(ddp._reducer.buckets)
    train(ddp, True, **kw)
    ref = train(Net(100, find), False, **kw)
    for (name, p), (_, q) in zip(ddp.module.named_parameters(), ref.named_parameters()):
        if name.startswith("never"):
            assert p.grad is None and q.grad is None, f"{case}: {name} got a gradient"
        if size == 1:  # a world of one runs the very same arithmetic: bitwise equal
            assert np.array_equal(p.numpy(), q.numpy()), f"{case}: {name} differs"
            if q.grad is not None:
                assert np.array_equal(p.grad.numpy(), q.grad.numpy()), f"{case}: {name}.grad"
            continue
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=f"{case}: {name} on rank {rank}")
    if size == 1:  # the average over one process is the gradient: no bucket copy was made
        assert all(b.flat is None for b in ddp._reducer.buckets), f"{case}: a bucket was filled"
    # every rank holds the same parameters
    for name, p in ddp.module.named_parameters():
        lo, hi = p.clone(), p.clone()
        dist.all_reduce(lo, dist.ReduceOp.MIN)
        dist.all_reduce(hi, dist.ReduceOp.MAX)
        assert np.array_equal(lo.numpy(), hi.numpy()), f"{case}: {name} differs across ranks"
    return ddp


check("one bucket")
check("buckets", bucket_cap_mb=200 / 2**20)  # 200 bytes: one bucket per tensor or two
check("no_sync", micro=2)
ddp = check("unused", unused=True)
assert list(ddp.state_dict())[0].startswith("module."), list(ddp.state_dict())[:2]

# a .grad kept across steps is never overwritten by a later step (no view of a reused bucket),
# and zero_grad(set_to_none=False) gives the same gradients as one process on the global batch
for set_to_none in (True, False):
    ddp, ref = DDP(Net(100 + rank), bucket_cap_mb=200 / 2**20), Net(100)
    kept = []
    for x, y in data[:3]:
        for model, xs, ys in ((ddp, shard(x), shard(y)), (ref, x, y)):
            model.zero_grad(set_to_none=set_to_none)
            ((model(pg.tensor(xs)) - pg.tensor(ys)) ** 2).mean().backward()
        got = [p.grad for p in ddp.module.parameters()]
        for g, q in zip(got, ref.parameters()):
            if size == 1:
                assert np.array_equal(g.numpy(), q.grad.numpy()), "a world of one's .grad"
            np.testing.assert_allclose(g.numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-14)
        kept.append([(g, g.numpy().copy()) for g in got])
    for step in kept[:-1]:
        for g, values in step:
            if set_to_none:  # zero_grad(set_to_none=False) zeroes the old .grad, as torch
                assert np.array_equal(g.numpy(), values), "a kept .grad was overwritten"

# models that differ across ranks are refused at construction (one rank has nothing to differ)
try:
    DDP(nn.Linear(3 + (rank == size - 1 and size > 1), 2))
except RuntimeError as e:
    assert size > 1 and "differs across ranks" in str(e) and "weight" in str(e), e
else:
    assert size == 1, "a shape mismatch across ranks was accepted"

# counts that differ are named as such, not as the first tensor's shape
try:
    DDP(nn.Sequential(*[nn.Linear(3, 3) for _ in range(1 + (rank == size - 1 and size > 1))]))
except RuntimeError as e:
    assert size > 1 and "the number of parameters and buffers" in str(e), e
else:
    assert size == 1, "a parameter count mismatch across ranks was accepted"


class Skip(nn.Module):
    def __init__(self, seed: int) -> None:
        super().__init__()
        pg.manual_seed(seed)
        self.a, self.extra, self.b = nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4)
        self.frozen = nn.Linear(4, 4)
        self.frozen.requires_grad_(False)

    def forward(self, x, use=None):
        h = self.a(x).tanh() + self.frozen(x)
        if use is not None:
            h = h + self.extra(h) * use
        return self.b(h)


# find_unused_parameters=True with `extra` unused on the last rank only (the other ranks use
# it): every step's gradients equal one process's on the global batch; frozen parameters are
# rank 0's after construction, as torch broadcasts them too
d, ref = DDP(Skip(30 + rank), find_unused_parameters=True), Skip(30)
np.testing.assert_array_equal(d.module.frozen.weight.numpy(), ref.frozen.weight.numpy())
n_local = GLOBAL // size
mask = np.ones((GLOBAL, 1))
mask[(size - 1) * n_local :] = 0  # the last rank's rows do not use `extra`
data_rng = np.random.default_rng(5)
for step in range(3):
    X, Y = data_rng.standard_normal((GLOBAL, 4)), data_rng.standard_normal((GLOBAL, 4))
    sl = slice(rank * n_local, (rank + 1) * n_local)
    d.zero_grad()
    ref.zero_grad()
    use = None if rank == size - 1 else pg.tensor(mask[sl])
    ((d(pg.tensor(X[sl]), use) - pg.tensor(Y[sl])) ** 2).mean().backward()
    ((ref(pg.tensor(X), pg.tensor(mask)) - pg.tensor(Y)) ** 2).mean().backward()
    for (name, p), q in zip(d.module.named_parameters(), ref.parameters()):
        if q.grad is None:
            assert p.grad is None, name
            continue
        if p.grad is None:  # unused on every rank (a world of one): None, as torch's DDP
            assert size == 1 and not np.any(q.grad.numpy()), f"step {step}: {name} no gradient"
            continue
        np.testing.assert_allclose(
            p.grad.numpy(), q.grad.numpy(), rtol=1e-11, atol=1e-13, err_msg=f"{step} {name}"
        )

dist.barrier()
if rank == 0:
    print(f"ddp ok on {size} ranks")
sys.exit(0)
