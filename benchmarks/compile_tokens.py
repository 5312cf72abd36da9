"""polygrad.compile on small token-model training steps: compiled vs eager vs torch eager.

Two steps that index with tensor indices (an embedding lookup and cross-entropy targets, new
ids every step): a char-LM LSTM (vocabulary 64, embedding 32, 1-layer LSTM hidden 64, 16 steps
x 8 sequences, Adam) and a GPT block (vocabulary 64, width 32, 2 heads, 16 positions x 8
sequences: token + position embedding, LayerNorm, causal SDPA, LayerNorm, MLP 4x, AdamW).
The same step in torch eager for the ratio. Single thread, float32, the variants timed
interleaved in rounds, medians.

Run: ``OMP_NUM_THREADS=1 POLYGRAD_BACKEND=numpy python benchmarks/compile_tokens.py``.
"""

from __future__ import annotations

import statistics
import time
import warnings

import numpy as np

import polygrad as pg
import polygrad.nn.functional  # noqa: F401  (pg.nn.functional, used through lib below)

VOCAB, D, HEADS, T, B = 64, 32, 2, 16, 8


def _models(lib, kind: str):
    """The model in ``lib`` (polygrad or torch), same layout in both."""
    m = lib.nn

    class LSTMLM(m.Module):
        def __init__(self):
            super().__init__()
            self.tok = m.Embedding(VOCAB, D)
            self.rnn = m.LSTM(D, 2 * D, batch_first=True)
            self.head = m.Linear(2 * D, VOCAB)

        def forward(self, ids):
            h, _ = self.rnn(self.tok(ids))
            return self.head(h)

    class GPTBlock(m.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = m.Embedding(VOCAB, D), m.Embedding(T, D)
            self.ln1, self.ln2 = m.LayerNorm(D), m.LayerNorm(D)
            self.qkv, self.proj = m.Linear(D, 3 * D), m.Linear(D, D)
            self.mlp = m.Sequential(m.Linear(D, 4 * D), m.GELU(), m.Linear(4 * D, D))
            self.head = m.Linear(D, VOCAB)

        def forward(self, ids):
            b, t = ids.shape
            h = self.tok(ids) + self.pos(lib.arange(t))
            q, k, v = self.qkv(self.ln1(h)).reshape(b, t, 3, HEADS, -1).permute(2, 0, 3, 1, 4)
            a = lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            h = h + self.proj(a.transpose(1, 2).reshape(b, t, D))
            h = h + self.mlp(self.ln2(h))
            return self.head(h)

    return LSTMLM() if kind == "lstm" else GPTBlock()


def _step(lib, model, opt):
    def step(ids, target):
        logits = model(ids)
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), target.reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    return step


def _opt(lib, kind, params):
    return (lib.optim.Adam if kind == "lstm" else lib.optim.AdamW)(params, lr=1e-3)


def main() -> None:
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    data = [(rng.integers(0, VOCAB, (B, T)), rng.integers(0, VOCAB, (B, T))) for _ in range(8)]
    pg_data = [(pg.tensor(x), pg.tensor(y)) for x, y in data]
    t_data = [(torch.tensor(x), torch.tensor(y)) for x, y in data]
    for kind in ("lstm", "gpt"):
        pg.manual_seed(0)
        variants = {}
        for name in ("eager", "compiled"):
            model = _models(pg, kind)
            step = _step(pg, model, _opt(pg, kind, model.parameters()))
            variants[name] = (pg.compile(step, fullgraph=True) if name == "compiled" else step,
                              pg_data)
        tm = _models(torch, kind)
        variants["torch"] = (_step(torch, tm, _opt(torch, kind, tm.parameters())), t_data)
        for fn, d in variants.values():  # warm up (the compiled one captures here)
            fn(*d[0])
        times: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(15):
            for name, (fn, d) in variants.items():
                t0 = time.perf_counter()
                for i in range(10):
                    fn(*d[i % len(d)])
                times[name].append((time.perf_counter() - t0) / 10)
        med = {k: statistics.median(v) for k, v in times.items()}
        stats = variants["compiled"][0].stats
        assert stats["captures"] == 1 and stats["eager"] == 0, stats
        print(
            f"{kind}: eager {med['eager'] * 1e3:.3f} ms, compiled {med['compiled'] * 1e3:.3f} ms,"
            f" torch eager {med['torch'] * 1e3:.3f} ms; compiled/eager "
            f"{med['compiled'] / med['eager']:.2f}x, compiled/torch "
            f"{med['compiled'] / med['torch']:.2f}x, eager/torch {med['eager'] / med['torch']:.2f}x"
        )


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        main()
