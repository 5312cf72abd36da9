"""``torch.backends``: the flags scripts set, accepted and without effect, and availability checks.

polygrad calls no cuDNN, MPS or TF32 kernels of its own, so ``cuda.matmul.allow_tf32 = True``,
``cudnn.benchmark = True``, ``cudnn.deterministic = True`` and the like are stored (reading
them back gives what was set) and change nothing. On the torch backend polygrad does not pass
them on to torch either: set ``torch.backends`` itself for that. Every availability check is
False, as in torch on a machine without CUDA or Apple GPUs.
"""

from __future__ import annotations

import types


class _Flags(types.SimpleNamespace):
    """Settable flags; reading one that was never set is an ``AttributeError`` naming it."""


def _false(*args: object, **kwargs: object) -> bool:
    return False


def _accept(*args: object, **kwargs: object) -> None:
    return None


cuda = _Flags(
    matmul=_Flags(
        allow_tf32=False,
        allow_fp16_reduced_precision_reduction=True,
        allow_bf16_reduced_precision_reduction=True,
    ),
    is_built=_false,
    enable_flash_sdp=_accept,
    enable_mem_efficient_sdp=_accept,
    enable_math_sdp=_accept,
    enable_cudnn_sdp=_accept,
    flash_sdp_enabled=_false,
    mem_efficient_sdp_enabled=_false,
    math_sdp_enabled=lambda: True,
)
cudnn = _Flags(
    enabled=True,
    benchmark=False,
    deterministic=False,
    allow_tf32=True,
    is_available=_false,
    version=lambda: None,
)
mps = _Flags(is_available=_false, is_built=_false)
mkldnn = _Flags(enabled=True, is_available=_false)
openmp = _Flags(is_available=_false)
opt_einsum = _Flags(enabled=True, strategy="auto", is_available=_false)

__all__ = ["cuda", "cudnn", "mkldnn", "mps", "openmp", "opt_einsum"]
