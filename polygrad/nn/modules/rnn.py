"""Recurrent layers: RNN, LSTM, GRU and their single-step cells, as torch's modules.

Parameters have torch's names and shapes (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
``bias_hh_l0``, ``weight_hr_l0`` with ``proj_size``, ``*_reverse`` for the backward direction),
all initialized U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), so a torch state dict loads.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import polygrad as pg
from polygrad import Tensor

from .. import init
from ..functional import rnn as F_rnn
from ..functional._utils import creating_like
from ..utils.rnn import PackedSequence
from .module import Module, Parameter

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
_NAMES = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN"}


def _check_size(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} should be of type int, got: {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{what} must be greater than zero")
    return value


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters, their checks and the forward driver.

    ``mode`` is ``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``; the other arguments
    are those of :class:`LSTM`.
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + str(mode))
        if (
            isinstance(dropout, bool)
            or not isinstance(dropout, numbers.Number)
            or not 0 <= dropout <= 1
        ):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of "
                "an element being zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}",
                stacklevel=3,
            )
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(
                f"batch_first should be of type bool, got: {type(batch_first).__name__}"
            )
        _check_size(input_size, "input_size")
        _check_size(hidden_size, "hidden_size")
        _check_size(num_layers, "num_layers")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        dirs = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []

        def new(*shape: int) -> Parameter:
            return Parameter(pg.empty(*shape, dtype=dtype, device=device))

        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * dirs
            for d in range(dirs):
                sfx = "_reverse" if d == 1 else ""
                params = [
                    (f"weight_ih_l{layer}{sfx}", new(gate_size, layer_input)),
                    (f"weight_hh_l{layer}{sfx}", new(gate_size, real_hidden)),
                ]
                if bias:
                    params.append((f"bias_ih_l{layer}{sfx}", new(gate_size)))
                    params.append((f"bias_hh_l{layer}{sfx}", new(gate_size)))
                if proj_size > 0:
                    params.append((f"weight_hr_l{layer}{sfx}", new(proj_size, hidden_size)))
                for name, p in params:
                    setattr(self, name, p)
                names = [name for name, _ in params]
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op, as torch's on CPU (kept so code written for cuDNN runs unchanged)."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters per layer and direction, in torch's order."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def _layer_weights(self) -> list[tuple]:
        out = []
        for names in self._all_weights:
            layer = {n.split("_l")[0]: getattr(self, n) for n in names}
            out.append(
                tuple(layer.get(k) for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                + (layer.get("weight_hr"),)
            )
        return out

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- forward --------------------------------------------------------------------------
    def _state_shapes(self, batch: int) -> tuple[tuple, tuple]:
        n = self.num_layers * (2 if self.bidirectional else 1)
        real = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (n, batch, real), (n, batch, self.hidden_size)

    def _check_input(self, x: Tensor, packed: bool) -> None:
        w = self.weight_ih_l0
        if x.dtype != w.dtype:
            raise ValueError(
                f"RNN input dtype ({x.dtype.name}) does not match weight dtype "
                f"({w.dtype.name}). Convert input: input.to({w.dtype.name}), or convert "
                f"model: model.to({x.dtype.name})"
            )
        expected = 2 if packed else 3
        if x.ndim != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {x.ndim}")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(
                "input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {x.shape[-1]}"
            )

    @staticmethod
    def _check_state(t: Tensor, shape: tuple, x: Tensor, msg: str) -> None:
        if t.shape != shape:
            raise RuntimeError(msg.format(shape, list(t.shape)))
        if t.dtype != x.dtype:
            raise RuntimeError(
                f"{msg.split(' size')[0]} dtype {t.dtype.name} does not match the input's "
                f"dtype {x.dtype.name}"
            )

    def _run(self, x_in: Any, hx: Any) -> tuple[Any, Tensor, Tensor | None]:
        """The shared forward: unpack or reshape the input, check and permute the states,
        run the stack, and give the results torch's shapes."""
        lstm = self.mode == "LSTM"
        name = _NAMES[self.mode]
        packed = isinstance(x_in, PackedSequence)
        unbatched = False
        if packed:
            x, bs_tensor, sorted_idx, unsorted_idx = x_in
            batch_sizes = [int(b) for b in bs_tensor.tolist()]
            batch = batch_sizes[0] if batch_sizes else 0
            self._check_input(x, True)
            data = x
        else:
            x = x_in
            if x.ndim not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {x.ndim}D instead")
            unbatched = x.ndim == 2
            if unbatched:
                x = pg.expand_dims(x, axis=0 if self.batch_first else 1)
            self._check_input(x, False)
            if self.batch_first:
                x = pg.permute_dims(x, (1, 0, 2))
            steps, batch = x.shape[0], x.shape[1]
            if steps == 0:
                raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
            batch_sizes = [batch] * steps
            sorted_idx = unsorted_idx = None
            data = pg.reshape(x, (steps * batch, x.shape[2]))
        h_shape, c_shape = self._state_shapes(batch)
        if hx is None:
            with creating_like(data):
                h0 = pg.zeros(h_shape if lstm else c_shape, dtype=data.dtype)
                c0 = pg.zeros(c_shape, dtype=data.dtype) if lstm else None
        else:
            h0, c0 = hx if lstm else (hx, None)
            want = 2 if unbatched else 3
            if not packed and (h0.ndim != want or (lstm and c0.ndim != want)):
                kind = "unbatched 2-D" if unbatched else "batched 3-D"
                if lstm:
                    raise RuntimeError(
                        f"For {kind} input, hx and cx should also be {want}-D but got "
                        f"({h0.ndim}-D, {c0.ndim}-D) tensors"
                    )
                raise RuntimeError(
                    f"For {kind} input, hx should also be {want}-D but got {h0.ndim}-D tensor"
                )
            if unbatched:
                h0 = pg.expand_dims(h0, axis=1)
                c0 = None if c0 is None else pg.expand_dims(c0, axis=1)
            if lstm:
                self._check_state(h0, h_shape, data, "Expected hidden[0] size {}, got {}")
                self._check_state(c0, c_shape, data, "Expected hidden[1] size {}, got {}")
            else:
                self._check_state(h0, c_shape, data, "Expected hidden size {}, got {}")
            if sorted_idx is not None:
                h0 = pg.take(h0, sorted_idx, axis=1)
                c0 = None if c0 is None else pg.take(c0, sorted_idx, axis=1)
        out, h_n, c_n = F_rnn.rnn(
            self.mode, data, batch_sizes, h0, c0, self._layer_weights(), self.num_layers,
            self.dropout, self.training, self.bidirectional,
        )  # fmt: skip
        if unsorted_idx is not None:
            h_n = pg.take(h_n, unsorted_idx, axis=1)
            c_n = None if c_n is None else pg.take(c_n, unsorted_idx, axis=1)
        if packed:
            return PackedSequence(out, bs_tensor, sorted_idx, unsorted_idx), h_n, c_n
        out = pg.reshape(out, (len(batch_sizes), batch, out.shape[-1]))
        if self.batch_first:
            out = pg.permute_dims(out, (1, 0, 2))
        if unbatched:
            out = pg.squeeze(out, axis=0 if self.batch_first else 1)
            h_n = pg.squeeze(h_n, axis=1)
            c_n = None if c_n is None else pg.squeeze(c_n, axis=1)
        return out, h_n, c_n


class RNN(RNNBase):
    """Elman RNN, ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ReLU), as
    ``torch.nn.RNN``.

    Parameters
    ----------
    input_size, hidden_size : int
    num_layers : int
        Stacked layers (default 1).
    nonlinearity : str
        ``"tanh"`` (default) or ``"relu"``.
    bias : bool
        Use ``bias_ih``/``bias_hh`` (default True).
    batch_first : bool
        Input and output as (batch, seq, feature) instead of (seq, batch, feature).
    dropout : float
        Dropout on the outputs of every layer but the last, in training mode.
    bidirectional : bool
        Also run each layer backwards in time and concatenate.

    ``forward(input, hx=None)`` takes (L, N, H_in), (N, L, H_in) with ``batch_first``, an
    unbatched (L, H_in) or a PackedSequence, and returns ``(output, h_n)``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> rnn = nn.RNN(4, 8, num_layers=2)
    >>> out, h = rnn(polygrad.randn(5, 3, 4))
    >>> out.shape, h.shape
    ((5, 3, 8), (2, 3, 8))
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(
                f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(mode, *args, **kwargs)

    def forward(self, x_in: Any, hx: Tensor | None = None) -> tuple[Any, Tensor]:
        out, h, _ = self._run(x_in, hx)
        return out, h


class LSTM(RNNBase):
    """Long short-term memory, as ``torch.nn.LSTM`` (gates i, f, g, o; optional projection).

    Parameters
    ----------
    input_size, hidden_size : int
    num_layers, bias, batch_first, dropout, bidirectional
        As :class:`RNN`.
    proj_size : int
        If > 0, ``h_t = W_hr (o_t * tanh(c_t))`` has ``proj_size`` features.

    ``forward(input, hx=None)`` with ``hx = (h_0, c_0)`` returns ``(output, (h_n, c_n))``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> lstm = nn.LSTM(4, 8, proj_size=3, bidirectional=True)
    >>> out, (h, c) = lstm(polygrad.randn(5, 2, 4))
    >>> out.shape, h.shape, c.shape
    ((5, 2, 6), (2, 2, 3), (2, 2, 8))
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def forward(
        self, x_in: Any, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Any, tuple[Tensor, Tensor]]:
        out, h, c = self._run(x_in, hx)
        return out, (h, c)


class GRU(RNNBase):
    """Gated recurrent unit, as ``torch.nn.GRU`` (gates r, z, n;
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``).

    Arguments as :class:`RNN` (without ``nonlinearity``); returns ``(output, h_n)``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> gru = nn.GRU(4, 8, batch_first=True)
    >>> out, h = gru(polygrad.randn(2, 5, 4))
    >>> out.shape, h.shape
    ((2, 5, 8), (1, 2, 8))
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, x_in: Any, hx: Tensor | None = None) -> tuple[Any, Tensor]:
        out, h, _ = self._run(x_in, hx)
        return out, h


# -- cells ----------------------------------------------------------------------------------
class RNNCellBase(Module):
    """What the cells share: ``weight_ih`` (chunks * hidden, input), ``weight_hh``
    (chunks * hidden, hidden), ``bias_ih``, ``bias_hh``, drawn from U(-1/sqrt(hidden), ...)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows = num_chunks * hidden_size
        self.weight_ih = Parameter(pg.empty(rows, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(pg.empty(rows, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(pg.empty(rows, dtype=dtype, device=device))
            self.bias_hh = Parameter(pg.empty(rows, dtype=dtype, device=device))
        else:
            self.bias_ih = self.bias_hh = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, x_in: Tensor, hx: Any, n_states: int) -> tuple[bool, Tensor, list]:
        """Check dimensions, add the batch axis to unbatched input, default the states."""
        name = type(self).__name__
        if x_in.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {x_in.ndim}D instead")
        states = None if hx is None else (list(hx) if n_states == 2 else [hx])
        if states is not None:
            for i, s in enumerate(states):
                if s.ndim not in (1, 2):
                    what = f"hx[{i}]" if n_states == 2 else "hidden"
                    raise ValueError(
                        f"{name}: Expected {what} to be 1D or 2D, got {s.ndim}D instead"
                    )
        batched = x_in.ndim == 2
        if not batched:
            x_in = pg.expand_dims(x_in, axis=0)
        if states is None:
            with creating_like(x_in):
                zeros = pg.zeros((x_in.shape[0], self.hidden_size), dtype=x_in.dtype)
            states = [zeros] * n_states
        elif not batched:
            states = [pg.expand_dims(s, axis=0) for s in states]
        return batched, x_in, states

    def _weights(self) -> tuple:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh


class RNNCell(RNNCellBase):
    """One step of an Elman RNN, as ``torch.nn.RNNCell``: ``forward(input, hx=None) -> h'``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.RNNCell(4, 8)(polygrad.randn(3, 4)).shape
    (3, 8)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, x_in: Tensor, hx: Tensor | None = None) -> Tensor:
        batched, x, (h,) = self._prepare(x_in, hx, 1)
        if self.nonlinearity == "tanh":
            out = F_rnn.rnn_tanh_cell(x, h, *self._weights())
        elif self.nonlinearity == "relu":
            out = F_rnn.rnn_relu_cell(x, h, *self._weights())
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return out if batched else pg.squeeze(out, axis=0)


class LSTMCell(RNNCellBase):
    """One LSTM step, as ``torch.nn.LSTMCell``: ``forward(input, (h, c)=None) -> (h', c')``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> h, c = nn.LSTMCell(4, 8)(polygrad.randn(3, 4))
    >>> h.shape, c.shape
    ((3, 8), (3, 8))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(
        self, x_in: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        batched, x, (h, c) = self._prepare(x_in, hx, 2)
        h, c = F_rnn.lstm_cell(x, (h, c), *self._weights())
        if not batched:
            h, c = pg.squeeze(h, axis=0), pg.squeeze(c, axis=0)
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step, as ``torch.nn.GRUCell``: ``forward(input, hx=None) -> h'``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.GRUCell(4, 8)(polygrad.randn(4)).shape
    (8,)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, x_in: Tensor, hx: Tensor | None = None) -> Tensor:
        batched, x, (h,) = self._prepare(x_in, hx, 1)
        out = F_rnn.gru_cell(x, h, *self._weights())
        return out if batched else pg.squeeze(out, axis=0)
