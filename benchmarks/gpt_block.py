"""Case 10 of benchmarks/run.py: one nanoGPT-style transformer block (n_embd 128, 4 heads,
sequence 64, batch 16, exact GELU) between token + position embeddings (vocabulary 65) and a
final LayerNorm + Linear head, one AdamW training step (zero_grad, forward, cross-entropy on
random targets, backward, step), polygrad against torch eager.

The block is pre-norm, as nanoGPT writes it: ``x + attn(ln_1(x))`` then ``x + mlp(ln_2(x))``;
attention is one Linear ``c_attn`` giving q, k and v, ``F.scaled_dot_product_attention`` with
``is_causal=True``, then ``c_proj``; the MLP is ``c_fc`` (4 x n_embd), ``nn.GELU()`` (exact) and
``c_proj``. Dropout is left out (nanoGPT's default 0.0) and the head is not tied to the token
embedding, so both sides hold the same independent parameters.

Run alone: ``python benchmarks/gpt_block.py`` (the same as ``run.py --cases 10``).
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import torch

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F
import polygrad.optim as optim

VOCAB, EMBED, HEADS, BLOCK, BATCH = 65, 128, 4, 64, 16
LR = 3e-4
LOSS_RTOL = 1e-5  # first-step loss, polygrad vs torch, float32


def _gpt(lib: Any, functional: Any, reshape: Any, split: Any, transpose: Any) -> Any:
    """The same model for either library: ``lib`` is ``polygrad.nn`` or ``torch.nn``, and the
    three tensor functions are the library's own (``x.view``/``split``/``transpose`` style)."""

    class CausalSelfAttention(lib.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c_attn = lib.Linear(EMBED, 3 * EMBED)
            self.c_proj = lib.Linear(EMBED, EMBED)

        def forward(self, x: Any) -> Any:
            b, t, c = x.shape
            q, k, v = split(self.c_attn(x), EMBED, 2)
            q, k, v = (transpose(reshape(z, (b, t, HEADS, c // HEADS)), 1, 2) for z in (q, k, v))
            y = functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(reshape(transpose(y, 1, 2), (b, t, c)))

    class MLP(lib.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c_fc = lib.Linear(EMBED, 4 * EMBED)
            self.gelu = lib.GELU()
            self.c_proj = lib.Linear(4 * EMBED, EMBED)

        def forward(self, x: Any) -> Any:
            return self.c_proj(self.gelu(self.c_fc(x)))

    class Block(lib.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1 = lib.LayerNorm(EMBED)
            self.attn = CausalSelfAttention()
            self.ln_2 = lib.LayerNorm(EMBED)
            self.mlp = MLP()

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(lib.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = lib.Embedding(VOCAB, EMBED)
            self.wpe = lib.Embedding(BLOCK, EMBED)
            self.h = Block()
            self.ln_f = lib.LayerNorm(EMBED)
            self.lm_head = lib.Linear(EMBED, VOCAB, bias=False)

        def forward(self, idx: Any, pos: Any) -> Any:
            x = self.h(self.wte(idx) + self.wpe(pos))
            logits = self.lm_head(self.ln_f(x))
            return reshape(logits, (-1, VOCAB))

    return GPT()


def polygrad_gpt() -> Any:
    return _gpt(nn, F, pg.reshape, pg.split, pg.transpose)


def torch_gpt() -> Any:
    return _gpt(torch.nn, torch.nn.functional, torch.reshape, torch.split, torch.transpose)


def batch(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, VOCAB, (BATCH, BLOCK)), rng.integers(0, VOCAB, (BATCH * BLOCK,))


class Trainer:
    """zero_grad, forward, cross-entropy, backward, AdamW step, for either library."""

    def __init__(self, lib: Any, model: Any, x: Any, y: Any, pos: Any) -> None:
        self.lib, self.model, self.x, self.y, self.pos = lib, model, x, y, pos
        self.torch = lib is torch
        self.opt = (torch.optim if self.torch else optim).AdamW(list(model.parameters()), lr=LR)
        self._loss: Any = None

    def _forward(self) -> None:
        self.opt.zero_grad()
        ce = torch.nn.functional.cross_entropy if self.torch else F.cross_entropy
        self._loss = ce(self.model(self.x, self.pos), self.y)

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
    t_dtype = torch.float64 if dtype == pg.float64 else torch.float32
    pg.manual_seed(seed)
    model = polygrad_gpt().to(dtype)
    tmodel = torch_gpt().to(t_dtype)
    state = model.state_dict()
    if list(state) != list(tmodel.state_dict()):
        raise RuntimeError("gpt_block: polygrad's state_dict keys differ from torch's")
    tmodel.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in state.items()})
    pos = np.arange(BLOCK)
    return {
        "polygrad": Trainer(pg, model, pg.tensor(x), pg.tensor(y), pg.tensor(pos)),
        "torch": Trainer(
            torch, tmodel, torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(pos)
        ),
    }


def check_first_loss(seed: int = 0) -> float:
    """Sanity check before any timing: the first step's float32 loss must match torch's to
    ``LOSS_RTOL`` (relative). Returns the loss; raises RuntimeError otherwise."""
    ts = trainers(pg.float32, seed)
    loss, ref = ts["polygrad"].step().item(), ts["torch"].step().item()
    if not math.isclose(loss, ref, rel_tol=LOSS_RTOL):
        raise RuntimeError(f"gpt_block: first-step float32 loss {loss!r} != torch's {ref!r}")
    return loss


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
    import run

    raise SystemExit(run.main(["--cases", "10", *sys.argv[1:]]))
