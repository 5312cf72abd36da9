"""The op registry: every differentiable polygrad op paired with its torch reference.

Each :class:`Op` says how to call polygrad and torch, which input shapes to try (0-d tensors,
size-1 axes and broadcasting pairs), and where to draw the inputs from (away from kinks and
ties unless the entry is about a tie). ``test_ops.py`` compares forward values and gradients
with torch; ``test_gradcheck.py`` runs the gradient checkers over the same entries.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

import polygrad as pg

Shape = tuple[int, ...]
Sampler = Callable[[np.random.Generator, Shape], np.ndarray]


# -- input domains ------------------------------------------------------------------------------
def normal(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return rng.standard_normal(shape)


def uniform(low: float, high: float) -> Sampler:
    return lambda rng, shape: rng.uniform(low, high, shape)


positive = uniform(0.5, 2.0)


def away_from(*points: float, margin: float = 0.1, low: float = -2.0, high: float = 2.0):
    """Uniform on [low, high], redrawn until every value is ``margin`` away from ``points``."""

    def sample(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        x = rng.uniform(low, high, shape)
        for _ in range(1000):
            near = np.zeros(shape, dtype=bool)
            for p in points:
                near |= np.abs(x - p) < margin
            if not near.any():
                return x
            x = np.where(near, rng.uniform(low, high, shape), x)
        raise RuntimeError(f"could not draw values away from {points}")

    return sample


away_from_zero = away_from(0.0, margin=0.2)


def distinct(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Values at least 0.8 grid steps apart (no ties anywhere), in random order."""
    n = math.prod(shape)
    grid = np.linspace(-2.0, 2.0, n) if n > 1 else np.zeros(1)
    step = 4.0 / max(n - 1, 1)
    return (rng.permutation(grid) + rng.uniform(-0.1, 0.1, n) * step).reshape(shape)


def choice(*values: float) -> Sampler:
    """Values drawn from a few exactly representable numbers: ties and kinks on purpose."""
    return lambda rng, shape: rng.choice(np.array(values, dtype=np.float64), size=shape)


def tied_extremes(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Values in {-1, 0, 1} where every row (last axis, length >= 4) holds its maximum twice
    and its minimum twice: ties on purpose for max / min reductions."""
    rows = rng.choice(np.array([-1.0, 0.0, 1.0]), size=shape).reshape(-1, shape[-1])
    for row in rows:
        hi, lo = row.max(), row.min()
        p = rng.permutation(row.size)[:4]
        row[p[:2]], row[p[2:]] = hi, lo
    return rows.reshape(shape)


def product_friendly(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Magnitudes in [0.5, 1.5] with random signs: products neither vanish nor explode."""
    return rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], size=shape)


def with_zeros(k: int) -> Sampler:
    """product_friendly values with ``k`` exact zeros in every row (last axis): the prod
    gradient and Hessian through one zero and through two."""

    def sample(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        rows = product_friendly(rng, shape).reshape(-1, shape[-1])
        for row in rows:
            row[rng.permutation(row.size)[:k]] = 0.0
        return rows.reshape(shape)

    return sample


def boolean(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return rng.random(shape) < 0.5


# -- the entry ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Op:
    """One op: ``fn(*inputs, **kwargs)`` in polygrad against ``ref(*inputs, **kwargs)`` in torch.

    ``shapes`` lists the input shapes to try, one tuple of shapes per case. ``domain`` is one
    sampler for every input or one per input; a bool sampler makes a constant input (a
    ``where`` condition). NumPy arrays in ``kwargs`` (index arrays, masks) become polygrad
    tensors on the backend under test on one side and torch tensors on the other.
    ``finite_differences`` is False where central differences are meaningless (ties and kinks
    on purpose, a float32 output). ``backends`` restricts the entry to the backends that allow
    it (None: all).
    """

    name: str
    fn: Callable[..., Any]
    ref: Callable[..., Any]
    shapes: tuple[tuple[Shape, ...], ...]
    domain: Sampler | tuple[Sampler, ...] = normal
    kwargs: dict[str, Any] = field(default_factory=dict)
    finite_differences: bool = True
    backends: frozenset[str] | None = None

    def samplers(self, n: int) -> tuple[Sampler, ...]:
        return self.domain if isinstance(self.domain, tuple) else (self.domain,) * n

    def draw(self, rng: np.random.Generator, shapes: tuple[Shape, ...]) -> list[np.ndarray]:
        """Host inputs for one case: float64 arrays, or bool/int constants."""
        return [np.asarray(sample(rng, s)) for sample, s in zip(self.samplers(len(shapes)), shapes)]


def pg_value(v: Any) -> Any:
    """A kwarg for the polygrad side: NumPy arrays become tensors on the backend under test."""
    if isinstance(v, np.ndarray):
        return pg.tensor(v)
    if isinstance(v, tuple):
        return tuple(pg_value(k) for k in v)
    return v


def torch_value(v: Any) -> Any:
    """A kwarg for the torch side: NumPy arrays become torch tensors."""
    if isinstance(v, np.ndarray):
        return torch.from_numpy(v.copy())
    if isinstance(v, tuple):
        return tuple(torch_value(k) for k in v)
    return v


def cases(backend: str, ops: list[Op] | None = None) -> list[tuple[Op, tuple[Shape, ...]]]:
    """Every (op, shapes) pair the backend allows."""
    ops = OPS if ops is None else ops
    return [
        (op, shapes)
        for op in ops
        if op.backends is None or backend in op.backends
        for shapes in op.shapes
    ]


def case_id(op: Op, shapes: tuple[Shape, ...]) -> str:
    return f"{op.name}-" + "-".join(str(s).replace(" ", "") for s in shapes)


# -- torch helpers ------------------------------------------------------------------------------
def _dims(x: torch.Tensor, axis: Any) -> tuple[int, ...]:
    """polygrad's ``axis`` (None, int or tuple) as an explicit torch ``dim`` tuple."""
    if axis is None:
        return tuple(range(x.ndim))
    return (axis,) if isinstance(axis, int) else tuple(axis)


def _torch_prod(x: torch.Tensor, axis: Any, keepdims: bool) -> torch.Tensor:
    """torch.prod over several dims (torch's own takes one)."""
    dims = sorted({d % x.ndim for d in _dims(x, axis)}, reverse=True) if x.ndim else []
    y = x
    for d in dims:
        y = torch.prod(y, dim=d, keepdim=True)
    if not keepdims:
        y = y.reshape([n for i, n in enumerate(x.shape) if i not in dims])
    return y


def _reverse_dims(x: torch.Tensor) -> torch.Tensor:
    return x.permute(*reversed(range(x.ndim)))


# -- shapes -------------------------------------------------------------------------------------
UNARY = (((),), ((5,),), ((2, 3),), ((2, 1, 3),))
BINARY = (
    ((2, 3), (2, 3)),
    ((3, 1), (1, 4)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((2, 1, 3), (3,)),
    ((4,), (2, 1, 1)),
    ((), ()),
)
MATMUL = (
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 3)),
)
WHERE = (
    ((2, 3), (2, 3), (2, 3)),
    ((2, 1), (3,), (2, 3)),
    ((2, 3), (), (2, 1)),
    ((), (2, 3), (3,)),
)
NON_STRICT = frozenset({"numpy", "torch", "cupy"})


# -- the registry -------------------------------------------------------------------------------
def _arithmetic() -> list[Op]:
    return [
        Op("add", lambda a, b: a + b, lambda a, b: a + b, BINARY),
        Op("add_fn", pg.add, torch.add, BINARY[:3]),
        Op("sub", lambda a, b: a - b, lambda a, b: a - b, BINARY),
        Op("sub_fn", pg.subtract, torch.sub, BINARY[:3]),
        Op("mul", lambda a, b: a * b, lambda a, b: a * b, BINARY),
        Op("mul_fn", pg.multiply, torch.mul, BINARY[:3]),
        Op("div", lambda a, b: a / b, lambda a, b: a / b, BINARY, (normal, away_from_zero)),
        Op("div_fn", pg.divide, torch.div, BINARY[:3], (normal, away_from_zero)),
        Op("pow", lambda a, b: a**b, lambda a, b: a**b, BINARY, (positive, normal)),
        Op("pow_fn", pg.pow, torch.pow, BINARY[:3], (positive, normal)),
        # Python scalars on either side
        Op("add_scalar", lambda x: x + 2.5, lambda x: x + 2.5, UNARY),
        Op("radd_scalar", lambda x: 2.5 + x, lambda x: 2.5 + x, UNARY),
        Op("sub_scalar", lambda x: x - 1.5, lambda x: x - 1.5, UNARY),
        Op("rsub_scalar", lambda x: 1.5 - x, lambda x: 1.5 - x, UNARY),
        Op("mul_scalar", lambda x: x * -3.0, lambda x: x * -3.0, UNARY),
        Op("rmul_int", lambda x: 2 * x, lambda x: 2 * x, UNARY),
        Op("div_scalar", lambda x: x / 4.0, lambda x: x / 4.0, UNARY),
        Op("rdiv_scalar", lambda x: 3.0 / x, lambda x: 3.0 / x, UNARY, away_from_zero),
        Op("pow_int_2", lambda x: x**2, lambda x: x**2, UNARY),
        Op("pow_int_3", lambda x: x**3, lambda x: x**3, UNARY),
        Op("pow_float", lambda x: x**2.5, lambda x: x**2.5, UNARY, positive),
        Op("pow_negative", lambda x: x**-1.5, lambda x: x**-1.5, UNARY, positive),
        Op("rpow_scalar", lambda x: 2.0**x, lambda x: 2.0**x, UNARY),
        Op("neg", lambda x: -x, lambda x: -x, UNARY),
        Op("neg_fn", pg.negative, torch.neg, UNARY[1:2]),
        Op("abs", lambda x: abs(x), torch.abs, UNARY, away_from_zero),
        Op("abs_fn", pg.abs, torch.abs, UNARY[2:3], away_from_zero),
        # NOTE: torch's abs has gradient 0 at 0
        Op("abs_at_zero", pg.abs, torch.abs, (((7,),),), choice(-1.0, 0.0, 1.0), {}, False),
        Op("matmul", lambda a, b: a @ b, lambda a, b: a @ b, MATMUL),
        Op("matmul_fn", pg.matmul, torch.matmul, MATMUL[3:6]),
    ]


def _elementwise() -> list[Op]:
    return [
        Op("exp", pg.exp, torch.exp, UNARY),
        Op("exp_method", lambda x: x.exp(), torch.exp, UNARY[2:3]),
        Op("log", pg.log, torch.log, UNARY, positive),
        Op("log1p", pg.log1p, torch.log1p, UNARY, uniform(-0.5, 2.0)),
        Op("sqrt", pg.sqrt, torch.sqrt, UNARY, positive),
        Op("sin", pg.sin, torch.sin, UNARY),
        Op("cos", pg.cos, torch.cos, UNARY),
        Op("tanh", pg.tanh, torch.tanh, UNARY),
        Op("erf", pg.erf, torch.erf, UNARY),
        Op("sigmoid", pg.sigmoid, torch.sigmoid, UNARY, uniform(-6.0, 6.0)),
        Op("relu", pg.relu, torch.relu, UNARY, away_from_zero),
        Op("relu_method", lambda x: x.relu(), torch.relu, UNARY[2:3], away_from_zero),
        # NOTE: torch's relu has gradient 0 at 0, leaky_relu the slope
        Op("relu_at_zero", pg.relu, torch.relu, (((7,),),), choice(-1.0, 0.0, 1.0), {}, False),
        Op("leaky_relu", pg.leaky_relu, F.leaky_relu, UNARY, away_from_zero),
        Op(
            "leaky_relu_slope",
            lambda x, s: pg.leaky_relu(x, negative_slope=s),
            lambda x, s: F.leaky_relu(x, negative_slope=s),
            UNARY,
            away_from_zero,
            {"s": 0.2},
        ),
        Op(
            "leaky_relu_at_zero",
            lambda x: pg.leaky_relu(x, 0.3),
            lambda x: F.leaky_relu(x, 0.3),
            (((7,),),),
            choice(-1.0, 0.0, 1.0),
            {},
            False,
        ),
        Op("gelu", pg.gelu, F.gelu, UNARY, uniform(-4.0, 4.0)),
        Op(
            "gelu_tanh",
            lambda x: pg.gelu(x, approximate="tanh"),
            lambda x: F.gelu(x, approximate="tanh"),
            UNARY,
            uniform(-4.0, 4.0),
        ),
        Op("softplus", pg.softplus, F.softplus, UNARY, uniform(-4.0, 4.0)),
        Op(
            "softplus_beta_threshold",
            lambda x, beta, threshold: pg.softplus(x, beta=beta, threshold=threshold),
            lambda x, beta, threshold: F.softplus(x, beta=beta, threshold=threshold),
            UNARY,
            away_from(0.5),  # the switch to the identity, beta * x = threshold
            {"beta": 2.0, "threshold": 1.0},
        ),
        Op("logaddexp", pg.logaddexp, torch.logaddexp, BINARY),
        Op("maximum", pg.maximum, torch.maximum, BINARY),
        Op("minimum", pg.minimum, torch.minimum, BINARY),
        Op("maximum_method", lambda a, b: a.maximum(b), torch.maximum, BINARY[1:2]),
        # NOTE: ties split the gradient half and half, as torch
        Op(
            "maximum_ties", pg.maximum, torch.maximum, BINARY[:3], choice(-0.5, 0.0, 0.5), {}, False
        ),
        Op(
            "minimum_ties", pg.minimum, torch.minimum, BINARY[:3], choice(-0.5, 0.0, 0.5), {}, False
        ),
        Op(
            "clip",
            lambda x: pg.clip(x, -0.5, 0.5),
            lambda x: torch.clamp(x, -0.5, 0.5),
            UNARY,
            away_from(-0.5, 0.5),
        ),
        Op(
            "clip_max_only",
            lambda x: pg.clip(x, None, 0.3),
            lambda x: torch.clamp(x, None, 0.3),
            UNARY,
            away_from(0.3),
        ),
        Op(
            "clip_min_only",
            lambda x: x.clamp(min=-0.3),
            lambda x: torch.clamp(x, min=-0.3),
            UNARY,
            away_from(-0.3),
        ),
        # NOTE: the gradient passes at the bounds themselves, as torch's clamp
        Op(
            "clip_at_bounds",
            lambda x: pg.clip(x, -0.5, 0.5),
            lambda x: torch.clamp(x, -0.5, 0.5),
            (((3, 4),),),
            choice(-1.0, -0.5, 0.0, 0.5, 1.0),
            {},
            False,
        ),
        Op("where", pg.where, torch.where, WHERE, (boolean, normal, normal)),
        Op(
            "where_scalar_b",
            lambda c, a: pg.where(c, a, 0.0),
            lambda c, a: torch.where(c, a, 0.0),
            (((2, 3), (2, 3)), ((2, 1), (3,))),
            (boolean, normal),
        ),
        Op(
            "where_scalar_a",
            lambda c, b: pg.where(c, 1.5, b),
            lambda c, b: torch.where(c, 1.5, b),
            (((2, 3), (2, 3)), ((3,), (2, 1))),
            (boolean, normal),
        ),
    ]


REDUCE_AXES = (None, 1, -1, (0, 2), (-1, 0))


def _reduction(name, fn, ref, domain, *, zero_d=True, **extra) -> list[Op]:
    """Entries for one reduction over every axis spec and both keepdims."""
    specs = {(axis, keepdims): [((2, 3, 4),)] for axis in REDUCE_AXES for keepdims in (False, True)}
    for keepdims in (False, True):
        # a size-1 axis among the reduced ones (and N - correction stays positive)
        specs[((1, 2), keepdims)] = [((3, 1, 2),)]
    if zero_d:
        specs[(None, False)].append(((),))
    return [
        Op(
            f"{name}[axis={axis},keepdims={keepdims}]",
            fn,
            ref,
            tuple(shapes),
            domain,
            {"axis": axis, "keepdims": keepdims, **extra},
        )
        for (axis, keepdims), shapes in specs.items()
    ]


def _reductions() -> list[Op]:
    ops = []
    ops += _reduction(
        "sum", pg.sum, lambda x, axis, keepdims: torch.sum(x, _dims(x, axis), keepdims), normal
    )
    ops += _reduction(
        "mean", pg.mean, lambda x, axis, keepdims: torch.mean(x, _dims(x, axis), keepdims), normal
    )
    for c in (0, 1):
        ops += _reduction(
            f"var_c{c}",
            pg.var,
            lambda x, axis, keepdims, correction: torch.var(
                x, _dims(x, axis), correction=correction, keepdim=keepdims
            ),
            normal,
            zero_d=c == 0,  # a 0-d variance with correction 1 divides by zero
            correction=c,
        )
        ops += _reduction(
            f"std_c{c}",
            pg.std,
            lambda x, axis, keepdims, correction: torch.std(
                x, _dims(x, axis), correction=correction, keepdim=keepdims
            ),
            normal,
            zero_d=False,  # the gradient of a zero std is undefined
            correction=c,
        )
    ops += _reduction(
        "max", pg.amax, lambda x, axis, keepdims: torch.amax(x, _dims(x, axis), keepdims), distinct
    )
    ops += _reduction(
        "min", pg.amin, lambda x, axis, keepdims: torch.amin(x, _dims(x, axis), keepdims), distinct
    )
    ops += _reduction("prod", pg.prod, _torch_prod, product_friendly)
    for k in (1, 2):
        for axis in (None, -1, (0, 1)):
            ops.append(
                Op(
                    f"prod_{k}_zeros[axis={axis}]",
                    lambda x, axis: pg.prod(x, axis=axis),
                    lambda x, axis: _torch_prod(x, axis, False),
                    (((2, 4),),),
                    with_zeros(k),
                    {"axis": axis},
                )
            )
    ops.append(
        Op(
            "norm_composition",
            lambda x: pg.sqrt(pg.sum(x * x, axis=-1)),
            lambda x: torch.linalg.vector_norm(x, dim=-1),
            (((5,),), ((2, 3),)),
        )
    )
    ops += _reduction(
        "logsumexp",
        pg.logsumexp,
        lambda x, axis, keepdims: torch.logsumexp(x, _dims(x, axis), keepdims),
        normal,
    )
    for axis in (None, 1):
        # NOTE: tied extremes share the gradient evenly, as torch's amax / amin
        ops.append(
            Op(
                f"max_ties[axis={axis}]",
                lambda x, axis: pg.amax(x, axis=axis),
                lambda x, axis: torch.amax(x, _dims(x, axis)),
                (((3, 4),),),
                tied_extremes,
                {"axis": axis},
                False,
            )
        )
        ops.append(
            Op(
                f"min_ties[axis={axis}]",
                lambda x, axis: pg.amin(x, axis=axis),
                lambda x, axis: torch.amin(x, _dims(x, axis)),
                (((3, 4),),),
                tied_extremes,
                {"axis": axis},
                False,
            )
        )
    ops.append(
        Op(
            "sum_method",
            lambda x: x.sum(axis=0, keepdims=True),
            lambda x: x.sum(0, keepdim=True),
            (((2, 3),),),
        )
    )
    ops.append(
        Op("max_method", lambda x: x.max(dim=-1).values, lambda x: x.max(-1).values,
           (((2, 3),),), distinct)
    )
    for name, fn, ref in (
        ("softmax", pg.softmax, torch.softmax),
        ("log_softmax", pg.log_softmax, torch.log_softmax),
    ):
        for axis, shapes in (
            (-1, ((), (5,), (2, 3, 4))),
            (0, ((5,), (2, 3, 4))),
            (1, ((2, 3, 4),)),
        ):
            ops.append(
                Op(
                    f"{name}[axis={axis}]",
                    lambda x, axis, fn=fn: fn(x, axis=axis),
                    lambda x, axis, ref=ref: ref(x, dim=axis),
                    tuple((s,) for s in shapes),
                    uniform(-3.0, 3.0),
                    {"axis": axis},
                )
            )
    return ops


def _shape_ops() -> list[Op]:
    ops = [
        Op(
            "reshape",
            lambda x: pg.reshape(x, (4, -1, 2)),
            lambda x: x.reshape(4, -1, 2),
            (((2, 3, 4),),),
        ),
        Op("reshape_method", lambda x: x.reshape(3, 8), lambda x: x.reshape(3, 8), (((2, 3, 4),),)),
        Op("reshape_0d", lambda x: pg.reshape(x, (1, 1)), lambda x: x.reshape(1, 1), (((),),)),
        Op("reshape_to_0d", lambda x: pg.reshape(x, ()), lambda x: x.reshape(()), (((1, 1),),)),
        Op(
            "permute_dims",
            lambda x: pg.permute_dims(x, (2, 0, 1)),
            lambda x: torch.permute(x, (2, 0, 1)),
            (((2, 3, 4),),),
        ),
        Op(
            "permute_negative",
            lambda x: x.permute(-1, 0, 1),
            lambda x: torch.permute(x, (-1, 0, 1)),
            (((2, 3, 4),),),
        ),
        Op(
            "transpose",
            lambda x: pg.transpose(x, 0, 2),
            lambda x: torch.transpose(x, 0, 2),
            (((2, 3, 4),),),
        ),
        Op(
            "transpose_method",
            lambda x: x.transpose(-1, 0),
            lambda x: x.transpose(-1, 0),
            (((2, 3),),),
        ),
        Op("T", lambda x: x.T, _reverse_dims, (((2, 3),), ((2, 3, 4),))),
        Op("mT", lambda x: x.mT, lambda x: x.mT, (((2, 3),), ((2, 3, 4),))),
        Op("matrix_transpose", pg.matrix_transpose, lambda x: x.mT, (((4, 1, 3),),)),
        Op(
            "broadcast_to_2x3x4",
            lambda x: pg.broadcast_to(x, (2, 3, 4)),
            lambda x: torch.broadcast_to(x, (2, 3, 4)),
            (((3, 1),), ((),), ((4,),), ((1, 3, 4),)),
        ),
        Op(
            "expand_method",
            lambda x: x.expand(3, 4),
            lambda x: x.expand(3, 4),
            (((1, 4),), ((3, 1),)),
        ),
        Op("flatten", pg.flatten, torch.flatten, (((2, 3, 4),), ((),), ((5,),))),
        Op(
            "flatten_from_1",
            lambda x: pg.flatten(x, start_dim=1),
            lambda x: torch.flatten(x, 1),
            (((2, 3, 4),),),
        ),
        Op(
            "flatten_0_1",
            lambda x: x.flatten(0, 1),
            lambda x: torch.flatten(x, 0, 1),
            (((2, 3, 4),),),
        ),
        Op("squeeze_all", pg.squeeze, torch.squeeze, (((1, 3, 1, 2),), ((1,),))),
        Op(
            "squeeze_axis",
            lambda x: pg.squeeze(x, axis=2),
            lambda x: torch.squeeze(x, 2),
            (((1, 3, 1, 2),),),
        ),
        Op(
            "squeeze_axes",
            lambda x: x.squeeze(axis=(0, -2)),
            lambda x: torch.squeeze(x, (0, -2)),
            (((1, 3, 1, 2),),),
        ),
        Op(
            "pad_last",
            lambda x: pg.pad(x, (1, 2)),
            lambda x: F.pad(x, (1, 2)),
            (((2, 3),), ((3,),)),
        ),
        Op(
            "pad_two_axes_value",
            lambda x: pg.pad(x, (1, 0, 2, 1), value=0.5),
            lambda x: F.pad(x, (1, 0, 2, 1), value=0.5),
            (((2, 3, 4),), ((2, 3),)),
        ),
        Op(
            "pad_zero_width",
            lambda x: pg.pad(x, (0, 0, 0, 2), value=-1.0),
            lambda x: F.pad(x, (0, 0, 0, 2), value=-1.0),
            (((2, 3),),),
        ),
        Op(
            "astype_to_float32",
            lambda x: pg.astype(x, pg.float32),
            lambda x: x.float(),
            UNARY,
            normal,
            {},
            False,
        ),
        Op("astype_to_float64", lambda x: pg.astype(x, pg.float64), lambda x: x.double(), UNARY),
        Op("double_method", lambda x: x.double(), lambda x: x.double(), UNARY[2:3]),
        Op("float_method", lambda x: x.float(), lambda x: x.float(), UNARY[2:3], normal, {}, False),
    ]
    for axis in (0, -1, 1):
        ops.append(
            Op(
                f"expand_dims[axis={axis}]",
                lambda x, axis: pg.expand_dims(x, axis=axis),
                lambda x, axis: torch.unsqueeze(x, axis),
                (((2, 3),), ((5,),)),
                normal,
                {"axis": axis},
            )
        )
    ops.append(
        Op("expand_dims_0d", lambda x: pg.expand_dims(x, 0), lambda x: x.unsqueeze(0), (((),),))
    )
    ops.append(
        Op("unsqueeze_method", lambda x: x.unsqueeze(-2), lambda x: x.unsqueeze(-2), (((2, 3),),))
    )
    for axis, shapes in (
        (0, (((2, 3), (4, 3), (1, 3)), ((2,), (3,)))),
        (-1, (((2, 1), (2, 3)),)),
        (1, (((2, 2, 3), (2, 1, 3)),)),
    ):
        ops.append(
            Op(
                f"concat[axis={axis}]",
                lambda *xs, axis: pg.concat(list(xs), axis=axis),
                lambda *xs, axis: torch.cat(list(xs), dim=axis),
                shapes,
                normal,
                {"axis": axis},
            )
        )
    for axis, shapes in (
        (0, (((2, 3), (2, 3), (2, 3)), ((), ()))),
        (-1, (((2, 3), (2, 3)),)),
        (1, (((4,), (4,), (4,)),)),
    ):
        ops.append(
            Op(
                f"stack[axis={axis}]",
                lambda *xs, axis: pg.stack(list(xs), axis=axis),
                lambda *xs, axis: torch.stack(list(xs), dim=axis),
                shapes,
                normal,
                {"axis": axis},
            )
        )
    for sections, axis, shape in (
        (2, 0, (5, 4)),
        ([1, 3], 1, (5, 4)),
        (4, 0, (6,)),
        (3, -1, (2, 6)),
    ):
        ops.append(
            Op(
                f"split[{sections},axis={axis}]",
                lambda x, sections, axis: pg.split(x, sections, axis=axis),
                lambda x, sections, axis: torch.split(x, sections, dim=axis),
                ((shape,),),
                normal,
                {"sections": sections, "axis": axis},
            )
        )
    ops.append(
        Op(
            "split_method",
            lambda x: x.split(2, axis=1),
            lambda x: x.split(2, dim=1),
            (((3, 5),),),
        )
    )
    return ops


def _indexing() -> list[Op]:
    idx = np.array([0, 2, 0, 3, 0])  # repeated: the gradient must accumulate
    getitem = lambda x, key: x[key]
    keys: list[tuple[str, Any, Shape, frozenset[str] | None]] = [
        ("slice_partial", slice(1, 3), (4, 5), None),
        ("slice_steps", (slice(None, None, 2), slice(1, None, 2)), (4, 5), None),
        ("slice_start_stop_step", (slice(1, 4, 2), slice(None), slice(-3, None)), (4, 3, 5), None),
        ("int_partial", 1, (4, 5), None),
        ("ints_full", (-1, 2), (4, 5), None),
        ("int_slice", (2, slice(1, 4)), (4, 5), None),
        ("none", (None, slice(None), None, slice(None)), (4, 5), None),
        ("ellipsis_int", (Ellipsis, 1), (3, 4, 5), None),
        ("int_ellipsis_none", (0, Ellipsis, None), (3, 4, 5), None),
        (
            "none_slice_ellipsis_step",
            (None, slice(1, 3), Ellipsis, slice(None, None, 2)),
            (3, 4, 5),
            None,
        ),
        ("int_array_repeated", idx, (4, 5), None),
        ("int_array_1d_repeated", np.array([1, 1, 0, 4, 1]), (5,), None),
        ("int_array_negative", np.array([-1, 0, -1]), (4, 5), None),
        ("int_array_2d", np.array([[0, 3], [3, 3]]), (4, 5), None),
        ("int_array_list", [0, 2, 2], (4, 5), None),
        ("slice_then_int_array", (slice(None), idx), (4, 5), None),
        ("int_arrays_pairs", (np.array([0, 2, 0, 0]), np.array([1, 1, 1, 4])), (4, 5), None),
        ("int_and_int_array", (1, idx), (4, 5), None),
        ("int_array_then_ellipsis", (idx, Ellipsis), (4, 3, 2), None),
        ("bool_mask_full", "mask", (4, 5), None),
        ("bool_mask_rows", np.array([True, False, True, True]), (4, 5), None),
        # keys that mix an integer array with a partial slice or an ellipsis in front:
        # array-api-strict refuses them (see test_ops.test_strict_refuses_mixed_keys)
        ("ellipsis_then_int_array", (Ellipsis, idx), (3, 4, 5), NON_STRICT),
        ("int_array_then_partial_slice", (idx, slice(1, 3)), (4, 5), NON_STRICT),
    ]
    rng = np.random.default_rng(1)
    ops = []
    for name, key, shape, backends in keys:
        if isinstance(key, str):
            key = rng.random(shape) < 0.5
        ops.append(
            Op(
                f"getitem[{name}]",
                getitem,
                getitem,
                ((shape,),),
                normal,
                {"key": key},
                True,
                backends,
            )
        )
    for axis, shape in ((0, (4, 3)), (1, (3, 4)), (None, (4,))):
        ops.append(
            Op(
                f"take[axis={axis}]",
                lambda x, index, axis: pg.take(x, index, axis=axis),
                lambda x, index, axis: torch.index_select(x, axis or 0, index),
                ((shape,),),
                normal,
                {"index": np.array([3, 0, 3, 1]), "axis": axis},
            )
        )
    return ops


def _array_api() -> list[Op]:
    """The functions polygrad.array_api adds to the ops above, against torch's."""
    import polygrad.array_api as xp

    def unary(name, ref, domain=normal):
        return Op(f"xp.{name}", getattr(xp, name), ref, UNARY, domain)

    def binary(name, ref, domain=normal):
        return Op(f"xp.{name}", getattr(xp, name), ref, BINARY, domain)

    inside = uniform(-0.9, 0.9)
    matrix = (((3, 4),), ((2, 3, 4),))
    ops = [
        unary("acos", torch.acos, inside),
        unary("asin", torch.asin, inside),
        unary("atan", torch.atan),
        unary("acosh", torch.acosh, uniform(1.2, 3.0)),
        unary("asinh", torch.asinh),
        unary("atanh", torch.atanh, inside),
        unary("cosh", torch.cosh),
        unary("sinh", torch.sinh),
        unary("tan", torch.tan, uniform(-1.2, 1.2)),
        unary("expm1", torch.expm1),
        unary("log2", torch.log2, positive),
        unary("log10", torch.log10, positive),
        unary("reciprocal", torch.reciprocal, away_from_zero),
        unary("square", torch.square),
        unary("positive", torch.positive),
        # piecewise constant: zero gradient, as torch (away from the jumps)
        unary("floor", torch.floor, away_from(-1.0, 0.0, 1.0)),
        unary("ceil", torch.ceil, away_from(-1.0, 0.0, 1.0)),
        unary("trunc", torch.trunc, away_from(-1.0, 0.0, 1.0)),
        unary("round", torch.round, away_from(-1.5, -0.5, 0.5, 1.5)),
        binary("atan2", torch.atan2, (normal, away_from_zero)),
        binary("hypot", torch.hypot, (away_from_zero, away_from_zero)),
        binary("copysign", torch.copysign, (away_from_zero, away_from_zero)),
        binary("remainder", torch.remainder, (normal, uniform(0.7, 1.3))),
    ]
    shape_ops = [
        ("flip", lambda x: xp.flip(x, axis=-1), lambda t: t.flip(-1)),
        ("flip_all", xp.flip, lambda t: t.flip(tuple(range(t.ndim)))),
        ("roll", lambda x: xp.roll(x, (1, -2), axis=(0, -1)), lambda t: t.roll((1, -2), (0, -1))),
        ("roll_flat", lambda x: xp.roll(x, 3), lambda t: t.roll(3)),
        ("moveaxis", lambda x: xp.moveaxis(x, 0, -1), lambda t: t.movedim(0, -1)),
        ("repeat", lambda x: xp.repeat(x, 2, axis=-1), lambda t: t.repeat_interleave(2, -1)),
        ("tile", lambda x: xp.tile(x, (2, 1)), lambda t: t.tile((2, 1))),
        ("tril", lambda x: xp.tril(x, k=1), lambda t: t.tril(1)),
        ("triu", lambda x: xp.triu(x, k=-1), lambda t: t.triu(-1)),
        ("sort", lambda x: xp.sort(x, axis=-1), lambda t: t.sort(-1).values),
        (
            "sort_descending",
            lambda x: xp.sort(x, axis=0, descending=True),
            lambda t: t.sort(0, descending=True).values,
        ),
        ("cumulative_sum", lambda x: xp.cumulative_sum(x, axis=-1), lambda t: t.cumsum(-1)),
        ("cumulative_prod", lambda x: xp.cumulative_prod(x, axis=-1), lambda t: t.cumprod(-1)),
        ("diff", lambda x: xp.diff(x, axis=-1, n=2), lambda t: torch.diff(t, n=2, dim=-1)),
        ("unstack", lambda x: xp.unstack(x, axis=-2)[1], lambda t: t.unbind(-2)[1]),
        (
            "take_along_axis",
            lambda x: xp.take_along_axis(x, xp.asarray([[0, 3, -1, 0]] * 3), axis=-1),
            lambda t: t.gather(-1, torch.tensor([[0, 3, 3, 0]] * 3)),
        ),
    ]
    for name, fn, ref in shape_ops:
        domain = distinct if name.startswith("sort") else normal
        shapes = matrix[:1] if name == "take_along_axis" else matrix
        ops.append(Op(f"xp.{name}", fn, ref, shapes, domain))
    ops.append(
        Op("xp.cumulative_prod_zeros", lambda x: xp.cumulative_prod(x, axis=-1),
           lambda t: t.cumprod(-1), (((3, 5),),), with_zeros(1))
    )  # fmt: skip
    return ops


OPS: list[Op] = (
    _arithmetic() + _elementwise() + _reductions() + _shape_ops() + _indexing() + _array_api()
)
