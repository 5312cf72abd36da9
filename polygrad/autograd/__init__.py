"""``polygrad.autograd``, in ``torch.autograd``'s place: ``grad``, ``Function`` and grad modes."""

from .._autograd import grad
from .._tensor import Function, enable_grad, is_grad_enabled, no_grad

__all__ = ["Function", "enable_grad", "grad", "is_grad_enabled", "no_grad"]
