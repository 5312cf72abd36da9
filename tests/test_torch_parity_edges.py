"""Edge cases found by auditing issue 12's layers against torch (float64 unless said): the
attention error types and weights after dropout, MHA's functional form, the padding modules,
zero vectors in normalize / cosine_similarity / pairwise_distance, ELU-family accuracy near
0, log-sigmoid's far tail, and cross-entropy with probability targets and ignore_index."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close, from_torch

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F


def _pair(*shape, requires_grad=True):
    t = torch.randn(*shape, dtype=torch.float64, requires_grad=requires_grad)
    return t, from_torch(t.detach(), requires_grad=requires_grad)


def _same_error(fn_torch, fn_pg):
    with pytest.raises(Exception) as t_err:
        fn_torch()
    with pytest.raises(type(t_err.value)):
        fn_pg()


# -- attention ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "q_shape, kv_shape, mask_shape, kw",
    [
        ((2, 4, 5, 8), (2, 2, 6, 8), None, {}),  # head counts differ without enable_gqa
        ((2, 4, 5, 8), (2, 4, 6, 8), (3, 5, 6), {}),  # a mask that does not broadcast
        ((2, 4, 5, 8), (2, 4, 6, 8), (2, 4, 5, 7), {}),
        ((2, 4, 5, 8), (2, 4, 6, 8), (3, 2, 4, 5, 6), {}),  # a mask with more batch axes
        ((2, 4, 5, 8), (2, 4, 6, 8), None, {"dropout_p": 1.5}),
    ],
)
def test_sdpa_errors_are_torchs_type(q_shape, kv_shape, mask_shape, kw):
    q, k = torch.randn(*q_shape, dtype=torch.float64), torch.randn(*kv_shape, dtype=torch.float64)
    m = None if mask_shape is None else torch.randn(*mask_shape, dtype=torch.float64)
    pm = None if m is None else from_torch(m)
    _same_error(
        lambda: torch.nn.functional.scaled_dot_product_attention(q, k, k, attn_mask=m, **kw),
        lambda: F.scaled_dot_product_attention(
            from_torch(q), from_torch(k), from_torch(k), attn_mask=pm, **kw
        ),
    )


@pytest.mark.parametrize("mask_shape", [(5, 6), (1, 4, 5, 6), (2, 1, 5, 6), (4, 1, 6), (5, 1)])
def test_sdpa_masks_that_broadcast(mask_shape):
    (q, pq), (k, pk) = _pair(2, 4, 5, 8), _pair(2, 4, 6, 8)
    m = torch.randn(*mask_shape, dtype=torch.float64)
    out = torch.nn.functional.scaled_dot_product_attention(q, k, k, attn_mask=m)
    got = F.scaled_dot_product_attention(pq, pk, pk, attn_mask=from_torch(m))
    assert_close(got, out.detach(), rtol=1e-12, atol=1e-13)


def _mha_pair(**kw):
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(4, 2, **kw).double()
    pm = nn.MultiheadAttention(4, 2, **kw).double()
    pm.load_state_dict({k: from_torch(v.detach()) for k, v in tm.state_dict().items()})
    return tm, pm


def test_mha_returns_the_weights_after_dropout():
    tm, pm = _mha_pair(dropout=1.0)  # p = 1: every weight dropped, deterministic
    x = torch.randn(3, 2, 4, dtype=torch.float64)
    t_out, t_w = tm(x, x, x)
    p_out, p_w = pm(from_torch(x), from_torch(x), from_torch(x))
    assert not t_w.any() and not p_w.numpy().any()
    assert_close(p_out, t_out.detach(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize(
    "what", ["embed_dim", "attn_mask_2d", "attn_mask_3d", "key_padding_mask", "key_value"]
)
def test_mha_shape_errors_are_torchs_type(what):
    tm, pm = _mha_pair()
    q = torch.randn(3, 2, 4, dtype=torch.float64)
    kw_t, kw_p, k = {}, {}, q
    if what == "embed_dim":
        q = k = torch.randn(3, 2, 5, dtype=torch.float64)
    elif what == "attn_mask_2d":
        kw_t["attn_mask"] = torch.zeros(3, 4, dtype=torch.bool)
    elif what == "attn_mask_3d":
        kw_t["attn_mask"] = torch.zeros(2, 3, 3, dtype=torch.bool)
    elif what == "key_padding_mask":
        kw_t["key_padding_mask"] = torch.zeros(2, 4, dtype=torch.bool)
    else:
        k = torch.randn(4, 2, 4, dtype=torch.float64)
    kw_p = {n: from_torch(v) for n, v in kw_t.items()}
    v = k if what != "key_value" else torch.randn(5, 2, 4, dtype=torch.float64)
    _same_error(
        lambda: tm(q, k, v, **kw_t),
        lambda: pm(from_torch(q), from_torch(k), from_torch(v), **kw_p),
    )


@pytest.mark.parametrize("static", [False, True])
def test_multi_head_attention_forward_matches_torch(static):
    tm, _ = _mha_pair(add_bias_kv=not static, add_zero_attn=True)
    x, px = _pair(3, 2, 4)
    sk = torch.randn(4, 5, 2, dtype=torch.float64) if static else None  # (N * H, S, D)
    # (L, S) before bias_k / zero attention extend the keys (both pad the mask with zeros);
    # torch cannot combine a mask with static keys of another length, so none there
    mask = None if static else torch.randn(3, 3, dtype=torch.float64)

    def args(conv):
        ws = [tm.in_proj_weight, tm.in_proj_bias, tm.bias_k, tm.bias_v]
        ws = [None if w is None else conv(w.detach()) for w in ws]
        return ws[:4] + [True, 0.0, conv(tm.out_proj.weight.detach()),
                         conv(tm.out_proj.bias.detach())]  # fmt: skip

    kw = {"need_weights": True, "average_attn_weights": False}
    t_out, t_w = torch.nn.functional.multi_head_attention_forward(
        x, x, x, 4, 2, *args(lambda t: t), attn_mask=mask, static_k=sk, static_v=sk, **kw
    )
    p_out, p_w = F.multi_head_attention_forward(
        px, px, px, 4, 2, *args(from_torch), attn_mask=None if mask is None else from_torch(mask),
        static_k=None if sk is None else from_torch(sk),
        static_v=None if sk is None else from_torch(sk), **kw,
    )  # fmt: skip
    assert tuple(p_w.shape) == tuple(t_w.shape)
    assert_close(p_out, t_out.detach(), rtol=1e-11, atol=1e-12)
    assert_close(p_w, t_w.detach(), rtol=1e-11, atol=1e-12)
    u = torch.randn(t_out.shape, dtype=torch.float64)
    t_out.backward(u)
    p_out.backward(from_torch(u))
    assert_close(px.grad, x.grad, rtol=1e-10, atol=1e-12)


# -- padding modules ---------------------------------------------------------------------
PADS = [
    f"{kind}Pad{n}d"
    for kind in ("Constant", "Zero", "Reflection", "Replication", "Circular")
    for n in (1, 2, 3)
]


@pytest.mark.parametrize("name", PADS)
@pytest.mark.parametrize("batched", [False, True])
def test_padding_modules_match_torch(name, batched):
    n = int(name[-2])
    extra = (1.5,) if name.startswith("Constant") else ()
    args = ((1, 2, 0, 1, 2, 1)[: 2 * n], *extra)
    tm, pm = getattr(torch.nn, name)(*args), getattr(nn, name)(*args)
    assert repr(pm) == repr(tm) and pm.padding == tm.padding
    t_int, p_int = getattr(torch.nn, name)(1, *extra), getattr(nn, name)(1, *extra)
    assert p_int.padding == t_int.padding and repr(p_int) == repr(t_int)
    x, px = _pair(*((2,) if batched else ()), 3, *([4] * n))
    out, got = tm(x), pm(px)
    assert_close(got, out.detach(), rtol=0, atol=0)
    u = torch.randn(out.shape, dtype=torch.float64)
    out.backward(u)
    got.backward(from_torch(u))
    assert_close(px.grad, x.grad, rtol=1e-12, atol=1e-14)


# -- zero vectors: torch's norm gradient is 0 where the norm is 0 (no NaN) -------------------
@pytest.mark.parametrize(
    "fn, y_rows",
    [
        (lambda f, a, b: f.normalize(a, p=2.0, dim=1), None),
        (lambda f, a, b: f.normalize(a, p=3.0, dim=1), None),
        (lambda f, a, b: f.cosine_similarity(a, b), None),
        (lambda f, a, b: f.pairwise_distance(a, b), "x + eps"),  # x1 - x2 + eps == 0 in row 0
        (lambda f, a, b: f.pairwise_distance(a, b, p=0.0), None),
        (lambda f, a, b: f.pairwise_distance(a, b, p=float("-inf")), None),
        (lambda f, a, b: f.pairwise_distance(a, b, p=float("inf")), None),
        (lambda f, a, b: f.pairwise_distance(a, b, p=1.5), "x + eps"),
    ],
)
def test_norm_based_functions_at_zero_vectors(fn, y_rows):
    x = torch.tensor([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]], dtype=torch.float64)
    y = torch.tensor([[1.0, 2.0, 3.0], [1.0, 0.0, 0.5]], dtype=torch.float64)
    if y_rows is not None:
        y[0] = x[0] + 1e-6
    x.requires_grad_(True)
    px, py = from_torch(x.detach(), requires_grad=True), from_torch(y)
    out, got = fn(torch.nn.functional, x, y), fn(F, px, py)
    assert_close(got, out.detach(), rtol=1e-12, atol=1e-12)
    out.sum().backward()
    got.sum().backward()
    assert np.isfinite(px.grad.numpy()).all()
    # torch leaves no gradient at all for p = 0 (a count): zeros here
    want = torch.zeros_like(x) if x.grad is None else x.grad
    assert_close(px.grad, want, rtol=1e-10, atol=1e-12)


def test_distance_modules_match_torch():
    (a, pa), (b, pb) = _pair(4, 5), _pair(4, 5)
    for t_mod, p_mod in [
        (torch.nn.CosineSimilarity(dim=1, eps=1e-6), nn.CosineSimilarity(dim=1, eps=1e-6)),
        (torch.nn.PairwiseDistance(p=3.0, keepdim=True), nn.PairwiseDistance(p=3.0, keepdim=True)),
    ]:
        assert_close(p_mod(pa, pb), t_mod(a, b).detach(), rtol=1e-12, atol=1e-13)
        assert repr(p_mod) == repr(t_mod)


# -- accuracy near 0 and in the tails -------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", ["elu", "selu", "celu"])
def test_elu_family_keeps_digits_near_zero(name, dtype):
    x = torch.tensor([-1e-8, -1e-5, -1e-3, -0.5, 0.0, 2.0], dtype=dtype)
    out = getattr(torch.nn.functional, name)(x)
    got = getattr(F, name)(from_torch(x))
    rtol = 2e-7 if dtype == torch.float32 else 1e-15
    assert_close(got, out, rtol=rtol, atol=0)


def test_logsigmoid_far_tail():
    x = torch.tensor([-800.0, -40.0, -25.0, -20.5, 0.0, 30.0], dtype=torch.float64)
    x.requires_grad_(True)
    px = from_torch(x.detach(), requires_grad=True)
    out, got = torch.nn.functional.logsigmoid(x), F.logsigmoid(px)
    assert_close(got, out.detach(), rtol=1e-15, atol=0)
    out.sum().backward()
    got.sum().backward()
    assert_close(px.grad, x.grad, rtol=1e-14, atol=1e-300)


def test_cross_entropy_probability_targets_with_a_negative_ignore_index():
    (x, px), t = _pair(4, 5, 3), torch.softmax(torch.randn(4, 5, 3, dtype=torch.float64), 1)
    w = torch.rand(5, dtype=torch.float64)
    kw = {"ignore_index": -7, "label_smoothing": 0.2}
    out = torch.nn.functional.cross_entropy(x, t, weight=w, **kw)
    got = F.cross_entropy(px, from_torch(t), weight=from_torch(w), **kw)
    assert_close(got, out.detach(), rtol=1e-13, atol=0)
    with pytest.raises(RuntimeError, match="ignore_index"):
        F.cross_entropy(px, from_torch(t), ignore_index=1)


@pytest.mark.parametrize("args", [(3,), (3, 2, 1), ((3,), [2])])
def test_avg_pool1d_keeps_torchs_one_tuples(args):
    t, p = torch.nn.AvgPool1d(*args), nn.AvgPool1d(*args)
    assert (p.kernel_size, p.stride, p.padding) == (t.kernel_size, t.stride, t.padding)
    assert repr(p) == repr(t)
    x = torch.randn(2, 3, 9, dtype=torch.float64)
    assert_close(p(from_torch(x)), t(x), rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    "name, kw, shape",
    [
        ("BatchNorm3d", {}, (3, 4, 2, 3, 2)),
        ("BatchNorm3d", {"momentum": None, "affine": False}, (3, 4, 2, 3, 2)),
        ("InstanceNorm3d", {"affine": True, "track_running_stats": True}, (2, 4, 2, 3, 2)),
        ("InstanceNorm3d", {}, (4, 2, 3, 2)),  # unbatched
    ],
)
def test_3d_norm_layers_match_torch(name, kw, shape):
    tm = getattr(torch.nn, name)(4, **kw).double()
    pm = getattr(nn, name)(4, **kw).double()
    assert list(pm.state_dict()) == list(tm.state_dict())
    for _ in range(2):  # two training steps: running statistics too
        x, px = _pair(*shape)
        out, got = tm(x), pm(px)
        assert_close(got, out.detach(), rtol=1e-11, atol=1e-12)
        u = torch.randn(out.shape, dtype=torch.float64)
        out.backward(u)
        got.backward(from_torch(u))
        assert_close(px.grad, x.grad, rtol=1e-10, atol=1e-12)
    for k, v in tm.state_dict().items():
        assert_close(pm.state_dict()[k], v, rtol=1e-12, atol=1e-14)
    tm.eval()
    pm.eval()
    x = torch.randn(*shape, dtype=torch.float64)
    assert_close(pm(from_torch(x)), tm(x).detach(), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_family_dtype_argument(name):
    x = torch.randn(3, 4, dtype=torch.float32)
    out = getattr(torch.nn.functional, name)(x, dim=1, dtype=torch.float64)
    got = getattr(F, name)(from_torch(x), dim=1, dtype=pg.float64)
    assert got.dtype == pg.float64
    assert_close(got, out, rtol=1e-14, atol=1e-15)


def test_embedding_from_pretrained_as_torch():
    w = torch.randn(5, 3, dtype=torch.float64)
    idx = torch.tensor([[0, 4], [2, 2]])
    for freeze in (True, False):
        t = torch.nn.Embedding.from_pretrained(w, freeze=freeze, padding_idx=1)
        p = nn.Embedding.from_pretrained(from_torch(w), freeze=freeze, padding_idx=1)
        assert p.weight.requires_grad == t.weight.requires_grad == (not freeze)
        assert (p.padding_idx, p.num_embeddings, p.embedding_dim) == (1, 5, 3)
        assert_close(p(from_torch(idx)), t(idx).detach(), rtol=0, atol=0)
    with pytest.raises(AssertionError):
        nn.Embedding.from_pretrained(pg.ones(3))


@pytest.mark.parametrize("shape", [(8, 6, 3, 4, 5), (6, 3, 4, 5)])
def test_dropout3d_drops_whole_channels(shape):
    pg.manual_seed(0)
    x = pg.ones(*shape, dtype=pg.float64)
    y = nn.Dropout3d(0.5)(x).numpy()
    per_channel = y.reshape(y.shape[: len(shape) - 3] + (-1,))
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert (per_channel.min(-1) == per_channel.max(-1)).all()  # whole channels
    assert 0.2 < (per_channel[..., 0] == 0).mean() < 0.8
    assert np.array_equal(nn.Dropout3d(0.5).eval()(x).numpy(), x.numpy())


def test_feature_alpha_dropout_per_channel_and_moments():
    pg.manual_seed(0)
    x = pg.randn(400, 50, 6, dtype=pg.float64)
    y = F.feature_alpha_dropout(x, 0.3, training=True).numpy()
    xs = x.numpy()
    # every channel is either kept (a * x + b) or dropped (the constant a * -1.7581 + b)
    flat = y.reshape(400 * 50, 6)
    dropped = np.isclose(flat.std(axis=1), 0.0)
    assert 0.25 < dropped.mean() < 0.35
    kept = ~dropped
    neg, p = 1.7580993408473766, 0.3
    a = 1.0 / np.sqrt((neg**2 * p + 1.0) * (1.0 - p))
    np.testing.assert_allclose(flat[kept], a * xs.reshape(400 * 50, 6)[kept] + neg * a * p)
    np.testing.assert_allclose(flat[dropped], -neg * a + neg * a * p)
    assert abs(y.mean()) < 0.05 and abs(y.std() - 1.0) < 0.05  # SELU's fixed point kept
    assert np.array_equal(nn.FeatureAlphaDropout(0.3).eval()(x).numpy(), xs)


# -- dtypes and error types of the activations, losses and lookups -----------------------
FLOAT_ONLY = ["elu", "selu", "celu", "gelu", "silu", "mish", "hardsigmoid", "hardswish",
              "softplus", "softshrink", "hardshrink", "logsigmoid", "leaky_relu", "glu",
              "softmax", "log_softmax", "softmin"]


@pytest.mark.parametrize("name", FLOAT_ONLY)
def test_float_only_activations_refuse_integer_input(name):
    """torch's kernels take floating-point tensors only: NotImplementedError, never a cast."""
    kw = {"dim": 0} if name in ("softmax", "log_softmax", "softmin", "glu") else {}
    _same_error(lambda: getattr(torch.nn.functional, name)(torch.tensor([1, -2, 3, 4]), **kw),
                lambda: getattr(F, name)(pg.tensor([1, -2, 3, 4]), **kw))


@pytest.mark.parametrize("name, args", [("relu", ()), ("relu6", ()), ("hardtanh", ()),
                                        ("threshold", (1.5, 7.9))])
def test_integer_rectifiers_keep_the_dtype(name, args):
    t = getattr(torch.nn.functional, name)(torch.tensor([1, -2, 3, 9]), *args)
    p = getattr(F, name)(pg.tensor([1, -2, 3, 9]), *args)
    assert str(p.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert p.tolist() == t.tolist()
    _same_error(lambda: getattr(torch.nn.functional, name)(torch.tensor([True]), *args),
                lambda: getattr(F, name)(pg.tensor([True]), *args))


@pytest.mark.parametrize(
    "call",
    [
        lambda m, F: F.gelu(m.zeros(3), approximate="foo"),
        lambda m, F: F.embedding_bag(m.tensor([1, 2, 3]), m.zeros(5, 2), m.tensor([1, 2])),
        lambda m, F: F.embedding(m.tensor([1.0]), m.zeros(5, 2)),
        lambda m, F: m.nn.PReLU(3)(m.zeros(3)),
        lambda m, F: F.cross_entropy(m.zeros(4, 3), m.zeros(4, dtype=m.int64), label_smoothing=2),
        lambda m, F: F.cross_entropy(m.zeros(4, 3), m.zeros(4, dtype=m.int64), weight=m.ones(2)),
        lambda m, F: F.cross_entropy(m.zeros(4, 3), m.zeros(5, dtype=m.int64)),
        lambda m, F: F.nll_loss(m.zeros(4, 3), m.zeros(4)),
        lambda m, F: m.tensor([True, False]) - 1,
        lambda m, F: 1.5 - m.tensor([True, False]),
    ],
    ids=["gelu-approximate", "embedding_bag-offsets", "embedding-float", "prelu-1d",
         "ce-label_smoothing", "ce-weight", "ce-batch", "nll-float-target", "bool-sub",
         "bool-rsub"],
)
def test_error_types_are_torchs(call):
    _same_error(lambda: call(torch, torch.nn.functional), lambda: call(pg, F))


@pytest.mark.parametrize("scalar", [1.5, -2.5, 1, 0, True])
@pytest.mark.parametrize("values", [[1, -2, 3], [True, False, True]], ids=["int64", "bool"])
def test_comparisons_and_arithmetic_with_python_numbers(values, scalar):
    """An integer or bool tensor meets a Python number with torch's promotion (int < 1.5 in
    floats, a bool tensor with an int as int64) on every backend, strict included."""
    ops = ["__gt__", "__lt__", "__ge__", "__le__", "__eq__", "__ne__", "__truediv__"]
    if not (values[0] is True and scalar is True):  # bool + True stays bool in torch
        ops += ["__add__", "__mul__", "__radd__", "__rmul__"]
    for op in ops:
        t = getattr(torch.tensor(values), op)(scalar)
        p = getattr(pg.tensor(values), op)(scalar)
        assert str(p.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], (op, p.dtype, t.dtype)
        np.testing.assert_array_equal(p.numpy(), t.numpy(), err_msg=op)


@pytest.mark.parametrize("name, kw", [("upsample_nearest", {"scale_factor": 2}),
                                      ("upsample_bilinear", {"size": (5, 7)}),
                                      ("upsample", {"scale_factor": 3, "mode": "bilinear"})])
def test_deprecated_upsample_aliases(name, kw):
    t, p = _pair(2, 3, 4, 4)
    with pytest.warns(UserWarning):  # torch warns that they are deprecated
        ty = getattr(torch.nn.functional, name)(t, **kw)
    py = getattr(F, name)(p, **kw)
    assert_close(py, ty)
    ty.square().sum().backward()
    py.square().sum().backward()
    assert_close(p.grad, t.grad)
