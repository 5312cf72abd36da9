"""Run under mpiexec: SyncBatchNorm on shards equals torch's BatchNorm on the global batch.

Each rank holds its own (uneven; with 3 ranks one case gives rank 1 an empty shard) slice of
a global batch. Forward outputs, running statistics over several steps (momentum 0.1 and
None), eval outputs, the input gradient and the weight/bias gradients summed over ranks must
equal torch's single-process BatchNorm on the concatenated batch: float64, rtol 1e-12. Then
DDP over convert_sync_batchnorm(model) trains as torch on the global batch.
"""

import sys

import numpy as np
import torch

import polygrad as pg
import polygrad.distributed as dist
import polygrad.nn as nn
import polygrad.optim as optim
from polygrad.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group()
rank, size = dist.get_rank(), dist.get_world_size()
pg.set_default_dtype(pg.float64)
torch.set_default_dtype(torch.float64)
C = 3


def close(got, expected, what):
    np.testing.assert_allclose(np.asarray(got), expected.detach().numpy(), rtol=1e-12,
                               atol=1e-12, err_msg=f"{what} on rank {rank} of {size}")  # fmt: skip


def summed(t):
    t = t.clone()
    dist.all_reduce(t)
    return t.numpy()


def case(name, sizes, trailing, momentum, steps=3):
    rng = np.random.default_rng(len(name))
    lo, hi = sum(sizes[:rank]), sum(sizes[: rank + 1])
    ref = (torch.nn.BatchNorm1d if len(trailing) < 2 else torch.nn.BatchNorm2d)(
        C, momentum=momentum
    )
    mine = nn.SyncBatchNorm(C, momentum=momentum)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(rng.standard_normal(C)))
        ref.bias.copy_(torch.tensor(rng.standard_normal(C)))
    mine.load_state_dict({k: pg.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    shape = (sum(sizes), C, *trailing)
    for step in range(steps):
        what = f"{name} step {step}"
        x = rng.standard_normal(shape) * 3.0 + 5.0
        u = rng.standard_normal(shape)  # the upstream gradient, not ones
        xt = torch.tensor(x, requires_grad=True)
        expected = ref(xt)
        expected.backward(torch.tensor(u))
        xp = pg.tensor(x[lo:hi], requires_grad=True)
        got = mine(xp)
        got.backward(pg.tensor(u[lo:hi]))
        close(got.detach().numpy(), expected[lo:hi], f"{what}: output")
        close(xp.grad.numpy(), xt.grad[lo:hi], f"{what}: input gradient")
        close(summed(mine.weight.grad), ref.weight.grad, f"{what}: weight gradient")
        close(summed(mine.bias.grad), ref.bias.grad, f"{what}: bias gradient")
        for buf in ("running_mean", "running_var", "num_batches_tracked"):
            close(getattr(mine, buf).numpy(), getattr(ref, buf), f"{what}: {buf}")
        for m in (mine, ref):
            m.weight.grad = m.bias.grad = None
    # eval: the running statistics normalize, no communication (rank 0 alone would hang else)
    mine.eval(), ref.eval()
    x = rng.standard_normal((2, C, *trailing))
    if rank == 0:
        close(mine(pg.tensor(x)).detach().numpy(), ref(torch.tensor(x)), f"{name}: eval")


sizes = [3, 5, 2, 4][:size]
case("uneven (N, C, L)", sizes, (4,), 0.1)
case("momentum None, (N, C)", sizes, (), None)
if size >= 3:  # rank 1 holds nothing
    case("an empty shard (N, C, H, W)", [3, 0, 4, 2][:size], (2, 3), 0.1, steps=2)


# DDP over the converted model: SGD steps equal torch's on the global batch
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, C)
        self.bn = torch.nn.BatchNorm1d(C)
        self.head = torch.nn.Linear(C, 2)

    def forward(self, x):
        return self.head(torch.tanh(self.bn(self.fc(x))))


class PgNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, C)
        self.bn = nn.BatchNorm1d(C)
        self.head = nn.Linear(C, 2)

    def forward(self, x):
        return self.head(pg.tanh(self.bn(self.fc(x))))


torch.manual_seed(0)
ref, mine = Net(), PgNet()
mine.load_state_dict({k: pg.tensor(v.numpy()) for k, v in ref.state_dict().items()})
mine = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(mine))
assert type(mine.module.bn).__name__ == "SyncBatchNorm"
opt_ref = torch.optim.SGD(ref.parameters(), lr=0.5)
opt = optim.SGD(mine.parameters(), lr=0.5)
rng = np.random.default_rng(7)
per = 4  # even shards: the mean of the rank losses is the global mean loss
for _step in range(3):
    x, y = rng.standard_normal((per * size, 4)), rng.standard_normal((per * size, 2))
    opt_ref.zero_grad(), opt.zero_grad()
    torch.nn.functional.mse_loss(ref(torch.tensor(x)), torch.tensor(y)).backward()
    shard = slice(rank * per, (rank + 1) * per)
    loss = ((mine(pg.tensor(x[shard])) - pg.tensor(y[shard])) ** 2).mean()
    loss.backward()
    opt_ref.step(), opt.step()
expected = ref.state_dict()
for name, t in mine.module.state_dict().items():
    close(t.numpy(), expected[name], f"DDP + SyncBatchNorm: {name}")

dist.barrier()
if rank == 0:
    print(f"syncbn ok on {size} ranks")
sys.exit(0)
