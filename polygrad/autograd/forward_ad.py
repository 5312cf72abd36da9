"""torch.autograd.forward_ad's names, refused: polygrad has reverse mode only.

``dual_level``, ``make_dual``, ``unpack_dual`` raise ``NotImplementedError`` naming
``torch.autograd.forward_ad`` when used (importing them works, as scripts import more than they
use). Jacobian-vector products are available through reverse mode (the double-vjp trick):
``polygrad.autograd.functional.jvp``.
"""

from __future__ import annotations

from typing import Any, NoReturn

from .. import _unsupported

_WHY = "polygrad has reverse mode only; use polygrad.autograd.functional.jvp for J @ v"

make_dual = _unsupported.function("torch.autograd.forward_ad.make_dual", _WHY)
unpack_dual = _unsupported.function("torch.autograd.forward_ad.unpack_dual", _WHY)
enter_dual_level = _unsupported.function("torch.autograd.forward_ad.enter_dual_level", _WHY)
exit_dual_level = _unsupported.function("torch.autograd.forward_ad.exit_dual_level", _WHY)


class dual_level:  # noqa: N801  (torch's name)
    """torch.autograd.forward_ad.dual_level, refused when entered."""

    def __enter__(self) -> NoReturn:
        _unsupported.refuse("torch.autograd.forward_ad.dual_level", _WHY)

    def __exit__(self, *exc: Any) -> None:
        return None


def __getattr__(name: str) -> object:
    raise _unsupported.missing_attribute("torch.autograd.forward_ad", name)
