"""The spiral experiment: ReLU vs Sigmoid hidden units, SGD with momentum vs Adam.

Three interleaved spiral arms (``polygrad.data.make_spiral``) are not separable by any straight
line, so a network has to bend its decision boundary around them. The same two-hidden-layer
MLP is trained four times, full batch, from the same initial weights for each activation:

=============  ====================  =======================
               SGD, momentum 0.9     Adam
=============  ====================  =======================
ReLU           ReLU + SGD            ReLU + Adam
Sigmoid        Sigmoid + SGD         Sigmoid + Adam
=============  ====================  =======================

Sigmoid units saturate and pass on at most a quarter of the gradient, so with the same budget
they learn far more slowly than ReLU: after the default 500 steps Sigmoid + SGD is still on its
plateau, while Adam's per-parameter step sizes carry Sigmoid through (try ``--steps 2000`` to
see Sigmoid + SGD get there too).

Usage
-----
    python examples/spiral.py                # a few seconds on a CPU
    python examples/spiral.py --steps 2000   # train longer

Outputs, in ``--out`` (default ``runs/``):

- ``spiral.gif``: the four decision boundaries evolving during training (animated);
- ``spiral.png``: the four final boundaries side by side, with their accuracies;

and a table of final losses and accuracies on the terminal. Needs the examples extra:
``pip install -e ".[examples]"`` (matplotlib, tqdm and pillow).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cli  # first: it sets thread defaults before NumPy loads, and checks the backend
import numpy as np

try:
    import matplotlib

    matplotlib.use("Agg")  # draw to files, never open a window
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from PIL import Image
    from tqdm import tqdm
except ImportError as e:
    sys.exit(f"{e}: this example needs the examples extra: pip install -e '.[examples]'")


import polygrad as pg
import polygrad.nn as nn
import polygrad.optim as optim
from polygrad.data import make_spiral

ACTIVATIONS = {"ReLU": "relu", "Sigmoid": "sigmoid"}  # label: nn.MLP name
OPTIMIZERS: dict[str, Callable[[Iterable[pg.Tensor]], optim.Optimizer]] = {
    "SGD": lambda params: optim.SGD(params, lr=0.1, momentum=0.9),
    "Adam": lambda params: optim.Adam(params, lr=0.01),
}
N_CLASSES = 3
LIMIT = 1.15  # the plots show [-LIMIT, LIMIT] in both coordinates
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c"]  # one per class (points)
FILLS = ["#c6dbef", "#fdd0a2", "#c7e9c0"]  # lighter versions (regions)


@dataclass
class Run:
    """One training run: its name, the boundary at each snapshot, and final metrics."""

    name: str
    steps: list[int] = field(default_factory=list)
    boundaries: list[np.ndarray] = field(default_factory=list)  # predicted class on the grid
    loss: float = 0.0
    train_acc: float = 0.0
    test_acc: float = 0.0


def accuracy(model: nn.Module, x: pg.Tensor, y: pg.Tensor) -> float:
    with pg.no_grad():
        return (model(x).argmax(axis=1) == y).astype(pg.float32).mean().item()


def make_step(model: nn.Module, optimizer: optim.Optimizer) -> Callable:
    """One full-batch training step ``step(x, y) -> loss`` of ``model`` (what ``--compile``
    runs through ``polygrad.compile``)."""
    loss_fn = nn.CrossEntropyLoss()

    def step(x: pg.Tensor, y: pg.Tensor) -> pg.Tensor:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def new_model(activation: str, seed: int) -> nn.Module:
    pg.manual_seed(seed)  # the same initial weights for both optimizers
    return nn.MLP(2, [64, 64], N_CLASSES, activation=ACTIVATIONS[activation])


def train(
    activation: str,
    optimizer_name: str,
    data: dict[str, pg.Tensor],
    grid: pg.Tensor,
    steps: int,
    snapshots: set[int],
    seed: int,
    compiled: bool = False,
) -> Run:
    """Train one MLP full batch, recording its decision boundary at the ``snapshots`` steps."""
    run = Run(f"{activation} + {optimizer_name}")
    model = new_model(activation, seed)
    optimizer = OPTIMIZERS[optimizer_name](model.parameters())
    step_fn = make_step(model, optimizer)
    if compiled:
        step_fn = pg.compile(step_fn)
    loss_fn = nn.CrossEntropyLoss()
    side = int(round(grid.shape[0] ** 0.5))

    def snapshot(step: int) -> None:
        with pg.no_grad():
            classes = model(grid).argmax(axis=1).numpy()  # to the host, for matplotlib
        run.steps.append(step)
        run.boundaries.append(classes.reshape(side, side))

    snapshot(0)
    for step in tqdm(range(1, steps + 1), desc=f"{run.name:15}", unit="step", ncols=90):
        step_fn(data["x"], data["y"])
        if step in snapshots:
            snapshot(step)
    with pg.no_grad():
        run.loss = loss_fn(model(data["x"]), data["y"]).item()
    run.train_acc = accuracy(model, data["x"], data["y"])
    run.test_acc = accuracy(model, data["x_test"], data["y_test"])
    return run


def draw_panel(ax: plt.Axes, boundary: np.ndarray, x: np.ndarray, y: np.ndarray) -> plt.Artist:
    """Class regions as a background image, the training points on top; returns the image."""
    image = ax.imshow(
        boundary,
        origin="lower",
        extent=(-LIMIT, LIMIT, -LIMIT, LIMIT),
        cmap=ListedColormap(FILLS),
        vmin=0,
        vmax=N_CLASSES - 1,
        interpolation="nearest",
    )
    ax.scatter(x[:, 0], x[:, 1], c=[COLORS[k] for k in y], s=6, linewidths=0)
    ax.set(xticks=[], yticks=[], xlim=(-LIMIT, LIMIT), ylim=(-LIMIT, LIMIT))
    return image


def write_gif(runs: list[Run], x: np.ndarray, y: np.ndarray, path: Path) -> None:
    """One frame per snapshot, the four runs in a 2x2 grid; pillow assembles the GIF."""
    fig, axes = plt.subplots(2, 2, figsize=(4.4, 4.6), dpi=72)
    images = [draw_panel(ax, run.boundaries[0], x, y) for ax, run in zip(axes.flat, runs)]
    frames = []
    for i, step in enumerate(runs[0].steps):
        for ax, image, run in zip(axes.flat, images, runs):
            image.set_data(run.boundaries[i])
            ax.set_title(run.name, fontsize=10)
        fig.suptitle(f"step {step}")
        fig.tight_layout()
        fig.canvas.draw()
        frames.append(Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3]))
    plt.close(fig)
    # One small shared palette, no dithering: frames then differ only where a boundary moved,
    # and the GIF stays small.
    palette = frames[-1].quantize(colors=32)
    frames = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    durations = [120] * (len(frames) - 1) + [2000]  # milliseconds; linger on the result
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)


def write_comparison(runs: list[Run], x: np.ndarray, y: np.ndarray, path: Path) -> None:
    """The final boundaries in a 2x2 figure: rows are activations, columns optimizers."""
    fig, axes = plt.subplots(2, 2, figsize=(7, 7.2))
    for ax, run in zip(axes.flat, runs):
        draw_panel(ax, run.boundaries[-1], x, y)
        ax.set_title(
            f"{run.name}\ntrain {100 * run.train_acc:.1f}%, test {100 * run.test_acc:.1f}%",
            fontsize=11,
        )
    fig.suptitle(f"spiral: decision boundaries after {runs[0].steps[-1]} steps")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = cli.make_parser("ReLU vs Sigmoid crossed with SGD+momentum vs Adam on spiral data.")
    parser.add_argument(
        "--steps", type=cli.positive_int, default=500, help="full-batch steps (default: 500)"
    )
    parser.add_argument(
        "--frames",
        type=cli.positive_int,
        default=40,
        help="GIF frames at most, at log-spaced steps (default: 40; 500 steps give 34)",
    )
    parser.add_argument(
        "--points", type=cli.positive_int, default=100, help="points per arm (default: 100)"
    )
    parser.add_argument(
        "--seed", type=cli.natural, default=0, help="seed for the weights (default: 0)"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny budget for tests: 4 steps")
    cli.add_compile_flag(parser)
    args = cli.parse(parser, argv)
    if args.smoke:
        args.steps, args.frames = 4, 2

    # Training and test points come from the same spirals with different random jitter.
    x_train, y_train = make_spiral(args.points, N_CLASSES, noise=0.2, seed=1)
    x_test, y_test = make_spiral(args.points, N_CLASSES, noise=0.2, seed=2)
    data = {
        "x": pg.tensor(x_train),
        "y": pg.tensor(y_train),
        "x_test": pg.tensor(x_test),
        "y_test": pg.tensor(y_test),
    }
    # The boundary is the predicted class at every point of a square grid.
    side = 24 if args.smoke else 120
    ticks = np.linspace(-LIMIT, LIMIT, side, dtype=np.float32)
    gx, gy = np.meshgrid(ticks, ticks)
    grid = pg.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1))

    print(f"backend: {pg.get_backend().name}; {len(y_train)} training points, {args.steps} steps")
    began = time.perf_counter()
    # Snapshots evenly spaced in log(step): the fast early changes get as many frames as the
    # slow later ones.
    snapshots = {0, args.steps} | set(np.geomspace(1, args.steps, args.frames).astype(int).tolist())
    runs = [
        train(act, opt, data, grid, args.steps, snapshots, args.seed, args.compile)
        for act in ACTIVATIONS
        for opt in OPTIMIZERS
    ]

    print(f"\n{'activation':<12}{'optimizer':<10}{'loss':>8}{'train acc':>11}{'test acc':>10}")
    for run in runs:
        activation, optimizer_name = run.name.split(" + ")
        print(
            f"{activation:<12}{optimizer_name:<10}{run.loss:>8.4f}"
            f"{100 * run.train_acc:>10.1f}%{100 * run.test_acc:>9.1f}%"
        )
    if args.compile:
        act, opt = next(iter(ACTIVATIONS)), next(iter(OPTIMIZERS))

        def fresh_step() -> Callable:
            model = new_model(act, args.seed)
            return make_step(model, OPTIMIZERS[opt](model.parameters()))

        print(f"{act} + {opt}: {cli.compile_speedup(fresh_step, data['x'], data['y'])}")
    write_gif(runs, x_train, y_train, args.out / "spiral.gif")
    write_comparison(runs, x_train, y_train, args.out / "spiral.png")
    print(
        f"\nwrote {args.out / 'spiral.gif'} and {args.out / 'spiral.png'} "
        f"in {time.perf_counter() - began:.1f} s"
    )


if __name__ == "__main__":
    main()
