"""Train a character-level language model on Shakespeare: an LSTM or a small GPT.

The loop is the one you would write with torch: random windows of the text as batches, a model
from ``polygrad.nn``, cross-entropy of each next character, ``zero_grad / backward /
clip_grad_norm_ / step`` with AdamW. After every epoch it prints the validation loss (in nats
per character; uniform guessing over 65 characters is ln 65 = 4.17) and a sample the model
writes. It runs on whatever backend ``POLYGRAD_BACKEND`` names.

Usage
-----
    python examples/char_lm.py                           # the LSTM: a few minutes on a CPU
    python examples/char_lm.py --model transformer       # the small GPT
    python examples/char_lm.py --data my.txt             # another text (90% train, 10% val)
    python examples/char_lm.py --epochs 2                # stop early (or press Ctrl-C) ...
    python examples/char_lm.py --resume --epochs 8       # ... and continue from the checkpoint
    mpiexec -n 2 python examples/char_lm.py --distributed   # DDP: 2 x --batch-size windows
    POLYGRAD_BACKEND=cupy python examples/char_lm.py     # the same on a GPU

Outputs, in ``--out`` (default ``runs/``), named after the model:

- ``char_lm-lstm.pgz``: a checkpoint written after every epoch (model, optimizer, epoch,
  random-number state, vocabulary and history), which ``--resume`` continues from exactly;
- ``char_lm-lstm.png``: training and validation loss per epoch.

``--distributed`` (see ``data_parallel.py``): each of the P processes of ``mpiexec -n P``
trains a DistributedDataParallel copy of the model on its own random windows, so
``--batch-size`` is per process (global batch P x --batch-size). The training loss is averaged
over the ranks; the validation loss, the samples, the plot and the checkpoint come from rank 0
alone, and ``--resume`` may use another P. Random numbers per process: at the start of every
epoch each rank seeds its generator from (``--seed``, epoch, rank), which drives its windows and
dropout masks (and rank 0's sample) for that epoch. A distributed run therefore depends only on
the seed, the epoch and P, never on where it was resumed: the checkpoint stores rank 0's
generator state (what a resume without ``--distributed`` continues from), and a distributed
resume, with any P, reseeds instead. ``--compile`` cannot be combined with it.

Needs the examples extra: ``pip install -e ".[examples]"`` (matplotlib and tqdm).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cli  # first: it sets thread defaults before NumPy loads, and checks the backend
import data_parallel

try:
    import matplotlib

    matplotlib.use("Agg")  # draw to files, never open a window
    import matplotlib.pyplot as plt
    import tqdm  # noqa: F401  (checked here, used by cli.progress_bar)
except ImportError as e:
    sys.exit(f"{e}: this example needs the examples extra: pip install -e '.[examples]'")

from models import CharGPT, CharLSTM

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F
import polygrad.optim as optim
from polygrad.data import load_shakespeare

SMOKE_STEPS, SMOKE_VAL_BATCHES = 3, 2  # with --smoke
VAL_FRACTION = 0.1

# The settings that define a run; a checkpoint stores them and --resume reuses them.
RUN_SETTINGS = (
    "model",
    "dim",
    "hidden",
    "layers",
    "heads",
    "dropout",
    "tie_weights",
    "seq_len",
    "batch_size",
    "steps_per_epoch",
    "lr",
    "weight_decay",
    "clip",
    "seed",
    "smoke",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = cli.make_parser("Train a character-level LSTM or small GPT on Shakespeare.")
    add = parser.add_argument
    add("--model", choices=["lstm", "transformer"], default="lstm", help="(default: lstm)")
    add("--data", type=Path, default=None, help="a UTF-8 text file (default: Tiny Shakespeare)")
    add("--dim", type=cli.positive_int, default=64, help="embedding size (default: 64)")
    add("--hidden", type=cli.positive_int, default=256, help="LSTM hidden size (default: 256)")
    add("--layers", type=cli.positive_int, default=None, help="LSTM layers or GPT blocks "
        "(default: 1 for lstm, 2 for transformer)")  # fmt: skip
    add("--heads", type=cli.positive_int, default=4, help="GPT attention heads (default: 4)")
    add("--dropout", type=cli.fraction, default=0.0, help="in [0, 1) (default: 0)")
    add("--tie-weights", action="store_true", help="GPT: the head reuses the token embedding")
    add("--seq-len", type=cli.positive_int, default=64, help="characters per window (default: 64)")
    add("--batch-size", type=cli.positive_int, default=32, help="windows per batch (default: 32)")
    add("--steps-per-epoch", type=cli.positive_int, default=None, help="(default: 300 for lstm, "
        "200 for transformer)")  # fmt: skip
    add("--epochs", type=cli.positive_int, default=None, help="(default: 5, 2 with --smoke)")
    add("--lr", type=cli.positive_float, default=3e-3, help="AdamW learning rate (default: 3e-3)")
    add("--weight-decay", type=cli.probability, default=0.01, help="AdamW (default: 0.01)")
    add("--clip", type=cli.positive_float, default=1.0, help="gradient norm cap (default: 1)")
    add("--temperature", type=cli.positive_float, default=0.8, help="sampling (default: 0.8)")
    add("--sample-len", type=cli.natural, default=200, help="characters (default: 200; 0: none)")
    add("--seed", type=cli.natural, default=0, help="initialization and batches (default: 0)")
    add("--resume", action="store_true", help="continue from the checkpoint in --out, up to "
        "--epochs in total")  # fmt: skip
    add("--smoke", action="store_true", help=f"tiny budget for tests: {SMOKE_STEPS} steps per "
        f"epoch, {SMOKE_VAL_BATCHES} validation batches")  # fmt: skip
    data_parallel.add_flag(parser)
    cli.add_compile_flag(parser)
    args = cli.parse(parser, argv, check=invalid_combination)
    if args.layers is None:
        args.layers = 1 if args.model == "lstm" else 2
    if args.epochs is None:
        args.epochs = 2 if args.smoke else 5
    if args.steps_per_epoch is None:
        args.steps_per_epoch = 300 if args.model == "lstm" else 200
    if args.smoke:
        args.steps_per_epoch = min(args.steps_per_epoch, SMOKE_STEPS)
    return args


def invalid_combination(args: argparse.Namespace) -> str | None:
    """A usage error for options that are valid alone but not together, else None."""
    if args.model == "transformer" and args.dim % args.heads:
        return f"argument --heads: --dim {args.dim} is not a multiple of {args.heads}"
    if args.compile and args.distributed:
        # DDP averages gradients from hooks during backward(); a replayed step has no hooks
        return "argument --compile: cannot be combined with --distributed: use one or the other"
    if args.data is not None and not args.data.is_file():
        return f"argument --data: no file {str(args.data)!r}"
    return None


def read_text(path: Path | None, seq_len: int) -> str:
    """The training text: ``path``'s, else the bundled Tiny Shakespeare."""
    if path is None:
        return load_shakespeare()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        sys.exit(f"--data: cannot read {path} as UTF-8 text: {e}")
    if int(len(text) * VAL_FRACTION) < seq_len + 1:
        sys.exit(f"--data: {path} has {len(text)} characters; 10% of it must exceed --seq-len")
    return text


def build(config: dict[str, Any], vocab: int) -> tuple[nn.Module, optim.Optimizer]:
    """The model and its optimizer for a run's settings."""
    if config["model"] == "lstm":
        model = CharLSTM(vocab, config["dim"], config["hidden"], config["layers"],
                         config["dropout"])  # fmt: skip
    else:
        model = CharGPT(vocab, config["seq_len"], config["dim"], config["layers"],
                        config["heads"], config["dropout"], config["tie_weights"])  # fmt: skip
    optimizer = optim.AdamW(
        model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"]
    )
    return model, optimizer


def logits_of(model: nn.Module, ids: pg.Tensor) -> pg.Tensor:
    out = model(ids)
    return out[0] if isinstance(out, tuple) else out  # the LSTM also returns its state


def next_char_loss(model: nn.Module, window: pg.Tensor) -> pg.Tensor:
    """Mean cross-entropy of characters 1..T of each (N, T + 1) window given those before."""
    logits = logits_of(model, window[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), window[:, 1:].reshape(-1))


def make_train_step(model: nn.Module, optimizer: optim.Optimizer, clip: float) -> Callable:
    """One training step ``step(window) -> loss`` (what ``--compile`` runs through
    ``polygrad.compile``)."""

    def step(window: pg.Tensor) -> pg.Tensor:
        loss = next_char_loss(model, window)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        return loss

    return step


def random_windows(ids: pg.Tensor, n: int, length: int) -> pg.Tensor:
    """``n`` windows of ``length`` consecutive ids, at random starts: shape (n, length)."""
    starts = pg.randint(0, ids.shape[0] - length + 1, (n, 1), device=ids.device)
    return ids[starts + pg.arange(length, device=ids.device)]


def validation_loss(model: nn.Module, ids: pg.Tensor, config: dict[str, Any]) -> float:
    """Mean next-character loss over all non-overlapping windows of the validation text."""
    length = config["seq_len"] + 1
    n = (ids.shape[0] - 1) // config["seq_len"]
    windows = pg.arange(n, device=ids.device).reshape(n, 1) * config["seq_len"]
    windows = windows + pg.arange(length, device=ids.device)
    batches = range(0, n, 4 * config["batch_size"])
    if config["smoke"]:
        batches = batches[:SMOKE_VAL_BATCHES]
    model.eval()
    total, count = 0.0, 0
    with pg.no_grad():
        for first in batches:
            window = ids[windows[first : first + 4 * config["batch_size"]]]
            total += next_char_loss(model, window).item() * window.shape[0]
            count += window.shape[0]
    model.train()
    return total / count


def sample(
    model: nn.Module, chars: list[str], prompt: str, length: int, temperature: float, context: int
) -> str:
    """``length`` characters after ``prompt``, each drawn from softmax(logits / temperature)."""
    index = {c: i for i, c in enumerate(chars)}
    generated = [index[c] for c in prompt]
    new, state = generated, None
    model.eval()
    with pg.no_grad():
        for _ in range(length):
            if isinstance(model, CharLSTM):  # it carries its state: feed only the new ids
                logits, state = model(pg.tensor([new]), state)
            else:  # a GPT rereads up to `context` characters
                logits = model(pg.tensor([generated[-context:]]))
            probs = (logits[0, -1] / temperature).softmax(dim=-1)
            new = [pg.multinomial(probs, 1).item()]
            generated += new
    model.train()
    return "".join(chars[i] for i in generated[len(prompt) :])


def plot(history: dict[str, list[float]], title: str, path: Path) -> None:
    """Training and validation loss per epoch."""
    epochs = range(1, len(history["loss"]) + 1)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(epochs, history["loss"], label="training (epoch mean)", color="tab:red")
    ax.plot(epochs, history["val_loss"], label="validation (epoch end)", color="tab:blue")
    ax.set(xlabel="epoch", ylabel="cross-entropy (nats per character)", title=title)
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    checkpoint_path = args.out / f"char_lm-{args.model}.pgz"
    cli.run_resumable(lambda saved: run(args, checkpoint_path, saved), checkpoint_path)


def run(args: argparse.Namespace, checkpoint_path: Path, saved: list[int]) -> None:
    """Resume (if asked), train and sample, appending each epoch saved to ``saved``."""
    config = {name: getattr(args, name) for name in RUN_SETTINGS}
    text = read_text(args.data, args.seq_len)
    chars = sorted(set(text))
    par = data_parallel.Parallel(args.distributed)

    def mismatch(checkpoint: dict[str, Any]) -> str | None:
        if checkpoint["config"]["model"] != args.model:
            return f"holds a {checkpoint['config']['model']} model, not a {args.model}"
        if checkpoint["chars"] != chars:
            return (f"was trained on a text with another vocabulary ({len(checkpoint['chars'])} "
                    f"characters, this one has {len(chars)}); pass the same --data")  # fmt: skip
        return None

    if args.resume:
        checkpoint, config = cli.load_checkpoint(checkpoint_path, config, RUN_SETTINGS, mismatch)

    pg.manual_seed(config["seed"])
    model, optimizer = build(config, len(chars))
    history: dict[str, list[float]] = {"loss": [], "val_loss": []}
    start = 0
    if args.resume:
        history, start = cli.restore_checkpoint(checkpoint, checkpoint_path, saved, model=model,
                                                optimizer=optimizer)  # fmt: skip

    index = {c: i for i, c in enumerate(chars)}
    ids = pg.tensor([index[c] for c in text], dtype=pg.int64)
    split = int(len(text) * (1 - VAL_FRACTION))
    train_ids, val_ids = ids[:split], ids[split:]

    n_params = sum(math.prod(p.shape) for p in model.parameters())
    backend = pg.get_backend()
    print(
        f"{config['model']} ({n_params:,} parameters) on {backend.name} ({backend.device}), "
        f"{len(chars)} characters, {split:,} training / {len(text) - split:,} validation; "
        f"batch {config['batch_size']}{f' per process x {par.size}' if par.enabled else ''} "
        f"x {config['seq_len']}, AdamW lr {config['lr']:g}"
    )
    net = par.wrap(model)  # DDP under --distributed; `model` holds the same parameters
    train_step = make_train_step(net, optimizer, config["clip"])
    if args.compile:
        train_step = pg.compile(train_step)
    began = time.perf_counter()
    for epoch in range(start, args.epochs):
        par.seed_epoch(config["seed"], epoch)  # under --distributed: from (seed, epoch, rank)
        loss_sum = 0.0
        desc = f"epoch {epoch + 1:2d}/{args.epochs}"
        with cli.progress_bar(config["steps_per_epoch"], desc, "step") as bar:
            for step in range(config["steps_per_epoch"]):
                window = random_windows(train_ids, config["batch_size"], config["seq_len"] + 1)
                loss = train_step(window)
                loss_sum += loss.item()
                bar.set_postfix({"loss": f"{loss_sum / (step + 1):.3f}"}, refresh=False)
                bar.update()
            (train_loss,) = par.average(loss_sum / config["steps_per_epoch"])
            # rank 0 alone evaluates and samples (the bare model: no collectives)
            val_loss = validation_loss(model, val_ids, config) if par.main else math.nan
            bar.set_postfix(
                {"loss": f"{train_loss:.3f}", "val_loss": f"{val_loss:.3f}"}, refresh=False
            )
        history["loss"].append(train_loss)
        history["val_loss"].append(val_loss)
        print(f"validation loss {val_loss:.4f} nats/char")
        if args.sample_len and par.main:
            text_out = sample(model, chars, "\n", args.sample_len, args.temperature,
                              config["seq_len"])  # fmt: skip
            print(f"--- sample (temperature {args.temperature:g})\n{text_out}\n---")
        state = {
            "config": config,
            "chars": chars,
            "epoch": epoch + 1,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "rng": pg.get_rng_state(),
            "history": history,
        }
        cli.save_checkpoint(state, checkpoint_path, saved, write=par.main)  # atomic
    seconds = time.perf_counter() - began

    final = history["val_loss"][-1] if history["val_loss"] else float("nan")
    print(
        f"final validation loss: {final:.4f} nats/char after {len(history['loss'])} epochs, "
        f"{seconds:.1f} s of training"
    )
    if args.compile:
        window = random_windows(train_ids, config["batch_size"], config["seq_len"] + 1)

        def fresh_step() -> Callable:
            m, o = build(config, len(chars))
            m.load_state_dict(model.state_dict())
            return make_train_step(m, o, config["clip"])

        print(cli.compile_speedup(fresh_step, window, steps=5))
    plot_path = args.out / f"char_lm-{config['model']}.png"
    if par.main:
        plot(history, f"char_lm, {config['model']}: val loss {final:.3f}", plot_path)
    print(f"wrote {plot_path} and {checkpoint_path}")


if __name__ == "__main__":
    main()
