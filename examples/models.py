"""Model builders shared by the examples and the benchmarks.

Both models classify the bundled 8x8 digits (``polygrad.data.load_digits``) into 10 classes:

- :func:`digits_mlp` reads flattened images, shape (N, 64);
- :func:`digits_cnn` reads images with a channel axis, shape (N, 1, 8, 8).

Examples
--------
>>> import polygrad
>>> from models import digits_cnn, digits_mlp
>>> digits_mlp()(polygrad.zeros(2, 64)).shape
(2, 10)
>>> digits_cnn()(polygrad.zeros(2, 1, 8, 8)).shape
(2, 10)
"""

from __future__ import annotations

from collections.abc import Sequence

import polygrad.nn as nn

__all__ = ["digits_mlp", "digits_cnn"]

N_PIXELS, N_CLASSES = 8 * 8, 10


def digits_mlp(
    hidden: Sequence[int] = (128, 64), batchnorm: bool = False, dropout: float = 0.0
) -> nn.MLP:
    """A ReLU multilayer perceptron 64 -> ``hidden`` -> 10 for flattened digit images.

    Parameters
    ----------
    hidden : sequence of int
        Sizes of the hidden layers.
    batchnorm : bool
        Put a BatchNorm1d after each hidden Linear.
    dropout : float
        Dropout probability after each hidden activation (0 for none).

    Returns
    -------
    nn.MLP
        Takes (N, 64) float inputs, returns (N, 10) logits.
    """
    return nn.MLP(N_PIXELS, list(hidden), N_CLASSES, batchnorm=batchnorm, dropout=dropout)


def digits_cnn() -> nn.Sequential:
    """A small convolutional network for (N, 1, 8, 8) digit images.

    Two 3x3 convolutions (16 then 32 channels, each followed by ReLU and 2x2 max pooling)
    turn the 8x8 image into 32 feature maps of 2x2, which two Linear layers classify.

    Returns
    -------
    nn.Sequential
        Takes (N, 1, 8, 8) float inputs, returns (N, 10) logits.
    """
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),  # (N, 16, 8, 8)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 16, 4, 4)
        nn.Conv2d(16, 32, 3, padding=1),  # (N, 32, 4, 4)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 32, 2, 2)
        nn.Flatten(),  # (N, 128)
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Linear(64, N_CLASSES),
    )
