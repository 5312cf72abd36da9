"""``dropout``: inverted dropout with a mask drawn on the input's device."""

from __future__ import annotations

import polygrad as pg
from polygrad import Tensor

from ..._checks import check_probability
from ._utils import creating_like


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by
    ``1 / (1 - p)``; the identity when ``training`` is False.

    The mask is ``polygrad.rand(x.shape, dtype=x.dtype) >= p`` drawn on ``x``'s
    device, so it is reproducible under ``polygrad.manual_seed``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> x = polygrad.ones(1000)
    >>> y = F.dropout(x, 0.5)
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> F.dropout(x, 0.5, training=False) is x
    True
    """
    p = check_probability(p, "dropout")
    if p != p:  # nan passes torch's Python check and fails its kernel, in eval mode too
        raise RuntimeError(f"dropout: dropout probability has to be between 0 and 1, but got p={p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    with creating_like(x):
        u = pg.rand(x.shape, dtype=x.dtype)
    scale = pg.astype(u >= p, x.dtype) * (1.0 / (1.0 - p))
    return x * scale
