"""Tensor.register_post_accumulate_grad_hook against torch: when it runs, what it sees."""

import numpy as np
import pytest
import torch
from helpers import from_torch

import polygrad as pg


def _chain(lib, w1, w2, x):
    """Two layers: w2's gradient is complete before w1's is computed."""
    return ((x @ w1).tanh() @ w2).sum()


@pytest.mark.parametrize("lib", ["polygrad", "torch"])
def test_hook_runs_during_backward_with_the_accumulated_grad(lib):
    d = torch.float64
    tw1, tw2 = torch.randn(3, 4, dtype=d), torch.randn(4, 2, dtype=d)
    tx = torch.randn(5, 3, dtype=d)
    if lib == "polygrad":
        w1, w2 = from_torch(tw1, requires_grad=True), from_torch(tw2, requires_grad=True)
        x = from_torch(tx)
    else:
        w1, w2, x = tw1.clone().requires_grad_(), tw2.clone().requires_grad_(), tx
    seen = []

    def hook(p):
        # at w2's hook, w1's gradient is not accumulated yet: the hook ran mid-backward
        seen.append((p.grad.clone(), w1.grad is None))

    handle = w2.register_post_accumulate_grad_hook(hook)
    _chain(lib, w1, w2, x).backward()
    _chain(lib, w1, w2, x).backward()  # second call: the hook sees the accumulated sum
    handle.remove()
    _chain(lib, w1, w2, x).backward()  # removed: not called again
    assert len(seen) == 2 and seen[0][1] and not seen[1][1]
    ref_w2 = tw2.clone().requires_grad_()
    for _ in range(2):
        _chain("torch", tw1.clone().requires_grad_(), ref_w2, tx).backward()
    got = seen[1][0].numpy()
    np.testing.assert_allclose(got, ref_w2.grad.numpy(), rtol=1e-12)


def test_hook_on_non_leaf_is_refused_as_torch():
    x = pg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (torch.ones(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_hook_on_a_leaf_that_is_the_output_itself():
    x = pg.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    x.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.tolist()))
    x.backward(pg.tensor([3.0, 4.0]))
    assert calls == [[3.0, 4.0]]


def test_the_registry_keeps_no_leaf_alive():
    import gc
    import weakref

    from polygrad import _autograd

    before = len(_autograd._post_hooks)
    x = pg.ones(2, requires_grad=True)
    x.register_post_accumulate_grad_hook(lambda t: None)
    alive = weakref.ref(x)
    assert len(_autograd._post_hooks) == before + 1
    del x
    gc.collect()
    assert alive() is None and len(_autograd._post_hooks) == before


def _hooks_run(lib):
    x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    seen = []
    x.register_hook(lambda g: g * 3)
    second = x.register_hook(lambda g: g + 1)  # two hooks on one leaf
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (x * x).sum().backward()
    second.remove()
    (x * x).sum().backward()
    y = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    y.register_hook(lambda g: g * 2)
    (gy,) = lib.autograd.grad((y * y).sum(), y)
    return x.grad.tolist(), seen, gy.tolist()


def test_tensor_hooks_run_before_accumulation_and_post_hooks_after_as_torch():
    """register_hook's hooks change the gradient before it is accumulated (also in grad()),
    then the post-accumulate hook sees the accumulated .grad; removing a handle stops it."""
    assert _hooks_run(pg) == _hooks_run(torch)
