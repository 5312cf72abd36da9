"""Hand-written NumPy (or CuPy) references for the benchmark: the same work as polygrad's, with no
autograd at all.

These are the floors the benchmark compares polygrad with: what a careful person writes by hand
on the same array library, forward, backward and optimizer, with every derivative derived on
paper. They use NumPy's API (``xp`` is ``numpy`` or ``cupy``, whose API is the same), not the
array API standard, because they are meant to be the fastest plain code, not portable code.

- :func:`chain_forward_backward`: the elementwise chain of cases 1 and 5.
- :class:`MLPReference`: Linear+ReLU layers, cross-entropy through a stable fused log-softmax,
  and Adam done with in-place operators, exactly torch's formula (cases 2, 3 and 4).

What is done in place and what is not, so the comparison stays honest: the ReLU, the softmax
gradient and the whole Adam update overwrite arrays the step owns; matmul results and gradients
are new arrays each step (an engine has to hand out fresh ``.grad`` arrays too). The Adam
scratch array is allocated inside the step, so the peak-memory measurement counts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: The cycle of elementwise ops in the chains of cases 1 and 5. Values stay bounded: tanh maps
#: into (-1, 1), so exp's input is bounded and sigmoid's output is in (0, 1).
CHAIN_OPS = ("mul", "add", "tanh", "exp", "sigmoid")
MUL, ADD = 0.9, 0.1


def chain_forward(x: Any, n_ops: int) -> Any:
    """The chain on any Tensor type with torch's method names (polygrad or torch): ``n_ops``
    ops cycling through :data:`CHAIN_OPS`. Returns the last value (not reduced)."""
    y = x
    for k in range(n_ops):
        op = k % 5
        if op == 0:
            y = y * MUL
        elif op == 1:
            y = y + ADD
        elif op == 2:
            y = y.tanh()
        elif op == 3:
            y = y.exp()
        else:
            y = y.sigmoid()
    return y


def chain_forward_backward(x: Any, n_ops: int, xp: Any = np) -> tuple[Any, Any]:
    """``sum(chain(x))`` and its gradient with respect to ``x``, by hand.

    The forward keeps, for each op, only what its derivative needs (the output of tanh, exp and
    sigmoid; nothing for the affine ops). The backward multiplies the upstream gradient by each
    derivative in reverse: ``0.9``, ``1``, ``1 - y**2``, ``y``, ``y * (1 - y)``.
    """
    saved: list[Any] = []
    y = x
    for k in range(n_ops):
        op = k % 5
        if op == 0:
            y = y * MUL
            saved.append(None)
        elif op == 1:
            y = y + ADD
            saved.append(None)
        elif op == 2:
            y = xp.tanh(y)
            saved.append(y)
        elif op == 3:
            y = xp.exp(y)
            saved.append(y)
        else:
            y = 1.0 / (1.0 + xp.exp(-y))
            saved.append(y)
    loss = xp.sum(y)
    g = xp.ones_like(y)
    for k in range(n_ops - 1, -1, -1):
        op = k % 5
        s = saved[k]
        if op == 0:
            g = g * MUL
        elif op == 1:
            pass  # d(y + c)/dy = 1
        elif op == 2:
            g = g * (1.0 - s * s)
        elif op == 3:
            g = g * s
        else:
            g = g * (s * (1.0 - s))
    return loss, g


class MLPReference:
    """An MLP of Linear layers with ReLU between them, cross-entropy loss and Adam, by hand.

    Parameters
    ----------
    params : sequence of arrays
        ``W1, b1, W2, b2, ...`` in torch's layout (``W`` of shape (out, in)); copied.
    lr, betas, eps : Adam's options, as ``torch.optim.Adam``'s.
    xp : module
        ``numpy`` or ``cupy``.
    """

    def __init__(
        self,
        params: Sequence[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        xp: Any = np,
    ) -> None:
        self.xp = xp
        self.params = [xp.array(p, copy=True) for p in params]
        self.lr, self.betas, self.eps = lr, betas, eps
        self.exp_avg = [xp.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [xp.zeros_like(p) for p in self.params]
        self.steps = 0

    def forward(self, x: Any, y: Any) -> tuple[Any, tuple]:
        """Mean cross-entropy of the MLP's logits for inputs ``x`` and class indices ``y``.
        Returns the loss (a 0-d array) and what :meth:`backward` needs."""
        xp = self.xp
        ws, bs = self.params[0::2], self.params[1::2]
        n_layers = len(ws)

        # h_{i+1} = relu(h_i @ W_i.T + b_i), no ReLU after the last layer
        hs = [x]
        h = x
        for i in range(n_layers):
            z = h @ ws[i].T
            z += bs[i]
            if i < n_layers - 1:
                xp.maximum(z, 0, out=z)  # ReLU in place: h_{i+1} > 0 exactly where z > 0
            hs.append(z)
            h = z
        logits = h

        # cross-entropy through a stable log-softmax: shift by the row max, then
        # loss = mean(log(sum(exp(shifted))) - shifted[target])
        rows = xp.arange(logits.shape[0])
        shifted = logits - xp.max(logits, axis=1, keepdims=True)
        e = xp.exp(shifted)
        sum_e = xp.sum(e, axis=1, keepdims=True)
        loss = xp.mean(xp.log(sum_e[:, 0]) - shifted[rows, y])
        return loss, (hs[:-1], e, sum_e, rows, y)

    def backward(self, cache: tuple) -> list[Any]:
        """The gradient of the loss with respect to every parameter (same order as
        ``params``), from what :meth:`forward` returned."""
        xp = self.xp
        hs, e, sum_e, rows, y = cache
        ws = self.params[0::2]

        # d loss / d logits = (softmax - onehot(target)) / n, built in place in e
        g = e
        g /= sum_e
        g[rows, y] -= 1.0
        g /= len(rows)

        # through the layers: dW = g.T @ h_in, db = sum over the batch, and for the input
        # g @ W, masked by ReLU's derivative (h_in > 0) where h_in is a ReLU output
        grads: list[Any] = [None] * len(self.params)
        for i in range(len(ws) - 1, -1, -1):
            h_in = hs[i]
            grads[2 * i] = g.T @ h_in
            grads[2 * i + 1] = xp.sum(g, axis=0)
            if i > 0:
                g = g @ ws[i]
                g *= h_in > 0
        return grads

    def adam_step(self, grads: Sequence[Any]) -> None:
        """One Adam step, in place, exactly ``torch.optim.Adam``'s single-tensor formula."""
        xp = self.xp
        beta1, beta2 = self.betas
        self.steps += 1
        step_size = self.lr / (1 - beta1**self.steps)
        bias_correction2_sqrt = (1 - beta2**self.steps) ** 0.5
        for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq):
            tmp = xp.empty_like(p)
            # m = m + (1 - beta1) * (g - m)            torch: exp_avg.lerp_(grad, 1 - beta1)
            xp.subtract(g, m, out=tmp)
            tmp *= 1 - beta1
            m += tmp
            # v = beta2 * v + (1 - beta2) * g * g      torch: mul_(beta2).addcmul_(g, g, 1 - beta2)
            v *= beta2
            xp.multiply(g, g, out=tmp)
            tmp *= 1 - beta2
            v += tmp
            # p = p - step_size * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
            #                                          torch: param.addcdiv_(m, denom, -step_size)
            xp.sqrt(v, out=tmp)
            tmp /= bias_correction2_sqrt
            tmp += self.eps
            xp.divide(m, tmp, out=tmp)
            tmp *= -step_size
            p += tmp

    def step(self, x: Any, y: Any) -> Any:
        """One training step: forward, loss, backward, Adam. Returns the loss (0-d array)."""
        loss, cache = self.forward(x, y)
        grads = self.backward(cache)
        del cache  # the activations are not needed by the optimizer: free them first
        self.adam_step(grads)
        return loss
