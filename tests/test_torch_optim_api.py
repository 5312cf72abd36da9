"""polygrad.optim against torch.optim in float64, for the optimizers added to match torch
(Adadelta, Adagrad, Adamax, NAdam, RAdam, LBFGS) and torch's API around all of them: option
combinations, torch's kernel switches (foreach, fused, capturable), param_groups with per-group
options and add_param_group, named parameters, zero_grad, state_dict layout and loading a torch
state dict converted to NumPy, and the schedulers ConstantLR, LinearLR, MultiplicativeLR,
SequentialLR, CosineAnnealingWarmRestarts, OneCycleLR with their state_dicts.

Both libraries start from the same float64 weights and train the same small tanh MLP on the same
batches; parameters are compared after every step.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close

import polygrad as pg
import polygrad.optim as optim
from polygrad.optim import lr_scheduler

SIZES = [(6, 4), (6,), (2, 6), (2,)]
RTOL, ATOL = 1e-10, 1e-13


def weights() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.uniform(-0.5, 0.5, s) for s in SIZES]


DATA = [
    (
        np.random.default_rng(i).standard_normal((8, 4)),
        np.random.default_rng(10 + i).standard_normal((8, 2)),
    )
    for i in range(4)
]


def params(lib, ws=None):
    return [lib.tensor(w, requires_grad=True) for w in (weights() if ws is None else ws)]


def loss_of(ps, step):
    lib = torch if isinstance(ps[0], torch.Tensor) else pg
    x, y = (lib.tensor(a) for a in DATA[step % len(DATA)])
    h = (x @ ps[0].T + ps[1]).tanh()
    return ((h @ ps[2].T + ps[3] - y) ** 2).mean()


def train(ps, opt, step):
    opt.zero_grad()
    loss = loss_of(ps, step)
    loss.backward()
    opt.step()
    return loss


def assert_params(mine, theirs):
    for a, b in zip(mine, theirs):
        assert_close(a, b, rtol=RTOL, atol=ATOL)


CASES = [
    ("Adadelta", {}),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(maximize=True, foreach=True)),
    ("Adagrad", {}),
    (
        "Adagrad",
        dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3, eps=1e-6),
    ),
    ("Adagrad", dict(maximize=True, foreach=True)),
    ("Adagrad", dict(fused=True)),
    ("Adamax", {}),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adamax", dict(maximize=True, foreach=True)),
    ("NAdam", {}),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(maximize=True, foreach=True)),
    ("RAdam", {}),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),  # rectified early
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(maximize=True, foreach=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, foreach=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, foreach=True)),
    ("Adam", dict(lr=0.01, fused=True)),
    ("AdamW", dict(lr=0.01, foreach=True, capturable=False)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, foreach=True)),
]


@pytest.mark.parametrize(
    ("name", "kwargs"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)]
)
def test_steps_match_torch(name, kwargs):
    p, t = params(pg), params(torch)
    mine, theirs = getattr(optim, name)(p, **kwargs), getattr(torch.optim, name)(t, **kwargs)
    for step in range(8):
        train(p, mine, step)
        train(t, theirs, step)
        assert_params(p, t)


@pytest.mark.parametrize(
    "name",
    ["Adadelta", "Adagrad", "Adamax", "NAdam", "RAdam", "SGD", "Adam", "AdamW", "RMSprop", "LBFGS"],
)
def test_defaults_and_group_options_match_torch(name):
    mine = getattr(optim, name)(params(pg))
    theirs = getattr(torch.optim, name)(params(torch))
    ours = {k: v for k, v in mine.param_groups[0].items() if k != "params"}
    torchs = {k: v for k, v in theirs.param_groups[0].items() if k != "params"}
    assert ours == torchs


def test_nadam_with_float64_default_dtype_matches_torch():
    torch.set_default_dtype(torch.float64)
    pg.set_default_dtype(pg.float64)
    try:
        test_steps_match_torch("NAdam", dict(lr=0.05))
    finally:
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("name", ["Adadelta", "Adagrad", "Adamax", "NAdam", "RAdam"])
def test_param_groups_add_param_group_and_named_parameters(name):
    p, t = params(pg), params(torch)
    group_opts = {
        "Adadelta": dict(rho=0.5),
        "Adagrad": dict(lr_decay=0.1),
        "Adamax": dict(betas=(0.5, 0.9)),
        "NAdam": dict(momentum_decay=0.02),
        "RAdam": dict(betas=(0.7, 0.8)),
    }[name]
    make = lambda lib, ps: getattr(lib.optim if lib is torch else optim, name)(
        [{"params": [("w1", ps[0]), ("b1", ps[1])], "lr": 0.05, **group_opts}], lr=0.01
    )
    mine, theirs = make(pg, p), make(torch, t)
    for step in range(3):
        train(p, mine, step)
        train(t, theirs, step)
    mine.add_param_group({"params": [("w2", p[2]), ("b2", p[3])], "weight_decay": 0.1})
    theirs.add_param_group({"params": [("w2", t[2]), ("b2", t[3])], "weight_decay": 0.1})
    if name == "Adagrad":  # torch's Adagrad creates state only for the constructor's params
        theirs.state[t[2]].update(step=torch.tensor(0.0), sum=torch.zeros_like(t[2]))
        theirs.state[t[3]].update(step=torch.tensor(0.0), sum=torch.zeros_like(t[3]))
    for step in range(3, 8):
        train(p, mine, step)
        train(t, theirs, step)
        assert_params(p, t)
    assert mine.param_groups[1]["param_names"] == theirs.param_groups[1]["param_names"]
    assert mine.state_dict()["param_groups"][0]["param_names"] == ["w1", "b1"]
    for lib_optim, ps in ((torch.optim, t), (optim, p)):
        opt = getattr(lib_optim, name)([ps[0]])
        with pytest.raises(ValueError, match="with/without names"):
            opt.add_param_group({"params": [("w", ps[1])]})
    assert [g["lr"] for g in mine.param_groups] == [g["lr"] for g in theirs.param_groups]


def _to_numpy(sd):
    """A torch optimizer state dict with every tensor converted to a NumPy array."""

    def conv(v):
        if isinstance(v, torch.Tensor):
            return v.detach().numpy().copy()
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v

    return {
        "state": {i: {k: conv(v) for k, v in e.items()} for i, e in sd["state"].items()},
        "param_groups": [dict(g) for g in sd["param_groups"]],
    }


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("Adadelta", {}),
        ("Adagrad", dict(lr=0.1)),
        ("Adamax", {}),
        ("NAdam", dict(lr=0.01)),
        ("RAdam", dict(lr=0.01)),
        ("Adam", dict(amsgrad=True)),
        ("SGD", dict(momentum=0.9)),
        ("RMSprop", dict(centered=True, momentum=0.5)),
    ],
)
def test_torch_state_dict_converted_to_numpy_loads(name, kwargs):
    t = params(torch)
    theirs = getattr(torch.optim, name)(t, **kwargs)
    for step in range(4):
        train(t, theirs, step)
    p = params(pg, [w.detach().numpy().copy() for w in t])
    mine = getattr(optim, name)(p, **kwargs)
    mine.load_state_dict(_to_numpy(theirs.state_dict()))
    for step in range(4, 9):
        train(p, mine, step)
        train(t, theirs, step)
        assert_params(p, t)
    sd, tsd = mine.state_dict(), theirs.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    assert {i: set(e) for i, e in sd["state"].items()} == {
        i: set(e) for i, e in tsd["state"].items()
    }


def test_adagrad_state_exists_before_the_first_step_as_torch():
    mine, theirs = (
        optim.Adagrad(params(pg), initial_accumulator_value=0.5),
        torch.optim.Adagrad(params(torch), initial_accumulator_value=0.5),
    )
    sd, tsd = mine.state_dict(), theirs.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"]) == [0, 1, 2, 3]
    for i in range(4):
        assert_close(sd["state"][i]["sum"], tsd["state"][i]["sum"])


def test_zero_grad_sets_to_none_by_default():
    p = params(pg)
    opt = optim.NAdam(p)
    train(p, opt, 0)
    opt.zero_grad(set_to_none=False)
    assert all(q.grad is not None and not q.grad.numpy().any() for q in p)
    opt.zero_grad()
    assert all(q.grad is None for q in p)


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("Adadelta", dict(rho=1.5), "Invalid rho value"),
        ("Adagrad", dict(lr_decay=-1.0), "Invalid lr_decay value"),
        ("Adagrad", dict(initial_accumulator_value=-1.0), "Invalid initial_accumulator_value"),
        ("Adamax", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0"),
        ("NAdam", dict(momentum_decay=-1.0), "Invalid momentum_decay value"),
        ("RAdam", dict(eps=-1.0), "Invalid epsilon value"),
        ("LBFGS", dict(lr=-1.0), "Invalid learning rate"),
    ],
)
def test_invalid_options_raise_torchs_value_error(name, kwargs, match):
    for lib_optim, ps in ((torch.optim, params(torch)), (optim, params(pg))):
        with pytest.raises(ValueError, match=match):
            getattr(lib_optim, name)(ps, **kwargs)


def test_differentiable_steps_are_refused_clearly():
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        optim.RAdam(params(pg), differentiable=True)
    for lib_optim, ps in ((torch.optim, params(torch)), (optim, params(pg))):
        with pytest.raises(RuntimeError, match="cannot be `True` together"):
            lib_optim.Adam(ps, fused=True, foreach=True)


# -- LBFGS ----------------------------------------------------------------------------------------
# NOTE: L-BFGS on this non-convex model amplifies rounding (curvature pairs y = g - g_prev cancel
# near convergence): torch's own result moves by ~1e-4 when its initial weights move by one ulp.
# One-iteration steps are compared tightly; full steps against that measured sensitivity.


def make_closure(ps, opt, step):
    """torch's closure for L-BFGS: zero the gradients, compute the loss, backward, return it."""

    def closure():
        opt.zero_grad()
        loss = loss_of(ps, step)
        loss.backward()
        return loss

    return closure


def lbfgs_run(lib, ws, kwargs, steps):
    ps = params(lib, ws)
    opt = (torch.optim if lib is torch else optim).LBFGS(ps, **kwargs)
    losses = []
    for step in range(steps):
        losses.append(opt.step(make_closure(ps, opt, step)).item())
    return ps, opt, losses


def test_lbfgs_single_iterations_match_torch_tightly():
    p, mine, _ = lbfgs_run(pg, None, dict(max_iter=1), 1)
    t, theirs, _ = lbfgs_run(torch, None, dict(max_iter=1), 1)
    for _ in range(12):
        for ps, opt in ((p, mine), (t, theirs)):
            opt.step(make_closure(ps, opt, 0))
        for a, b in zip(p, t):
            assert_close(a, b, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        dict(line_search_fn="strong_wolfe"),
        dict(lr=0.5, max_iter=5, history_size=3),
        dict(max_iter=7, max_eval=9, history_size=2, line_search_fn="strong_wolfe"),
        dict(tolerance_grad=1e-3, tolerance_change=1e-4),
    ],
)
def test_lbfgs_matches_torch(kwargs):
    p, mine, losses = lbfgs_run(pg, None, kwargs, 3)
    t, theirs, expected = lbfgs_run(torch, None, kwargs, 3)
    nudged = [np.nextafter(w, 2 * w + 1) for w in weights()]  # one ulp away from 0 and up
    t2, _, _ = lbfgs_run(torch, nudged, kwargs, 3)
    sensitivity = max(float(((a - b).abs() / (b.abs() + 1e-3)).max()) for a, b in zip(t2, t))
    tol = max(1e-11, 10 * sensitivity)
    np.testing.assert_allclose(losses, expected, rtol=tol)
    for a, b in zip(p, t):
        # the sensitivity is relative to |b| + 1e-3, so near-zero entries get it as an absolute
        # tolerance (the pinned torch build differs from ours by ~1e-11 there, as a nudge does)
        assert_close(a, b, rtol=tol, atol=tol)
    state, tstate = mine.state[p[0]], theirs.state[t[0]]
    assert (state["func_evals"], state["n_iter"]) == (tstate["func_evals"], tstate["n_iter"])


def test_lbfgs_state_dict_from_torch_resumes():
    kwargs = dict(max_iter=2, line_search_fn="strong_wolfe")
    t, theirs, _ = lbfgs_run(torch, None, kwargs, 2)
    p = params(pg, [w.detach().numpy().copy() for w in t])
    mine = optim.LBFGS(p, **kwargs)
    mine.load_state_dict(_to_numpy(theirs.state_dict()))
    for step in range(2, 4):
        for ps, opt in ((p, mine), (t, theirs)):
            opt.step(make_closure(ps, opt, step))
        for a, b in zip(p, t):
            assert_close(a, b, rtol=1e-11, atol=1e-13)
    resumed = optim.LBFGS(params(pg, [q.numpy() for q in p]), **kwargs)
    resumed.load_state_dict(mine.state_dict())  # our own layout round-trips
    n_iter = resumed.state[resumed.param_groups[0]["params"][0]]["n_iter"]
    assert n_iter == mine.state[p[0]]["n_iter"] == theirs.state[t[0]]["n_iter"]


def test_lbfgs_refusals_match_torch():
    for lib_optim, ps in ((torch.optim, params(torch)), (optim, params(pg))):
        with pytest.raises(ValueError, match="parameter groups"):
            lib_optim.LBFGS([{"params": ps[:2]}, {"params": ps[2:]}])
        opt = lib_optim.LBFGS(ps, line_search_fn="backtracking")

        with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
            opt.step(make_closure(ps, opt, 0))


# -- schedulers -----------------------------------------------------------------------------------
def _schedules(lib_optim, sched):
    return [
        ("ConstantLR", lambda o: sched.ConstantLR(o, factor=0.5, total_iters=3)),
        ("LinearLR", lambda o: sched.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=4)),
        ("MultiplicativeLR", lambda o: sched.MultiplicativeLR(o, lambda e: 0.9)),
        (
            "SequentialLR",
            lambda o: sched.SequentialLR(
                o,
                [
                    sched.LinearLR(o, start_factor=0.1, total_iters=3),
                    sched.CosineAnnealingLR(o, T_max=5),
                ],
                milestones=[3],
            ),
        ),
        (
            "SequentialLR3",
            lambda o: sched.SequentialLR(
                o,
                [
                    sched.ConstantLR(o, factor=0.3, total_iters=2),
                    sched.ExponentialLR(o, 0.8),
                    sched.StepLR(o, 2, 0.5),
                ],
                milestones=[2, 5],
            ),
        ),
        ("WarmRestarts", lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=3, eta_min=0.01)),
        ("WarmRestartsMult", lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2)),
        ("OneCycle", lambda o: sched.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=12)),
        (
            "OneCycleLinear3",
            lambda o: sched.OneCycleLR(
                o,
                max_lr=0.8,
                epochs=3,
                steps_per_epoch=4,
                anneal_strategy="linear",
                three_phase=True,
                pct_start=0.25,
                div_factor=10.0,
                final_div_factor=100.0,
            ),
        ),
        ("OneCycleAdam", None),
    ]


@pytest.mark.parametrize("case", [n for n, _ in _schedules(optim, lr_scheduler)])
def test_schedulers_match_torch(case):
    runs = []
    for lib, lib_optim, sched in (
        (torch, torch.optim, torch.optim.lr_scheduler),
        (pg, optim, lr_scheduler),
    ):
        ps = params(lib)
        if case == "OneCycleAdam":
            opt = lib_optim.Adam([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.1}], lr=0.01)
            s = sched.OneCycleLR(opt, max_lr=0.3, total_steps=12)
        else:
            opt = lib_optim.SGD(
                [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.1}], lr=0.01, momentum=0.9
            )
            s = dict(_schedules(lib_optim, sched))[case](opt)
        lrs = [s.get_last_lr()]
        moms = []
        for step in range(11):
            train(ps, opt, step)
            s.step()
            lrs.append(s.get_last_lr())
            moms.append([g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups])
        runs.append((lrs, moms, s.state_dict(), ps))
    (tl, tm, tsd, tp), (ml, mm, msd, mp) = runs
    np.testing.assert_allclose(np.array(ml), np.array(tl), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(np.array(mm, dtype=float), np.array(tm, dtype=float), rtol=1e-13)
    assert_params(mp, tp)
    assert set(msd) == set(tsd) - {"_get_lr_called_within_step"}  # torch's warning flag


def test_warm_restarts_fractional_epochs_and_state_dict_round_trip():
    lrs = []
    for lib_optim, sched, lib in (
        (torch.optim, torch.optim.lr_scheduler, torch),
        (optim, lr_scheduler, pg),
    ):
        opt = lib_optim.SGD(params(lib), lr=0.1)
        s = sched.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=3)
        got = []
        for e in (0.5, 1.0, 2.25, 7.5, 9.0):
            s.step(e)
            got.append(s.get_last_lr()[0])
        opt2 = lib_optim.SGD(params(lib), lr=0.1)
        s2 = sched.CosineAnnealingWarmRestarts(opt2, T_0=2, T_mult=3)
        s2.load_state_dict(s.state_dict())
        s2.step()
        got.append(s2.get_last_lr()[0])
        lrs.append(got)
    np.testing.assert_allclose(lrs[1], lrs[0], rtol=1e-13)


def test_sequential_lr_state_dict_resumes():
    def build(lib_optim, sched, lib):
        opt = lib_optim.SGD(params(lib), lr=0.1)
        return opt, sched.SequentialLR(
            opt,
            [sched.LinearLR(opt, 0.1, total_iters=3), sched.ExponentialLR(opt, 0.7)],
            milestones=[3],
        )

    opt, s = build(optim, lr_scheduler, pg)
    for _ in range(4):
        opt.step()
        s.step()
    opt2, s2 = build(optim, lr_scheduler, pg)
    s2.load_state_dict(s.state_dict())
    opt2.load_state_dict(opt.state_dict())
    topt, ts = build(torch.optim, torch.optim.lr_scheduler, torch)
    for _ in range(4):
        topt.step()
        ts.step()
    for _ in range(3):
        opt2.step()
        s2.step()
        topt.step()
        ts.step()
        assert s2.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-13)


@pytest.mark.parametrize(
    "bad",
    [
        lambda S, o: S.LinearLR(o, start_factor=0.0),
        lambda S, o: S.ConstantLR(o, factor=1.5),
        lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=0),
        lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
        lambda S, o: S.OneCycleLR(o, max_lr=1.0),
        lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=2.0),
        lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"),
        lambda S, o: S.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=10),
        lambda S, o: S.SequentialLR(o, [S.StepLR(o, 2)], milestones=[1]),
        lambda S, o: S.SequentialLR(o, [S.ReduceLROnPlateau(o), S.StepLR(o, 2)], milestones=[1]),
    ],
)
def test_scheduler_refusals_match_torch(bad):
    for lib_optim, sched, lib in (
        (torch.optim, torch.optim.lr_scheduler, torch),
        (optim, lr_scheduler, pg),
    ):
        with pytest.raises(ValueError):
            bad(sched, lib_optim.SGD(params(lib), lr=0.1))


def test_one_cycle_refuses_stepping_past_total_steps():
    for lib_optim, sched, lib in (
        (torch.optim, torch.optim.lr_scheduler, torch),
        (optim, lr_scheduler, pg),
    ):
        opt = lib_optim.SGD(params(lib), lr=0.1, momentum=0.9)
        s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=2)
        opt.step()
        s.step()
        opt.step()
        s.step()
        with pytest.raises(ValueError, match="Tried to step 3 times"):
            s.step()
