"""Every differentiable op, one module per family; each op's forward sits beside its
vector-Jacobian rule.

Rules use only the array API standard, so each runs on raw backend arrays (ordinary backward)
and on Tensors (``create_graph=True``). ``g`` is the incoming gradient. The engine undoes
broadcasting and casts dtypes, so binary rules stay one line.

- ``elementwise``: arithmetic, transcendental functions, activations, comparisons
- ``mathfn``: the standard's other elementwise functions (inverse trig, rounding, bitwise ...)
- ``arrange``: flip, roll, repeat, tile, sort, scans, take_along_axis, searching and sets
- ``linalg``: matrix products, norms and the linalg composites (outer, tensordot, trace ...)
- ``decomp``: decompositions (cholesky, det, inv, solve, qr, svd, eigh) and what is built on them
- ``reduction``: sums, means, variances, extrema, products, softmax
- ``shape``: reshape, permute, broadcast, concat, pad (views and copies)
- ``indexing``: ``x[key]``, ``take``, ``add_at``
- ``methods``: the Tensor methods and operators built on the above
"""

from . import methods  # noqa: F401  (attaches the Tensor methods)
from ._common import astype
from .arrange import (
    argsort,
    broadcast_arrays,
    broadcast_shapes,
    count_nonzero,
    cumulative_prod,
    cumulative_sum,
    diff,
    flip,
    isin,
    meshgrid,
    moveaxis,
    nonzero,
    repeat,
    roll,
    searchsorted,
    sort,
    take_along_axis,
    tile,
    tril,
    triu,
    unique_all,
    unique_counts,
    unique_inverse,
    unique_values,
    unstack,
)
from .elementwise import (
    abs,
    add,
    clip,
    cos,
    divide,
    equal,
    erf,
    exp,
    gelu,
    greater,
    greater_equal,
    isfinite,
    isnan,
    leaky_relu,
    less,
    less_equal,
    log,
    log1p,
    logaddexp,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    pow,
    relu,
    sigmoid,
    sign,
    sin,
    softplus,
    sqrt,
    subtract,
    tanh,
    where,
)
from .indexing import add_at, getitem, take
from .linalg import matmul
from .mathfn import (
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_invert,
    bitwise_left_shift,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    ceil,
    conj,
    copysign,
    cosh,
    expm1,
    floor,
    floor_divide,
    fmod,
    hypot,
    imag,
    isinf,
    log2,
    log10,
    nextafter,
    positive,
    real,
    reciprocal,
    remainder,
    round,
    signbit,
    sinh,
    square,
    tan,
    trunc,
)
from .reduction import (
    all,
    any,
    argmax,
    argmin,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    prod,
    softmax,
    std,
    sum,
    var,
)
from .shape import (
    broadcast_to,
    clone,
    concat,
    expand_dims,
    flatten,
    matrix_transpose,
    pad,
    permute_dims,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
)
from .special import digamma, erfc, erfinv, lgamma, logit, xlogy
