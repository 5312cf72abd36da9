"""Transformer layers as torch's: encoder and decoder layers, their stacks and Transformer.

Submodule names follow torch (``self_attn``, ``multihead_attn``, ``linear1``, ``linear2``,
``norm1``..``norm3``, ``layers.0...``), so a torch state dict loads unchanged.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import polygrad as pg
from polygrad import Tensor

from .. import functional as F
from .. import init
from .activation import GELU, ReLU
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm


def _activation(activation: str | Callable) -> Callable:
    if callable(activation):
        return activation
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


class _FeedForward(Module):
    """What both layers share: the constructor (torch's arguments), the feed-forward block,
    the residual blocks."""

    #: the decoder layer also attends to the encoder's output (``multihead_attn``, ``norm3``)
    _cross = False

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        args = {"dropout": dropout, "bias": bias, "batch_first": batch_first, **kw}
        self.self_attn = MultiheadAttention(d_model, nhead, **args)
        if self._cross:
            self.multihead_attn = MultiheadAttention(d_model, nhead, **args)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        for i in range(1, 4 if self._cross else 3):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        for i in range(1, 4 if self._cross else 3):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(activation)
        act = self.activation
        # torch's flag for its inference fast path: 1 for relu, 2 for gelu, 0 otherwise
        self.activation_relu_or_gelu = (
            1 if act is F.relu or isinstance(act, ReLU) else
            2 if act is F.gelu or isinstance(act, GELU) else 0
        )  # fmt: skip

    def _attend(
        self,
        attn: MultiheadAttention,
        drop: Dropout,
        x: Tensor,
        kv: Tensor,
        attn_mask: Tensor | None,
        key_padding_mask: Tensor | None,
        is_causal: bool,
    ) -> Tensor:
        out = attn(
            x,
            kv,
            kv,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return drop(out)

    def _sa_block(
        self, x: Tensor, attn_mask: Tensor | None, key_padding_mask: Tensor | None, is_causal: bool
    ) -> Tensor:
        return self._attend(
            self.self_attn, self.dropout1, x, x, attn_mask, key_padding_mask, is_causal
        )

    def _mha_block(
        self,
        x: Tensor,
        mem: Tensor,
        attn_mask: Tensor | None,
        key_padding_mask: Tensor | None,
        is_causal: bool,
    ) -> Tensor:
        return self._attend(
            self.multihead_attn, self.dropout2, x, mem, attn_mask, key_padding_mask, is_causal
        )

    def _ff_block(self, x: Tensor) -> Tensor:
        drop = self.dropout3 if self._cross else self.dropout2
        return drop(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def _block(self, x: Tensor, norm: LayerNorm, sub: Callable[..., Tensor], *args: Any) -> Tensor:
        """Residual around ``sub(., *args)``: pre-norm ``x + sub(norm(x))`` or post-norm."""
        return x + sub(norm(x), *args) if self.norm_first else norm(x + sub(x, *args))


class TransformerEncoderLayer(_FeedForward):
    """Self-attention then a feed-forward block, each with a residual and a LayerNorm
    (after, or before with ``norm_first``), as torch's layer.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, batch_first=True)
    >>> layer(polygrad.randn(2, 5, 16)).shape
    (2, 5, 16)
    """

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        x = self._block(src, self.norm1, self._sa_block, src_mask, src_key_padding_mask, is_causal)
        return self._block(x, self.norm2, self._ff_block)


class TransformerDecoderLayer(_FeedForward):
    """Self-attention, attention to ``memory``, then a feed-forward block, each with a
    residual and a LayerNorm, as torch's layer."""

    _cross = True

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x = self._block(
            tgt, self.norm1, self._sa_block, tgt_mask, tgt_key_padding_mask, tgt_is_causal
        )
        x = self._block(
            x, self.norm2, self._mha_block, memory, memory_mask, memory_key_padding_mask,
            memory_is_causal,
        )  # fmt: skip
        return self._block(x, self.norm3, self._ff_block)


class _Stack(Module):
    """What both stacks share: ``num_layers`` deep copies of one layer, then ``norm``."""

    def __init__(self, layer: Module, num_layers: int, norm: Module | None) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])
        self.num_layers, self.norm = num_layers, norm

    def _run(self, x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        for layer in self.layers:
            x = layer(x, *args, **kwargs)
        return x if self.norm is None else self.norm(x)


def _why_no_nested_tensor(layer: Module) -> str:
    """Why torch's TransformerEncoder would not use nested tensors with ``layer`` ("" if it
    would): torch's conditions, in torch's order."""
    if not isinstance(layer, TransformerEncoderLayer):
        return "encoder_layer was not TransformerEncoderLayer"
    attn = layer.self_attn
    checks = (
        (layer.norm_first, "encoder_layer.norm_first was True"),
        (not attn.batch_first, "encoder_layer.self_attn.batch_first was not True"),
        (not attn._qkv_same_embed_dim, "encoder_layer.self_attn._qkv_same_embed_dim was not True"),
        (attn.in_proj_bias is None, "encoder_layer.self_attn was passed bias=False"),
        (not layer.activation_relu_or_gelu, "encoder_layer.activation_relu_or_gelu was not True"),
        (layer.norm1.eps != layer.norm2.eps,
         "encoder_layer.norm1.eps was not equal to encoder_layer.norm2.eps"),
        (attn.num_heads % 2 == 1, "encoder_layer.self_attn.num_heads is odd"),
    )  # fmt: skip
    return next((why for failed, why in checks if failed), "")


class TransformerEncoder(_Stack):
    """``num_layers`` copies of ``encoder_layer`` (``layers.0`` ...), then ``norm`` if given."""

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__(encoder_layer, num_layers, norm)
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check
        why_not = _why_no_nested_tensor(encoder_layer)
        if enable_nested_tensor and why_not:
            warnings.warn(
                f"enable_nested_tensor is True, but self.use_nested_tensor is False because "
                f"{why_not}",
                UserWarning,
                stacklevel=2,
            )
        self.use_nested_tensor = enable_nested_tensor and not why_not

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        """The layers, then ``norm``. As torch's: in inference (eval mode, no gradient
        recorded, a batch-first 3-d ``src`` with a ``src_key_padding_mask`` whose padding is
        at the end of each sequence, no ``mask``, ``use_nested_tensor``), torch runs the
        layers on nested tensors and its outputs at padded positions are 0 before ``norm``;
        polygrad runs the same layers and zeroes those positions, so the results agree."""
        pad = self._nested_padding(src, mask, src_key_padding_mask)
        for layer in self.layers:
            src = layer(src, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                        is_causal=bool(is_causal))  # fmt: skip
        if pad is not None:
            src = pg.where(pad, 0.0, src)
        return src if self.norm is None else self.norm(src)

    def _nested_padding(self, src: Tensor, mask: Any, padding: Any) -> Tensor | None:
        """The (N, S, 1) padded positions where torch's nested-tensor path gives 0, or None
        where torch takes the ordinary path."""
        first = self.layers[0] if len(self.layers) else None
        if (
            first is None
            or not getattr(self, "use_nested_tensor", False)
            or first.training
            or src.ndim != 3
            or padding is None
            or mask is not None
        ):
            return None
        args = [src] + [p for p in first.parameters()]
        if pg.is_grad_enabled() and any(t.requires_grad for t in args):
            return None
        pad = padding if padding.dtype == pg.bool else padding != 0
        valid = pg.logical_not(pad)
        if self.mask_check and pg.any(valid[:, 1:] & pad[:, :-1]).item():
            return None  # padding not only at the end: torch's mask check declines too
        return pg.reshape(pad, pad.shape + (1,))


class TransformerDecoder(_Stack):
    """``num_layers`` copies of ``decoder_layer`` (``layers.0`` ...), then ``norm`` if given."""

    def __init__(
        self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None
    ) -> None:
        super().__init__(decoder_layer, num_layers, norm)

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        return self._run(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=bool(tgt_is_causal),
            memory_is_causal=memory_is_causal,
        )


class Transformer(Module):
    """An encoder-decoder Transformer as torch's (``encoder.layers.*``, ``encoder.norm``,
    ``decoder.layers.*``, ``decoder.norm``); every parameter with more than one axis is
    re-drawn Xavier-uniform, as torch does."""

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable = "relu",
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        args = (
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
        )
        norm = {"eps": layer_norm_eps, "bias": bias, **kw}
        self.encoder = custom_encoder or TransformerEncoder(
            TransformerEncoderLayer(*args, **kw), num_encoder_layers, LayerNorm(d_model, **norm)
        )
        self.decoder = custom_decoder or TransformerDecoder(
            TransformerDecoderLayer(*args, **kw), num_decoder_layers, LayerNorm(d_model, **norm)
        )
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """A float (sz, sz) mask: 0 on and below the diagonal, -inf above (float32 default)."""
        ones = pg.ones((sz, sz), device=device, dtype=pg.bool)
        return pg.where(pg.triu(ones, diagonal=1), float("-inf"), 0.0).to(dtype or pg.float32)
