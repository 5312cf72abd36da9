"""Model builders shared by the examples and the benchmarks.

Two models classify the bundled 8x8 digits (``polygrad.data.load_digits``) into 10 classes:

- :func:`digits_mlp` reads flattened images, shape (N, 64);
- :func:`digits_cnn` reads images with a channel axis, shape (N, 1, 8, 8).

Two model the next character of a text (``examples/char_lm.py``): they read (N, T) character
ids and return (N, T, vocab) logits, position t predicting character t + 1:

- :class:`CharLSTM`: Embedding, LSTM, Linear;
- :class:`CharGPT`: a small GPT (pre-norm Transformer blocks with causal self-attention).

Examples
--------
>>> import polygrad
>>> from models import digits_cnn, digits_mlp
>>> digits_mlp()(polygrad.zeros(2, 64)).shape
(2, 10)
>>> digits_cnn()(polygrad.zeros(2, 1, 8, 8)).shape
(2, 10)
>>> ids = polygrad.zeros(2, 16, dtype=polygrad.int64)
>>> CharLSTM(65)(ids)[0].shape
(2, 16, 65)
>>> CharGPT(65, context=16)(ids).shape
(2, 16, 65)
"""

from __future__ import annotations

from collections.abc import Sequence

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F

__all__ = ["digits_mlp", "digits_cnn", "CharLSTM", "CharGPT", "CausalSelfAttention"]

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


class CharLSTM(nn.Module):
    """A character-level LSTM language model: Embedding, ``layers`` LSTM layers, Linear.

    ``forward(ids, state=None)`` returns the logits and the LSTM's final ``(h, c)``, which the
    next call can continue from (generation feeds one character at a time).
    """

    def __init__(
        self, vocab: int, embed: int = 64, hidden: int = 256, layers: int = 1, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(
            embed, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.head = nn.Linear(hidden, vocab)

    def forward(
        self, ids: pg.Tensor, state: tuple[pg.Tensor, pg.Tensor] | None = None
    ) -> tuple[pg.Tensor, tuple[pg.Tensor, pg.Tensor]]:
        out, state = self.lstm(self.embed(ids), state)
        return self.head(out), state


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position t sees only positions <= t.

    One Linear projects to queries, keys and values; the heads are split off and
    ``F.scaled_dot_product_attention(is_causal=True)`` scores, masks the future, softmaxes
    and mixes the values; a second Linear projects the joined heads back.
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"the embedding size {dim} is not a multiple of heads={heads}")
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: pg.Tensor) -> pg.Tensor:
        n, t, dim = x.shape
        # (n, t, 3 * dim) -> 3 x (n, heads, t, dim / heads)
        q, k, v = self.qkv(x).view(n, t, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        p = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        return self.proj(out.transpose(1, 2).reshape(n, t, dim))


class Block(nn.Module):
    """A pre-norm Transformer block: x + attention(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = CausalSelfAttention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim), nn.Dropout(dropout)
        )

    def forward(self, x: pg.Tensor) -> pg.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class CharGPT(nn.Module):
    """A small GPT over characters: token and position embeddings, ``layers`` pre-norm
    blocks, a final LayerNorm and a Linear head (its weight tied to the token embedding's
    with ``tie_weights``). It reads at most ``context`` characters at a time."""

    def __init__(
        self,
        vocab: int,
        context: int,
        dim: int = 64,
        layers: int = 2,
        heads: int = 4,
        dropout: float = 0.0,
        tie_weights: bool = False,
    ) -> None:
        super().__init__()
        self.context = context
        self.token = nn.Embedding(vocab, dim)
        self.position = nn.Embedding(context, dim)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.Sequential(*(Block(dim, heads, dropout) for _ in range(layers)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=not tie_weights)
        if tie_weights:
            self.head.weight = self.token.weight  # (vocab, dim) both

    def forward(self, ids: pg.Tensor) -> pg.Tensor:
        t = ids.shape[1]
        if t > self.context:
            raise ValueError(f"CharGPT reads at most {self.context} characters, got {t}")
        positions = pg.arange(t, device=ids.device)
        x = self.dropout(self.token(ids) + self.position(positions))
        return self.head(self.norm(self.blocks(x)))
