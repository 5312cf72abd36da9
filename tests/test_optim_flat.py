"""Adam's whole-group (flat) update: the same steps as torch's and bitwise the same as the
parameter-by-parameter path, across state dicts, missing gradients and dtype moves."""

from __future__ import annotations

import numpy as np
import torch

import polygrad as pg
import polygrad.optim as optim

SHAPES = ((4, 3), (4,), (2, 4), (2,))


def _params(seed: int) -> list[pg.Tensor]:
    rng = np.random.default_rng(seed)
    return [pg.tensor(rng.standard_normal(s), requires_grad=True) for s in SHAPES]


def _loss(ws: list) -> object:
    return sum((w * w * w).sum() for w in ws)


def _per_param(opt: optim.Optimizer) -> optim.Optimizer:
    opt._flat_state = lambda *args, **kwargs: None  # force the parameter-by-parameter path
    return opt


def test_flat_adam_matches_torch_and_the_per_parameter_path() -> None:
    flat_ws, loop_ws = _params(0), _params(0)
    tws = [torch.tensor(w.numpy(), requires_grad=True) for w in flat_ws]
    flat, loop = optim.Adam(flat_ws, lr=0.05), _per_param(optim.Adam(loop_ws, lr=0.05))
    topt = torch.optim.Adam(tws, lr=0.05)
    for step in range(6):
        for opt, ws in ((flat, flat_ws), (loop, loop_ws)):
            opt.zero_grad()
            _loss(ws).backward()
            if step == 3:  # a step where one parameter has no gradient
                ws[1].grad = None
            opt.step()
        topt.zero_grad()
        sum((w**3).sum() for w in tws).backward()
        if step == 3:
            tws[1].grad = None
        topt.step()
    if flat_ws[0]._xp.backend.views_share_memory:
        assert flat._flat, "the flat path did not run"
    for a, b, t in zip(flat_ws, loop_ws, tws):
        assert a.numpy().tobytes() == b.numpy().tobytes()
        np.testing.assert_allclose(a.numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-14)
        for name in ("exp_avg", "exp_avg_sq"):
            fa, lb = (pg.Tensor(o.state[w][name]).numpy() for o, w in ((flat, a), (loop, b)))
            assert fa.tobytes() == lb.tobytes()
        assert flat.state[a]["step"] == loop.state[b]["step"]


def test_flat_adam_resumes_from_a_state_dict_and_follows_a_dtype_move() -> None:
    ws, ref_ws = _params(1), _params(1)
    opt, ref = optim.Adam(ws, lr=0.01), _per_param(optim.Adam(ref_ws, lr=0.01))
    for _ in range(2):
        for o, w in ((opt, ws), (ref, ref_ws)):
            o.zero_grad()
            _loss(w).backward()
            o.step()
    resumed = optim.Adam(ws, lr=0.01)
    resumed.load_state_dict(opt.state_dict())
    opt.state[ws[0]]["exp_avg"][...] = 7.0  # the old optimizer's buffers are not shared
    for o, w in ((resumed, ws), (ref, ref_ws)):
        o.zero_grad()
        _loss(w).backward()
        o.step()
    for a, b in zip(ws, ref_ws):
        assert a.numpy().tobytes() == b.numpy().tobytes()
    for w in ws:  # a move to float32: the state follows, and the step still runs
        w.data = w.data.to(pg.float32)
    resumed.zero_grad()
    _loss(ws).backward()
    resumed.step()
    assert all(resumed.state[w]["exp_avg"].dtype == w._data.dtype for w in ws)


def test_flat_adam_rechecks_what_can_change_between_steps() -> None:
    """The steady-state shortcut of ``_flat_state`` must not outlive a change of policy, of
    a parameter's array or of a state entry; the reused scratch buffers must not touch the
    gradients the user holds."""
    ws, ref_ws = _params(2), _params(2)
    opt, ref = optim.Adam(ws, lr=0.01), _per_param(optim.Adam(ref_ws, lr=0.01))

    def step(change=None) -> list:
        grads = []
        for o, w in ((opt, ws), (ref, ref_ws)):
            o.zero_grad()
            _loss(w).backward()
            grads.append([p.grad.numpy().copy() for p in w])
        if change is not None:
            change()
        held = [p.grad for p in ws]
        before = [p._data for p in ws]
        opt.step()
        ref.step()
        for g, want in zip(held, grads[0]):  # the scratch did not write into a gradient
            assert g.numpy().tobytes() == want.tobytes()
        for a, b in zip(ws, ref_ws):
            assert a.numpy().tobytes() == b.numpy().tobytes()
        return [a is p._data for a, p in zip(before, ws)]

    step()
    assert all(step())  # updated in place

    def out_of_place() -> None:
        opt.in_place = ref.in_place = False

    assert not any(step(out_of_place)), "the policy change was missed"
    opt.in_place = ref.in_place = None

    def replace_array() -> None:  # a new array of the same shape, outside the optimizer
        for w in (ws[0], ref_ws[0]):
            w.data = pg.tensor(w.numpy() * 0.5)

    step(replace_array)
    step()

    def replace_state() -> None:
        for o, w in ((opt, ws), (ref, ref_ws)):
            o.state[w[1]]["exp_avg"] = o.state[w[1]]["exp_avg"] * 0 + 0.25

    step(replace_state)
    step()
    if ws[0]._xp.backend.views_share_memory:
        assert opt._flat, "the flat path did not run"
