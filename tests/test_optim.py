"""polygrad.optim against torch.optim in float64: every optimizer and option, parameter groups,
learning-rate schedulers, zero_grad, state_dict round trips, the in-place policy, and errors.

The model is a small MLP (5-8-8-3) built directly from polygrad Tensors, with the same initial
weights copied into plain torch tensors; both are trained on the same batches and their
parameters compared after every step.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from helpers import assert_close, assert_on_backend

import polygrad as pg
import polygrad.optim as optim
from polygrad.optim import lr_scheduler

STEPS = 25
SIZES = [(8, 5), (8, 8), (3, 8)]  # (out, in) per layer: torch's Linear weight layout
RTOL = 1e-10
#: the worst disagreement with torch seen by this module: element-wise relative, and relative to
#: each tensor's largest entry
WORST = {"elementwise": 0.0, "normwise": 0.0}


# -- the model, in polygrad and in torch ----------------------------------------------------------
def initial_weights() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    weights = []
    for n_out, n_in in SIZES:
        bound = 1.0 / math.sqrt(n_in)
        weights.append(rng.uniform(-bound, bound, (n_out, n_in)))
        weights.append(rng.uniform(-bound, bound, (n_out,)))
    return weights


def _make_data() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(1)
    data = []
    for _ in range(5):
        x = rng.standard_normal((16, 5))
        y = rng.standard_normal((16, 3))
        onehot = np.eye(3)[rng.integers(0, 3, 16)]
        data.append((x, y, onehot))
    return data


DATA = _make_data()


def pg_params(weights: list[np.ndarray] | None = None) -> list[pg.Tensor]:
    weights = initial_weights() if weights is None else weights
    return [pg.tensor(w, requires_grad=True) for w in weights]


def torch_params(weights: list[np.ndarray] | None = None) -> list[torch.Tensor]:
    weights = initial_weights() if weights is None else weights
    return [torch.tensor(w, requires_grad=True) for w in weights]


def loss_of(params: list, step: int, loss: str = "mse", act: str = "tanh") -> object:
    """The MLP's loss on batch ``step``; the same code runs on polygrad and on torch tensors."""
    lib = torch if isinstance(params[0], torch.Tensor) else pg
    x, y, onehot = (lib.tensor(a) for a in DATA[step % len(DATA)])
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i].T + params[i + 1]
        if i + 2 < len(params):
            h = h.tanh() if act == "tanh" else h.relu()
    if loss == "mse":
        return ((h - y) ** 2).mean()
    return -(h.log_softmax(-1) * onehot).sum(-1).mean()  # NLL of log-softmax


def train_step(params, opt, step, loss="mse", act="tanh", set_to_none=True):
    opt.zero_grad(set_to_none=set_to_none)
    value = loss_of(params, step, loss, act)
    value.backward()
    opt.step()
    return value


def assert_params_match(pg_side: list[pg.Tensor], torch_side: list[torch.Tensor]) -> None:
    """Each polygrad parameter equals its torch twin to RTOL (and is on the tested device)."""
    for p, t in zip(pg_side, torch_side, strict=True):
        got, want = p.numpy(), t.detach().numpy()
        diff, size = np.abs(got - want), np.abs(want)
        nonzero = size != 0
        if nonzero.any():
            rel = float(np.max(diff[nonzero] / size[nonzero]))
            WORST["elementwise"] = max(WORST["elementwise"], rel)
            WORST["normwise"] = max(WORST["normwise"], float(diff.max() / size.max()))
        assert_close(p, t, rtol=RTOL)


def assert_same_run(params: list[pg.Tensor], expected: list[np.ndarray]) -> None:
    """Bit-for-bit equality with a recorded run."""
    for p, want in zip(params, expected, strict=True):
        assert_on_backend(p)
        np.testing.assert_array_equal(p.numpy(), want)


def both(name: str, pg_args, torch_args, **kwargs):
    """The optimizer ``name`` from polygrad.optim and from torch.optim, built the same way."""
    return getattr(optim, name)(pg_args, **kwargs), getattr(torch.optim, name)(torch_args, **kwargs)


def _case_id(name: str, kwargs: dict) -> str:
    return name + "".join(f"-{k}={v}" for k, v in kwargs.items())


# -- every optimizer and option, step by step against torch --------------------------------------
OPTIMIZER_CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.3, 0.9), "eps": 1e-4}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.05, "maximize": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.2, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "betas": (0.5, 0.95), "weight_decay": 0.0}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.005, "eps": 1e-3, "maximize": True}),
]


@pytest.mark.parametrize("loss, act", [("mse", "tanh"), ("nll", "relu")])
@pytest.mark.parametrize(
    "name, kwargs", OPTIMIZER_CASES, ids=[_case_id(n, k) for n, k in OPTIMIZER_CASES]
)
def test_optimizer_matches_torch_after_every_step(name, kwargs, loss, act):
    p, t = pg_params(), torch_params()
    opt_pg, opt_torch = both(name, p, t, **kwargs)
    for step in range(STEPS):
        loss_pg = train_step(p, opt_pg, step, loss, act)
        loss_torch = train_step(t, opt_torch, step, loss, act)
        assert_close(loss_pg, loss_torch, rtol=RTOL)
        assert_params_match(p, t)
    moved = np.abs(p[0].numpy() - initial_weights()[0]).max()
    assert moved > 1e-3, "the optimizer barely moved the weights: the comparison proves little"


GROUP_CASES = {
    "SGD": (
        {"lr": 0.1, "momentum": 0.5},
        lambda ps: [
            {"params": ps[0:2], "lr": 0.05, "momentum": 0.9, "nesterov": True},
            {"params": ps[2:4], "dampening": 0.5, "weight_decay": 0.1},
            {"params": ps[4:], "momentum": 0.0},
        ],
    ),
    "Adam": (
        {"lr": 0.01},
        lambda ps: [
            {"params": ps[0:2], "betas": (0.8, 0.9), "amsgrad": True},
            {"params": ps[2:4], "lr": 0.02, "weight_decay": 0.1},
            {"params": ps[4:], "eps": 1e-3},
        ],
    ),
    "AdamW": (
        {"lr": 0.01, "weight_decay": 0.05},
        lambda ps: [
            {"params": ps[0:3], "weight_decay": 0.3},
            {"params": ps[3:], "lr": 0.005, "amsgrad": True},
        ],
    ),
    "RMSprop": (
        {"lr": 0.01},
        lambda ps: [
            {"params": ps[0:2], "centered": True},
            {"params": ps[2:4], "momentum": 0.9, "alpha": 0.9},
            {"params": ps[4:], "weight_decay": 0.1, "lr": 0.003},
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(GROUP_CASES))
def test_parameter_groups_with_their_own_options_match_torch(name):
    defaults, groups = GROUP_CASES[name]
    p, t = pg_params(), torch_params()
    opt_pg, opt_torch = both(name, groups(p), groups(t), **defaults)
    assert len(opt_pg.param_groups) == len(opt_torch.param_groups)
    for mine, theirs in zip(opt_pg.param_groups, opt_torch.param_groups):
        options = {k: v for k, v in mine.items() if k != "params"}
        assert options == {k: theirs[k] for k in options}, "group options differ from torch's"
        assert [q.shape for q in mine["params"]] == [tuple(q.shape) for q in theirs["params"]]
    for step in range(STEPS):
        if step == 12:  # learning rates are mutable between steps, as in torch
            opt_pg.param_groups[1]["lr"] *= 0.5
            opt_torch.param_groups[1]["lr"] *= 0.5
        train_step(p, opt_pg, step, "nll")
        train_step(t, opt_torch, step, "nll")
        assert_params_match(p, t)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_add_param_group_mid_training_matches_torch(name):
    kwargs = {"lr": 0.05, "momentum": 0.9} if name == "SGD" else {"lr": 0.01}
    p, t = pg_params(), torch_params()
    opt_pg, opt_torch = both(name, p[:4], t[:4], **kwargs)
    for step in range(STEPS):
        if step == 6:  # the last layer, frozen so far (its gradients accumulated), joins
            opt_pg.add_param_group({"params": p[4:], "lr": 0.02})
            opt_torch.add_param_group({"params": t[4:], "lr": 0.02})
        train_step(p, opt_pg, step)
        train_step(t, opt_torch, step)
        assert_params_match(p, t)
    assert opt_pg.param_groups[1]["lr"] == 0.02
    assert opt_pg.param_groups[1].keys() == opt_pg.param_groups[0].keys()


def test_parameters_without_a_gradient_are_skipped_as_torch_does():
    p, t = pg_params(), torch_params()
    unused_pg = pg.tensor(np.ones(4), requires_grad=True)
    unused_torch = torch.ones(4, dtype=torch.float64, requires_grad=True)
    opt_pg, opt_torch = both("Adam", [*p, unused_pg], [*t, unused_torch], lr=0.01)
    for step in range(12):
        for params, opt in ((p, opt_pg), (t, opt_torch)):
            opt.zero_grad()
            loss_of(params, step).backward()
            if step in (3, 4):  # the first layer's weight gets no update on these steps
                params[0].grad = None
            opt.step()
        assert_params_match(p, t)
    assert_close(unused_pg, np.ones(4), rtol=0, atol=0)
    assert unused_pg.grad is None and unused_pg not in opt_pg.state
    assert opt_pg.state[p[0]]["step"] == 10 == int(opt_torch.state[t[0]]["step"])
    assert opt_pg.state[p[1]]["step"] == 12


def test_step_with_a_closure_returns_its_loss_and_matches_torch():
    p, t = pg_params(), torch_params()
    opt_pg, opt_torch = both("SGD", p, t, lr=0.1, momentum=0.9)
    for step in range(5):
        closures = []
        for params, opt in ((p, opt_pg), (t, opt_torch)):

            def closure(params=params, opt=opt, step=step):
                opt.zero_grad()
                value = loss_of(params, step)
                value.backward()
                return value

            closures.append(opt.step(closure))
        assert_close(closures[0], closures[1], rtol=RTOL)
        assert_params_match(p, t)


# -- zero_grad ----------------------------------------------------------------------------------
def test_zero_grad_to_none_makes_the_next_step_a_no_op_as_torch():
    p, t = pg_params(), torch_params()
    opt_pg, opt_torch = both("Adam", p, t, lr=0.01, amsgrad=True)
    for step in range(3):
        train_step(p, opt_pg, step)
        train_step(t, opt_torch, step)
    before = [q.numpy() for q in p]
    opt_pg.zero_grad()
    opt_torch.zero_grad()
    assert all(q.grad is None for q in p)
    opt_pg.step()
    opt_torch.step()
    assert_same_run(p, before)
    assert_params_match(p, t)


def test_zero_grad_keeping_zeros_zeroes_the_arrays_and_matches_torch():
    p, t = pg_params(), torch_params()
    opt_pg, opt_torch = both("Adam", p, t, lr=0.01, amsgrad=True)
    for step in range(3):
        train_step(p, opt_pg, step, set_to_none=False)
        train_step(t, opt_torch, step, set_to_none=False)
        assert_params_match(p, t)
    grads = [q.grad for q in p]
    opt_pg.zero_grad(set_to_none=False)
    opt_torch.zero_grad(set_to_none=False)
    for q, g in zip(p, grads):
        assert q.grad is g, "zero_grad(set_to_none=False) should zero the gradient it has"
        assert_close(q.grad, np.zeros(q.shape), rtol=0, atol=0, dtype=pg.float64)
    opt_pg.step()  # zero gradients still step: Adam's moments carry on, as in torch
    opt_torch.step()
    assert_params_match(p, t)
    for step in range(3, 8):
        train_step(p, opt_pg, step, set_to_none=False)
        train_step(t, opt_torch, step, set_to_none=False)
        assert_params_match(p, t)


def test_zero_grad_of_a_recorded_gradient_leaves_the_graph_alone():
    w = pg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w**3).sum().backward(create_graph=True)
    recorded = w.grad
    assert recorded.requires_grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is not recorded and not w.grad.requires_grad
    assert_close(w.grad, np.zeros(2), rtol=0, atol=0)
    assert_close(recorded, np.array([3.0, 12.0]))


# -- the in-place policy ------------------------------------------------------------------------
INPLACE_CASES = [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
]
INPLACE_IDS = [_case_id(n, k) for n, k in INPLACE_CASES]


def _state_arrays(opt, p) -> dict:
    return {k: v for k, v in opt.state.get(p, {}).items() if hasattr(v, "shape")}


@pytest.mark.parametrize("name, kwargs", INPLACE_CASES, ids=INPLACE_IDS)
def test_updates_are_in_place_and_never_write_a_gradient(name, kwargs):
    params = pg_params()
    opt = getattr(optim, name)(params, **kwargs)
    old_grads = []  # every gradient the optimizer has read, with its values then
    for step in range(5):
        opt.zero_grad()
        loss_of(params, step).backward()
        data = [q._data for q in params]
        buffers = [_state_arrays(opt, q) for q in params]
        old_grads += [(q.grad, q.grad.numpy()) for q in params]
        opt.step()
        for q, d, bufs in zip(params, data, buffers):
            assert q._data is d, "the parameter array was replaced, not updated in place"
            for key, buf in bufs.items():
                if key != "max_exp_avg_sq":  # a running maximum is recomputed, not updated
                    assert opt.state[q][key] is buf, f"state {key!r} was replaced"
            for buf in _state_arrays(opt, q).values():
                assert buf is not q.grad._data and buf is not q._data
    for g, values in old_grads:
        np.testing.assert_array_equal(g.numpy(), values)


@pytest.mark.parametrize("name, kwargs", INPLACE_CASES, ids=INPLACE_IDS)
def test_out_of_place_updates_leave_old_arrays_alone_and_match_in_place_exactly(name, kwargs):
    a, b = pg_params(), pg_params()
    opt_a = getattr(optim, name)(a, **kwargs)
    opt_b = getattr(optim, name)(b, **kwargs)
    opt_b.in_place = False
    for step in range(12):
        train_step(a, opt_a, step)
        old = [(q._data, q.numpy()) for q in b]
        old += [(v, pg.Tensor(v).numpy()) for q in b for v in _state_arrays(opt_b, q).values()]
        train_step(b, opt_b, step)
        for array, values in old:
            np.testing.assert_array_equal(pg.Tensor(array).numpy(), values)
        assert all(q._data is not array for q, (array, _) in zip(b, old))
        assert_same_run(b, [q.numpy() for q in a])


# -- state_dict round trips ---------------------------------------------------------------------
RESUME_CASES = [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.2}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.9, "centered": True}),
]


def _groups(params):
    return [{"params": params[:2], "lr": 0.004}, {"params": params[2:]}]


@pytest.mark.parametrize("grouped", [False, True], ids=["one-group", "two-groups"])
@pytest.mark.parametrize(
    "name, kwargs", RESUME_CASES, ids=[_case_id(n, k) for n, k in RESUME_CASES]
)
def test_resumed_run_equals_uninterrupted_run_exactly(name, kwargs, grouped):
    build = _groups if grouped else list
    k, n = 8, 24
    ref = pg_params()
    opt = getattr(optim, name)(build(ref), **kwargs)
    history = []
    for step in range(n):
        train_step(ref, opt, step)
        history.append([q.numpy() for q in ref])

    first = pg_params()
    opt1 = getattr(optim, name)(build(first), **kwargs)
    for step in range(k):
        train_step(first, opt1, step)
    saved = opt1.state_dict()
    weights = [q.numpy() for q in first]
    for step in range(k, k + 3):  # training on must not change the snapshot
        train_step(first, opt1, step)

    for _ in range(2):  # loading twice: the loaded state must not share arrays with `saved`
        resumed = pg_params(weights)
        opt2 = getattr(optim, name)(build(resumed), **kwargs)
        opt2.load_state_dict(saved)
        for step in range(k, n):
            train_step(resumed, opt2, step)
            assert_same_run(resumed, history[step])


def test_state_dict_has_torchs_layout_and_holds_copies_on_the_device():
    p, t = pg_params(), torch_params()
    opt_pg, opt_torch = both("Adam", _groups(p), _groups(t), lr=0.01, amsgrad=True)
    for step in range(3):
        train_step(p, opt_pg, step)
        train_step(t, opt_torch, step)
    mine, theirs = opt_pg.state_dict(), opt_torch.state_dict()
    assert [g["params"] for g in mine["param_groups"]] == [[0, 1], [2, 3, 4, 5]]
    assert [g["params"] for g in theirs["param_groups"]] == [[0, 1], [2, 3, 4, 5]]
    assert sorted(mine["state"]) == sorted(theirs["state"])
    for index, entry in mine["state"].items():
        assert entry.keys() == theirs["state"][index].keys()
        assert entry["step"] == int(theirs["state"][index]["step"]) == 3
        for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            assert_close(entry[key], theirs["state"][index][key], rtol=RTOL)
            assert entry[key]._data is not opt_pg.state[p[index]][key], "not a copy"


#: another device of the backend under test where it has one (array-api-strict's CPU_DEVICE)
OTHER_DEVICE = "CPU_DEVICE" if pg.get_backend().name == "strict" else pg.get_backend().device
CONVERSIONS = {
    "numpy": lambda t: t.numpy(),
    "torch": lambda t: torch.from_numpy(t.numpy()),
    "other-device": lambda t: t.to(device=OTHER_DEVICE),
    "float32": lambda t: t.astype(pg.float32),
}


@pytest.mark.parametrize("source", sorted(CONVERSIONS))
def test_load_state_dict_puts_arrays_on_each_parameters_device_and_dtype(source):
    p = pg_params()
    opt = optim.RMSprop(p, lr=0.01, momentum=0.9, centered=True)
    for step in range(3):
        train_step(p, opt, step)
    if source == "float32":  # round the run's own state, so float32 copies of it are exact
        for q in p:
            for key, value in _state_arrays(opt, q).items():
                xp = q._xp
                opt.state[q][key] = xp.astype(xp.astype(value, xp.float32), xp.float64)
    saved = opt.state_dict()
    convert = CONVERSIONS[source]
    foreign = {
        "state": {
            i: {k: convert(v) if isinstance(v, pg.Tensor) else v for k, v in entry.items()}
            for i, entry in saved["state"].items()
        },
        "param_groups": saved["param_groups"],
    }
    q = pg_params([x.numpy() for x in p])
    opt2 = optim.RMSprop(q, lr=0.01, momentum=0.9, centered=True)
    opt2.load_state_dict(foreign)
    for i, param in enumerate(q):
        for key, value in _state_arrays(opt2, param).items():
            want = saved["state"][i][key].numpy()
            assert_close(pg.Tensor(value), want, rtol=0, atol=0, dtype=pg.float64)
    for step in range(3, 8):
        train_step(p, opt, step)
        train_step(q, opt2, step)
        assert_same_run(q, [x.numpy() for x in p])


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
        ("Adam", {"lr": 0.01, "amsgrad": True}),
        ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
        ("RMSprop", {"lr": 0.005, "momentum": 0.9, "centered": True}),
    ],
)
def test_training_resumes_from_a_torch_optimizer_state_dict(name, kwargs):
    t = torch_params()
    opt_torch = getattr(torch.optim, name)(t, **kwargs)
    for step in range(6):
        train_step(t, opt_torch, step)
    p = pg_params([x.detach().numpy() for x in t])
    opt_pg = getattr(optim, name)(p, **kwargs)
    opt_pg.load_state_dict(opt_torch.state_dict())
    for step in range(6, 6 + STEPS):
        train_step(p, opt_pg, step)
        train_step(t, opt_torch, step)
        assert_params_match(p, t)


def test_load_state_dict_refuses_a_mismatch_and_changes_nothing():
    p = pg_params()
    opt = optim.Adam(_groups(p), lr=0.01)
    for step in range(2):
        train_step(p, opt, step)
    good = opt.state_dict()
    before = opt.state_dict()

    def unchanged():
        now = opt.state_dict()
        assert now["param_groups"] == before["param_groups"]
        for i, entry in before["state"].items():
            assert now["state"][i]["step"] == entry["step"]
            np.testing.assert_array_equal(
                now["state"][i]["exp_avg"].numpy(), entry["exp_avg"].numpy()
            )

    one_group = {"state": good["state"], "param_groups": good["param_groups"][:1]}
    with pytest.raises(ValueError, match="1 parameter groups, but the optimizer has 2"):
        opt.load_state_dict(one_group)
    unchanged()

    resized = {"state": good["state"], "param_groups": [dict(g) for g in good["param_groups"]]}
    resized["param_groups"][0]["params"] = [0]
    with pytest.raises(ValueError, match="group 0 has 1 parameters in the state dict but 2"):
        opt.load_state_dict(resized)
    unchanged()

    swapped = {"state": dict(good["state"]), "param_groups": good["param_groups"]}
    swapped["state"][0], swapped["state"][1] = good["state"][1], good["state"][0]
    swapped["state"][3] = {**good["state"][3], "exp_avg": pg.zeros(7, dtype=pg.float64)}
    with pytest.raises(ValueError, match=r"state\[0\]\['exp_avg'\] has shape \(8,\) but") as e:
        opt.load_state_dict(swapped)
    assert "state[3]['exp_avg'] has shape (7,)" in str(e.value)
    assert "nothing was changed" in str(e.value)
    unchanged()

    stranger = {
        "state": {**good["state"], 9: good["state"][0]},
        "param_groups": good["param_groups"],
    }
    with pytest.raises(ValueError, match="state for parameter 9, which no group lists"):
        opt.load_state_dict(stranger)
    bad_lr = {"state": good["state"], "param_groups": [dict(g) for g in good["param_groups"]]}
    bad_lr["param_groups"][1]["lr"] = -1.0
    with pytest.raises(ValueError, match=r"Invalid learning rate: -1.0 \(parameter group 1\)"):
        opt.load_state_dict(bad_lr)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})
    unchanged()


# -- learning-rate schedulers -------------------------------------------------------------------
SCHEDULER_CASES = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [3, 10, 10, 25], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.93}),
    ("CosineAnnealingLR", {"T_max": 12, "eta_min": 0.001}),
    ("CosineAnnealingLR", {"T_max": 5}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 0.95**epoch / (1 + 0.1 * epoch)}),
    ("LambdaLR", {"lr_lambda": [lambda epoch: 0.9**epoch, lambda epoch: 1.0 / (1 + epoch)]}),
]
SCHEDULER_IDS = [f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULER_CASES)]


def _dummy_optimizers(lrs=(0.1, 0.02)):
    """Two-group SGD optimizers in polygrad and torch on unused dummy parameters."""
    pg_groups = [{"params": [pg.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
    torch_groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
    return optim.SGD(pg_groups), torch.optim.SGD(torch_groups)


@pytest.mark.parametrize("name, kwargs", SCHEDULER_CASES, ids=SCHEDULER_IDS)
def test_scheduler_learning_rates_equal_torchs(name, kwargs):
    opt_pg, opt_torch = _dummy_optimizers()
    mine = getattr(lr_scheduler, name)(opt_pg, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(opt_torch, **kwargs)
    assert mine.get_last_lr() == theirs.get_last_lr()
    seen = set()
    for epoch in range(40):
        opt_pg.step()
        opt_torch.step()
        mine.step()
        theirs.step()
        assert mine.get_last_lr() == theirs.get_last_lr(), f"epoch {epoch}"
        assert [g["lr"] for g in opt_pg.param_groups] == mine.get_last_lr()
        assert mine.last_epoch == theirs.last_epoch
        seen.add(tuple(mine.get_last_lr()))
    assert len(seen) > 3, "the schedule hardly changed the learning rate"


def test_chained_schedulers_compose_as_torchs():
    opt_pg, opt_torch = _dummy_optimizers()
    mine = [
        lr_scheduler.ExponentialLR(opt_pg, gamma=0.9),
        lr_scheduler.MultiStepLR(opt_pg, milestones=[5, 12], gamma=0.5),
    ]
    theirs = [
        torch.optim.lr_scheduler.ExponentialLR(opt_torch, gamma=0.9),
        torch.optim.lr_scheduler.MultiStepLR(opt_torch, milestones=[5, 12], gamma=0.5),
    ]
    for _ in range(30):
        opt_pg.step()
        opt_torch.step()
        for s in mine + theirs:
            s.step()
        assert mine[1].get_last_lr() == theirs[1].get_last_lr()
    assert mine[1].get_last_lr()[0] < 0.1 * 0.9**29


@pytest.mark.parametrize(
    "name, kwargs",
    [("StepLR", {"step_size": 3, "gamma": 0.5}), ("CosineAnnealingLR", {"T_max": 10})],
)
def test_deprecated_step_with_an_epoch_uses_torchs_closed_form(name, kwargs):
    opt_pg, opt_torch = _dummy_optimizers()
    mine = getattr(lr_scheduler, name)(opt_pg, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(opt_torch, **kwargs)
    for epoch in (4, 7, 2):
        with pytest.warns(UserWarning, match="deprecated"):
            mine.step(epoch)
        with pytest.warns(UserWarning):
            theirs.step(epoch)
        assert mine.get_last_lr() == theirs.get_last_lr()
        assert mine.last_epoch == epoch


def _metrics() -> list[float]:
    rng = np.random.default_rng(7)
    moves = rng.choice([-0.2, -0.01, 0.0, 0.0, 0.0, 0.05, 0.15], size=45)
    return [float(m) for m in 3.0 + np.cumsum(moves)]


PLATEAU_CASES = [
    {"mode": "min", "factor": 0.5, "patience": 2},
    {"factor": 0.3, "patience": 1, "threshold": 0.05, "threshold_mode": "abs", "cooldown": 2},
    {"mode": "max", "factor": 0.5, "patience": 1, "threshold": 0.01, "min_lr": 0.01},
    {
        "mode": "max",
        "threshold_mode": "abs",
        "threshold": 0.1,
        "patience": 0,
        "cooldown": 1,
        "min_lr": [0.05, 0.001],
    },  # fmt: skip
    {"patience": 0, "factor": 0.9, "eps": 0.005},  # eps skips changes smaller than it
]


@pytest.mark.parametrize("kwargs", PLATEAU_CASES, ids=[str(i) for i in range(len(PLATEAU_CASES))])
def test_reduce_lr_on_plateau_equals_torchs_for_the_same_metrics(kwargs):
    opt_pg, opt_torch = _dummy_optimizers()
    mine = lr_scheduler.ReduceLROnPlateau(opt_pg, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(opt_torch, **kwargs)
    for epoch, metric in enumerate(_metrics()):
        mine.step(pg.tensor(metric, dtype=pg.float64))  # a one-element Tensor is a metric too
        theirs.step(metric)
        assert mine.get_last_lr() == theirs.get_last_lr(), f"epoch {epoch}"
        assert (mine.best, mine.num_bad_epochs, mine.cooldown_counter, mine.last_epoch) == (
            theirs.best,
            theirs.num_bad_epochs,
            theirs.cooldown_counter,
            theirs.last_epoch,
        )
    assert mine.get_last_lr() != [0.1, 0.02], "the metrics never triggered a reduction"


LOOP_CASES = [
    ("SGD", {"lr": 0.1, "momentum": 0.9}, "StepLR", {"step_size": 5, "gamma": 0.5}),
    ("Adam", {"lr": 0.02, "amsgrad": True}, "CosineAnnealingLR", {"T_max": 10, "eta_min": 1e-3}),
    ("RMSprop", {"lr": 0.01, "centered": True}, "ExponentialLR", {"gamma": 0.9}),
    ("AdamW", {"lr": 0.01}, "LambdaLR", {"lr_lambda": lambda epoch: 1 / (1 + epoch)}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, "MultiStepLR", {"milestones": [4, 9]}),
    ("Adam", {"lr": 0.05}, "ReduceLROnPlateau", {"patience": 1, "factor": 0.5, "threshold": 0.02}),
]


@pytest.mark.parametrize(
    "opt_name, opt_kwargs, name, kwargs", LOOP_CASES, ids=[c[2] for c in LOOP_CASES]
)
def test_scheduler_driven_training_matches_torch(opt_name, opt_kwargs, name, kwargs):
    p, t = pg_params(), torch_params()
    opt_pg, opt_torch = both(opt_name, _groups(p), _groups(t), **opt_kwargs)
    mine = getattr(lr_scheduler, name)(opt_pg, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(opt_torch, **kwargs)
    lrs = set()
    for step in range(STEPS):
        loss_pg = train_step(p, opt_pg, step, "nll")
        loss_torch = train_step(t, opt_torch, step, "nll")
        if name == "ReduceLROnPlateau":
            mine.step(loss_pg)  # a one-element Tensor
            theirs.step(loss_torch.item())
        else:
            mine.step()
            theirs.step()
        assert_params_match(p, t)
        assert mine.get_last_lr() == theirs.get_last_lr()
        lrs.add(mine.get_last_lr()[1])
    assert len(lrs) > 1, "the learning rate never changed"


RESUME_SCHEDULER_CASES = [
    ("StepLR", {"step_size": 4, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [5, 11], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 1e-4}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 0.97**epoch}),
    ("ReduceLROnPlateau", {"patience": 0, "factor": 0.7, "threshold": 0.05}),
]


@pytest.mark.parametrize(
    "name, kwargs", RESUME_SCHEDULER_CASES, ids=[n for n, _ in RESUME_SCHEDULER_CASES]
)
def test_resumed_run_with_a_scheduler_equals_uninterrupted_run_exactly(name, kwargs):
    k, n = 9, 24

    def start(weights=None):
        params = pg_params(weights)
        opt = optim.Adam(_groups(params), lr=0.02, amsgrad=True)
        return params, opt, getattr(lr_scheduler, name)(opt, **kwargs)

    def advance(params, opt, sched, step):
        loss = train_step(params, opt, step)
        sched.step(loss.item()) if name == "ReduceLROnPlateau" else sched.step()

    params, opt, sched = start()
    history = []
    for step in range(n):
        advance(params, opt, sched, step)
        history.append(([q.numpy() for q in params], sched.get_last_lr()))

    params, opt, sched = start()
    for step in range(k):
        advance(params, opt, sched, step)
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    weights = [q.numpy() for q in params]
    for step in range(k, k + 3):  # training on must not change the snapshots
        advance(params, opt, sched, step)

    params, opt, sched = start(weights)  # as torch: build the scheduler, then load both
    opt.load_state_dict(saved_opt)
    sched.load_state_dict(saved_sched)
    for step in range(k, n):
        advance(params, opt, sched, step)
        want_weights, want_lrs = history[step]
        assert_same_run(params, want_weights)
        assert sched.get_last_lr() == want_lrs
    assert len({lrs[1] for _, lrs in history}) > 1, "the learning rate never changed"


# -- bad input gets a clear error ---------------------------------------------------------------
def _leaf(n: int = 3) -> pg.Tensor:
    return pg.tensor(np.ones(n), requires_grad=True)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_a_non_leaf_or_a_tensor_without_grad_is_refused_by_name(name):
    cls = getattr(optim, name)
    with pytest.raises(ValueError, match=r"non-leaf Tensor: parameter 1 of parameter group 0"):
        cls([_leaf(), _leaf() * 2.0])
    with pytest.raises(ValueError, match=r"parameter 0 of parameter group 1 .*does not require"):
        cls([{"params": [_leaf()]}, {"params": [pg.tensor(np.ones(3))]}])


def test_params_of_the_wrong_kind_are_refused():
    with pytest.raises(TypeError, match="not a single Tensor"):
        optim.SGD(_leaf(), lr=0.1)
    with pytest.raises(TypeError, match="polygrad Tensors, but parameter 1 .* numpy.ndarray"):
        optim.SGD([_leaf(), np.ones(3)], lr=0.1)
    with pytest.raises(TypeError, match="polygrad Tensors, .* torch.Tensor"):
        optim.Adam([torch.ones(3, requires_grad=True)])
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD({_leaf()}, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    w = _leaf()
    with pytest.raises(ValueError, match="parameter 1 of parameter group 0 appears twice"):
        optim.SGD([w, w], lr=0.1)
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})
    with pytest.raises(ValueError, match="'params' entry"):
        opt.add_param_group({"lr": 0.1})
    assert len(opt.param_groups) == 1


BAD_OPTIONS = [
    ("SGD", {"lr": -0.1}, "Invalid learning rate: -0.1"),
    ("SGD", {"lr": 0.1, "momentum": -0.5}, "Invalid momentum value: -0.5"),
    ("SGD", {"lr": 0.1, "weight_decay": -1e-4}, "Invalid weight_decay value: -0.0001"),
    ("SGD", {"lr": 0.1, "nesterov": True}, "Nesterov momentum requires a momentum"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}, "zero dampening"),
    ("Adam", {"lr": -1.0}, "Invalid learning rate: -1.0"),
    ("Adam", {"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
    ("Adam", {"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
    ("Adam", {"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    ("Adam", {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    ("AdamW", {"betas": (0.9, 1.5)}, "Invalid beta parameter at index 1: 1.5"),
    ("AdamW", {"lr": float("nan")}, "Invalid learning rate: nan"),
    ("RMSprop", {"alpha": -0.9}, "Invalid alpha value: -0.9"),
    ("RMSprop", {"momentum": -0.1}, "Invalid momentum value: -0.1"),
    ("RMSprop", {"eps": -1.0}, "Invalid epsilon value: -1.0"),
    ("RMSprop", {"lr": -0.01}, "Invalid learning rate: -0.01"),
]


@pytest.mark.parametrize(
    "name, kwargs, message", BAD_OPTIONS, ids=[_case_id(n, k) for n, k, _ in BAD_OPTIONS]
)
def test_out_of_range_options_are_refused_with_torchs_message(name, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(optim, name)([_leaf()], **kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(torch.optim, name)([torch.ones(3, requires_grad=True)], **kwargs)


def test_out_of_range_group_options_are_refused_naming_the_group():
    with pytest.raises(ValueError, match=r"Invalid learning rate: -1 \(parameter group 1\)"):
        optim.SGD([{"params": [_leaf()]}, {"params": [_leaf()], "lr": -1}], lr=0.1)
    opt = optim.Adam([_leaf()])
    with pytest.raises(ValueError, match=r"index 0: 2.0 \(parameter group 1\)"):
        opt.add_param_group({"params": [_leaf()], "betas": (2.0, 0.9)})
    assert len(opt.param_groups) == 1


def test_bad_scheduler_arguments_are_refused():
    opt = optim.SGD([_leaf()], lr=0.1)
    torch_opt = torch.optim.SGD([torch.ones(1, requires_grad=True)], lr=0.1)
    with pytest.raises(TypeError, match="SGD is not a polygrad.optim Optimizer"):
        lr_scheduler.StepLR(torch_opt, step_size=2)
    with pytest.raises(TypeError, match="not a polygrad.optim Optimizer"):
        lr_scheduler.ReduceLROnPlateau(torch_opt)
    with pytest.raises(ValueError, match="step_size must be a positive integer, got 0"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max must be a positive integer"):
        lr_scheduler.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas, but got 2"):
        lr_scheduler.LambdaLR(opt, [lambda e: 1.0, lambda e: 1.0])
    with pytest.raises(TypeError, match="lr_lambda should be a function"):
        lr_scheduler.LambdaLR(opt, 0.5)
    with pytest.raises(KeyError, match="initial_lr.*last_epoch=3"):
        lr_scheduler.ExponentialLR(opt, gamma=0.9, last_epoch=3)
    with pytest.raises(ValueError, match=r"Factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode 'best' is unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="best")
    with pytest.raises(ValueError, match="threshold mode 'relative' is unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="relative")
    with pytest.raises(ValueError, match="expected 1 min_lrs, got 2"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.0, 0.1])
    assert opt.param_groups[0]["lr"] == 0.1


def test_repr_lists_each_group_and_its_options():
    opt = optim.SGD([{"params": [_leaf()]}, {"params": [_leaf()], "lr": 0.5}], lr=0.1)
    text = repr(opt)
    assert text.startswith("SGD (") and "Parameter Group 1" in text
    assert "    lr: 0.5" in text and "    momentum: 0.0" in text
