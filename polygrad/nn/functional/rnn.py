"""The multi-layer recurrent stack behind nn.RNN, nn.LSTM and nn.GRU, and the single-step cells.

``rnn`` is the analogue of torch's ``_VF.lstm``/``_VF.gru``/``_VF.rnn_tanh``: each layer and
direction is one input projection for all steps at once (one matmul) and one fused recurrent
node (:mod:`polygrad.ops.recurrent`); dropout goes between layers in training only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polygrad as pg
from polygrad import Tensor

from ...ops import recurrent
from .dropout import dropout as _dropout
from .linear import linear


def rnn(
    mode: str,
    data: Tensor,
    batch_sizes: Sequence[int],
    h0: Tensor,
    c0: Tensor | None,
    weights: Sequence[Sequence[Tensor | None]],
    num_layers: int,
    dropout: float,
    training: bool,
    bidirectional: bool,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Run a stack of recurrent layers over packed time-major ``data``.

    Parameters
    ----------
    mode : str
        ``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``.
    data : Tensor
        (sum(batch_sizes), input_size): step ``t`` is ``batch_sizes[t]`` consecutive rows.
    batch_sizes : sequence of int
        Non-increasing sequences running per step (all equal for a padded batch).
    h0, c0 : Tensor
        Initial states (num_layers * num_directions, batch, P) and, for LSTM, cell states.
    weights : sequence
        Per layer and direction: (w_ih, w_hh, b_ih, b_hh, w_hr), None where absent.

    Returns
    -------
    (output, h_n, c_n)
        output (sum(batch_sizes), num_directions * P); c_n is None except for LSTM.
    """
    batch_sizes = tuple(int(b) for b in batch_sizes)
    dirs = 2 if bidirectional else 1
    x = data
    hs, cs = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            w_ih, w_hh, b_ih, b_hh, w_hr = weights[k]
            xw = linear(x, w_ih, b_ih)
            out, h, c = recurrent.recurrent_scan(
                mode, xw, h0[k], None if c0 is None else c0[k], w_hh, b_hh, w_hr,
                batch_sizes, reverse=d == 1,
            )  # fmt: skip
            outs.append(out)
            hs.append(h)
            cs.append(c)
        x = outs[0] if dirs == 1 else pg.concat(outs, axis=1)
        if dropout > 0.0 and training and layer < num_layers - 1:
            x = _dropout(x, dropout, True)
    h_n = pg.stack(hs)
    c_n = None if c0 is None else pg.stack(cs)
    return x, h_n, c_n


def _cell_inputs(
    who: str, x: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, index: int = 0
) -> None:
    """torch's checks of a cell's input and state sizes and dtypes."""
    if x.shape[1] != w_ih.shape[1]:
        raise RuntimeError(
            f"{who}: input has inconsistent input_size: got {x.shape[1]} expected {w_ih.shape[1]}"
        )
    if hx.shape[0] != x.shape[0]:
        raise RuntimeError(
            f"{who}: Input batch size {x.shape[0]} doesn't match hidden{index} batch size "
            f"{hx.shape[0]}"
        )
    if hx.shape[1] != w_hh.shape[1]:
        raise RuntimeError(
            f"{who}: hidden{index} has inconsistent hidden_size: got {hx.shape[1]}, expected "
            f"{w_hh.shape[1]}"
        )
    for what, t in (("input", x), (f"hidden{index}", hx)):
        if t.dtype != w_ih.dtype:
            raise RuntimeError(
                f"{who}: {what} dtype {t.dtype.name} does not match the weights' dtype "
                f"{w_ih.dtype.name}"
            )


def _cell(mode: str, x: Tensor, h: Tensor, c: Tensor | None, weights: tuple) -> tuple:
    """One step of the recurrence (batch of rows): the scan with one step, recorded as
    ordinary ops or fused like the layers."""
    w_ih, w_hh, b_ih, b_hh = weights
    xw = linear(x, w_ih, b_ih)
    out, h, c = recurrent.recurrent_scan(mode, xw, h, c, w_hh, b_hh, None, (x.shape[0],))
    return h, c


def rnn_tanh_cell(
    x_in: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Any = None, b_hh: Any = None
) -> Tensor:
    """One step of an Elman RNN: ``tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)`` (2-D input)."""
    _cell_inputs("RNNCell", x_in, hx, w_ih, w_hh)
    return _cell("RNN_TANH", x_in, hx, None, (w_ih, w_hh, b_ih, b_hh))[0]


def rnn_relu_cell(
    x_in: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Any = None, b_hh: Any = None
) -> Tensor:
    """One step of an Elman RNN with ReLU (2-D input)."""
    _cell_inputs("RNNCell", x_in, hx, w_ih, w_hh)
    return _cell("RNN_RELU", x_in, hx, None, (w_ih, w_hh, b_ih, b_hh))[0]


def lstm_cell(
    x_in: Tensor,
    hx: tuple[Tensor, Tensor],
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Any = None,
    b_hh: Any = None,
) -> tuple[Tensor, Tensor]:
    """One LSTM step (gates i, f, g, o); returns ``(h', c')`` (2-D input)."""
    h, c = hx
    _cell_inputs("LSTMCell", x_in, h, w_ih, w_hh, 0)
    _cell_inputs("LSTMCell", x_in, c, w_ih, w_hh, 1)
    return _cell("LSTM", x_in, h, c, (w_ih, w_hh, b_ih, b_hh))


def gru_cell(
    x_in: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Any = None, b_hh: Any = None
) -> Tensor:
    """One GRU step (gates r, z, n as torch) (2-D input)."""
    _cell_inputs("GRUCell", x_in, hx, w_ih, w_hh)
    return _cell("GRU", x_in, hx, None, (w_ih, w_hh, b_ih, b_hh))[0]
