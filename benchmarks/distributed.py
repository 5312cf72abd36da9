"""Data-parallel throughput: the medium MLP (784-512-512-10, global batch 256, float32) trained
with DistributedDataParallel on 1 and 2 processes of one BLAS thread each.

    python benchmarks/distributed.py            # launches mpiexec -n 1 and -n 2, prints a table
    mpiexec -n 2 python benchmarks/distributed.py --worker   # one measurement

Each worker times ``--steps`` SGD steps after warm-up; the time rank 0 spends waiting for the
gradient all-reduces after the backward (the part of communication that did not overlap) is
measured separately.
"""

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

GLOBAL_BATCH = 256


def worker(steps: int, communicate: bool) -> None:
    import numpy as np

    import polygrad as pg
    import polygrad.distributed as dist
    import polygrad.nn as nn
    import polygrad.optim as optim
    from polygrad.nn.parallel import DistributedDataParallel as DDP
    from polygrad.nn.parallel import distributed as ddp_module

    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    model = DDP(nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                              nn.Linear(512, 10)))  # fmt: skip
    opt = optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(rank)
    local = GLOBAL_BATCH // size
    x = pg.tensor(rng.standard_normal((local, 784)).astype(np.float32))
    y = pg.tensor(rng.integers(0, 10, local))

    waited = [0.0]
    finish = ddp_module.DistributedDataParallel._finish

    def timed_finish(self):
        t0 = time.perf_counter()
        finish(self)
        waited[0] += time.perf_counter() - t0

    ddp_module.DistributedDataParallel._finish = timed_finish

    sync = contextlib.nullcontext if communicate else model.no_sync

    def step():
        opt.zero_grad()
        with sync():
            loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(5):
        step()
    dist.barrier()
    waited[0] = 0.0
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dist.barrier()
    elapsed = time.perf_counter() - t0
    if rank == 0:
        print(f"RESULT {size} {steps * GLOBAL_BATCH / elapsed:.1f} {1e3 * elapsed / steps:.2f} "
              f"{1e3 * waited[0] / steps:.2f}", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--no-comm", action="store_true",
                        help="skip the all-reduces (no_sync): the compute-only time per step")
    args = parser.parse_args()
    if args.worker:
        worker(args.steps, not args.no_comm)
        return
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit("mpiexec not found: pip install -e '.[mpi]'")
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    rows = {}
    for n in (1, 2):
        cmd = [mpiexec, "-n", str(n), sys.executable, __file__, "--worker",
               "--steps", str(args.steps), *(["--no-comm"] if args.no_comm else [])]  # fmt: skip
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
        _, size, rate, ms, wait_ms = line.split()
        rows[n] = float(rate)
        print(f"{n} process(es): {rate} samples/s, {ms} ms/step, "
              f"{wait_ms} ms/step waiting for all-reduces after backward")  # fmt: skip
    print(f"2-process / 1-process throughput: {rows[2] / rows[1]:.2f}x")


if __name__ == "__main__":
    main()
