"""MLP: a Sequential of Linear, optional BatchNorm1d, activation and Dropout layers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .activation import GELU, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh
from .container import Sequential
from .dropout import Dropout
from .linear import Identity, Linear
from .module import Module
from .normalization import BatchNorm1d

ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "gelu": GELU,
    "softplus": Softplus,
    "identity": Identity,
}


class MLP(Sequential):
    """A multilayer perceptron: for each hidden size, Linear, then BatchNorm1d (if
    ``batchnorm``), the activation, and Dropout (if ``dropout > 0``); then a last Linear.

    It is a :class:`Sequential`, so its parameter names (``"0.weight"`` ...) are those of the
    same torch ``nn.Sequential``.

    Parameters
    ----------
    in_features, out_features : int
    hidden_sizes : int or sequence of int
    activation : str or callable returning a Module
        One of relu, leaky_relu, tanh, sigmoid, gelu, softplus, identity, or e.g.
        ``lambda: nn.LeakyReLU(0.2)``.
    dropout : float
    batchnorm : bool

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> mlp = nn.MLP(4, [16, 16], 3, activation="tanh", dropout=0.1)
    >>> mlp(polygrad.randn(5, 4)).shape
    (5, 3)
    >>> [type(m).__name__ for m in mlp]
    ['Linear', 'Tanh', 'Dropout', 'Linear', 'Tanh', 'Dropout', 'Linear']
    """

    def __init__(
        self,
        in_features: int,
        hidden_sizes: int | Sequence[int],
        out_features: int,
        activation: str | Callable[[], Module] = "relu",
        dropout: float = 0.0,
        batchnorm: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if isinstance(activation, str):
            if activation not in ACTIVATIONS:
                raise ValueError(
                    f"MLP: unknown activation {activation!r}; use one of "
                    f"{', '.join(ACTIVATIONS)} or pass a callable returning a Module"
                )
            make_activation: Callable[[], Module] = ACTIVATIONS[activation]
        else:
            make_activation = activation
        sizes = [hidden_sizes] if isinstance(hidden_sizes, int) else list(hidden_sizes)
        layers: list[Module] = []
        prev = in_features
        for size in sizes:
            layers.append(Linear(prev, size, device=device, dtype=dtype))
            if batchnorm:
                layers.append(BatchNorm1d(size, device=device, dtype=dtype))
            layers.append(make_activation())
            if dropout > 0:
                layers.append(Dropout(dropout))
            prev = size
        layers.append(Linear(prev, out_features, device=device, dtype=dtype))
        super().__init__(*layers)
