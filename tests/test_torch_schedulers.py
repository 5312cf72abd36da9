"""Every scheduler in torch.optim.lr_scheduler.__all__ against torch's, step for step
(issue 11, item 8): get_last_lr() (and the cycled momentum) over N steps, and a state_dict
round trip halfway that continues the same sequence."""

import pytest
import torch

import polygrad as pg

STEPS = 14


def _optimizers(lib, kind):
    params = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
    groups = [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}]
    if kind == "adam":
        return lib.optim.Adam(groups, lr=0.1)
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9)


SCHEDULERS = {
    "LambdaLR": lambda S, o: S.LambdaLR(o, [lambda e: 0.9**e, lambda e: 1 / (e + 1)]),
    "MultiplicativeLR": lambda S, o: S.MultiplicativeLR(o, lambda e: 0.95),
    "StepLR": lambda S, o: S.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda S, o: S.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
    "ConstantLR": lambda S, o: S.ConstantLR(o, factor=0.25, total_iters=4),
    "LinearLR": lambda S, o: S.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=6),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, gamma=0.8),
    "SequentialLR": lambda S, o: S.SequentialLR(
        o, [S.LinearLR(o, 0.1, total_iters=3), S.ExponentialLR(o, 0.9)], milestones=[4]
    ),
    "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.001),
    "ChainedScheduler": lambda S, o: S.ChainedScheduler(
        [S.ConstantLR(o, factor=0.5, total_iters=3), S.ExponentialLR(o, gamma=0.9)]
    ),
    "CyclicLR": lambda S, o: S.CyclicLR(o, 0.01, [0.1, 0.2], step_size_up=3, step_size_down=2),
    "CyclicLR-triangular2": lambda S, o: S.CyclicLR(
        o, 0.01, 0.1, step_size_up=2, mode="triangular2", cycle_momentum=False
    ),
    "CyclicLR-exp_range": lambda S, o: S.CyclicLR(
        o, [0.01, 0.02], 0.1, step_size_up=2, mode="exp_range", gamma=0.9
    ),
    "CyclicLR-scale_fn": lambda S, o: S.CyclicLR(
        o, 0.01, 0.1, step_size_up=2, scale_fn=lambda x: 0.5**x, scale_mode="iterations"
    ),
    "CosineAnnealingWarmRestarts": lambda S, o: S.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.01
    ),
    "OneCycleLR": lambda S, o: S.OneCycleLR(o, max_lr=[0.5, 0.3], total_steps=STEPS + 1),
    "PolynomialLR": lambda S, o: S.PolynomialLR(o, total_iters=8, power=2.0),
}
ADAM = {"CyclicLR-exp_range", "OneCycleLR"}


def test_every_torch_scheduler_is_here():
    import torch.optim.lr_scheduler as tl

    missing = [n for n in tl.__all__ if not hasattr(pg.optim.lr_scheduler, n)]
    assert not missing
    assert {n.split("-")[0] for n in SCHEDULERS} | {"LRScheduler", "ReduceLROnPlateau"} >= set(
        tl.__all__
    )


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def _trace(lib, name, steps, resume_at=None):
    kind = "adam" if name in ADAM else "sgd"
    opt = _optimizers(lib, kind)
    sched = SCHEDULERS[name](lib.optim.lr_scheduler, opt)
    seen = [(sched.get_last_lr(), _momenta(opt))]
    for i in range(steps):
        if i == resume_at:  # a fresh optimizer and scheduler, loaded from the states
            state, opt_state = sched.state_dict(), opt.state_dict()
            opt = _optimizers(lib, kind)
            new = SCHEDULERS[name](lib.optim.lr_scheduler, opt)
            opt.load_state_dict(opt_state)
            new.load_state_dict(state)
            sched = new
        opt.step()
        sched.step()
        seen.append((sched.get_last_lr(), _momenta(opt)))
    return seen


def _flat(trace):
    """The rates and momenta of a trace as one list (pytest.approx takes no nesting)."""
    return [value for lr, momenta in trace for value in (*lr, *momenta)]


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_schedule_equals_torch(name):
    want = _trace(torch, name, STEPS)
    assert _flat(_trace(pg, name, STEPS)) == pytest.approx(_flat(want), rel=1e-12, abs=1e-15)
    assert len({tuple(lr) for lr, _ in want}) > 1  # the schedule does change the rates


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_state_dict_round_trip_continues_the_schedule(name):
    want = _trace(torch, name, STEPS)
    got = _trace(pg, name, STEPS, resume_at=STEPS // 2)
    assert _flat(got) == pytest.approx(_flat(want), rel=1e-12)


def test_chained_and_cyclic_errors():
    opt = _optimizers(pg, "sgd")
    other = _optimizers(pg, "sgd")
    S = pg.optim.lr_scheduler
    with pytest.raises(ValueError):
        S.ChainedScheduler([])
    with pytest.raises(ValueError):
        S.ChainedScheduler([S.StepLR(opt, 2), S.StepLR(other, 2)])
    with pytest.raises(ValueError):
        S.ChainedScheduler([S.ReduceLROnPlateau(opt)])
    with pytest.raises(ValueError):
        S.CyclicLR(opt, 0.01, 0.1, mode="nosuch")
    with pytest.raises(ValueError):
        S.CyclicLR(pg.optim.Adagrad([pg.zeros(1, requires_grad=True)]), 0.01, 0.1)
    with pytest.raises(ValueError):
        S.CyclicLR(opt, [0.01], 0.1)
