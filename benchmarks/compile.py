"""polygrad.compile on the small MLP training step: compiled vs eager vs hand-written NumPy.

The step: an MLP 64-128-128-10, batch 64, cross-entropy, Adam (lr 1e-3), forward + backward +
step + zero_grad. Single thread (set OMP_NUM_THREADS=1 before running), numpy backend, the
three variants timed interleaved, medians. Also the capture cost: the first call of the
compiled step against one eager step.

Run: ``OMP_NUM_THREADS=1 POLYGRAD_BACKEND=numpy python benchmarks/compile.py [--profile]``;
``--medium`` for the MLP 784-512-512-10 (batch 256), ``--chain 200`` for a 200-op elementwise
chain on 8 elements (per op). ``--gpu`` times compiled against eager on the cupy backend (the
medium MLP; no hand-written row, whose reference is NumPy's); on a machine without a CUDA GPU it
prints why it skipped and exits 0.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from reference_numpy import MLPReference  # noqa: E402

import polygrad as pg  # noqa: E402
import polygrad.nn as nn  # noqa: E402
import polygrad.nn.functional as F  # noqa: E402

SIZES = (64, 128, 128, 10)
BATCH = 64
LR = 1e-3


def _model(sizes: tuple = SIZES) -> nn.Module:
    pg.manual_seed(0)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def make_step(model: nn.Module) -> tuple:
    opt = pg.optim.Adam(model.parameters(), lr=LR)

    def step(x: pg.Tensor, y: pg.Tensor) -> pg.Tensor:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    return step, opt


def _time(fn, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def chain(n_ops: int, rounds: int, number: int) -> None:
    """A chain of ``n_ops`` tanh on 8 elements, forward + backward: compiled, eager and by hand,
    per op."""
    xh = np.linspace(-1, 1, 8, dtype=np.float32)

    def step(x: pg.Tensor) -> pg.Tensor:
        y = x
        for _ in range(n_ops):
            y = y.tanh()
        y.sum().backward()
        return y

    def hand() -> None:
        ys = [xh]
        for _ in range(n_ops):
            ys.append(np.tanh(ys[-1]))
        g = np.ones_like(xh)
        for y in reversed(ys[1:]):
            g = g * (1 - y * y)

    compiled = pg.compile(step)
    x = pg.tensor(xh, requires_grad=True)
    compiled(x)
    variants = {"compiled": lambda: compiled(x), "eager": lambda: step(x), "hand": hand}
    samples: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            samples[name].append(_time(fn, number))
    med = {k: statistics.median(v) / n_ops for k, v in samples.items()}
    print(f"{n_ops}-op tanh chain on 8 elements, forward + backward, per op, medians of {rounds}")
    for name in variants:
        ratio = med[name] / med["hand"]
        print(f"  {name:9s} {med[name] * 1e6:7.2f} us  = {ratio:.2f}x hand-written")


def gpu(rounds: int, number: int) -> None:
    """Compiled vs eager on the cupy backend, the medium MLP; a message when there is no GPU."""
    from polygrad import _backend

    if _backend._cuda_gpu_count() == 0:
        print("--gpu: skipped: no CUDA GPU on this machine (CuPy cannot run here)")
        return
    sizes, batch = (784, 512, 512, 10), 256
    with pg.use_backend("cupy"):
        rng = np.random.default_rng(0)
        x = pg.tensor(rng.standard_normal((batch, sizes[0])).astype(np.float32))
        y = pg.tensor(rng.integers(0, sizes[-1], size=batch))
        eager_step, _ = make_step(_model(sizes))
        step, _ = make_step(_model(sizes))
        compiled = pg.compile(step)
        import cupy  # a benchmark, not engine code: it waits for the GPU's queue itself

        sync = cupy.cuda.Device().synchronize
        variants = {"compiled": lambda: compiled(x, y), "eager": lambda: eager_step(x, y)}
        for fn in variants.values():
            fn(), fn(), sync()
        samples: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(rounds):
            for name, fn in variants.items():
                samples[name].append(_time(lambda f=fn: (f(), sync()), number))
    med = {k: statistics.median(v) for k, v in samples.items()}
    print(f"MLP step {sizes}, batch {batch}, Adam; cupy backend, medians of {rounds}")
    for name in variants:
        print(f"  {name:9s} {med[name] * 1e3:7.3f} ms")
    print(f"  compiled {med['eager'] / med['compiled']:.2f}x faster than eager")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--number", type=int, default=50, help="steps per sample")
    parser.add_argument("--profile", action="store_true", help="profile the compiled step")
    parser.add_argument("--medium", action="store_true", help="the MLP 784-512-512-10, batch 256")
    parser.add_argument("--chain", type=int, default=0, help="time an N-op chain instead")
    parser.add_argument("--gpu", action="store_true", help="compiled vs eager on the cupy backend")
    args = parser.parse_args()
    if args.gpu:
        gpu(args.rounds, args.number)
        return
    if args.chain:
        chain(args.chain, args.rounds, args.number)
        return
    sizes, batch = ((784, 512, 512, 10), 256) if args.medium else (SIZES, BATCH)

    rng = np.random.default_rng(0)
    xh = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    yh = rng.integers(0, sizes[-1], size=batch)
    x, y = pg.tensor(xh), pg.tensor(yh)

    eager_model = _model(sizes)
    eager_step, _ = make_step(eager_model)
    compiled_model = _model(sizes)
    step, _ = make_step(compiled_model)
    params = [p.numpy() for p in compiled_model.parameters()]
    ref = MLPReference(params, lr=LR)
    xr, yr = np.asarray(xh), np.asarray(yh)

    def hand() -> None:
        loss, cache = ref.forward(xr, yr)
        ref.adam_step(ref.backward(cache))

    eager_step(x, y)  # Adam's state exists from here on
    t_eager_one = _time(lambda: eager_step(x, y), 1)
    compiled = pg.compile(step)
    step(x, y)
    t0 = time.perf_counter()
    compiled(x, y)
    t_capture = time.perf_counter() - t0
    assert compiled.stats["captures"] == 1

    variants = {"compiled": lambda: compiled(x, y), "eager": lambda: eager_step(x, y), "hand": hand}
    samples: dict[str, list[float]] = {k: [] for k in variants}
    for fn in variants.values():
        _time(fn, 5)  # warm up
    eager_samples = []
    for _ in range(args.rounds):
        for name, fn in variants.items():
            samples[name].append(_time(fn, args.number))
        eager_samples.append(_time(lambda: eager_step(x, y), 1))
    med = {k: statistics.median(v) for k, v in samples.items()}
    t_eager = med["eager"]
    print(f"MLP step {sizes}, batch {batch}, Adam; numpy backend, medians of {args.rounds}")
    for name in variants:
        print(
            f"  {name:9s} {med[name] * 1e3:7.3f} ms  = {med[name] / med['hand']:.2f}x hand-written"
        )
    print(
        f"  compiled step: {med['compiled'] * 1e3:.3f} ms vs eager {t_eager * 1e3:.3f} ms "
        f"({t_eager / med['compiled']:.2f}x faster)"
    )
    print(
        f"  capture (first compiled call): {t_capture * 1e3:.2f} ms = "
        f"{t_capture / statistics.median(eager_samples + [t_eager_one]):.2f}x an eager step"
    )
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(500):
            compiled(x, y)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
