"""Command-line helpers shared by the examples: value checks for argparse and the backend option.

Every bad value is a usage error (argparse's message naming the option and what is valid, exit
status 2), never a traceback:

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="example")
>>> _ = parser.add_argument("--epochs", type=positive_int)
>>> parser.parse_args(["--epochs", "3"]).epochs
3

``python example.py --epochs 0`` then prints ``example: error: argument --epochs: must be an
integer >= 1, got '0'`` and exits with status 2.

Import this module before NumPy, matplotlib and polygrad: it sets one BLAS thread by default
(see ``THREAD_VARIABLES``), and it takes ``POLYGRAD_BACKEND`` over, so that an unknown or
unusable backend named there is reported by :func:`parse` as a usage error too, instead of
failing at ``import polygrad``.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "positive_int",
    "natural",
    "positive_float",
    "fraction",
    "probability",
    "make_parser",
    "parse",
    "interrupts_held",
    "progress_bar",
    "add_compile_flag",
    "compile_speedup",
    "run_resumable",
    "load_checkpoint",
    "restore_checkpoint",
    "save_checkpoint",
]

BACKEND_NAMES = ("numpy", "strict", "torch", "cupy")

# Thread defaults, set before NumPy or torch is imported (so import this module first): one
# BLAS/OpenMP thread, unless the user chose a count. polygrad's ops are many and small, and
# several threads per op oversubscribe a small CPU: on 2 cores spiral.py ran 1.9x slower with
# OpenBLAS's default of one thread per core. Setting any of these variables keeps them all.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
if not any(os.environ.get(name) for name in THREAD_VARIABLES):
    for _name in THREAD_VARIABLES:
        os.environ[_name] = "1"

# polygrad selects POLYGRAD_BACKEND and POLYGRAD_DEVICE when it is imported and fails there if it
# cannot; taken out of the environment here, they are checked by parse() instead.
_ENV_BACKEND = os.environ.pop("POLYGRAD_BACKEND", "").strip().lower() or "numpy"
_ENV_DEVICE = os.environ.pop("POLYGRAD_DEVICE", "").strip() or None


def _bounded(
    kind: type,
    low: float,
    high: float = math.inf,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> Callable[[str], int | float]:
    """An argparse ``type=`` that reads a ``kind`` (int or float) in the given range."""
    noun = "an integer" if kind is int else "a number"
    if high == math.inf:
        valid = f"{noun} {'>' if open_low else '>='} {low:g}"
    else:
        valid = f"{noun} in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"

    def convert(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {valid}, got {text!r}") from None
        too_low = value <= low if open_low else value < low
        too_high = value >= high if open_high else value > high
        if too_low or too_high or not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be {valid}, got {text!r}")
        return value

    convert.__name__ = valid  # what argparse would call the type in its own messages
    return convert


positive_int = _bounded(int, 1)  # epochs, steps, batch sizes, sizes
natural = _bounded(int, 0)  # seeds
positive_float = _bounded(float, 0, open_low=True)  # learning rates, decay factors
fraction = _bounded(float, 0, 1, open_high=True)  # dropout: [0, 1)
probability = _bounded(float, 0, 1)  # label smoothing: [0, 1]


def _backend_name(text: str) -> str:
    name = text.strip().lower()
    if name not in BACKEND_NAMES:
        raise argparse.ArgumentTypeError(
            f"unknown backend {text!r} (from --backend or POLYGRAD_BACKEND); "
            f"choose one of {', '.join(BACKEND_NAMES)}"
        )
    return name


def make_parser(description: str, *, out: bool = True) -> argparse.ArgumentParser:
    """An ArgumentParser with the options every example shares: ``--backend`` and ``--out``.

    Parameters
    ----------
    description : str
        What the example does, for ``--help``.
    out : bool
        Add ``--out``, the folder the example writes into (default ``runs``).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--backend",
        type=_backend_name,
        default=_ENV_BACKEND,
        help=f"{', '.join(BACKEND_NAMES)} (default: $POLYGRAD_BACKEND, else numpy)",
    )
    if out:
        parser.add_argument(
            "--out", type=Path, default=Path("runs"), help="output folder (default: runs)"
        )
    return parser


def parse(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None = None,
    check: Callable[[argparse.Namespace], str | None] | None = None,
) -> argparse.Namespace:
    """Parse ``argv``, then select the backend and create ``--out``; any failure is a usage error.

    The backend (on ``POLYGRAD_DEVICE``, if set) becomes polygrad's active one, and both
    variables are set again for any process the example starts. ``check``, if given, sees the
    parsed options first and returns a message (``"argument --heads: ..."``) for a combination
    that is invalid, or None.
    """
    import polygrad as pg

    args = parser.parse_args(argv)
    problem = check(args) if check is not None else None
    if problem:
        parser.error(problem)
    try:
        pg.set_backend(args.backend, _ENV_DEVICE)
    except pg.BackendError as e:
        where = f" with POLYGRAD_DEVICE={_ENV_DEVICE}" if _ENV_DEVICE else ""
        parser.error(f"argument --backend: {args.backend}{where} cannot be used: {e}")
    os.environ["POLYGRAD_BACKEND"] = args.backend
    if _ENV_DEVICE:
        os.environ["POLYGRAD_DEVICE"] = _ENV_DEVICE
    out = getattr(args, "out", None)
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=out):  # permission bits alone say nothing for root
                pass
        except OSError as e:
            parser.error(f"argument --out: cannot write into {str(out)!r}: {e.strerror or e}")
    return args


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C back until the block is done, then raise it: what the block records is true."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt


def progress_bar(total: int, desc: str, unit: str) -> Any:
    """A tqdm bar on stdout, built with Ctrl-C held back: a Ctrl-C inside tqdm's constructor
    would leave a half-built bar whose ``__del__`` prints a traceback at exit."""
    import sys

    from tqdm import tqdm

    with interrupts_held():
        return tqdm(total=total, desc=desc, unit=unit, file=sys.stdout, ncols=100)


def add_compile_flag(parser: argparse.ArgumentParser) -> None:
    """``--compile``: run the training step through ``polygrad.compile``."""
    parser.add_argument(
        "--compile",
        action="store_true",
        help="capture the training step once with polygrad.compile and replay it",
    )


def compile_speedup(make_step: Callable[[], Callable], *batch: object, steps: int = 20) -> str:
    """"compiled step: X ms vs eager Y ms": the median of ``steps`` calls of a fresh training
    step (``make_step()`` builds one on its own copy of the model and optimizer) run eagerly,
    and of another fresh one compiled (its capture call not counted)."""
    import statistics
    import time

    import polygrad as pg

    def median_ms(step: Callable) -> float:
        step(*batch)  # the optimizer's state exists from here on; the capture when compiled
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            step(*batch)
            times.append(time.perf_counter() - t0)
        return 1e3 * statistics.median(times)

    state = pg.get_rng_state()
    eager = median_ms(make_step())
    compiled = median_ms(pg.compile(make_step()))
    pg.set_rng_state(state)  # timing draws no numbers the run itself would have drawn
    return f"compiled step: {compiled:.3f} ms vs eager {eager:.3f} ms ({eager / compiled:.2f}x)"


# -- checkpoints: what digits.py and char_lm.py share --------------------------------------------
def run_resumable(run: Callable[[list[int]], None], checkpoint_path: Path) -> None:
    """Call ``run(saved)``, where ``run`` appends each epoch it resumed from or saved to
    ``saved``; on Ctrl-C, say which epoch ``checkpoint_path`` holds and exit with status 130."""
    import sys

    saved: list[int] = []  # the epochs in checkpoint_path, as this run resumed or wrote them
    try:
        run(saved)
    except KeyboardInterrupt:
        if saved:
            message = f"{checkpoint_path} holds epoch {saved[-1]}; continue with --resume"
        else:
            message = "this run wrote no checkpoint"
        print(f"\ninterrupted: {message}", file=sys.stderr)
        sys.exit(130)  # the shell's status for Ctrl-C


def load_checkpoint(
    path: Path,
    config: dict[str, Any],
    settings: Sequence[str],
    check: Callable[[dict[str, Any]], str | None] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The checkpoint at ``path`` for ``--resume`` and the run settings it holds.

    Exits with a message when there is no checkpoint or ``check(checkpoint)`` returns one;
    names the ``settings`` in which ``config`` (the command line's) differs from the
    checkpoint's, which are the ones kept.
    """
    import sys

    import polygrad as pg

    if not path.exists():
        sys.exit(f"--resume: no checkpoint at {path}; train without --resume first")
    checkpoint = pg.load(path)
    problem = check(checkpoint) if check is not None else None
    if problem:
        sys.exit(f"--resume: {path} {problem}")
    changed = [k for k in settings if checkpoint["config"][k] != config[k]]
    if changed:
        print(f"--resume keeps the checkpoint's settings for: {', '.join(changed)}")
    return checkpoint, checkpoint["config"]


def restore_checkpoint(
    checkpoint: dict[str, Any], path: Path, saved: list[int], **stateful: Any
) -> tuple[Any, int]:
    """Load each of ``stateful`` (model=, optimizer=, ...) from the checkpoint's entry of that
    name and the random-number state; returns the history and the epoch reached."""
    import polygrad as pg

    for name, obj in stateful.items():
        obj.load_state_dict(checkpoint[name])
    pg.set_rng_state(checkpoint["rng"])  # the same shuffles, dropout masks and samples
    saved.append(checkpoint["epoch"])
    print(f"resuming from {path} after epoch {checkpoint['epoch']}")
    return checkpoint["history"], checkpoint["epoch"]


def save_checkpoint(
    state: dict[str, Any], path: Path, saved: list[int], write: bool = True
) -> None:
    """Save ``state`` (its ``"epoch"``) to ``path`` when ``write`` (rank 0 of a distributed run)
    and record the epoch in ``saved``. ``pg.save`` is atomic (a killed save leaves the old
    file); Ctrl-C is held back until ``saved`` is updated too, so the message of
    :func:`run_resumable` names the epoch the file holds."""
    import polygrad as pg

    with interrupts_held():
        if write:
            pg.save(state, path)
        saved.append(state["epoch"])
