"""polygrad's benchmark: speed and memory against PyTorch eager and hand-written NumPy.

Run from the repository root::

    python benchmarks/run.py                       # every case and the scaling plot (~3-4 min)
    python benchmarks/run.py --quick               # fewer repeats, smaller plot (~1 min)
    python benchmarks/run.py --cases 2,3 --repeats 41
    python benchmarks/run.py --backend torch --cases 4
    python benchmarks/run.py --json results.json --markdown benchmarks/RESULTS.md
    python benchmarks/run.py --cases 1 --profile   # also profile each polygrad miss
    nox -s bench -- --quick                        # the same in a fresh virtualenv

What is measured
----------------
1. op overhead: forward and backward of a chain of 200 elementwise ops (cycling ``* 0.9``,
   ``+ 0.1``, tanh, exp, sigmoid) on an 8-element float64 tensor, reported per op. References:
   torch, and the same chain with a hand-derived backward in raw NumPy.
2. small model: one training step (zero_grad, forward, cross-entropy, backward, Adam) of a
   ReLU MLP 64-128-128-10 on a batch of 64, float32.
3. medium model: the same step for an MLP 784-512-512-10, batch 256.
4. large model: the same step for an MLP 784-2048-2048-10, batch 512, and the peak memory of
   one step (``tracemalloc``, which sees NumPy's allocations; it cannot see torch's CPU
   allocator, so torch's memory is not reported on CPU).
   4t. the same with polygrad on its torch backend, against native torch (run by default
   when ``--backend`` is not torch; ``--backend torch`` makes case 4 itself this comparison).
5. depth: ``backward()`` alone through chains of 10,000 and 100,000 ops (the graph is built
   before the timer starts); linear growth means a ratio of about 10.
6. the digits CNN of ``examples/models.py`` (``digits_cnn``): one Adam step on a batch of 64
   1x8x8 digits, against the identical torch model (no hand-written reference).
7. erf, exact GELU and tanh GELU forward on 1M elements (float32 and float64), against torch.
8. the word-level LSTM language model (``benchmarks/lstm_lm.py``: embedding 200, 2-layer LSTM
   hidden 256, vocabulary 10k, 35 steps x 20 sequences): one SGD step, with polygrad's
   recurrence fused and composed op by op, against torch eager (issue 12's 1.5x target).
9. the conv net of PyTorch's MNIST example (``benchmarks/conv_net.py``: conv 3x3 1-32 and
   32-64, 2x2 max pooling, linear 9216-128-10, batch 64 of 28x28): one SGD step against torch
   eager (issue 12's 1.3x target).
10. one nanoGPT-style transformer block (``benchmarks/gpt_block.py``: n_embd 128, 4 heads,
    sequence 64, batch 16, exact GELU, embeddings and head over a vocabulary of 65): one
    AdamW step against torch eager (issue 12's 1.3x target).

The hand-written references live in ``benchmarks/reference_numpy.py``. Model steps use float32
(as users do); the op chains use float64.

How
---
Every case builds polygrad's version and its references from the same initial parameters and
the same batch, and first checks, before any timing, that they compute the same thing: one
step in float64 must give the same loss, gradients and updated parameters to ~1e-7, and one
step in float32 the same loss and gradients to float32 tolerance. (Parameters are not compared
in float32: Adam's first step is ``lr * sign(g)`` for tiny ``g``, which rounding can flip.)
Then each variant is warmed up, the number of calls per sample is calibrated so a sample lasts
at least ``--min-sample`` seconds, and samples are taken interleaved (polygrad, torch, numpy,
polygrad, torch, numpy, ...) so that load from other processes hits every variant alike.
Reported: the median time per call over ``--repeats`` samples (with half the interquartile
range, as a percentage, to show the noise) and the ratio of medians polygrad / reference.
The garbage collector stays on, as it is for users. The scaling plot times the MLP step
against width and against batch size the same way, with fewer repeats.

Threads: by default torch and NumPy's BLAS both get one thread (``--threads``, set through
``torch.set_num_threads`` and threadpoolctl). On a shared 2-core machine, two-thread kernels
measure the other jobs more than the libraries: with other test suites running, torch's
small-model step went from 1 ms with one thread to 6-44 ms with two, and NumPy's large-model
step got slower with two threads than with one. ``--threads 0`` keeps each library's default.

``--backend`` picks polygrad's backend (numpy by default; torch; cupy on a GPU machine;
strict works but is slow and only meaningful for correctness). On a GPU (cupy, or torch with
a CUDA device) the references run on the GPU too: torch on CUDA and the hand-written
reference on CuPy, with a device synchronization at the end of every timed call.

Output: a table on stdout (times, ratios, then each ratio next to its target from issue 5,
marked holds or MISS); ``--json`` adds every sample, the quartiles, paired ratios, peak memory,
machine, thread counts, versions (with the polygrad commit) and date; ``--markdown`` writes
the report that benchmarks/RESULTS.md is. ``--profile`` then runs cProfile over polygrad's
step in every case that misses a target (top functions by own time; NumPy's operators are C
slots, so their time shows as the own time of the Python function using them) and, for the
model cases, times each phase (forward+loss, backward, optimizer) of every implementation,
with tracemalloc's peak and held bytes per phase.

Timings are never asserted anywhere; targets from issue 5 are shown next to each ratio.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import json
import math
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from reference_numpy import MLPReference, chain_forward, chain_forward_backward

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F
import polygrad.optim as optim

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LR = 1e-3
SEED = 0


# ============================================================================================
# environment: backend, devices, synchronization
# ============================================================================================
@dataclass
class Env:
    """Where each implementation runs."""

    backend: str  # polygrad's backend
    device: str  # polygrad's device, as text
    gpu: bool  # True when polygrad runs on a CUDA GPU (then the references do too)
    torch_device: torch.device
    ref_xp: Any  # numpy, or cupy on a GPU
    ref_name: str  # "numpy" or "cupy"

    def sync(self) -> None:
        """Wait for queued device work (a no-op on CPU)."""
        if self.gpu:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            if self.ref_name == "cupy":
                self.ref_xp.cuda.get_current_stream().synchronize()

    def ref_array(self, a: np.ndarray) -> Any:
        return self.ref_xp.asarray(a)


def set_threads(n: int) -> dict[str, Any]:
    """Give every library ``n`` threads (torch's intra-op pool, NumPy's BLAS); 0 leaves each
    library's default. Returns the thread counts in effect."""
    info: dict[str, Any] = {}
    try:
        import threadpoolctl
    except ImportError:
        threadpoolctl = None
        if n > 0:
            print("note: threadpoolctl is not installed, NumPy's BLAS threads are left alone")
    if n > 0:
        torch.set_num_threads(n)
        if threadpoolctl is not None:
            threadpoolctl.threadpool_limits(n, user_api="blas")
    info["torch"] = torch.get_num_threads()
    if threadpoolctl is not None:
        blas = [
            p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"
        ]
        info["blas"] = blas[0] if blas else None
    return info


def make_env(backend: str, device: str | None) -> Env:
    if device is None:
        device = os.environ.get("POLYGRAD_DEVICE") or None
    if device is None and backend == "torch" and torch.cuda.is_available():
        device = "cuda"
    pg.set_backend(backend, device)
    dev = str(pg.get_backend().device)
    gpu = backend == "cupy" or (backend == "torch" and dev.startswith("cuda"))
    torch_device = torch.device("cuda" if gpu else "cpu")
    ref_xp: Any = np
    ref_name = "numpy"
    if gpu:
        try:
            import cupy

            ref_xp, ref_name = cupy, "cupy"
        except ImportError:
            print("note: cupy is not importable, the hand-written reference runs on the host")
    return Env(backend, dev, gpu, torch_device, ref_xp, ref_name)


# ============================================================================================
# timing
# ============================================================================================
@dataclass
class Variant:
    """One implementation of a case: ``call`` is timed, ``before`` (if any) runs untimed
    before every call (case 5 builds its graph there)."""

    name: str
    call: Callable[[], Any]
    before: Callable[[], Any] | None = None


def _time_calls(v: Variant, number: int, sync: Callable[[], None]) -> float:
    """Seconds per call, over ``number`` calls."""
    if v.before is None:
        t0 = time.perf_counter()
        for _ in range(number):
            v.call()
        sync()
        return (time.perf_counter() - t0) / number
    total = 0.0
    for _ in range(number):
        v.before()
        sync()
        t0 = time.perf_counter()
        v.call()
        sync()
        total += time.perf_counter() - t0
    return total / number


def time_interleaved(
    variants: list[Variant],
    repeats: int,
    warmup: int,
    min_sample: float,
    sync: Callable[[], None],
) -> dict[str, list[float]]:
    """Warm each variant up, calibrate calls per sample, then take ``repeats`` samples of
    each, interleaved. Returns the seconds per call of every sample, by variant name."""
    numbers = {}
    for v in variants:
        warm = [_time_calls(v, 1, sync) for _ in range(max(1, warmup))]
        per_call = statistics.median(warm)
        numbers[v.name] = max(1, math.ceil(min_sample / max(per_call, 1e-9)))
    samples: dict[str, list[float]] = {v.name: [] for v in variants}
    for _ in range(repeats):
        for v in variants:
            samples[v.name].append(_time_calls(v, numbers[v.name], sync))
    return samples


def summarize(xs: list[float]) -> dict[str, float]:
    q1, med, q3 = np.percentile(xs, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "n": len(xs)}


def peak_memory(step: Callable[[], Any], sync: Callable[[], None]) -> int:
    """Peak bytes allocated (and seen by tracemalloc) during one call of ``step``.

    Only allocations made during the call count: arrays that exist before it (parameters,
    optimizer state) do not, and neither do frees of them. NumPy reports its array buffers to
    tracemalloc; torch's CPU allocator and GPU memory do not.
    """
    gc.collect()
    tracemalloc.start()
    try:
        step()
        sync()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


# ============================================================================================
# results
# ============================================================================================
@dataclass
class Row:
    """One line of the table: the variants' times for one configuration."""

    label: str
    unit: str  # what one reported time is: "op", "step", "backward"
    divisor: float  # a sample's seconds per call / divisor = seconds per unit
    samples: dict[str, list[float]]

    def median(self, variant: str) -> float | None:
        xs = self.samples.get(variant)
        return None if not xs else statistics.median(xs) / self.divisor

    def spread(self, variant: str) -> float | None:
        """Half the interquartile range, relative to the median."""
        xs = self.samples.get(variant)
        if not xs:
            return None
        s = summarize(xs)
        return (s["q3"] - s["q1"]) / 2 / s["median"]

    def ratio(self, a: str, b: str) -> float | None:
        ma, mb = self.median(a), self.median(b)
        return None if ma is None or mb is None else ma / mb

    def paired_ratio(self, a: str, b: str) -> float | None:
        """Median over rounds of the ratio within each round (less sensitive to drift)."""
        xa, xb = self.samples.get(a), self.samples.get(b)
        if not xa or not xb:
            return None
        return statistics.median(x / y for x, y in zip(xa, xb))


@dataclass
class Target:
    """A ratio and, when issue 5 sets one, its upper limit."""

    case: str
    name: str
    value: float | None
    limit: float | None = None

    @property
    def holds(self) -> bool | None:
        if self.limit is None or self.value is None:
            return None
        return self.value <= self.limit

    def status(self) -> str:
        if self.holds is None:
            return "-"
        if self.holds:
            return "holds"
        return f"MISS by {100 * (self.value / self.limit - 1):.0f}%"


@dataclass
class CaseResult:
    case: str
    title: str
    rows: list[Row]
    targets: list[Target]
    memory: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    profile_call: Variant | None = None  # polygrad's variant, for --profile
    trainers: dict[str, Any] | None = None  # kept for --profile's phase breakdown
    env: Env | None = None  # set when the case ran polygrad on another backend (4t)
    profile: list[dict[str, Any]] = field(default_factory=list)
    breakdown: dict[str, Any] = field(default_factory=dict)


@dataclass
class Options:
    repeats: int | None
    quick: bool
    warmup: int
    min_sample: float
    profile: bool = False

    def reps(self, full: int, quick: int) -> int:
        if self.repeats is not None:
            return self.repeats
        return quick if self.quick else full


# ============================================================================================
# trainers: one training step of a classifier, for each implementation
# ============================================================================================
def _host(a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    if isinstance(a, np.ndarray):
        return a
    if hasattr(a, "get"):  # cupy
        return a.get()
    return np.asarray(a)


Phases = list[tuple[str, Callable[[], Any]]]


class PolygradTrainer:
    """polygrad: ``zero_grad``, forward, ``cross_entropy``, ``backward``, ``Adam.step``."""

    def __init__(self, model: nn.Module, x: np.ndarray, y: np.ndarray) -> None:
        self.model = model
        self.opt = optim.Adam(list(model.parameters()), lr=LR)
        self.x, self.y = pg.tensor(x), pg.tensor(y)
        self._loss: Any = None

    def step(self) -> Any:
        self.opt.zero_grad()
        loss = F.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def phases(self) -> Phases:
        """The step cut in three, for the breakdown of ``--profile``."""

        def forward() -> None:
            self.opt.zero_grad()
            self._loss = F.cross_entropy(self.model(self.x), self.y)

        def backward() -> None:
            self._loss.backward()

        def optimizer() -> None:
            self.opt.step()
            self._loss = None

        return [("forward+loss", forward), ("backward", backward), ("optimizer", optimizer)]

    def checked_step(self) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        loss = self.step()
        ps = list(self.model.parameters())
        return loss.item(), [p.grad.numpy() for p in ps], [p.numpy() for p in ps]


class TorchTrainer:
    """The same step in PyTorch eager with ``torch.optim.Adam`` (default implementation)."""

    def __init__(self, model: torch.nn.Module, x: np.ndarray, y: np.ndarray, env: Env) -> None:
        self.model = model
        self.opt = torch.optim.Adam(model.parameters(), lr=LR)
        self.x = torch.from_numpy(x).to(env.torch_device)
        self.y = torch.from_numpy(y).to(env.torch_device)
        self._loss: Any = None

    def step(self) -> Any:
        self.opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def phases(self) -> Phases:
        def forward() -> None:
            self.opt.zero_grad()
            self._loss = torch.nn.functional.cross_entropy(self.model(self.x), self.y)

        def backward() -> None:
            self._loss.backward()

        def optimizer() -> None:
            self.opt.step()
            self._loss = None

        return [("forward+loss", forward), ("backward", backward), ("optimizer", optimizer)]

    def checked_step(self) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        loss = self.step()
        ps = list(self.model.parameters())
        return loss.item(), [_host(p.grad) for p in ps], [_host(p) for p in ps]


class NumpyTrainer:
    """The hand-written step of :class:`reference_numpy.MLPReference`."""

    def __init__(self, params: list[np.ndarray], x: np.ndarray, y: np.ndarray, env: Env):
        self.ref = MLPReference([env.ref_array(p) for p in params], lr=LR, xp=env.ref_xp)
        self.x, self.y = env.ref_array(x), env.ref_array(y)
        self._cache: Any = None
        self._grads: Any = None

    def step(self) -> Any:
        return self.ref.step(self.x, self.y)

    def phases(self) -> Phases:
        def forward() -> None:
            _, self._cache = self.ref.forward(self.x, self.y)

        def backward() -> None:
            self._grads = self.ref.backward(self._cache)
            self._cache = None

        def optimizer() -> None:
            self.ref.adam_step(self._grads)
            self._grads = None

        return [("forward+loss", forward), ("backward", backward), ("optimizer", optimizer)]

    def checked_step(self) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        loss, cache = self.ref.forward(self.x, self.y)
        grads = self.ref.backward(cache)
        self.ref.adam_step(grads)
        return float(loss), [_host(g) for g in grads], [_host(p) for p in self.ref.params]


def time_phases(trainers: dict[str, Any], rounds: int, sync: Callable[[], None]) -> dict:
    """Median seconds of each phase of each trainer's step, over interleaved rounds."""
    phases = {name: t.phases() for name, t in trainers.items()}
    times: dict[str, dict[str, list[float]]] = {n: {} for n in trainers}
    for _ in range(rounds):
        for name, steps in phases.items():
            for phase, fn in steps:
                t0 = time.perf_counter()
                fn()
                sync()
                times[name].setdefault(phase, []).append(time.perf_counter() - t0)
    return {n: {ph: statistics.median(xs) for ph, xs in d.items()} for n, d in times.items()}


def memory_phases(trainer: Any, sync: Callable[[], None]) -> dict[str, dict[str, int]]:
    """tracemalloc over one step, phase by phase: the peak during each phase and what is still
    held at its end, both counted from the start of the step."""
    out = {}
    gc.collect()
    tracemalloc.start()
    try:
        for phase, fn in trainer.phases():
            tracemalloc.reset_peak()
            fn()
            sync()
            held, peak = tracemalloc.get_traced_memory()
            out[phase] = {"peak": peak, "held": held}
    finally:
        tracemalloc.stop()
    return out


def torch_mirror(module: nn.Module) -> torch.nn.Module:
    """An untrained torch module with the same architecture as a polygrad one."""
    if isinstance(module, nn.Sequential):
        return torch.nn.Sequential(*(torch_mirror(m) for m in module))
    if isinstance(module, nn.Linear):
        return torch.nn.Linear(
            module.in_features, module.out_features, bias=module.bias is not None
        )
    if isinstance(module, nn.Conv2d):
        return torch.nn.Conv2d(
            module.in_channels,
            module.out_channels,
            module.kernel_size,
            stride=module.stride,
            padding=module.padding,
            dilation=module.dilation,
            groups=module.groups,
            bias=module.bias is not None,
        )
    if isinstance(module, nn.MaxPool2d):
        return torch.nn.MaxPool2d(
            module.kernel_size, module.stride, module.padding, module.dilation
        )
    if isinstance(module, nn.Flatten):
        return torch.nn.Flatten(module.start_dim, module.end_dim)
    if isinstance(module, nn.ReLU):
        return torch.nn.ReLU()
    raise TypeError(f"no torch mirror for {type(module).__name__}; add it to torch_mirror")


def build_trainers(
    env: Env,
    make_model: Callable[[], nn.Module],
    x: np.ndarray,
    y: np.ndarray,
    dtype: Any,
    with_numpy: bool,
) -> dict[str, Any]:
    """polygrad, torch (and the hand-written MLP) trainers from the same initial parameters."""
    pg.manual_seed(SEED)
    model = make_model().to(dtype)
    params = [p.numpy() for p in model.parameters()]
    tmodel = torch_mirror(model).to(
        device=env.torch_device, dtype=torch.from_numpy(params[0]).dtype
    )
    with torch.no_grad():
        for tp, a in zip(tmodel.parameters(), params, strict=True):
            if tuple(tp.shape) != a.shape:
                raise RuntimeError(f"torch mirror shape {tuple(tp.shape)} != polygrad {a.shape}")
            tp.copy_(torch.from_numpy(a))
    np_dtype = params[0].dtype
    x = x.astype(np_dtype)
    trainers: dict[str, Any] = {
        "polygrad": PolygradTrainer(model, x, y),
        "torch": TorchTrainer(tmodel, x, y, env),
    }
    if with_numpy:
        trainers[env.ref_name] = NumpyTrainer(params, x, y, env)
    return trainers


def check_same_step(trainers: dict[str, Any], exact: bool, what: str) -> None:
    """One step of every trainer must give torch's loss, gradients (and, when ``exact``, i.e.
    in float64, updated parameters). Raises with the first difference found."""
    results = {name: t.checked_step() for name, t in trainers.items()}
    ref_loss, ref_grads, ref_params = results["torch"]
    rtol = 1e-7 if exact else 1e-4
    for name, (loss, grads, params) in results.items():
        if name == "torch":
            continue
        where = f"{what}: {name} vs torch"
        if not math.isclose(loss, ref_loss, rel_tol=rtol, abs_tol=1e-12):
            raise RuntimeError(f"{where}: loss {loss!r} != {ref_loss!r}")
        for i, (g, rg) in enumerate(zip(grads, ref_grads, strict=True)):
            scale = float(np.max(np.abs(rg))) or 1.0
            atol = scale * (1e-9 if exact else 1e-4)
            if g.shape != rg.shape or not np.allclose(g, rg, rtol=rtol * 10, atol=atol):
                err = np.max(np.abs(g - rg)) if g.shape == rg.shape else "shape"
                raise RuntimeError(f"{where}: gradient of parameter {i} differs (max {err})")
        if exact:
            for i, (p, rp) in enumerate(zip(params, ref_params, strict=True)):
                if not np.allclose(p, rp, rtol=1e-7, atol=1e-9):
                    err = np.max(np.abs(p - rp))
                    raise RuntimeError(f"{where}: updated parameter {i} differs (max {err})")


def classifier_trainers(
    env: Env,
    make_model: Callable[[], nn.Module],
    x: np.ndarray,
    y: np.ndarray,
    with_numpy: bool,
    what: str,
    check: bool = True,
) -> dict[str, Any]:
    """Check the implementations agree (float64, then float32), and return float32 trainers
    ready to time (the float32 check counts as their first warm-up step)."""
    if check:
        t64 = build_trainers(env, make_model, x, y, pg.float64, with_numpy)
        check_same_step(t64, exact=True, what=f"{what} (float64)")
        del t64
    t32 = build_trainers(env, make_model, x, y, pg.float32, with_numpy)
    if check:
        check_same_step(t32, exact=False, what=f"{what} (float32)")
    return t32


def mlp_data(n_in: int, n_out: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((batch, n_in)).astype(np.float32)
    y = rng.integers(0, n_out, batch).astype(np.int64)
    return x, y


def mlp_factory(sizes: tuple[int, ...]) -> Callable[[], nn.Module]:
    return lambda: nn.MLP(sizes[0], list(sizes[1:-1]), sizes[-1])


def step_variants(trainers: dict[str, Any]) -> list[Variant]:
    return [Variant(name, t.step) for name, t in trainers.items()]


# ============================================================================================
# the cases
# ============================================================================================
CHAIN_LEN = 200
CHAIN_SIZE = 8


def case_op_overhead(env: Env, opts: Options) -> CaseResult:
    rng = np.random.default_rng(SEED)
    x_host = rng.uniform(-1.0, 1.0, CHAIN_SIZE)  # float64
    x_pg = pg.tensor(x_host, requires_grad=True)
    x_t = torch.tensor(x_host, device=env.torch_device, requires_grad=True)
    x_ref = env.ref_array(x_host)

    def run_pg() -> Any:
        x_pg.grad = None
        loss = chain_forward(x_pg, CHAIN_LEN).sum()
        loss.backward()
        return loss

    def run_torch() -> Any:
        x_t.grad = None
        loss = chain_forward(x_t, CHAIN_LEN).sum()
        loss.backward()
        return loss

    def run_ref() -> Any:
        return chain_forward_backward(x_ref, CHAIN_LEN, env.ref_xp)

    # same loss and gradient from all three
    loss_pg, loss_t, (loss_r, grad_r) = run_pg(), run_torch(), run_ref()
    for name, loss, grad in (
        ("torch", loss_t.item(), _host(x_t.grad)),
        (env.ref_name, float(loss_r), _host(grad_r)),
    ):
        if not math.isclose(loss_pg.item(), loss, rel_tol=1e-10) or not np.allclose(
            x_pg.grad.numpy(), grad, rtol=1e-9, atol=1e-12
        ):
            raise RuntimeError(f"case 1: polygrad's chain differs from {name}'s")

    variants = [
        Variant("polygrad", run_pg),
        Variant("torch", run_torch),
        Variant(env.ref_name, run_ref),
    ]
    samples = time_interleaved(variants, opts.reps(41, 7), opts.warmup, opts.min_sample, env.sync)
    row = Row(
        f"op overhead: {CHAIN_LEN}-op chain on {CHAIN_SIZE} x f64, fwd+bwd",
        "op",
        CHAIN_LEN,
        samples,
    )
    targets = [
        Target("1", "per op: polygrad / torch", row.ratio("polygrad", "torch"), _lim(env, 0.5)),
        Target("1", f"per op: polygrad / {env.ref_name}", row.ratio("polygrad", env.ref_name)),
    ]
    return CaseResult("1", "op overhead", [row], targets, profile_call=variants[0])


def _lim(env: Env, limit: float) -> float | None:
    """Issue 5's targets are set for the numpy backend."""
    return limit if env.backend == "numpy" else None


def _mlp_case(
    env: Env,
    opts: Options,
    case: str,
    title: str,
    sizes: tuple[int, ...],
    batch: int,
    reps: tuple[int, int],
    numpy_limit: float | None,
    torch_limit: float | None,
) -> tuple[CaseResult, dict[str, Any]]:
    x, y = mlp_data(sizes[0], sizes[-1], batch)
    arch = "-".join(map(str, sizes))
    trainers = classifier_trainers(env, mlp_factory(sizes), x, y, True, f"case {case}")
    variants = step_variants(trainers)
    samples = time_interleaved(variants, opts.reps(*reps), opts.warmup, opts.min_sample, env.sync)
    row = Row(f"{title}: MLP {arch}, batch {batch}, Adam step", "step", 1.0, samples)
    r = env.ref_name
    targets = [
        Target(case, f"step: polygrad / {r}", row.ratio("polygrad", r), _lim(env, numpy_limit)),
        Target(case, "step: polygrad / torch", row.ratio("polygrad", "torch"), torch_limit),
    ]
    result = CaseResult(case, title, [row], targets, profile_call=variants[0])
    if opts.profile:
        result.trainers = trainers
    return result, trainers


def case_small(env: Env, opts: Options) -> CaseResult:
    result, _ = _mlp_case(
        env, opts, "2", "small", (64, 128, 128, 10), 64, (41, 7), 1.3, _lim(env, 0.6)
    )
    return result


def case_medium(env: Env, opts: Options) -> CaseResult:
    result, _ = _mlp_case(
        env, opts, "3", "medium", (784, 512, 512, 10), 256, (31, 5), 1.1, _lim(env, 1.0)
    )
    return result


def case_large(env: Env, opts: Options) -> CaseResult:
    torch_limit = 1.15 if env.backend == "torch" else None
    result, trainers = _mlp_case(
        env, opts, "4", "large", (784, 2048, 2048, 10), 512, (31, 3), 1.1, torch_limit
    )
    # peak memory of one step, on the host only (tracemalloc sees NumPy's allocations)
    if not env.gpu:
        if env.backend == "numpy":
            result.memory["polygrad"] = peak_memory(trainers["polygrad"].step, env.sync)
        else:
            result.notes.append(
                f"polygrad's memory is not measured on the {env.backend} backend "
                "(tracemalloc sees only NumPy's allocations)"
            )
        result.memory[env.ref_name] = peak_memory(trainers[env.ref_name].step, env.sync)
        result.notes.append(
            "torch's memory is not reported: its CPU allocator is invisible to tracemalloc"
        )
        if "polygrad" in result.memory:
            ratio = result.memory["polygrad"] / result.memory[env.ref_name]
            result.targets.append(
                Target("4", f"peak memory: polygrad / {env.ref_name}", ratio, _lim(env, 1.3))
            )
    else:
        result.notes.append("peak memory is measured on the host only (not on a GPU)")
    return result


class ChainBackward:
    """Case 5: build a chain of ``n`` ops (untimed ``build``), then time ``backward``."""

    def __init__(self, leaf: Any, n: int) -> None:
        self.leaf, self.n = leaf, n
        self.loss: Any = None

    def build(self) -> None:
        self.leaf.grad = None
        self.loss = chain_forward(self.leaf, self.n).sum()

    def backward(self) -> None:
        self.loss.backward()
        self.loss = None


def case_depth(env: Env, opts: Options) -> CaseResult:
    x_host = np.random.default_rng(SEED).uniform(-1.0, 1.0, CHAIN_SIZE)
    x_pg = pg.tensor(x_host, requires_grad=True)
    x_t = torch.tensor(x_host, device=env.torch_device, requires_grad=True)
    depths = (10_000, 100_000)
    chains = {
        (impl, n): ChainBackward(leaf, n)
        for n in depths
        for impl, leaf in (("polygrad", x_pg), ("torch", x_t))
    }
    variants = [
        Variant(f"{impl} {n}", c.backward, before=c.build) for (impl, n), c in chains.items()
    ]
    samples = time_interleaved(variants, opts.reps(15, 3), 1, 0.0, env.sync)
    rows = [
        Row(
            f"depth: backward of a {n:,}-op chain",
            "backward",
            1.0,
            {impl: samples[f"{impl} {n}"] for impl in ("polygrad", "torch")},
        )
        for n in depths
    ]
    small, big = rows

    def growth(impl: str) -> float | None:
        a, b = small.median(impl), big.median(impl)
        return None if a is None or b is None else b / a

    targets = [
        Target("5", "100k / 10k backward: polygrad", growth("polygrad"), _lim(env, 12.0)),
        Target("5", "100k / 10k backward: torch", growth("torch")),
        Target("5", "100k backward: polygrad / torch", big.ratio("polygrad", "torch")),
    ]
    big_pg = chains[("polygrad", depths[1])]
    return CaseResult(
        "5",
        "depth",
        rows,
        targets,
        profile_call=Variant("polygrad", big_pg.backward, before=big_pg.build),
    )


def _fallback_digits_cnn() -> nn.Module:
    """The architecture of examples/models.py's digits_cnn, for when that file is missing."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def load_digits_cnn() -> tuple[Callable[[], nn.Module], str]:
    """``digits_cnn`` from examples/models.py, or the same architecture defined here."""
    examples = str(ROOT / "examples")
    if examples not in sys.path:
        sys.path.insert(0, examples)
    try:
        from models import digits_cnn
    except ImportError:
        return _fallback_digits_cnn, "benchmark's own copy (examples/models.py not found)"
    return digits_cnn, "examples/models.py digits_cnn"


def case_cnn(env: Env, opts: Options) -> CaseResult:
    from polygrad.data import load_digits

    make, source = load_digits_cnn()
    d = load_digits()
    batch = 64
    x = d.x_train[:batch].reshape(batch, 1, 8, 8).astype(np.float32)
    y = d.y_train[:batch].astype(np.int64)
    trainers = classifier_trainers(env, make, x, y, False, "case 6")
    variants = step_variants(trainers)
    samples = time_interleaved(variants, opts.reps(31, 5), opts.warmup, opts.min_sample, env.sync)
    row = Row(f"digits CNN, batch {batch} of 1x8x8, Adam step", "step", 1.0, samples)
    targets = [Target("6", "step: polygrad / torch", row.ratio("polygrad", "torch"))]
    return CaseResult(
        "6",
        "digits CNN",
        [row],
        targets,
        notes=[f"model: {source}"],
        profile_call=variants[0],
        trainers=trainers if opts.profile else None,
    )


def case_large_on_torch(env: Env, opts: Options) -> CaseResult:
    """Case 4 again with polygrad on its torch backend (on CUDA if there is one), for the
    target "within 1.15x of native torch"; run by default alongside the numpy backend."""
    previous = pg.get_backend()
    torch_env = make_env("torch", None)
    try:
        result = case_large(torch_env, opts)
    finally:
        pg.set_backend(previous.name, previous.device)
    result.case, result.title, result.env = "4t", "large, polygrad on torch", torch_env
    for row in result.rows:
        row.label = row.label.replace("large:", "large, polygrad on torch:")
    for t in result.targets:
        t.case = "4t"
    return result


ERF_SIZE = 1_000_000


def case_erf(env: Env, opts: Options) -> CaseResult:
    """Issue 12: erf and exact GELU on 1M elements, forward (float32 and float64)."""
    rng = np.random.default_rng(SEED)
    rows, targets = [], []
    for dtype in ("float32", "float64"):
        host = rng.standard_normal(ERF_SIZE).astype(dtype)
        x_pg = pg.tensor(host)
        x_t = torch.tensor(host, device=env.torch_device)
        y_pg, y_t = pg.erf(x_pg).numpy(), _host(torch.special.erf(x_t))
        tol = 1e-6 if dtype == "float32" else 1e-14
        if not np.allclose(y_pg, y_t, rtol=tol, atol=tol):
            raise RuntimeError(f"case 7: polygrad's erf differs from torch's in {dtype}")
        calls = [
            ("erf", partial(pg.erf, x_pg), partial(torch.special.erf, x_t)),
            ("exact GELU", partial(pg.gelu, x_pg), partial(torch.nn.functional.gelu, x_t)),
            (
                "tanh GELU",
                partial(pg.gelu, x_pg, "tanh"),
                partial(torch.nn.functional.gelu, x_t, approximate="tanh"),
            ),
        ]
        for what, run_pg, run_torch in calls:
            variants = [Variant("polygrad", run_pg), Variant("torch", run_torch)]
            samples = time_interleaved(
                variants, opts.reps(15, 5), opts.warmup, opts.min_sample, env.sync
            )
            row = Row(f"{what} forward, 1M x {dtype}", "op", 1, samples)
            rows.append(row)
            limit = _lim(env, 2.0) if what != "tanh GELU" else None
            targets.append(
                Target(
                    "7", f"{what} {dtype}: polygrad / torch", row.ratio("polygrad", "torch"), limit
                )
            )
        exact, approx = rows[-2].median("polygrad"), rows[-1].median("polygrad")
        targets.append(Target("7", f"exact / tanh GELU {dtype} (polygrad)", exact / approx, 2.0))
    return CaseResult("7", "erf and exact GELU throughput", rows, targets)


def case_lstm_lm(env: Env, opts: Options) -> CaseResult:
    """Case 8: the word-level LSTM language model step (benchmarks/lstm_lm.py), with the
    recurrence fused (one node per layer) and composed op by op, against torch eager."""
    import lstm_lm

    if env.backend != "numpy" or env.gpu:
        note = "case 8 compares on the host only (torch eager on CPU)"
    else:
        note = "fused: one graph node per layer and direction; composed: the scan op by op"
    check_same_step(lstm_lm.trainers(pg.float64), exact=True, what="case 8 (float64)")
    trainers = lstm_lm.trainers(pg.float32)
    check_same_step(trainers, exact=False, what="case 8 (float32)")
    variants = step_variants(trainers)
    samples = time_interleaved(variants, opts.reps(15, 3), opts.warmup, opts.min_sample, env.sync)
    shape = f"2-layer LSTM 200-256, vocab 10k, {lstm_lm.STEPS}x{lstm_lm.BATCH}"
    fused = Row(f"LSTM LM: {shape}, SGD step", "step", 1.0, samples)
    composed = Row(
        "LSTM LM, recurrence composed op by op",
        "step",
        1.0,
        {"polygrad": samples["polygrad composed"], "torch": samples["torch"]},
    )
    targets = [
        Target("8", "step: polygrad / torch", fused.ratio("polygrad", "torch"), _lim(env, 1.5)),
        Target("8", "composed / fused", fused.ratio("polygrad composed", "polygrad")),
    ]
    return CaseResult(
        "8",
        "LSTM language model",
        [fused, composed],
        targets,
        notes=[note],
        profile_call=variants[0],
        trainers={k: trainers[k] for k in ("polygrad", "torch")} if opts.profile else None,
    )


def case_conv_net(env: Env, opts: Options) -> CaseResult:
    """Case 9: the MNIST example's conv net step (benchmarks/conv_net.py) against torch eager."""
    import conv_net

    check_same_step(conv_net.trainers(pg.float64), exact=True, what="case 9 (float64)")
    trainers = conv_net.trainers(pg.float32)
    check_same_step(trainers, exact=False, what="case 9 (float32)")
    variants = step_variants(trainers)
    samples = time_interleaved(variants, opts.reps(15, 3), opts.warmup, opts.min_sample, env.sync)
    row = Row("conv net: conv 1-32-64, max pool, linear 9216-128-10, batch 64 of 28x28, SGD step",
              "step", 1.0, samples)  # fmt: skip
    ratio = row.ratio("polygrad", "torch")
    targets = [Target("9", "step: polygrad / torch", ratio, _lim(env, 1.3))]
    return CaseResult(
        "9",
        "conv net",
        [row],
        targets,
        notes=["the MNIST example's Net without dropout; torch's conv runs on oneDNN"],
        profile_call=variants[0],
        trainers=trainers if opts.profile else None,
    )


def case_gpt_block(env: Env, opts: Options) -> CaseResult:
    """Case 10: one GPT block's AdamW step (benchmarks/gpt_block.py) against torch eager."""
    import gpt_block

    check_same_step(gpt_block.trainers(pg.float64), exact=True, what="case 10 (float64)")
    gpt_block.check_first_loss()
    trainers = gpt_block.trainers(pg.float32)
    check_same_step(trainers, exact=False, what="case 10 (float32)")
    variants = step_variants(trainers)
    samples = time_interleaved(variants, opts.reps(15, 3), opts.warmup, opts.min_sample, env.sync)
    g = gpt_block
    shape = f"n_embd {g.EMBED}, {g.HEADS} heads, {g.BATCH}x{g.BLOCK}, vocab {g.VOCAB}"
    row = Row(f"GPT block: {shape}, exact GELU, AdamW step",
              "step", 1.0, samples)  # fmt: skip
    ratio = row.ratio("polygrad", "torch")
    targets = [Target("10", "step: polygrad / torch", ratio, _lim(env, 1.3))]
    return CaseResult(
        "10",
        "GPT block",
        [row],
        targets,
        notes=["nanoGPT's Block (c_attn, causal SDPA, c_proj; c_fc, GELU, c_proj), no dropout"],
        profile_call=variants[0],
        trainers=trainers if opts.profile else None,
    )


CASES: dict[str, Callable[[Env, Options], CaseResult]] = {
    "1": case_op_overhead,
    "2": case_small,
    "3": case_medium,
    "4": case_large,
    "4t": case_large_on_torch,
    "5": case_depth,
    "6": case_cnn,
    "7": case_erf,
    "8": case_lstm_lm,
    "9": case_conv_net,
    "10": case_gpt_block,
}


# ============================================================================================
# scaling plot
# ============================================================================================
def scaling(env: Env, quick: bool, repeats: int | None) -> dict[str, Any]:
    """Median step times of the 784-w-w-10 MLP against width (batch 256) and against batch
    size (width 512), for each implementation."""
    widths = [64, 256, 1024, 2048] if quick else [64, 128, 256, 512, 1024, 2048]
    batches = [16, 128, 1024] if quick else [16, 32, 64, 128, 256, 512, 1024]
    reps = repeats if repeats is not None else (3 if quick else 7)
    sweeps: dict[str, Any] = {}
    for axis, values in (("width", widths), ("batch", batches)):
        series: dict[str, list[float]] = {}
        for v in values:
            width, batch = (v, 256) if axis == "width" else (512, v)
            sizes = (784, width, width, 10)
            x, y = mlp_data(784, 10, batch)
            trainers = build_trainers(env, mlp_factory(sizes), x, y, pg.float32, True)
            samples = time_interleaved(step_variants(trainers), reps, 1, 0.05, env.sync)
            for name, xs in samples.items():
                series.setdefault(name, []).append(statistics.median(xs))
            _progress(f"  scaling {axis}={v}: " + _fmt_medians(samples))
            del trainers
        fixed = "batch 256" if axis == "width" else "width 512"
        sweeps[axis] = {"values": values, "fixed": fixed, "median_s": series}
    return sweeps


def plot_scaling(sweeps: dict[str, Any], path: Path, title: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: skipping the scaling plot (pip install matplotlib)")
        return False
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, (axis, sweep) in zip(axes, sweeps.items()):
        for name, ys in sweep["median_s"].items():
            ax.plot(sweep["values"], [1e3 * t for t in ys], marker="o", label=name)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        label = "hidden width (784-w-w-10)" if axis == "width" else "batch size"
        ax.set_xlabel(f"{label}, {sweep['fixed']}")
        ax.set_ylabel("training step (ms, median)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


# ============================================================================================
# profiling
# ============================================================================================
def profile_variant(v: Variant, seconds: float = 3.0, top: int = 15) -> list[dict[str, Any]]:
    """cProfile ``v.call`` (not ``v.before``) for about ``seconds``; the ``top`` functions by
    own time, with their share of the profiled time (own and including callees) and calls per
    step. cProfile inflates the cost of Python calls, so shares are indicative."""
    prof = cProfile.Profile()
    calls = 0
    end = time.perf_counter() + seconds
    while calls < 2 or time.perf_counter() < end:
        if v.before is not None:
            v.before()
        prof.enable()
        v.call()
        prof.disable()
        calls += 1
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    entries = stats.stats.items()  # type: ignore[attr-defined]
    for (file, line, name), (_cc, nc, tt, ct, _callers) in sorted(
        entries, key=lambda kv: kv[1][2], reverse=True
    )[:top]:
        where = file
        if file.startswith(str(ROOT)):
            where = os.path.relpath(file, ROOT)
        elif "site-packages" in file:
            where = file.split("site-packages/")[-1]
        func = name if file == "~" else f"{where}:{line}({name})"
        rows.append(
            {
                "function": func,
                "own_share": tt / total,
                "incl_share": ct / total,
                "calls_per_step": nc / calls,
            }
        )
    return rows


def breakdown(trainers: dict[str, Any], env: Env, rounds: int) -> dict[str, Any]:
    """Phase times of every trainer and, where tracemalloc can see them (NumPy arrays), phase
    memory: where in the step polygrad spends its time and memory compared with the others."""
    out: dict[str, Any] = {"time_s": time_phases(trainers, rounds, env.sync), "memory": {}}
    if not env.gpu:
        for name, t in trainers.items():
            if name == env.ref_name or (name == "polygrad" and env.backend == "numpy"):
                out["memory"][name] = memory_phases(t, env.sync)
    return out


def _breakdown_table(b: dict[str, Any], env: Env) -> list[list[str]]:
    names = list(b["time_s"])
    mems = list(b["memory"])
    refs = [n for n in names if n != "polygrad"]
    head = ["phase", *names, *(f"pg/{r}" for r in refs), *(f"{n} peak/held MiB" for n in mems)]
    rows = [head]
    for phase in b["time_s"]["polygrad"]:
        t = {n: b["time_s"][n][phase] for n in names}
        cells = [phase, *(_fmt_time(t[n]) for n in names)]
        cells += [_fmt_ratio(t["polygrad"] / t[r]) for r in refs]
        for n in mems:
            m = b["memory"][n][phase]
            cells.append(f"{m['peak'] / 2**20:.1f} / {m['held'] / 2**20:.1f}")
        rows.append(cells)
    return rows


# ============================================================================================
# reporting
# ============================================================================================
def _fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    if s >= 1.0:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.2f} us"


def _fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x"


def _fmt_medians(samples: dict[str, list[float]]) -> str:
    return "  ".join(f"{k} {_fmt_time(statistics.median(v))}" for k, v in samples.items())


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gb": mem_gb,
        "platform": platform.platform(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def versions(env: Env) -> dict[str, Any]:
    import array_api_compat

    v: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "polygrad": pg.__version__,
        "array_api_compat": array_api_compat.__version__,
    }
    if env.ref_name == "cupy":
        v["cupy"] = env.ref_xp.__version__
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "polygrad"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        v["polygrad_commit"] = commit + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return v


def variant_order(env: Env) -> list[str]:
    return ["polygrad", "torch", env.ref_name]


def text_report(results: list[CaseResult], env: Env, meta: dict[str, Any]) -> str:
    names = variant_order(env)
    r = env.ref_name
    head = ["case", "what", *names, "pg/torch", f"pg/{r}"]
    table = []
    for res in results:
        for row in res.rows:
            cells = [str(res.case), f"{row.label} (per {row.unit})"]
            for n in names:
                m = row.median(n)
                sp = row.spread(n)
                cells.append("-" if m is None else f"{_fmt_time(m)} ±{100 * sp:.0f}%")
            cells.append(_fmt_ratio(row.ratio("polygrad", "torch")))
            cells.append(_fmt_ratio(row.ratio("polygrad", r)))
            table.append(cells)
    out = [_header_line(env, meta), "", _aligned([head, *table])]
    mem = [(res.case, res.memory) for res in results if res.memory]
    for case, m in mem:
        shown = ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in m.items())
        out.append(f"\ncase {case} peak memory of one step (tracemalloc): {shown}")
    notes = [f"case {res.case}: {n}" for res in results for n in res.notes]
    if notes:
        out.append("")
        out.extend(notes)
    trows = [["case", "ratio", "value", "target", "status"]]
    for res in results:
        for t in res.targets:
            limit = "-" if t.limit is None else f"<= {t.limit:g}x"
            trows.append([str(t.case), t.name, _fmt_ratio(t.value), limit, t.status()])
    out += ["", "Targets (issue 5; set for the numpy backend, and case 4 on torch):", ""]
    out.append(_aligned(trows))
    for res in results:
        if res.profile:
            out += ["", f"Profile of polygrad's case {res.case} (top functions by own time):"]
            out.append(_profile_text(res.profile))
        if res.breakdown:
            out += [
                "",
                f"Phases of case {res.case}: median time; tracemalloc peak during the phase and "
                "bytes held at its end, counted from the start of the step:",
            ]
            out.append(_aligned(_breakdown_table(res.breakdown, res.env or env)))
    return "\n".join(out)


def _header_line(env: Env, meta: dict[str, Any]) -> str:
    m, v = meta["machine"], meta["versions"]
    return (
        f"polygrad benchmark, backend {env.backend} ({env.device}), {meta['date']}\n"
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; python {v['python']}, "
        f"numpy {v['numpy']}, torch {v['torch']}, threads {_threads_text(meta)}; "
        f"polygrad {v.get('polygrad_commit', v['polygrad'])}"
    )


def _load(xs: list[float] | None) -> str:
    return "?" if not xs else ", ".join(f"{x:.2f}" for x in xs)


def _threads_text(meta: dict[str, Any]) -> str:
    t = meta["threads"]
    return f"torch {t.get('torch')}, BLAS {t.get('blas', '?')}"


def _profile_text(rows: list[dict[str, Any]]) -> str:
    table = [["own", "incl.", "calls/step", "function"]]
    for p in rows:
        table.append(
            [
                f"{100 * p['own_share']:.1f}%",
                f"{100 * p['incl_share']:.1f}%",
                f"{p['calls_per_step']:.0f}",
                p["function"],
            ]
        )
    return _aligned(table)


def _aligned(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
        ).rstrip()
        for r in rows
    )


def markdown_report(
    results: list[CaseResult], env: Env, meta: dict[str, Any], plot: str | None
) -> str:
    m, v = meta["machine"], meta["versions"]
    names = variant_order(env)
    r = env.ref_name
    lines = [
        "# polygrad benchmark results",
        "",
        f"Generated by `{meta['command']}` on {meta['date']}. Re-measure with the same command",
        "(or `nox -s bench -- <options>`); `benchmarks/run.py`'s docstring says what is measured",
        "and how. Times are medians over interleaved samples (± half the interquartile range);",
        "ratios are polygrad's median over the reference's, in the same run.",
        "",
        f"- backend: **{env.backend}** (device {env.device})",
        f"- machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), "
        f"{m['memory_gb']} GB memory; {m['platform']}",
        f"- load average (1, 5, 15 min) at start: {_load(m.get('load_average'))}, "
        f"at the end: {_load(m.get('load_average_end'))}",
        f"- versions: Python {v['python']}, NumPy {v['numpy']}, torch {v['torch']}, "
        f"array-api-compat {v['array_api_compat']}, "
        f"polygrad {v['polygrad']} at {v.get('polygrad_commit', '?')}",
        f"- threads: {_threads_text(meta)} (`--threads`)",
        "",
        "## Times",
        "",
        "| case | what | " + " | ".join(names) + f" | polygrad/torch | polygrad/{r} |",
        "|---|---|" + "---:|" * (len(names) + 2),
    ]
    for res in results:
        for row in res.rows:
            cells = []
            for n in names:
                med, sp = row.median(n), row.spread(n)
                cells.append("-" if med is None else f"{_fmt_time(med)} ±{100 * sp:.0f}%")
            lines.append(
                f"| {res.case} | {row.label} (per {row.unit}) | "
                + " | ".join(cells)
                + f" | {_fmt_ratio(row.ratio('polygrad', 'torch'))}"
                + f" | {_fmt_ratio(row.ratio('polygrad', r))} |"
            )
    for res in results:
        if res.memory:
            shown = ", ".join(f"{k} {b / 2**20:.1f} MiB" for k, b in res.memory.items())
            lines += ["", f"Case {res.case} peak memory of one step (tracemalloc): {shown}."]
    notes = [f"- case {res.case}: {n}" for res in results for n in res.notes]
    if notes:
        lines += ["", *notes]
    lines += [
        "",
        "## Targets",
        "",
        "Targets from issue 5 are set for the numpy backend on this 2-core machine (and case 4",
        "on the torch backend); rows without a target are for information.",
        "",
        "| case | ratio | value | target | status |",
        "|---|---|---:|---:|---|",
    ]
    for res in results:
        for t in res.targets:
            limit = "-" if t.limit is None else f"≤ {t.limit:g}x"
            status = t.status()
            if t.holds is False:
                status = f"**{status}**"
            lines.append(f"| {t.case} | {t.name} | {_fmt_ratio(t.value)} | {limit} | {status} |")
    if plot:
        lines += [
            "",
            "## Scaling",
            "",
            f"![step time against width and batch size]({plot})",
        ]
    for res in results:
        if res.profile:
            lines += [
                "",
                f"## Profile: polygrad, case {res.case}",
                "",
                "cProfile, top functions by own time (cProfile inflates Python call costs).",
                "",
                "| own | incl. | calls/step | function |",
                "|---:|---:|---:|---|",
            ]
            for p in res.profile:
                lines.append(
                    f"| {100 * p['own_share']:.1f}% | {100 * p['incl_share']:.1f}% | "
                    f"{p['calls_per_step']:.0f} | `{p['function']}` |"
                )
        if res.breakdown:
            table = _breakdown_table(res.breakdown, res.env or env)
            lines += [
                "",
                f"Phases of case {res.case}: median time; tracemalloc peak during the phase and "
                "bytes held at its end, counted from the start of the step.",
                "",
                "| " + " | ".join(table[0]) + " |",
                "|---|" + "---:|" * (len(table[0]) - 1),
            ]
            lines += ["| " + " | ".join(r) + " |" for r in table[1:]]
    return "\n".join(lines) + "\n"


def json_report(
    results: list[CaseResult], env: Env, meta: dict[str, Any], sweeps: dict[str, Any] | None
) -> dict[str, Any]:
    cases = []
    for res in results:
        rows = []
        for row in res.rows:
            variants = []
            for name, xs in row.samples.items():
                s = summarize([x / row.divisor for x in xs])
                variants.append(
                    {
                        "variant": name,
                        "median_s": s["median"],
                        "q1_s": s["q1"],
                        "q3_s": s["q3"],
                        "samples_s": [x / row.divisor for x in xs],
                    }
                )
            others = [n for n in row.samples if n != "polygrad"]
            rows.append(
                {
                    "label": row.label,
                    "per": row.unit,
                    "variants": variants,
                    "ratios": {f"polygrad/{n}": row.ratio("polygrad", n) for n in others},
                    "paired_ratios": {
                        f"polygrad/{n}": row.paired_ratio("polygrad", n) for n in others
                    },
                }
            )
        cases.append(
            {
                "case": res.case,
                "title": res.title,
                "rows": rows,
                "peak_memory_bytes": res.memory,
                "targets": [
                    {"name": t.name, "value": t.value, "limit": t.limit, "holds": t.holds}
                    for t in res.targets
                ],
                "notes": res.notes,
                "profile": res.profile,
                "phases": res.breakdown,
            }
        )
    return {**meta, "backend": env.backend, "device": env.device, "cases": cases, "scaling": sweeps}


# ============================================================================================
# main
# ============================================================================================
def parse_cases(text: str | None, backend: str) -> list[str]:
    """The case ids to run; by default all, with "4t" only when polygrad's backend is not
    already torch."""
    if text is None:
        return [c for c in CASES if not (c == "4t" and backend == "torch")]
    cases = [c for c in text.replace(" ", "").split(",") if c]
    bad = [c for c in cases if c not in CASES]
    if bad:
        raise SystemExit(f"unknown case(s) {bad}; the cases are {', '.join(CASES)}")
    return cases


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark polygrad against PyTorch eager and hand-written NumPy.",
        epilog="See the module docstring (benchmarks/run.py) for what each case measures.",
    )
    parser.add_argument(
        "--backend",
        default="numpy",
        choices=["numpy", "torch", "cupy", "strict"],
        help="polygrad's backend (default numpy)",
    )
    parser.add_argument("--device", help="polygrad's device (default: the backend's, or CUDA)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for torch and NumPy's BLAS alike (default 1; 0: each library's default)",
    )
    parser.add_argument(
        "--cases",
        help="comma-separated cases among 1,2,3,4,4t,5,6 (default: all; 4t is case 4 with "
        "polygrad on its torch backend)",
    )
    parser.add_argument("--repeats", type=int, help="samples per variant (default: per case)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a smaller plot")
    parser.add_argument("--json", type=Path, help="write machine-readable results here")
    parser.add_argument("--markdown", type=Path, help="write a markdown report here")
    parser.add_argument(
        "--plot",
        type=Path,
        help="scaling plot path (default benchmarks/scaling.png; made when all cases run)",
    )
    parser.add_argument("--no-plot", action="store_true", help="skip the scaling plot")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile polygrad's step in every case that misses a target",
    )
    parser.add_argument(
        "--min-sample",
        type=float,
        default=None,
        help="seconds each sample lasts at least, by repeating the call (default 0.05)",
    )
    args = parser.parse_args(None if argv is None else list(argv))

    cases = parse_cases(args.cases, args.backend)
    threads = set_threads(args.threads)
    try:
        env = make_env(args.backend, args.device)
    except pg.BackendError as e:
        raise SystemExit(f"cannot benchmark the {args.backend} backend here: {e}") from None
    opts = Options(
        repeats=args.repeats,
        quick=args.quick,
        warmup=2 if args.quick else 3,
        min_sample=args.min_sample if args.min_sample is not None else 0.05,
        profile=args.profile,
    )
    command = "python benchmarks/run.py " + " ".join(sys.argv[1:] if argv is None else list(argv))
    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command.strip(),
        "machine": machine_info(),
        "threads": threads,
        "versions": versions(env),
    }
    _progress(_header_line(env, meta))
    started = time.perf_counter()
    results = []
    for c in cases:
        t0 = time.perf_counter()
        res = CASES[c](env, opts)
        results.append(res)
        times = "; ".join(
            f"{row.label}: "
            + _fmt_medians({k: [x / row.divisor for x in v] for k, v in row.samples.items()})
            for row in res.rows
        )
        _progress(f"case {c} done in {time.perf_counter() - t0:.0f} s: {times}")
        gc.collect()

    if args.profile:
        for res in results:
            if res.profile_call is not None and any(t.holds is False for t in res.targets):
                _progress(f"profiling polygrad, case {res.case}")
                res.profile = profile_variant(res.profile_call)
                if res.trainers is not None:
                    res.breakdown = breakdown(res.trainers, res.env or env, 5 if args.quick else 11)
            res.trainers = None

    sweeps = None
    plot_rel = None
    if not args.no_plot and (args.plot is not None or args.cases is None):
        _progress("scaling sweep for the plot")
        sweeps = scaling(env, args.quick, args.repeats)
        path = args.plot or HERE / "scaling.png"
        title = f"polygrad ({env.backend}) vs torch vs hand-written {env.ref_name}: MLP step"
        if plot_scaling(sweeps, path, title):
            print(f"scaling plot written to {path}")
            if args.markdown is not None:
                plot_rel = os.path.relpath(path.resolve(), args.markdown.resolve().parent)

    meta["machine"]["load_average_end"] = (
        list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    )
    meta["duration_s"] = round(time.perf_counter() - started, 1)
    print(text_report(results, env, meta))
    print(f"\n(total {meta['duration_s']:.0f} s)")
    if args.json is not None:
        args.json.write_text(json.dumps(json_report(results, env, meta, sweeps), indent=1))
        print(f"results written to {args.json}")
    if args.markdown is not None:
        args.markdown.write_text(markdown_report(results, env, meta, plot_rel))
        print(f"markdown report written to {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
