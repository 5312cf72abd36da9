"""Draw the computation graph polygrad records, before and after backward.

The expression is one tanh neuron, ``o = tanh(x1*w1 + x2*w2 + b)``. Every op applied to a
tensor that requires grad is recorded; ``polygrad.viz.draw`` turns that record into a picture:
ellipses are ops, boxes are tensors (blue: leaves) with their values and, after
``backward``, their gradients.

Usage
-----
    python examples/graph.py                 # runs/graph-before.png, runs/graph-after.png
    python examples/graph.py --format svg

Rendering needs the ``graphviz`` Python package (in the examples extra) and the Graphviz
``dot`` program (``apt-get install graphviz``, ``brew install graphviz``, ``conda install
graphviz``). Without them the pictures are written as ``.dot`` text, with the command that
renders them.
"""

from __future__ import annotations

import cli  # first: thread defaults before NumPy loads; it also checks the backend

import polygrad as pg
from polygrad.viz import draw


def main(argv: list[str] | None = None) -> None:
    parser = cli.make_parser(
        "Render a small expression's computation graph before and after backward."
    )
    parser.add_argument(
        "--format",
        choices=["png", "svg", "pdf", "dot"],
        default="png",
        help="picture format (default: png)",
    )
    parser.add_argument("--smoke", action="store_true", help="for tests (the example is tiny)")
    args = cli.parse(parser, argv)

    # Leaves: the inputs x and the parameters w, b of one neuron.
    x1, x2 = pg.tensor(2.0, requires_grad=True), pg.tensor(0.0, requires_grad=True)
    w1, w2 = pg.tensor(-3.0, requires_grad=True), pg.tensor(1.0, requires_grad=True)
    b = pg.tensor(6.8813735870195432, requires_grad=True)
    x1w1 = x1 * w1
    x2w2 = x2 * w2
    s = x1w1 + x2w2
    n = s + b
    o = n.tanh()
    # Names label the boxes; retain_grad keeps the gradient of an intermediate result too.
    intermediates = {"x1*w1": x1w1, "x2*w2": x2w2, "s": s, "n": n, "o": o}
    names = {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b, **intermediates}
    for t in intermediates.values():
        t.retain_grad()

    before = draw(o, args.out / f"graph-before.{args.format}", names=names)
    # retain_graph keeps the recorded graph after backward, so it can still be drawn.
    o.backward(retain_graph=True)
    after = draw(o, args.out / f"graph-after.{args.format}", names=names)

    print(f"o = tanh(x1*w1 + x2*w2 + b) = {o.item():.4f}")
    for name in ("x1", "w1", "x2", "w2", "b"):
        print(f"  d o / d {name:2} = {names[name].grad.item():+.4f}")
    print(f"wrote {before} and {after}")


if __name__ == "__main__":
    main()
