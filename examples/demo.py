"""A first taste of polygrad: fit y = sin(x) with a small tanh network, by hand.

Everything here is polygrad Tensors and .backward(); the update is plain arithmetic under
no_grad. Run it on any backend: POLYGRAD_BACKEND=torch python examples/demo.py
"""

import math

import cli  # first: thread defaults before NumPy loads; it also checks the backend

import polygrad as pg


def main(argv: list[str] | None = None) -> None:
    parser = cli.make_parser(__doc__.splitlines()[0], out=False)
    parser.add_argument(
        "--steps", type=cli.positive_int, default=3000, help="gradient steps (default 3000)"
    )
    parser.add_argument(
        "--hidden", type=cli.positive_int, default=32, help="hidden units (default 32)"
    )
    parser.add_argument(
        "--lr", type=cli.positive_float, default=0.03, help="learning rate (default 0.03)"
    )
    args = cli.parse(parser, argv)

    pg.manual_seed(0)
    x = pg.linspace(-math.pi, math.pi, 128).reshape(-1, 1)
    y = x.sin()
    w1 = (pg.randn(1, args.hidden) * 1.0).requires_grad_()
    b1 = pg.zeros(args.hidden, requires_grad=True)
    w2 = (pg.randn(args.hidden, 1) / math.sqrt(args.hidden)).requires_grad_()
    b2 = pg.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    print(f"backend: {pg.get_backend()}")
    for step in range(args.steps + 1):
        pred = (x @ w1 + b1).tanh() @ w2 + b2
        loss = ((pred - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with pg.no_grad():
            for p in params:
                p.data = p.data - args.lr * p.grad.data
        if step % (args.steps // 10 or 1) == 0:
            print(f"step {step:5d}  loss {loss.item():.6f}")
    print(f"final mean squared error: {loss.item():.2e}")


if __name__ == "__main__":
    main()
