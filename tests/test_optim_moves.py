"""An optimizer built before ``model.to(...)`` / ``model.double()`` keeps working, and its state
follows each parameter's dtype and backend (torch leaves it behind; polygrad moves it)."""

import numpy as np
import pytest
import torch
from helpers import assert_close

import polygrad as pg
import polygrad.nn as nn
import polygrad.optim as optim


def _copy_into(pm: nn.Linear, tm: torch.nn.Linear) -> None:
    with torch.no_grad():
        tm.weight.copy_(torch.from_numpy(pm.weight.numpy()).double())
        tm.bias.copy_(torch.from_numpy(pm.bias.numpy()).double())


@pytest.mark.parametrize(
    "make, state_key",
    [
        (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), "momentum_buffer"),
        (lambda ps: optim.Adam(ps, lr=0.05), "exp_avg"),
        (lambda ps: optim.AdamW(ps, lr=0.05, weight_decay=0.1), "exp_avg_sq"),
        (lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5), "square_avg"),
    ],
)
def test_state_follows_parameter_to_float64(make, state_key):
    pg.manual_seed(0)
    m = nn.Linear(3, 2)
    opt = make(m.parameters())
    x = pg.randn(5, 3)
    for _ in range(3):
        opt.zero_grad()
        (m(x) ** 2).sum().backward()
        opt.step()
    weight_before = m.weight
    m.double()
    assert m.weight is weight_before and m.weight.dtype == pg.float64
    for _ in range(3):
        opt.zero_grad()
        (m(x.double()) ** 2).sum().backward()
        opt.step()
    state = opt.state[m.weight]
    arr = state[state_key]
    arr = arr._data if isinstance(arr, pg.Tensor) else arr
    assert pg.Tensor(arr).dtype == pg.float64, f"{state_key} stayed {pg.Tensor(arr).dtype}"
    assert m.weight.dtype == pg.float64


def test_moved_training_matches_a_float64_torch_run():
    pg.manual_seed(1)
    m = nn.Linear(3, 2)
    tm = torch.nn.Linear(3, 2).double()
    _copy_into(m, tm)
    opt = optim.Adam(m.parameters(), lr=0.05)
    topt = torch.optim.Adam(tm.parameters(), lr=0.05)
    x = np.random.default_rng(0).standard_normal((5, 3))
    m.double()  # before any step: from here both runs are float64 Adam
    for _ in range(4):
        opt.zero_grad()
        topt.zero_grad()
        (m(pg.tensor(x)) ** 2).sum().backward()
        (tm(torch.from_numpy(x)) ** 2).sum().backward()
        opt.step()
        topt.step()
    assert_close(m.weight, tm.weight.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_state_follows_parameter_to_another_backend():
    target = "numpy" if pg.get_backend().name != "numpy" else "torch"
    m = nn.Linear(3, 2)
    opt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    x = pg.randn(4, 3)
    opt.zero_grad()
    m(x).sum().backward()
    opt.step()
    m.to(target)
    assert m.weight.backend == target
    with pg.use_backend(target):
        xm = x.to(target)
        opt.zero_grad()
        m(xm).sum().backward()
        opt.step()
        buf = opt.state[m.weight]["momentum_buffer"]
        assert pg.Tensor(buf._data if isinstance(buf, pg.Tensor) else buf).backend == target


def _other_backend() -> str:
    return "numpy" if pg.get_backend().name != "numpy" else "torch"


def test_grad_moves_with_the_parameter():
    target = _other_backend()
    m = nn.Linear(3, 2)
    m(pg.randn(4, 3)).sum().backward()
    grad = m.weight.grad.numpy().copy()
    m.to(target)
    assert m.weight.grad.backend == target, "the gradient stayed behind"
    np.testing.assert_array_equal(m.weight.grad.numpy(), grad)
    m.double()
    assert m.weight.grad.dtype == pg.float64
    np.testing.assert_allclose(m.weight.grad.numpy(), grad, rtol=1e-7)


def test_optimizer_state_loads_onto_a_model_on_another_backend():
    """Adam trained here, its state_dict loaded into an optimizer of a copy on another backend:
    the next steps give what torch gives continuing the same run."""
    target = _other_backend()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3))
    pg.manual_seed(2)
    m = nn.Linear(3, 2).double()
    tm = torch.nn.Linear(3, 2).double()
    _copy_into(m, tm)
    opt = optim.Adam(m.parameters(), lr=0.05)
    topt = torch.optim.Adam(tm.parameters(), lr=0.05)

    def step(model, optimizer, data):
        optimizer.zero_grad()
        (model(data) ** 2).sum().backward()
        optimizer.step()

    for _ in range(3):
        step(m, opt, pg.tensor(x))
        step(tm, topt, torch.from_numpy(x))
    saved = opt.state_dict()
    with pg.use_backend(target):
        m2 = nn.Linear(3, 2).double()
        m2.load_state_dict(m.state_dict())
        opt2 = optim.Adam(m2.parameters(), lr=0.05)
        opt2.load_state_dict(saved)
        for _ in range(2):
            step(m2, opt2, pg.tensor(x))
        assert m2.weight.backend == target
        exp_avg = opt2.state[m2.weight]["exp_avg"]
        exp_avg = exp_avg if isinstance(exp_avg, pg.Tensor) else pg.Tensor(exp_avg)
        assert exp_avg.backend == target
    for _ in range(2):
        step(tm, topt, torch.from_numpy(x))
    np.testing.assert_allclose(m2.weight.numpy(), tm.weight.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(m2.bias.numpy(), tm.bias.detach().numpy(), rtol=1e-10)
