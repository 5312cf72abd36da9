"""A character-level LSTM language model on a short text: Embedding, a 1-layer LSTM with
batch_first, a Linear decoder, cross-entropy over the flattened sequence, gradient clipping
and AdamW."""

import sys

import polygrad as torch
import polygrad.nn as nn

TEXT = "to be, or not to be, that is the question: whether 'tis nobler in the mind to suffer"


class CharLM(nn.Module):
    def __init__(self, vocab, embed=16, hidden=32):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx):
        out, _ = self.lstm(self.embed(idx))
        return self.head(out)


def batches(seq=12):
    chars = sorted(set(TEXT))
    ids = torch.tensor([chars.index(c) for c in TEXT], dtype=torch.long)
    starts = range(0, len(TEXT) - seq - 1, seq)
    x = torch.stack([ids[s : s + seq] for s in starts])
    y = torch.stack([ids[s + 1 : s + seq + 1] for s in starts])
    return len(chars), x, y


def main(steps, weights=None):
    vocab, x, y = batches()
    model = CharLM(vocab).double()
    if weights is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.01)
    losses = []
    for step in range(steps):
        logits = model(x)
        loss = nn.functional.cross_entropy(logits.view(-1, vocab), y.view(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        if step % 10 == 0:
            print(f"step {step}: loss {loss.item():.4f}")
    return losses


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
