"""Data-parallel throughput: the medium MLP (784-512-512-10) and the digits CNN (examples/models.py,
8x8 images), global batch 256, float32, trained with DistributedDataParallel on 1 and 2
processes of one BLAS thread each.

    python benchmarks/distributed.py                 # mpiexec -n 1 and -n 2, both models
    python benchmarks/distributed.py --model cnn     # one model
    mpiexec -n 2 python benchmarks/distributed.py --worker --model mlp   # one measurement

Each worker times ``--steps`` SGD steps after warm-up and reports, per step on rank 0:
- the wait: time spent after the backward waiting for the gradient all-reduces (the part of
  communication that did not overlap the backward, plus waiting for a slower rank);
- the communication alone: the same buckets (the same sizes, in the same order) all-reduced
  with blocking calls after the timed steps, with both ranks in step (a barrier before each);
- hidden = 1 - wait / communication alone, clipped to [0, 1]: the fraction of the all-reduce
  time that overlapped the backward. A rank that falls behind (shared cores) shows up as a
  wait larger than the communication, i.e. hidden 0.
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


def _model(name: str):
    import polygrad.nn as nn

    if name == "cnn":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
        from models import digits_cnn

        return digits_cnn(), (1, 8, 8)
    layers = [nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)]
    return nn.Sequential(*layers), (784,)


def worker(steps: int, communicate: bool, model_name: str, bucket_cap_mb: float) -> None:
    import numpy as np

    import polygrad as pg
    import polygrad.distributed as dist
    import polygrad.nn as nn
    import polygrad.optim as optim
    from polygrad.nn.parallel import DistributedDataParallel as DDP
    from polygrad.nn.parallel import distributed as ddp_module

    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    net, shape = _model(model_name)
    model = DDP(net, bucket_cap_mb=bucket_cap_mb)
    opt = optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(rank)
    local = GLOBAL_BATCH // size
    x = pg.tensor(rng.standard_normal((local, *shape)).astype(np.float32))
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

    # the communication alone: every bucket's all-reduce, blocking, ranks in step
    sizes = [sum(p.numel() for _, p in b.params) for b in model._reducer.buckets]
    buffers = [pg.zeros(n, dtype=pg.float32) for n in sizes]
    comm = []
    for _ in range(max(5, steps // 2)):
        dist.barrier()
        t1 = time.perf_counter()
        for buf in buffers:
            dist.all_reduce(buf, dist.ReduceOp.AVG)
        comm.append(time.perf_counter() - t1)
    comm_ms = 1e3 * float(np.median(comm)) if size > 1 else 0.0
    if rank == 0:
        wait_ms = 1e3 * waited[0] / steps
        hidden = max(0.0, min(1.0, 1 - wait_ms / comm_ms)) if comm_ms > 0 else float("nan")
        print(f"RESULT {size} {steps * GLOBAL_BATCH / elapsed:.1f} {1e3 * elapsed / steps:.2f} "
              f"{wait_ms:.2f} {comm_ms:.2f} {hidden:.2f} {len(sizes)}", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--model", choices=("mlp", "cnn", "both"), default="both")
    parser.add_argument("--bucket-cap-mb", type=float, default=25.0,
                        help="DDP's bucket_cap_mb (25, torch's default)")  # fmt: skip
    parser.add_argument("--no-comm", action="store_true",
                        help="skip the all-reduces (no_sync): the compute-only time per step")
    args = parser.parse_args()
    if args.worker:
        worker(args.steps, not args.no_comm, args.model, args.bucket_cap_mb)
        return
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit("mpiexec not found: pip install -e '.[mpi]'")
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    models = ("mlp", "cnn") if args.model == "both" else (args.model,)
    print("| model | processes | samples/s | ms/step | wait after backward (ms) | "
          "all-reduce alone (ms) | hidden | buckets |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    ratios = {}
    for name in models:
        rates = {}
        for n in (1, 2):
            cmd = [mpiexec, "-n", str(n), sys.executable, __file__, "--worker", "--model", name,
                   "--steps", str(args.steps), "--bucket-cap-mb", str(args.bucket_cap_mb),
                   *(["--no-comm"] if args.no_comm else [])]  # fmt: skip
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
            _, size, rate, ms, wait_ms, comm_ms, hidden, buckets = line.split()
            rates[n] = float(rate)
            shown = "-" if n == 1 else f"{float(hidden):.0%}"
            print(f"| {name} | {n} | {float(rate):,.0f} | {ms} | {wait_ms} | {comm_ms} | {shown} "
                  f"| {buckets} |")  # fmt: skip
        ratios[name] = rates[2] / rates[1]
    for name, r in ratios.items():
        print(f"{name}: 2-process / 1-process throughput {r:.2f}x")


if __name__ == "__main__":
    main()
