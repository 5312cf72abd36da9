"""A two-layer MLP classifying points of three Gaussian blobs, with a TensorDataset, a
DataLoader (no shuffling), CrossEntropyLoss, Adam and a StepLR schedule."""

import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.fc1 = nn.Linear(2, hidden)
        self.fc2 = nn.Linear(hidden, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def data():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    labels = np.repeat(np.arange(3), 64)
    points = centres[labels] + rng.normal(size=(labels.size, 2))
    return torch.tensor(points, dtype=torch.float64), torch.tensor(labels, dtype=torch.long)


def main(epochs, weights=None):
    x, y = data()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=False)
    model = Net().double()
    if weights is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    losses = []
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * xb.shape[0]
        scheduler.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
        print(f"epoch {epoch}: loss {total / len(loader.dataset):.4f} accuracy {accuracy:.3f}")
        losses.append(total / len(loader.dataset))
    return losses


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
