"""Identity and Linear."""

from __future__ import annotations

import math
from typing import Any

import polygrad as pg
from polygrad import Tensor

from ..._checks import check_int
from .. import functional as F
from .. import init
from .module import Module, Parameter


class Identity(Module):
    """Returns its input unchanged (accepts and ignores any constructor arguments).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> x = polygrad.ones(2)
    >>> nn.Identity()(x) is x
    True
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Linear(Module):
    """``y = x @ weight.T + bias`` with ``weight`` of shape (out_features, in_features).

    Initialized as torch: weight by ``kaiming_uniform_(a=sqrt(5))``, bias by
    U(-1/sqrt(in_features), 1/sqrt(in_features)).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> layer = nn.Linear(4, 3)
    >>> layer.weight.shape, layer.bias.shape
    ((3, 4), (3,))
    >>> layer(polygrad.ones(2, 4)).shape
    (2, 3)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in_features = n_in = check_int(in_features, "Linear", "in_features", minimum=0)
        self.out_features = n_out = check_int(out_features, "Linear", "out_features", minimum=0)
        self.weight = Parameter(pg.empty(n_out, n_in, dtype=dtype, device=device))
        self.bias = Parameter(pg.empty(n_out, dtype=dtype, device=device)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the parameters with torch's default initialization."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{self._header()}: expected input with last dimension {self.in_features}, "
                f"got shape {x.shape}"
            )
        return F.linear(x, self.weight, self.bias)
