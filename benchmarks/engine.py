"""polygrad's eager engine against its peers: issue 13's table, in one run.

Run from the repository root::

    python benchmarks/engine.py                        # all cases and peers (~3-5 min)
    python benchmarks/engine.py --quick                # fewer rounds
    python benchmarks/engine.py --cases small,chain --markdown /tmp/engine.md
    pip install -e .[bench]                            # the peers (each skipped when missing)

What is measured (numpy backend, float32 models, float64 chain, one thread per library)
---------------------------------------------------------------------------------------
- ``small``: one training step (zero_grad, forward, cross-entropy, backward, Adam) of a ReLU
  MLP 64-128-128-10 on a batch of 64.
- ``chain``: forward and backward of a 200-op elementwise chain (``* 0.9``, ``+ 0.1``, tanh,
  exp, sigmoid, cycling) on 8 float64 elements, reported per op.
- ``medium``: the small case's step for an MLP 784-512-512-10, batch 256, twice: with glibc's
  default allocator, and in a subprocess with ``MALLOC_TRIM_THRESHOLD_`` and
  ``MALLOC_MMAP_THRESHOLD_`` set (see :data:`TUNED_MALLOC`), so that large temporaries are
  reused instead of being mapped and page-faulted afresh every step: a lead that exists only
  with the default allocator is an allocator artefact, not an engine's.

Every implementation of a case is checked against the hand-written NumPy reference
(``benchmarks/reference_numpy.py``) before timing: the first step's loss must agree to float32
tolerance (the chain's loss and gradient to 1e-9). Then the implementations are timed in
interleaved rounds (each round times every implementation once, in the same order; a sample
lasts at least ``--min-sample`` seconds) and the median over rounds is reported, as a ratio
to hand-written NumPy and to torch eager.

Columns
-------
polygrad eager; polygrad ``compiled`` (``polygrad.compile`` of the whole step; skipped with a
message while it raises NotImplementedError); hand-written NumPy; torch eager (default
``torch.optim.Adam``); ``torch.compile`` of the model (skipped when it fails on this machine);
JAX ``jit`` of the whole step (CPU); MyGrad and HIPS autograd (forward and backward by the
library, Adam in NumPy in place as the hand-written step); tinygrad with ``TinyJit``. A peer
that is not installed or does not run here is skipped with a message saying why.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from reference_numpy import ADD, CHAIN_OPS, MUL, MLPReference, chain_forward, chain_forward_backward
from run import (
    LR,
    SEED,
    PolygradTrainer,
    TorchTrainer,
    Variant,
    make_env,
    mlp_data,
    mlp_factory,
    set_threads,
    time_interleaved,
    torch_mirror,
)

import polygrad as pg

HERE = Path(__file__).resolve().parent
#: glibc tuning for the medium case's second run: never give freed memory back to the system
#: (trim) and serve blocks of up to 64 MiB from the heap instead of fresh mmap pages
TUNED_MALLOC = {"MALLOC_TRIM_THRESHOLD_": "-1", "MALLOC_MMAP_THRESHOLD_": str(64 * 2**20)}
CHAIN_LEN, CHAIN_SIZE = 200, 8
SIZES = {"small": ((64, 128, 128, 10), 64), "medium": ((784, 512, 512, 10), 256)}
BETAS, EPS = (0.9, 0.999), 1e-8


class Skip(Exception):
    """A peer that cannot run here; the message says why."""


# ============================================================================================
# the MLP step, per implementation: each factory returns (step, first loss) or raises Skip
# ============================================================================================
def _numpy_adam(params: list, grads: list, ms: list, vs: list, t: int) -> None:
    """torch's Adam, in place, for the peers whose autograd gives NumPy gradients."""
    beta1, beta2 = BETAS
    step_size = LR / (1 - beta1**t)
    bc2 = (1 - beta2**t) ** 0.5
    for p, g, m, v in zip(params, grads, ms, vs):
        m += (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * (g * g)
        p -= step_size * (m / (np.sqrt(v) / bc2 + EPS))


def mlp_impls(
    params: list[np.ndarray], x: np.ndarray, y: np.ndarray, env: Any
) -> dict[str, Callable[[], Callable[[], Any]]]:
    """Factories of one training step per implementation, from the same parameters and batch
    (``params`` in torch's layout: W1 (out, in), b1, W2, b2, ...)."""

    def polygrad_eager() -> Callable[[], Any]:
        return _polygrad_trainer().step

    def _polygrad_trainer() -> PolygradTrainer:
        model = mlp_factory(tuple(_sizes(params)))()
        with pg.no_grad():
            for p, a in zip(model.parameters(), params, strict=True):
                p.copy_(pg.tensor(a))
        return PolygradTrainer(model, x, y)

    def polygrad_compiled() -> Callable[[], Any]:
        trainer = _polygrad_trainer()
        try:
            return pg.compile(trainer.step)
        except NotImplementedError as e:
            raise Skip(f"polygrad.compile raised NotImplementedError: {e}") from None

    def numpy_hand() -> Callable[[], Any]:
        ref = MLPReference(params, lr=LR)
        return lambda: ref.step(x, y)

    def torch_eager(compiled: bool = False) -> Callable[[], Any]:
        import torch

        model = torch_mirror(mlp_factory(tuple(_sizes(params)))())
        with torch.no_grad():
            for tp, a in zip(model.parameters(), params, strict=True):
                tp.copy_(torch.from_numpy(a))
        trainer = TorchTrainer(model, x, y, env)
        if compiled:
            try:
                trainer.model = torch.compile(model)
                trainer.step()  # compiles here: a failure is a skip, not a crash
            except Exception as e:  # noqa: BLE001 (whatever inductor raises on this machine)
                raise Skip(f"torch.compile failed here: {type(e).__name__}: {e}") from None
        return trainer.step

    def torch_compiled() -> Callable[[], Any]:
        return torch_eager(compiled=True)

    def jax_jit() -> Callable[[], Any]:
        try:
            os.environ.setdefault("JAX_PLATFORMS", "cpu")
            import jax
            import jax.numpy as jnp
        except ImportError as e:
            raise Skip(f"jax is not installed ({e})") from None

        def loss_fn(ps, xb, yb):
            h = xb
            for i in range(0, len(ps), 2):
                h = h @ ps[i].T + ps[i + 1]
                if i + 2 < len(ps):
                    h = jnp.maximum(h, 0)
            logp = jax.nn.log_softmax(h, axis=1)
            return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))

        @jax.jit
        def step(ps, ms, vs, t, xb, yb):
            loss, grads = jax.value_and_grad(loss_fn)(ps, xb, yb)
            beta1, beta2 = BETAS
            step_size = LR / (1 - beta1**t)
            bc2 = jnp.sqrt(1 - beta2**t)
            ms = [m + (1 - beta1) * (g - m) for m, g in zip(ms, grads)]
            vs = [beta2 * v + (1 - beta2) * g * g for v, g in zip(vs, grads)]
            ps = [p - step_size * m / (jnp.sqrt(v) / bc2 + EPS) for p, m, v in zip(ps, ms, vs)]
            return loss, ps, ms, vs

        state = {
            "ps": [jnp.asarray(p) for p in params],
            "ms": [jnp.zeros_like(jnp.asarray(p)) for p in params],
            "vs": [jnp.zeros_like(jnp.asarray(p)) for p in params],
            "t": 0,
        }
        xb, yb = jnp.asarray(x), jnp.asarray(y)

        def run() -> Any:
            state["t"] += 1
            loss, state["ps"], state["ms"], state["vs"] = step(
                state["ps"], state["ms"], state["vs"], jnp.float32(state["t"]), xb, yb
            )
            return loss.block_until_ready()

        return run

    def mygrad_step() -> Callable[[], Any]:
        try:
            import mygrad as mg
            from mygrad.nnet.losses import softmax_crossentropy
        except ImportError as e:
            raise Skip(f"mygrad is not installed ({e})") from None
        arrays = [p.copy() for p in params]
        ms = [np.zeros_like(p) for p in arrays]
        vs = [np.zeros_like(p) for p in arrays]
        count = [0]

        def run() -> Any:
            ps = [mg.Tensor(a) for a in arrays]  # constant-free tensors over the same arrays
            h = mg.Tensor(x, constant=True)
            for i in range(0, len(ps), 2):
                h = mg.matmul(h, ps[i].T) + ps[i + 1]
                if i + 2 < len(ps):
                    h = mg.maximum(h, 0)
            loss = softmax_crossentropy(h, y)
            loss.backward()
            grads = [p.grad for p in ps]
            loss_value = loss.item()
            del ps, h, loss  # release the graph: mygrad locks the arrays it holds
            count[0] += 1
            _numpy_adam(arrays, grads, ms, vs, count[0])
            return loss_value

        return run

    def hips_autograd() -> Callable[[], Any]:
        try:
            import autograd
            import autograd.numpy as anp
        except ImportError as e:
            raise Skip(f"autograd is not installed ({e})") from None

        def loss_fn(ps):
            h = x
            for i in range(0, len(ps), 2):
                h = anp.dot(h, ps[i].T) + ps[i + 1]
                if i + 2 < len(ps):
                    h = anp.maximum(h, 0)
            z = h - anp.max(h, axis=1, keepdims=True)
            logp = z - anp.log(anp.sum(anp.exp(z), axis=1, keepdims=True))
            return -anp.mean(logp[np.arange(len(y)), y])

        value_and_grad = autograd.value_and_grad(loss_fn)
        arrays = [p.copy() for p in params]
        ms = [np.zeros_like(p) for p in arrays]
        vs = [np.zeros_like(p) for p in arrays]
        count = [0]

        def run() -> Any:
            loss, grads = value_and_grad(arrays)
            count[0] += 1
            _numpy_adam(arrays, grads, ms, vs, count[0])
            return loss

        return run

    def tinygrad_jit() -> Callable[[], Any]:
        try:
            from tinygrad import Tensor, TinyJit
            from tinygrad.nn.optim import Adam
        except ImportError as e:
            raise Skip(f"tinygrad is not installed ({e})") from None
        try:
            ps = [Tensor(p.copy()).requires_grad_().realize() for p in params]
            opt = Adam(ps, lr=LR, b1=BETAS[0], b2=BETAS[1], eps=EPS)
            xb, yb = Tensor(x).realize(), Tensor(y).realize()

            @TinyJit
            def step() -> Any:
                with Tensor.train():
                    opt.zero_grad()
                    h = xb
                    for i in range(0, len(ps), 2):
                        h = h.linear(ps[i].T, ps[i + 1])
                        if i + 2 < len(ps):
                            h = h.relu()
                    loss = h.sparse_categorical_crossentropy(yb).backward()
                    opt.step()
                    return loss.realize()

            step()
        except Exception as e:  # noqa: BLE001 (tinygrad needs a compiler for its CPU device)
            raise Skip(f"tinygrad does not run here: {type(e).__name__}: {e}") from None
        return lambda: step().numpy()

    return {
        "polygrad": polygrad_eager,
        "polygrad compiled": polygrad_compiled,
        "numpy": numpy_hand,
        "torch": torch_eager,
        "torch.compile": torch_compiled,
        "jax jit": jax_jit,
        "mygrad": mygrad_step,
        "autograd": hips_autograd,
        "tinygrad TinyJit": tinygrad_jit,
    }


def _sizes(params: list[np.ndarray]) -> list[int]:
    return [params[0].shape[1], *(w.shape[0] for w in params[0::2])]


def _loss_value(out: Any) -> float:
    if hasattr(out, "item"):
        return float(out.item())
    return float(np.asarray(out))


# ============================================================================================
# the elementwise chain, per implementation
# ============================================================================================
def _chain_with(x: Any, mul: Callable, add: Callable, fns: dict[str, Callable]) -> Any:
    y = x
    for k in range(CHAIN_LEN):
        name = CHAIN_OPS[k % 5]
        y = mul(y) if name == "mul" else add(y) if name == "add" else fns[name](y)
    return y


def chain_impls(x_host: np.ndarray, env: Any) -> dict[str, Callable[[], Callable[[], Any]]]:
    """Factories of ``sum(chain(x))`` and its gradient per implementation; each call returns
    (loss, gradient) as host values."""

    def polygrad_eager() -> Callable[[], Any]:
        x = pg.tensor(x_host, requires_grad=True)

        def run() -> Any:
            x.grad = None
            loss = chain_forward(x, CHAIN_LEN).sum()
            loss.backward()
            return loss, x.grad

        return run

    def polygrad_compiled() -> Callable[[], Any]:
        x = pg.tensor(x_host, requires_grad=True)

        def fn() -> Any:
            x.grad = None
            loss = chain_forward(x, CHAIN_LEN).sum()
            loss.backward()
            return loss

        try:
            compiled = pg.compile(fn)
        except NotImplementedError as e:
            raise Skip(f"polygrad.compile raised NotImplementedError: {e}") from None
        return lambda: (compiled(), x.grad)

    def numpy_hand() -> Callable[[], Any]:
        return lambda: chain_forward_backward(x_host, CHAIN_LEN)

    def torch_eager() -> Callable[[], Any]:
        import torch

        x = torch.tensor(x_host, requires_grad=True)

        def run() -> Any:
            x.grad = None
            loss = chain_forward(x, CHAIN_LEN).sum()
            loss.backward()
            return loss, x.grad

        return run

    def jax_jit() -> Callable[[], Any]:
        try:
            os.environ.setdefault("JAX_PLATFORMS", "cpu")
            import jax
            import jax.numpy as jnp
        except ImportError as e:
            raise Skip(f"jax is not installed ({e})") from None
        jax.config.update("jax_enable_x64", True)  # the chain is float64
        fns = {"tanh": jnp.tanh, "exp": jnp.exp, "sigmoid": jax.nn.sigmoid}
        f = jax.jit(
            jax.value_and_grad(
                lambda v: jnp.sum(_chain_with(v, lambda a: a * MUL, lambda a: a + ADD, fns))
            )
        )
        x = jnp.asarray(x_host)

        def run() -> Any:
            loss, g = f(x)
            return loss, g.block_until_ready()

        return run

    def mygrad_chain() -> Callable[[], Any]:
        try:
            import mygrad as mg
            from mygrad.nnet.activations import sigmoid
        except ImportError as e:
            raise Skip(f"mygrad is not installed ({e})") from None
        fns = {"tanh": mg.tanh, "exp": mg.exp, "sigmoid": sigmoid}

        def run() -> Any:
            x = mg.Tensor(x_host)
            loss = mg.sum(_chain_with(x, lambda a: a * MUL, lambda a: a + ADD, fns))
            loss.backward()
            return loss.item(), x.grad

        return run

    def hips_autograd() -> Callable[[], Any]:
        try:
            import autograd
            import autograd.numpy as anp
        except ImportError as e:
            raise Skip(f"autograd is not installed ({e})") from None
        fns = {
            "tanh": anp.tanh,
            "exp": anp.exp,
            "sigmoid": lambda a: 1.0 / (1.0 + anp.exp(-a)),
        }
        f = autograd.value_and_grad(
            lambda v: anp.sum(_chain_with(v, lambda a: a * MUL, lambda a: a + ADD, fns))
        )
        return lambda: f(x_host)

    def tinygrad_jit() -> Callable[[], Any]:
        try:
            from tinygrad import Tensor, TinyJit, dtypes
        except ImportError as e:
            raise Skip(f"tinygrad is not installed ({e})") from None
        try:
            x = Tensor(x_host, dtype=dtypes.float64).requires_grad_().realize()

            @TinyJit
            def run_jit() -> Any:
                x.grad = None
                loss = chain_forward(x, CHAIN_LEN).sum()
                loss.backward()
                return loss.realize(), x.grad.realize()

            run_jit()
        except Exception as e:  # noqa: BLE001
            raise Skip(f"tinygrad does not run here: {type(e).__name__}: {e}") from None

        def run() -> Any:
            loss, g = run_jit()
            return loss.numpy(), g.numpy()

        return run

    return {
        "polygrad": polygrad_eager,
        "polygrad compiled": polygrad_compiled,
        "numpy": numpy_hand,
        "torch": torch_eager,
        "torch.compile": lambda: _raise(Skip("torch.compile is measured on the model steps only")),
        "jax jit": jax_jit,
        "mygrad": mygrad_chain,
        "autograd": hips_autograd,
        "tinygrad TinyJit": tinygrad_jit,
    }


def _raise(e: Exception) -> Any:
    raise e


def _host(a: Any) -> np.ndarray:
    if hasattr(a, "numpy"):
        return np.asarray(a.detach().numpy() if hasattr(a, "detach") else a.numpy())
    return np.asarray(a)


# ============================================================================================
# running a case
# ============================================================================================
def build(case: str, env: Any) -> tuple[dict[str, Callable[[], Any]], dict[str, str], float]:
    """The checked, ready-to-time step of every implementation of ``case``, the skipped ones
    with their reasons, and the per-call unit (ops per call for the chain)."""
    skipped: dict[str, str] = {}
    calls: dict[str, Callable[[], Any]] = {}
    if case == "chain":
        x_host = np.random.default_rng(SEED).uniform(-1.0, 1.0, CHAIN_SIZE)
        factories = chain_impls(x_host, env)
        ref_loss, ref_grad = chain_forward_backward(x_host, CHAIN_LEN)
        for name, factory in factories.items():
            try:
                call = factory()
                loss, grad = call()
            except Skip as e:
                skipped[name] = str(e)
                continue
            if not math.isclose(float(_host(loss)), float(ref_loss), rel_tol=1e-9) or not (
                np.allclose(_host(grad), ref_grad, rtol=1e-9, atol=1e-12)
            ):
                raise RuntimeError(f"chain: {name} differs from the hand-written NumPy chain")
            calls[name] = call
        return calls, skipped, float(CHAIN_LEN)
    sizes, batch = SIZES[case]
    x, y = mlp_data(sizes[0], sizes[-1], batch)
    pg.manual_seed(SEED)
    params = [p.numpy() for p in mlp_factory(sizes)().parameters()]
    ref_loss = float(MLPReference(params, lr=LR).step(x, y))
    for name, factory in mlp_impls(params, x, y, env).items():
        try:
            call = factory()
            loss = _loss_value(call())
        except Skip as e:
            skipped[name] = str(e)
            continue
        if name not in ("torch.compile", "tinygrad TinyJit") and not math.isclose(
            loss, ref_loss, rel_tol=1e-4
        ):  # (the ones compiled in their factory already took their first step)
            raise RuntimeError(f"{case}: {name}'s first loss {loss} != hand-written {ref_loss}")
        calls[name] = call
    return calls, skipped, 1.0


def measure(case: str, rounds: int, min_sample: float) -> dict[str, Any]:
    env = make_env("numpy", None)
    calls, skipped, unit = build(case, env)
    variants = [Variant(name, call) for name, call in calls.items()]
    samples = time_interleaved(variants, rounds, 3, min_sample, env.sync)
    medians = {name: statistics.median(s) / unit for name, s in samples.items()}
    return {"case": case, "median_s": medians, "skipped": skipped, "rounds": rounds}


def measure_in_subprocess(case: str, rounds: int, min_sample: float, env_vars: dict) -> dict:
    """``measure`` in a fresh process with ``env_vars`` set (glibc reads them at start-up)."""
    out = Path(f"/tmp/polygrad_engine_{os.getpid()}_{case}.json")
    cmd = [sys.executable, str(Path(__file__)), "--cases", case, "--rounds", str(rounds)]
    cmd += ["--min-sample", str(min_sample), "--raw-json", str(out)]
    subprocess.run(cmd, env={**os.environ, **env_vars}, check=True)
    result = json.loads(out.read_text())[0]
    out.unlink()
    return result


# ============================================================================================
# reporting
# ============================================================================================
TITLES = {
    "small": "small MLP 64-128-128-10, batch 64, Adam step",
    "chain": f"{CHAIN_LEN}-op elementwise chain on {CHAIN_SIZE} x f64, fwd+bwd, per op",
    "medium": "medium MLP 784-512-512-10, batch 256, Adam step (glibc default allocator)",
    "medium-tuned": "medium MLP, the same, allocator tuned ("
    + ", ".join(f"{k}={v}" for k, v in TUNED_MALLOC.items())
    + ")",
}


def _fmt_time(s: float) -> str:
    return f"{s * 1e3:.2f} ms" if s >= 1e-3 else f"{s * 1e6:.2f} us"


def table(results: list[dict[str, Any]]) -> str:
    names: list[str] = []
    for r in results:
        names += [n for n in (*r["median_s"], *r["skipped"]) if n not in names]
    lines = [
        "| implementation | " + " | ".join(TITLES[r["case"]] for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for name in names:
        cells = []
        for r in results:
            t = r["median_s"].get(name)
            if t is None:
                cells.append("skipped")
                continue
            np_t, torch_t = r["median_s"].get("numpy"), r["median_s"].get("torch")
            ratios = [
                f"{t / ref:.2f}x {label}"
                for ref, label in ((np_t, "np"), (torch_t, "torch"))
                if ref
            ]
            cells.append(f"{_fmt_time(t)} ({', '.join(ratios)})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    notes = sorted({f"- {n}: {why}" for r in results for n, why in r["skipped"].items()})
    return "\n".join(lines) + ("\n\nSkipped:\n\n" + "\n".join(notes) if notes else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="small,chain,medium")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per case")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--min-sample", type=float, default=0.1, help="seconds per sample")
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    parser.add_argument("--json", type=Path, help="write the medians and skips here")
    parser.add_argument("--raw-json", type=Path, help=argparse.SUPPRESS)  # the subprocess's
    parser.add_argument("--no-tuned", action="store_true", help="skip the tuned-allocator run")
    args = parser.parse_args(argv)
    set_threads(1)
    cases = args.cases.split(",")
    results = []
    for case in cases:
        rounds = args.rounds or (5 if args.quick else {"medium": 11}.get(case, 21))
        print(f"case {case}: {rounds} rounds ...", file=sys.stderr, flush=True)
        results.append(measure(case, rounds, args.min_sample))
        if case == "medium" and not args.no_tuned and args.raw_json is None:
            tuned = measure_in_subprocess(case, rounds, args.min_sample, TUNED_MALLOC)
            tuned["case"] = "medium-tuned"
            results.append(tuned)
    if args.raw_json:
        args.raw_json.write_text(json.dumps(results))
        return 0
    text = table(results)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    cpu = platform.processor() or platform.machine()
    head = (
        f"{when}, {cpu}, {os.cpu_count()} cores, one thread per library, load average at the "
        f"end {load}; polygrad on numpy; ratios are of medians over interleaved rounds, vs "
        "hand-written NumPy (np) and torch eager (torch)."
    )
    print(head + "\n\n" + text)
    if args.markdown:
        args.markdown.write_text(head + "\n\n" + text + "\n")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
