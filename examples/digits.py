"""Train a classifier on the bundled 8x8 handwritten digits: an MLP or a small CNN.

The whole loop is the one you would write with torch: a DataLoader, a model from
``polygrad.nn``, cross-entropy, ``optimizer.zero_grad() / loss.backward() / optimizer.step()``
and a learning-rate schedule. It runs on whatever backend ``POLYGRAD_BACKEND`` names.

Usage
-----
    python examples/digits.py                       # the MLP with Adam: seconds on a CPU
    python examples/digits.py --model cnn           # the CNN
    python examples/digits.py --batchnorm --dropout 0.2 --optimizer sgd
    python examples/digits.py --epochs 10           # stop early (or press Ctrl-C) ...
    python examples/digits.py --resume --epochs 30  # ... and continue from the checkpoint
    mpiexec -n 2 python examples/digits.py --distributed  # DDP: global batch 2 x --batch-size
    POLYGRAD_BACKEND=cupy python examples/digits.py # the same on a GPU

Outputs, in ``--out`` (default ``runs/``), named after the model:

- ``digits-mlp.pgz``: a checkpoint written after every epoch (model, optimizer, scheduler,
  epoch, random-number state and history), which ``--resume`` continues from exactly;
- ``digits-mlp.png``: training loss, and training and validation accuracy, per epoch.

``--distributed`` (see ``data_parallel.py``): each process trains a DistributedDataParallel
copy on its DistributedSampler shard, only rank 0 prints and writes the checkpoint, and
``--resume`` may use another number of processes. Without mpiexec it runs as one process.

Needs the examples extra: ``pip install -e ".[examples]"`` (matplotlib and tqdm).
"""

from __future__ import annotations

import argparse
import copy
import itertools
import math
import sys
import time
from pathlib import Path
from typing import Any

import cli  # first: it sets thread defaults before NumPy loads, and checks the backend
import data_parallel

try:
    import matplotlib

    matplotlib.use("Agg")  # draw to files, never open a window
    import matplotlib.pyplot as plt
    from tqdm import tqdm
except ImportError as e:
    sys.exit(f"{e}: this example needs the examples extra: pip install -e '.[examples]'")

from models import digits_cnn, digits_mlp

import polygrad as pg
import polygrad.nn as nn
import polygrad.optim as optim
from polygrad.data import DataLoader, load_digits

DEFAULT_LR = {"adam": 3e-3, "sgd": 0.05}
SMOKE_BATCHES = 2  # batches per epoch with --smoke

# The settings that define a run; a checkpoint stores them and --resume reuses them.
RUN_SETTINGS = (
    "model",
    "batchnorm",
    "dropout",
    "optimizer",
    "lr",
    "gamma",
    "batch_size",
    "label_smoothing",
    "seed",
    "smoke",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = cli.make_parser("Train an MLP or a CNN on the bundled 8x8 handwritten digits.")
    parser.add_argument(
        "--model", choices=["mlp", "cnn"], default="mlp", help="network (default: mlp)"
    )
    parser.add_argument(
        "--batchnorm", action="store_true", help="MLP: BatchNorm1d after each Linear"
    )
    parser.add_argument(
        "--dropout",
        type=cli.fraction,
        default=0.0,
        help="MLP: dropout probability, in [0, 1) (default: 0)",
    )
    parser.add_argument(
        "--optimizer",
        choices=["adam", "sgd"],
        default="adam",
        help="Adam, or SGD with momentum 0.9 (default: adam)",
    )
    parser.add_argument(
        "--lr",
        type=cli.positive_float,
        default=None,
        help="learning rate (default: 3e-3 for adam, 0.05 for sgd)",
    )
    parser.add_argument(
        "--gamma",
        type=cli.positive_float,
        default=0.9,
        help="learning-rate decay per epoch (default: 0.9)",
    )
    parser.add_argument(
        "--epochs",
        type=cli.positive_int,
        default=None,
        help="total epochs (default: 30, or 2 with --smoke)",
    )
    parser.add_argument(
        "--batch-size", type=cli.positive_int, default=32, help="examples per batch (default: 32)"
    )
    parser.add_argument(
        "--label-smoothing",
        type=cli.probability,
        default=0.1,
        help="label smoothing of the loss, in [0, 1] (default: 0.1)",
    )
    parser.add_argument(
        "--seed",
        type=cli.natural,
        default=0,
        help="seed for initialization and shuffling (default: 0)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint in --out, up to --epochs in total",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"tiny budget for tests: {SMOKE_BATCHES} batches per epoch",
    )
    data_parallel.add_flag(parser)
    cli.add_compile_flag(parser)
    args = cli.parse(parser, argv)
    if args.compile and args.distributed:
        # DDP averages gradients from hooks during backward(); a replayed step has no hooks.
        parser.error("--compile and --distributed cannot be combined: use one or the other")
    if args.lr is None:
        args.lr = DEFAULT_LR[args.optimizer]
    if args.epochs is None:
        args.epochs = 2 if args.smoke else 30
    return args


def build(config: dict[str, Any]) -> tuple[nn.Module, optim.Optimizer, Any]:
    """The model, its optimizer and its learning-rate schedule for a run's settings."""
    if config["model"] == "cnn":
        model = digits_cnn()
    else:
        model = digits_mlp(batchnorm=config["batchnorm"], dropout=config["dropout"])
    if config["optimizer"] == "adam":
        optimizer = optim.Adam(model.parameters(), lr=config["lr"])
    else:
        optimizer = optim.SGD(model.parameters(), lr=config["lr"], momentum=0.9)
    # An exponential decay depends only on the epoch reached, so training 10 epochs and
    # resuming to 30 follows exactly the schedule of 30 epochs in one go.
    scheduler = optim.lr_scheduler.ExponentialLR(optimizer, gamma=config["gamma"])
    return model, optimizer, scheduler


def accuracy(model: nn.Module, loader: DataLoader) -> tuple[float, int]:
    """Fraction and number of correctly classified examples, in evaluation mode."""
    model.eval()  # Dropout off, BatchNorm uses its running statistics
    correct, total = 0, 0
    with pg.no_grad():
        for x, y in loader:
            hits = model(x).argmax(axis=1) == y  # bool; the standard sums numbers only
            correct += hits.astype(pg.int64).sum().item()
            total += len(y)
    model.train()
    return correct / total, correct


def make_train_step(model: nn.Module, optimizer: optim.Optimizer, loss_fn: nn.Module) -> Any:
    """One training step on a batch: forward, loss, backward, update. Returns the loss and
    the logits (``--compile`` runs it through ``polygrad.compile``)."""

    def step(x: pg.Tensor, y: pg.Tensor) -> tuple[pg.Tensor, pg.Tensor]:
        logits = model(x)
        loss = loss_fn(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, logits

    return step


def train_epoch(step: Any, loader: DataLoader, bar: tqdm) -> tuple[float, float]:
    """One pass over ``loader``, or its first ``bar.total`` batches, with ``step``; mean loss
    and accuracy."""
    loss_sum, correct, seen = 0.0, 0, 0
    for x, y in itertools.islice(loader, bar.total):
        loss, logits = step(x, y)

        loss_sum += loss.item() * len(y)
        correct += (logits.argmax(axis=1) == y).astype(pg.int64).sum().item()
        seen += len(y)
        bar.set_postfix(
            {"loss": f"{loss_sum / seen:.3f}", "acc": f"{correct / seen:.3f}"}, refresh=False
        )
        bar.update()
    return loss_sum / seen, correct / seen


def plot(history: dict[str, list[float]], title: str, path: Path) -> None:
    """Loss on the left, training and validation accuracy on the right, per epoch."""
    epochs = range(1, len(history["loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, history["loss"], color="tab:red")
    ax_loss.set(xlabel="epoch", ylabel="training loss (label-smoothed)")
    ax_acc.plot(epochs, history["train_acc"], label="training")
    ax_acc.plot(epochs, history["val_acc"], label="validation")
    ax_acc.set(xlabel="epoch", ylabel="accuracy")
    ax_acc.legend(loc="lower right")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    checkpoint_path = args.out / f"digits-{args.model}.pgz"
    cli.run_resumable(lambda saved: run(args, checkpoint_path, saved), checkpoint_path)


def run(args: argparse.Namespace, checkpoint_path: Path, saved: list[int]) -> None:
    """Resume (if asked), train and evaluate, appending each epoch saved to ``saved``."""
    config = {name: getattr(args, name) for name in RUN_SETTINGS}
    par = data_parallel.Parallel(args.distributed)

    if args.resume:
        checkpoint, config = cli.load_checkpoint(checkpoint_path, config, RUN_SETTINGS)

    pg.manual_seed(config["seed"])
    model, optimizer, scheduler = build(config)
    history: dict[str, list[float]] = {"loss": [], "train_acc": [], "val_acc": []}
    start = 0
    if args.resume:
        history, start = cli.restore_checkpoint(
            checkpoint, checkpoint_path, saved,
            model=model, optimizer=optimizer, scheduler=scheduler,
        )  # fmt: skip

    # The CNN reads (N, 1, 8, 8) images, the MLP flat vectors of 64 pixels.
    data = load_digits()
    shape = (-1, 1, 8, 8) if config["model"] == "cnn" else (-1, 64)
    train = par.train_loader(
        (data.x_train.reshape(shape), data.y_train), config["batch_size"], config["seed"]
    )
    net = par.wrap(model)  # DDP under --distributed; `model` holds the same parameters
    val = DataLoader((data.x_val.reshape(shape), data.y_val), batch_size=500)
    test = DataLoader((data.x_test.reshape(shape), data.y_test), batch_size=500)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config["label_smoothing"])

    n_params = sum(math.prod(p.shape) for p in model.parameters())
    backend = pg.get_backend()
    print(
        f"{config['model']} ({n_params:,} parameters) on {backend.name} ({backend.device}), "
        f"{config['optimizer']} lr {config['lr']:g}, batch {config['batch_size']}"
        f"{f' per process x {par.size}' if par.enabled else ''}, "
        f"{len(data.y_train)} training images"
    )
    batches = min(len(train), SMOKE_BATCHES) if config["smoke"] else len(train)
    step = make_train_step(net, optimizer, loss_fn)
    if args.compile:
        step = pg.compile(step)
    began = time.perf_counter()
    for epoch in range(start, args.epochs):
        data_parallel.set_epoch(train, epoch)
        with cli.progress_bar(batches, f"epoch {epoch + 1:2d}/{args.epochs}", "batch") as bar:
            loss, train_acc = par.average(*train_epoch(step, train, bar))
            val_acc, _ = accuracy(net, val)
            bar.set_postfix(
                {"loss": f"{loss:.3f}", "acc": f"{train_acc:.3f}", "val_acc": f"{val_acc:.3f}"},
                refresh=False,
            )
        scheduler.step()
        for key, value in zip(history, (loss, train_acc, val_acc)):
            history[key].append(value)
        state = {
            "config": config,
            "epoch": epoch + 1,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": pg.get_rng_state(),
            "history": history,
        }
        cli.save_checkpoint(state, checkpoint_path, saved, write=par.main)  # atomic
    seconds = time.perf_counter() - began

    test_acc, correct = accuracy(net, test)
    print(
        f"test accuracy: {100 * test_acc:.2f}% ({correct}/{len(data.y_test)}) "
        f"after {len(history['loss'])} epochs, {seconds:.1f} s of training"
    )
    if args.compile:
        x, y = next(iter(train))

        def fresh_step() -> Any:
            m = copy.deepcopy(model)
            o = type(optimizer)(m.parameters(), **optimizer.defaults)
            return make_train_step(m, o, loss_fn)

        print(cli.compile_speedup(fresh_step, x, y))
    plot_path = args.out / f"digits-{config['model']}.png"
    title = f"digits, {config['model']}: test accuracy {100 * test_acc:.1f}%"
    if par.main:
        plot(history, title, plot_path)
    print(f"wrote {plot_path} and {checkpoint_path}")


if __name__ == "__main__":
    main()
