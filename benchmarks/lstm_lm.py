"""Case 7 of benchmarks/run.py: the word-level LSTM language model of PyTorch's
word_language_model example (2-layer LSTM, hidden 256, embedding 200, vocabulary 10k), one
SGD training step on a batch of 35 steps x 20 sequences, polygrad against torch eager.

polygrad runs it twice: with the recurrence as one fused graph node per layer (the default)
and with the same scan recorded op by op (``polygrad.ops.recurrent.FUSED = False``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F
import polygrad.optim as optim
from polygrad.ops import recurrent

VOCAB, EMBED, HIDDEN, LAYERS, STEPS, BATCH = 10_000, 200, 256, 2, 35, 20
LR = 1.0


class WordLM(nn.Module):
    """Embedding -> LSTM -> Linear decoder over the vocabulary."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Embedding(VOCAB, EMBED)
        self.rnn = nn.LSTM(EMBED, HIDDEN, LAYERS)
        self.decoder = nn.Linear(HIDDEN, VOCAB)

    def forward(self, x: pg.Tensor) -> pg.Tensor:
        out, _ = self.rnn(self.encoder(x))
        return self.decoder(pg.reshape(out, (-1, HIDDEN)))


class TorchWordLM(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = torch.nn.Embedding(VOCAB, EMBED)
        self.rnn = torch.nn.LSTM(EMBED, HIDDEN, LAYERS)
        self.decoder = torch.nn.Linear(HIDDEN, VOCAB)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.encoder(x))
        return self.decoder(out.reshape(-1, HIDDEN))


def batch(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, VOCAB, (STEPS, BATCH)), rng.integers(0, VOCAB, (STEPS * BATCH,))


class PolygradLM:
    """zero_grad, forward, cross-entropy, backward, SGD step; ``fused`` picks the recurrence."""

    def __init__(self, model: WordLM, x: np.ndarray, y: np.ndarray, fused: bool) -> None:
        self.model, self.fused = model, fused
        self.opt = optim.SGD(list(model.parameters()), lr=LR)
        self.x, self.y = pg.tensor(x), pg.tensor(y)
        self._loss: Any = None

    def _forward(self) -> None:
        recurrent.FUSED = self.fused
        try:
            self.opt.zero_grad()
            self._loss = F.cross_entropy(self.model(self.x), self.y)
        finally:
            recurrent.FUSED = True

    def _backward(self) -> None:
        self._loss.backward()

    def _optimizer(self) -> None:
        self.opt.step()

    def step(self) -> Any:
        self._forward()
        loss = self._loss
        self._backward()
        self._optimizer()
        self._loss = None
        return loss

    def phases(self) -> list:
        return [("forward+loss", self._forward), ("backward", self._backward),
                ("optimizer", self._optimizer)]  # fmt: skip

    def checked_step(self) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        loss = self.step()
        ps = list(self.model.parameters())
        return loss.item(), [p.grad.numpy() for p in ps], [p.numpy() for p in ps]


class TorchLM:
    def __init__(self, model: TorchWordLM, x: np.ndarray, y: np.ndarray) -> None:
        self.model = model
        self.opt = torch.optim.SGD(model.parameters(), lr=LR)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self._loss: Any = None

    def _forward(self) -> None:
        self.opt.zero_grad()
        self._loss = torch.nn.functional.cross_entropy(self.model(self.x), self.y)

    def _backward(self) -> None:
        self._loss.backward()

    def _optimizer(self) -> None:
        self.opt.step()

    def step(self) -> Any:
        self._forward()
        loss = self._loss
        self._backward()
        self._optimizer()
        self._loss = None
        return loss

    def phases(self) -> list:
        return [("forward+loss", self._forward), ("backward", self._backward),
                ("optimizer", self._optimizer)]  # fmt: skip

    def checked_step(self) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        loss = self.step()
        ps = list(self.model.parameters())
        return loss.item(), [p.grad.numpy() for p in ps], [p.detach().numpy() for p in ps]


def trainers(dtype: Any, seed: int = 0) -> dict[str, Any]:
    """polygrad (fused and composed) and torch trainers from the same initial parameters."""
    x, y = batch(seed)
    pg.manual_seed(seed)
    models = [WordLM().to(dtype), WordLM().to(dtype)]
    state = models[0].state_dict()
    models[1].load_state_dict(state)
    tmodel = TorchWordLM().to(torch.float64 if dtype == pg.float64 else torch.float32)
    tmodel.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in state.items()})
    return {
        "polygrad": PolygradLM(models[0], x, y, fused=True),
        "torch": TorchLM(tmodel, x, y),
        "polygrad composed": PolygradLM(models[1], x, y, fused=False),
    }
