"""polygrad.compile on the small MLP training step: compiled vs eager vs hand-written NumPy.

The step: an MLP 64-128-128-10, batch 64, cross-entropy, Adam (lr 1e-3), forward + backward +
step + zero_grad. Single thread (set OMP_NUM_THREADS=1 before running), numpy backend, the
three variants timed interleaved, medians. Also the capture cost: the first call of the
compiled step against one eager step.

Run: ``OMP_NUM_THREADS=1 POLYGRAD_BACKEND=numpy python benchmarks/compile.py [--profile]``
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


def _model() -> nn.Module:
    pg.manual_seed(0)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(SIZES) - 2:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--number", type=int, default=50, help="steps per sample")
    parser.add_argument("--profile", action="store_true", help="profile the compiled step")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    xh = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    yh = rng.integers(0, SIZES[-1], size=BATCH)
    x, y = pg.tensor(xh), pg.tensor(yh)

    eager_model = _model()
    eager_step, _ = make_step(eager_model)
    compiled_model = _model()
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
    print(f"small MLP step {SIZES}, batch {BATCH}, Adam; numpy backend, medians of {args.rounds}")
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
