"""Case 9 of benchmarks/run.py: the convolutional net of PyTorch's MNIST example (two 3x3
convolutions 1-32-64, 2x2 max pooling, linear 9216-128-10) on a batch of 64 28x28 images, one
SGD training step (zero_grad, forward, cross-entropy, backward, step), polygrad against torch
eager. Dropout is left out so both sides compute the same step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F
import polygrad.optim as optim

BATCH, SIDE, CLASSES = 64, 28, 10
LR = 0.01


def _layers(lib: Any) -> list:
    return [
        lib.Conv2d(1, 32, 3, 1),
        lib.ReLU(),
        lib.Conv2d(32, 64, 3, 1),
        lib.ReLU(),
        lib.MaxPool2d(2),
        lib.Flatten(),
        lib.Linear(9216, 128),
        lib.ReLU(),
        lib.Linear(128, CLASSES),
    ]


def batch(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, 1, SIDE, SIDE))
    return x, rng.integers(0, CLASSES, (BATCH,))


class Trainer:
    """zero_grad, forward, cross-entropy, backward, SGD step, for either library."""

    def __init__(self, lib: Any, model: Any, x: Any, y: Any) -> None:
        self.lib, self.model, self.x, self.y = lib, model, x, y
        self.torch = lib is torch
        self.opt = (torch.optim if self.torch else optim).SGD(list(model.parameters()), lr=LR)
        self._loss: Any = None

    def _forward(self) -> None:
        self.opt.zero_grad()
        ce = torch.nn.functional.cross_entropy if self.torch else F.cross_entropy
        self._loss = ce(self.model(self.x), self.y)

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
        if self.torch:
            return loss.item(), [p.grad.numpy() for p in ps], [p.detach().numpy() for p in ps]
        return loss.item(), [p.grad.numpy() for p in ps], [p.numpy() for p in ps]


def trainers(dtype: Any, seed: int = 0) -> dict[str, Any]:
    """polygrad and torch trainers from the same initial parameters and batch."""
    x, y = batch(seed)
    np_dtype = "float64" if dtype == pg.float64 else "float32"
    t_dtype = torch.float64 if dtype == pg.float64 else torch.float32
    pg.manual_seed(seed)
    model = nn.Sequential(*_layers(nn)).to(dtype)
    tmodel = torch.nn.Sequential(*_layers(torch.nn)).to(t_dtype)
    tmodel.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in model.state_dict().items()})
    xs = x.astype(np_dtype)
    return {
        "polygrad": Trainer(pg, model, pg.tensor(xs), pg.tensor(y)),
        "torch": Trainer(torch, tmodel, torch.from_numpy(xs), torch.from_numpy(y)),
    }
