"""The recurrence of one RNN, LSTM or GRU layer in one direction: the time loop and its
hand-derived backward through time, as one graph node.

Inputs are in torch's packed layout: ``xw`` holds the input projections ``x @ W_ih.T + b_ih``
of every step, time-major, step ``t`` being rows ``offset[t] : offset[t] + batch_sizes[t]``
(the sequences still running at ``t``: sorted by decreasing length, so always a prefix). A
padded batch is the special case of equal batch sizes. The loop does one matmul per step
(all gates at once); the weight gradients are one matmul each over all steps.

The same scan runs on raw arrays (the fused node's forward) and on polygrad Tensors (the
recorded form). For ``create_graph=True`` the node's backward re-runs the scan on Tensors and
then the backward recurrence on Tensors, so second derivatives are exact.

Gate nonlinearities use ``sigmoid(x) = 0.5 * tanh(x / 2) + 0.5``: for the LSTM's gates
``i, f, g, o`` one tanh of the gate block scaled column-wise by ``(1/2, 1/2, 1, 1/2)`` gives
all four activations at once (the scale is folded into the input projections and the
transposed ``W_hh`` once per layer, not applied per step).
"""

from __future__ import annotations

from typing import Any

from .._tensor import Function, Tensor, _engine, apply, grad_mode

MODES = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU")


def _offsets(batch_sizes: tuple[int, ...]) -> list[int]:
    out, o = [], 0
    for n in batch_sizes:
        out.append(o)
        o += n
    return out


def _rows(a: Any, n: int) -> Any:
    return a if a.shape[0] == n else a[:n, :]


def _merge(xp: Any, new: Any, old: Any) -> Any:
    """The state after a step that updated only the first ``len(new)`` rows."""
    n = new.shape[0]
    return new if n == old.shape[0] else xp.concat([new, old[n:, :]], axis=0)


def _lstm_constants(xp: Any, like: Any, hidden: int) -> tuple[Any, Any]:
    """Rows over the i, f, g, o gate columns: ``scale`` (1/2 for the sigmoid gates, 1 for g)
    and ``shift`` (1/2, 0) so that ``act = tanh(pre * scale) * scale + shift``."""
    half = xp.full((hidden,), 0.5, dtype=like.dtype, device=like.device)
    one = xp.ones((hidden,), dtype=like.dtype, device=like.device)
    zero = xp.zeros((hidden,), dtype=like.dtype, device=like.device)
    return xp.concat([half, half, one, half]), xp.concat([half, half, zero, half])


def _iadd(a: Any, b: Any) -> Any:
    """``a + b``, in place on a raw array ``a`` this scan just allocated (saves an
    allocation per step); recorded out of place on Tensors."""
    if isinstance(a, Tensor):
        return a + b
    a += b
    return a


def _imul(a: Any, b: Any) -> Any:
    """``a * b``, in place on a fresh raw array ``a`` (as ``_iadd``)."""
    if isinstance(a, Tensor):
        return a * b
    a *= b
    return a


def _transposed(xp: Any, w: Any) -> Any:
    """``w.T``, as a contiguous copy on raw arrays: NumPy's per-step ``h @ w.T`` with a
    transposed view runs about 1.8x slower than with a contiguous one at RNN sizes."""
    if isinstance(w, Tensor):
        return xp.matrix_transpose(w)
    return xp.reshape(xp.matrix_transpose(w), (w.shape[1], w.shape[0]), copy=True)


def scan(
    xp: Any,
    mode: str,
    xw: Any,
    h0: Any,
    c0: Any,
    w_hh: Any,
    b_hh: Any,
    w_hr: Any,
    batch_sizes: tuple[int, ...],
    reverse: bool,
    keep: bool,
) -> tuple[list, Any, Any, dict | None]:
    """Run the recurrence; return (outputs per step in time order, h_n, c_n, cache).

    ``cache`` (when ``keep``) holds what the backward needs, per step in processing order.
    """
    T = len(batch_sizes)
    offsets = _offsets(batch_sizes)
    order = range(T - 1, -1, -1) if reverse else range(T)
    w_t = _transposed(xp, w_hh)
    w_rt = None if w_hr is None else _transposed(xp, w_hr)
    h, c = h0, c0
    outs: list = [None] * T
    steps: list = []
    if mode == "LSTM":
        hidden = w_hh.shape[0] // 4
        scale, shift = _lstm_constants(xp, xw, hidden)
        xw = (xw if b_hh is None else xw + b_hh) * scale  # the scale folded in once
        w_t = w_t * scale
    elif mode == "GRU":
        hidden = w_hh.shape[0] // 3
    elif b_hh is not None:
        xw = xw + b_hh
    for t in order:
        n, o = batch_sizes[t], offsets[t]
        hp = _rows(h, n)
        rec = xp.matmul(hp, w_t)
        if mode == "LSTM":
            cp = _rows(c, n)
            act = xp.tanh(_iadd(rec, xw[o : o + n, :]))
            act = _iadd(_imul(act, scale), shift)
            i, f = act[:, :hidden], act[:, hidden : 2 * hidden]
            g, og = act[:, 2 * hidden : 3 * hidden], act[:, 3 * hidden :]
            cn = _iadd(f * cp, i * g)
            tc = xp.tanh(cn)
            hh = og * tc
            hn = hh if w_rt is None else xp.matmul(hh, w_rt)
            c = _merge(xp, cn, c)
            if keep:
                steps.append((hp, cp, act, tc, hh))
        elif mode == "GRU":
            if b_hh is not None:
                rec = rec + b_hh
            x = xw[o : o + n, :]
            rz = xp.tanh((x[:, : 2 * hidden] + rec[:, : 2 * hidden]) * 0.5) * 0.5 + 0.5
            r, z = rz[:, :hidden], rz[:, hidden:]
            ghn = rec[:, 2 * hidden :]
            nn = xp.tanh(x[:, 2 * hidden :] + r * ghn)
            hn = nn + z * (hp - nn)
            if keep:
                steps.append((hp, rz, nn, ghn))
        else:
            a = xw[o : o + n, :] + rec
            hn = xp.tanh(a) if mode == "RNN_TANH" else xp.maximum(a, 0.0)
            if keep:
                steps.append((hp, hn))
        h = _merge(xp, hn, h)
        outs[t] = hn
    cache = {"steps": steps, "order": list(order)} if keep else None
    return outs, h, c, cache


def scan_vjp(
    xp: Any,
    mode: str,
    cache: dict,
    g_out: Any,
    g_h: Any,
    g_c: Any,
    xw: Any,
    w_hh: Any,
    b_hh: Any,
    w_hr: Any,
    batch_sizes: tuple[int, ...],
) -> tuple:
    """Backward through time: the gradients of (xw, h0, c0, w_hh, b_hh, w_hr).

    ``g_out`` is the gradient of the packed outputs (rows as ``xw``), ``g_h``/``g_c`` those
    of the final states. Steps run in the reverse of the forward's processing order.
    """
    offsets = _offsets(batch_sizes)
    steps, order = cache["steps"], cache["order"]
    T = len(order)
    d_pre: list = [None] * T  # gradient of the input-side pre-activations, per time step
    d_rec: list = [None] * T  # GRU: of the hidden-side ones (they differ in the n gate)
    d_hid: list = [None] * T  # LSTM with projection: of the projected output h_t
    dh, dc = g_h, g_c
    if mode == "LSTM":
        hidden = w_hh.shape[0] // 4
        _, shift = _lstm_constants(xp, xw, hidden)
        tanh_cols = 1.0 - 2.0 * shift  # 1 for the g gate, 0 for the sigmoid gates
    elif mode == "GRU":
        hidden = w_hh.shape[0] // 3
    for k in range(T - 1, -1, -1):
        t = order[k]
        n, o = batch_sizes[t], offsets[t]
        dht = _rows(dh, n) + g_out[o : o + n, :]
        if mode == "LSTM":
            hp, cp, act, tc, hh = steps[k]
            if w_hr is not None:
                d_hid[t] = dht
                dht = xp.matmul(dht, w_hr)
            i, f = act[:, :hidden], act[:, hidden : 2 * hidden]
            g, og = act[:, 2 * hidden : 3 * hidden], act[:, 3 * hidden :]
            dct = _rows(dc, n) + dht * og * (1.0 - tc * tc)
            d_act = xp.concat([dct * g, dct * cp, dct * i, dht * tc], axis=1)
            # sigmoid' = s (1 - s) and tanh' = (1 - g)(1 + g), in one expression
            dp = d_act * ((1.0 - act) * (act + tanh_cols))
            dc = _merge(xp, dct * f, dc)
            dhp = xp.matmul(dp, w_hh)
        elif mode == "GRU":
            hp, rz, nn, ghn = steps[k]
            r, z = rz[:, :hidden], rz[:, hidden:]
            dn = dht * (1.0 - z) * (1.0 - nn * nn)
            drz = xp.concat([dn * ghn, dht * (hp - nn)], axis=1) * (rz * (1.0 - rz))
            dp = xp.concat([drz, dn], axis=1)
            d_rec[t] = dr = xp.concat([drz, dn * r], axis=1)
            dhp = dht * z + xp.matmul(dr, w_hh)
        else:
            hp, hn = steps[k]
            if mode == "RNN_TANH":
                dp = dht * (1.0 - hn * hn)
            else:
                dp = dht * xp.astype(hn > 0.0, dht.dtype)
            dhp = xp.matmul(dp, w_hh)
        d_pre[t] = dp
        dh = _merge(xp, dhp, dh)
    d_xw = xp.concat(d_pre, axis=0) if T > 1 else d_pre[0]
    d_r = d_xw if mode != "GRU" else (xp.concat(d_rec, axis=0) if T > 1 else d_rec[0])
    h_prev = [None] * T
    for k, t in enumerate(order):
        h_prev[t] = steps[k][0]
    hp_all = xp.concat(h_prev, axis=0) if T > 1 else h_prev[0]
    d_w = xp.matmul(xp.matrix_transpose(d_r), hp_all)
    d_b = None if b_hh is None else xp.sum(d_r, axis=0)
    d_wr = None
    if w_hr is not None:
        hh = [None] * T
        for k, t in enumerate(order):
            hh[t] = steps[k][4]
        hh_all = xp.concat(hh, axis=0) if T > 1 else hh[0]
        dh_all = xp.concat(d_hid, axis=0) if T > 1 else d_hid[0]
        d_wr = xp.matmul(xp.matrix_transpose(dh_all), hh_all)
    return d_xw, dh, dc, d_w, d_b, d_wr


def _pack(xp: Any, outs: list, h: Any, c: Any) -> Any:
    """One flat array of the outputs (packed rows, time order), h_n and c_n."""
    parts = [xp.reshape(o, (-1,)) for o in outs] + [xp.reshape(h, (-1,))]
    if c is not None:
        parts.append(xp.reshape(c, (-1,)))
    return xp.concat(parts)


def _unpack(xp: Any, z: Any, rows: int, h_shape: tuple, c_shape: tuple | None) -> tuple:
    """The inverse of ``_pack``: (outputs (rows, P), h_n, c_n)."""
    width = h_shape[-1]
    n_out, n_h = rows * width, h_shape[0] * h_shape[1]
    out = xp.reshape(z[:n_out], (rows, width))
    h = xp.reshape(z[n_out : n_out + n_h], h_shape)
    c = None if c_shape is None else xp.reshape(z[n_out + n_h :], c_shape)
    return out, h, c


class RecurrentScan(Function):
    """One layer and direction of an RNN/LSTM/GRU: inputs (xw, h0, c0, w_hh, b_hh, w_hr),
    one flat output holding the packed outputs, h_n and c_n (see ``_pack``)."""

    exact = True
    fresh = True

    def __init__(self, mode: str, batch_sizes: tuple[int, ...], reverse: bool) -> None:
        self.mode, self.batch_sizes, self.reverse = mode, batch_sizes, reverse

    def forward(self, xp, xw, h0, c0, w_hh, b_hh, w_hr):
        outs, h, c, self.cache = scan(
            xp, self.mode, xw, h0, c0, w_hh, b_hh, w_hr, self.batch_sizes, self.reverse, True
        )
        return _pack(xp, outs, h, c)

    def backward(self, xp, g, xw, h0, c0, w_hh, b_hh, w_hr):
        cache = self.cache
        if isinstance(g, Tensor):  # create_graph: re-run the scan recorded, then its backward
            _, _, _, cache = scan(
                xp, self.mode, xw, h0, c0, w_hh, b_hh, w_hr, self.batch_sizes, self.reverse, True
            )
        c_shape = None if c0 is None else tuple(c0.shape)
        g_out, g_h, g_c = _unpack(xp, g, xw.shape[0], tuple(h0.shape), c_shape)
        return scan_vjp(
            xp, self.mode, cache, g_out, g_h, g_c, xw, w_hh, b_hh, w_hr, self.batch_sizes
        )


#: True: the fused node above; False: the scan recorded op by op (what the benchmark compares)
FUSED = True


def recurrent_scan(
    mode: str,
    xw: Tensor,
    h0: Tensor,
    c0: Tensor | None,
    w_hh: Tensor,
    b_hh: Tensor | None,
    w_hr: Tensor | None,
    batch_sizes: tuple[int, ...],
    reverse: bool = False,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Run one recurrent layer in one direction over packed input projections.

    Parameters
    ----------
    mode : str
        ``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``.
    xw : Tensor
        ``x @ W_ih.T + b_ih`` for every step, shape (sum(batch_sizes), gates * hidden).
    h0, c0 : Tensor
        Initial states, (batch_sizes[0], P) and (batch_sizes[0], hidden) (c0 for LSTM only).
    w_hh, b_hh, w_hr : Tensor
        Hidden-to-hidden weight and bias, and the LSTM projection (None when absent).
    batch_sizes : tuple of int
        Non-increasing number of sequences running at each step.
    reverse : bool
        Run from the last step to the first.

    Returns
    -------
    (outputs, h_n, c_n)
        ``outputs`` has one row per row of ``xw``; ``c_n`` is None except for LSTM.
    """
    tensors = (xw, h0, c0, w_hh, b_hh, w_hr)
    if not (grad_mode.enabled and any(t is not None and t.requires_grad for t in tensors)):
        xp = xw._xp  # nothing to record: the scan on raw arrays
        data = [None if t is None else t._data for t in tensors]
        outs, h, c, _ = scan(xp, mode, *data, batch_sizes, reverse, False)
        out = xp.concat(outs, axis=0) if len(outs) > 1 else outs[0]
        wrap = [None if a is None else Tensor._wrap(a, xp) for a in (out, h, c)]
        return wrap[0], wrap[1], wrap[2]
    rules = _engine.rules
    if not FUSED:  # the same scan, recorded op by op
        outs, h, c, _ = scan(rules, mode, *tensors, batch_sizes, reverse, False)
        return (rules.concat(outs, axis=0) if len(outs) > 1 else outs[0]), h, c
    z = apply(RecurrentScan(mode, batch_sizes, reverse), *tensors)
    c_shape = None if c0 is None else c0.shape
    return _unpack(rules, z, xw.shape[0], h0.shape, c_shape)
