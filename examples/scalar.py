"""micrograd's examples on polygrad: scalar expressions and a tiny MLP, checked against torch.

Part 1 is one tanh neuron, part 2 the expression from micrograd's README (``+``, ``*``,
``**``, ``/``, ``relu``), part 3 a 3-4-4-1 tanh network fitted to four points with plain
gradient descent. Each value and gradient polygrad computes is printed beside torch's when torch
is installed (only polygrad's otherwise). A scalar here is a 0-d Tensor: the engine is the same
one that trains the convolutional network of ``digits.py``.

Usage
-----
    python examples/scalar.py
    python examples/scalar.py --steps 100
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cli  # first: thread defaults before NumPy loads; it also checks the backend

import polygrad as pg
import polygrad.nn as nn

try:
    import torch
except ImportError:
    torch = None


def show(title: str, names: list[str], ours: dict[str, pg.Tensor], theirs: dict | None) -> None:
    """Print each named scalar's value and gradient, polygrad's beside torch's."""
    print(f"\n{title}")
    header = f"  {'':6}{'value':>12}{'grad':>12}"
    print(header + (f"{'torch value':>14}{'torch grad':>12}" if theirs else ""))
    for name in names:
        line = f"  {name:6}{ours[name].item():12.4f}{ours[name].grad.item():12.4f}"
        if theirs:
            line += f"{theirs[name].item():14.4f}{theirs[name].grad.item():12.4f}"
        print(line)


def neuron(lib: Any, scalar: Callable[[float], Any]) -> dict[str, Any]:
    """One neuron, o = tanh(x1*w1 + x2*w2 + b), from micrograd's lecture."""
    x1, x2 = scalar(2.0), scalar(0.0)
    w1, w2 = scalar(-3.0), scalar(1.0)
    b = scalar(6.8813735870195432)
    n = x1 * w1 + x2 * w2 + b
    o = lib.tanh(n)
    for t in (n, o):
        t.retain_grad()  # keep the gradients of non-leaf results too (as in torch)
    o.backward()
    return dict(x1=x1, w1=w1, x2=x2, w2=w2, b=b, n=n, o=o)


def expression(lib: Any, scalar: Callable[[float], Any]) -> dict[str, Any]:
    """The expression of micrograd's README; ``+=`` makes a new node, as there."""
    a, b = scalar(-4.0), scalar(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.retain_grad()
    g.backward()
    return dict(a=a, b=b, g=g)


def tiny_mlp() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(3, 4, dtype=pg.float64),
        nn.Tanh(),
        nn.Linear(4, 4, dtype=pg.float64),
        nn.Tanh(),
        nn.Linear(4, 1, dtype=pg.float64),
        nn.Tanh(),
    )


def fit_four_points(steps: int, lr: float) -> None:
    """Gradient descent on the sum of squared errors, for polygrad and (if there) torch."""
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]  # desired targets
    pg.manual_seed(0)
    model = tiny_mlp()
    x, y = pg.tensor(xs, dtype=pg.float64), pg.tensor(ys, dtype=pg.float64)
    if torch is not None:  # the same network in torch, starting from polygrad's weights
        reference = torch.nn.Sequential(
            torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 4), torch.nn.Tanh(),
            torch.nn.Linear(4, 1), torch.nn.Tanh(),
        ).double()  # fmt: skip
        state = {k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()}
        reference.load_state_dict(state)
        tx, ty = torch.tensor(xs, dtype=torch.float64), torch.tensor(ys, dtype=torch.float64)

    print(f"\n3. a 3-4-4-1 tanh MLP fitted to four points ({steps} steps, learning rate {lr})")
    print(f"  {'step':>4}{'loss':>12}" + (f"{'torch loss':>14}" if torch else ""))
    for step in range(steps):
        loss = ((model(x).reshape(-1) - y) ** 2).sum()
        model.zero_grad()
        loss.backward()
        with pg.no_grad():  # the update itself is not part of the graph
            for p in model.parameters():
                p.data = p.data - lr * p.grad.data
        line = f"  {step:4d}{loss.item():12.6f}"
        if torch is not None:
            t_loss = ((reference(tx).reshape(-1) - ty) ** 2).sum()
            reference.zero_grad()
            t_loss.backward()
            with torch.no_grad():
                for p in reference.parameters():
                    p -= lr * p.grad
            line += f"{t_loss.item():14.6f}"
        if step % max(1, steps // 10) == 0 or step == steps - 1:
            print(line)
    with pg.no_grad():
        print("  predictions:", [round(v, 4) for v in model(x).reshape(-1).tolist()])
    print("  targets:    ", ys)
    if torch is not None:
        diff = max(
            float(abs(p.numpy() - q.detach().numpy()).max())
            for p, q in zip(model.parameters(), reference.parameters())
        )
        print(f"  largest difference between polygrad's and torch's weights: {diff:.1e}")


def main(argv: list[str] | None = None) -> None:
    parser = cli.make_parser(
        "micrograd's scalar examples on polygrad, beside torch when installed.", out=False
    )
    parser.add_argument(
        "--steps", type=cli.positive_int, default=50, help="MLP training steps (default: 50)"
    )
    parser.add_argument(
        "--lr", type=cli.positive_float, default=0.05, help="learning rate (default: 0.05)"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny budget for tests: 3 steps")
    args = cli.parse(parser, argv)
    if args.smoke:
        args.steps = 3

    print(f"polygrad on {pg.get_backend().name}; scalars are 0-d float64 tensors")
    if torch is None:
        print("torch is not installed: showing polygrad's numbers only (pip install torch)")

    def ours(v: float) -> pg.Tensor:
        return pg.tensor(v, dtype=pg.float64, requires_grad=True)

    def theirs(v: float) -> Any:
        return torch.tensor(v, dtype=torch.float64, requires_grad=True)

    show(
        "1. one neuron: o = tanh(x1*w1 + x2*w2 + b)",
        ["x1", "w1", "x2", "w2", "b", "n", "o"],
        neuron(pg, ours),
        neuron(torch, theirs) if torch else None,
    )
    show(
        "2. micrograd's expression of a and b (g = f/2 + 10/f ...)",
        ["a", "b", "g"],
        expression(pg, ours),
        expression(torch, theirs) if torch else None,
    )
    fit_four_points(args.steps, args.lr)


if __name__ == "__main__":
    main()
