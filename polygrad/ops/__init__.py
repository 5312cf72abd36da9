"""Every differentiable op, one module per family; each op's forward sits beside its
vector-Jacobian rule.

Rules use only the array API standard, so each runs on raw backend arrays (ordinary backward)
and on Tensors (``create_graph=True``). ``g`` is the incoming gradient. The engine undoes
broadcasting and casts dtypes, so binary rules stay one line.

- ``elementwise``: arithmetic, transcendental functions, activations, comparisons
- ``linalg``: matrix products, norms and the linalg composites (outer, tensordot, trace ...)
- ``decomp``: decompositions (cholesky, det, inv, solve, qr, svd, eigh) and what is built on them
- ``reduction``: sums, means, variances, extrema, products, softmax
- ``shape``: reshape, permute, broadcast, concat, pad (views and copies)
- ``indexing``: ``x[key]``, ``take``, ``add_at``
- ``methods``: the Tensor methods and operators built on the above
"""

from . import methods  # noqa: F401  (attaches the Tensor methods)
from ._common import astype
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
