"""Run under mpiexec (or with gloo's env://): every collective of polygrad.distributed against
a NumPy reference computed from what each rank contributes (rank r holds values made from r).

Exits 0 and prints "collectives ok" on rank 0; an assertion on any rank aborts the job.
"""

import sys

import numpy as np

import polygrad as pg
import polygrad.distributed as dist

backend = sys.argv[1] if len(sys.argv) > 1 else None
dist.init_process_group(backend)
rank, size = dist.get_rank(), dist.get_world_size()


def local(r, shape=(2, 3), dtype=np.float64):
    """What rank r contributes: distinct per rank and element."""
    return (np.arange(np.prod(shape)).reshape(shape) + 10.0 * r + 1.0).astype(dtype)


def check(t, expected, what):
    got = t.numpy()
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype} != {expected.dtype}"
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0, err_msg=f"{what} rank {rank}")


everyone = np.stack([local(r) for r in range(size)])
references = {
    dist.ReduceOp.SUM: everyone.sum(0),
    dist.ReduceOp.AVG: everyone.mean(0),
    dist.ReduceOp.MAX: everyone.max(0),
    dist.ReduceOp.MIN: everyone.min(0),
    dist.ReduceOp.PRODUCT: everyone.prod(0),
}
for async_op in (False, True):
    for op, ref in references.items():
        t = pg.tensor(local(rank))
        work = dist.all_reduce(t, op=op, async_op=async_op)
        if async_op:
            assert work.wait() is True and work.is_completed()
        check(t, ref, f"all_reduce {op} async={async_op}")

    # is_completed() polled until True, with no wait(): the result (AVG's division) is in place
    if async_op:
        t = pg.tensor(local(rank))
        work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
        while not work.is_completed():
            pass
        check(t, references[dist.ReduceOp.AVG], "all_reduce AVG polled with is_completed")

    # bools: SUM/MAX are a logical or, PRODUCT/MIN a logical and (torch's NCCL rule)
    flags = np.array([rank == 0, True, False, rank == size - 1])
    for op, ref in ((dist.ReduceOp.SUM, [True, True, False, True]),
                    (dist.ReduceOp.MAX, [True, True, False, True]),
                    (dist.ReduceOp.PRODUCT, [size == 1, True, False, size == 1]),
                    (dist.ReduceOp.MIN, [size == 1, True, False, size == 1])):
        tb = pg.tensor(flags)
        w = dist.all_reduce(tb, op=op, async_op=async_op)
        if async_op:
            w.wait()
        check(tb, np.array(ref), f"all_reduce bool {op}")

    # an integer all_reduce keeps its dtype
    ti = pg.tensor(local(rank, dtype=np.int64))
    dist.all_reduce(ti, async_op=async_op) if not async_op else dist.all_reduce(
        ti, async_op=True
    ).wait()
    check(ti, everyone.astype(np.int64).sum(0), "all_reduce int64")

    for src in range(size):
        t = pg.tensor(local(rank))
        w = dist.broadcast(t, src=src, async_op=async_op)
        w and w.wait()
        check(t, local(src), f"broadcast src={src}")

    out = pg.zeros(size * 2, 3, dtype=pg.float64)
    w = dist.all_gather_into_tensor(out, pg.tensor(local(rank)), async_op=async_op)
    w and w.wait()
    check(out, everyone.reshape(size * 2, 3), "all_gather_into_tensor")

    outs = [pg.zeros(2, 3, dtype=pg.float64) for _ in range(size)]
    w = dist.all_gather(outs, pg.tensor(local(rank)), async_op=async_op)
    w and w.wait()
    for r in range(size):
        check(outs[r], local(r), f"all_gather [{r}]")

    big = np.stack([local(rank, (2,)) * (b + 1) for b in range(size)])  # (size, 2)
    out = pg.zeros(2, dtype=pg.float64)
    w = dist.reduce_scatter_tensor(out, pg.tensor(big), async_op=async_op)
    w and w.wait()
    ref = sum(np.stack([local(r, (2,)) * (b + 1) for b in range(size)]) for r in range(size))
    check(out, ref[rank], "reduce_scatter_tensor")

    dst = size - 1
    glist = [pg.zeros(2, 3, dtype=pg.float64) for _ in range(size)] if rank == dst else None
    w = dist.gather(pg.tensor(local(rank)), glist, dst=dst, async_op=async_op)
    w and w.wait()
    if rank == dst:
        for r in range(size):
            check(glist[r], local(r), f"gather [{r}]")

    slist = [pg.tensor(local(r) * 3) for r in range(size)] if rank == 0 else None
    t = pg.zeros(2, 3, dtype=pg.float64)
    w = dist.scatter(t, slist, src=0, async_op=async_op)
    w and w.wait()
    check(t, local(rank) * 3, "scatter")

# a ring of point-to-point messages; recv reports the sender
right, left = (rank + 1) % size, (rank - 1) % size
t = pg.zeros(2, 3, dtype=pg.float64)
if rank % 2 == 0:
    dist.send(pg.tensor(local(rank)), dst=right)
    sender = dist.recv(t, src=left)
else:
    sender = dist.recv(t)
    dist.send(pg.tensor(local(rank)), dst=right)
assert sender == left, f"recv reported sender {sender}, expected {left}"
check(t, local(left), "send/recv")
work = dist.isend(pg.tensor(local(rank)), dst=right)
got = pg.zeros(2, 3, dtype=pg.float64)
dist.irecv(got, src=left).wait()
work.wait()
check(got, local(left), "isend/irecv")

# a non-contiguous float32 tensor goes through a copy and comes back in place
t = pg.tensor(local(rank, (3, 2), np.float32)).T
dist.all_reduce(t)
check(t, everyone.sum(0).astype(np.float32).reshape(2, 3) * 0 + np.stack(
    [local(r, (3, 2), np.float32) for r in range(size)]).sum(0).T, "all_reduce transposed")

# argument errors name the op and the sizes
try:
    dist.all_gather_into_tensor(pg.zeros(3), pg.zeros(2))
except RuntimeError as e:
    assert "all_gather_into_tensor" in str(e) and "(3,)" in str(e), e
else:
    raise AssertionError("a wrong output size was accepted")

dist.barrier()
dist.barrier(async_op=True).wait()
dist.destroy_process_group()
assert not dist.is_initialized()
if rank == 0:
    print(f"collectives ok on {size} ranks ({backend or 'default'}, {pg.get_backend().name})")
