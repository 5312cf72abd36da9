"""``torch.amp``: ``autocast`` and ``GradScaler`` as torch has them on a machine without CUDA.

polygrad computes in float32 or float64 only, so mixed precision itself is not available:

- ``autocast`` for a device the active backend cannot use (``"cuda"`` here) warns and does
  nothing, as torch does without CUDA; so does one for a dtype torch's autocast does not take
  (float32, float64). ``enabled=False`` is a no-op. An enabled autocast to float16 or
  bfloat16 (torch's CPU default is bfloat16) raises ``NotImplementedError``.
- ``GradScaler("cuda")`` (the default) warns once, disables itself, and then ``scale``,
  ``unscale_``, ``step`` and ``update`` pass through, as torch's does without CUDA.
  ``GradScaler("cpu")``, enabled in torch, scales for real: losses are multiplied by the
  scale, gradients unscaled, steps with non-finite gradients skipped and the scale grown or
  backed off exactly as torch does.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

from . import _dtypes, _unsupported, ops
from ._grad_mode import no_grad
from ._tensor import Tensor

_LOW = ("float16", "bfloat16")


def _device_available(device_type: str) -> bool:
    if device_type == "cpu":
        return True
    if device_type == "cuda":
        from ._torch_compat import cuda_device_count

        return cuda_device_count() > 0
    return False


class autocast:  # noqa: N801  (torch's name)
    """torch's ``autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``.

    A context manager and decorator. See the module docstring for what it does here.

    Raises
    ------
    NotImplementedError
        When enabled for float16 or bfloat16 on a device the backend can use.
    """

    def __init__(
        self,
        device_type: str,
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device = device_type
        self.fast_dtype = _dtypes.to_dtype(
            dtype if dtype is not None else ("bfloat16" if device_type == "cpu" else "float16")
        )
        self._enabled = bool(enabled)
        if not self._enabled:
            return
        if not _device_available(device_type):
            warnings.warn(
                f"User provided device_type of '{device_type}', but {device_type.upper()} is "
                "not available. Disabling autocast.",
                UserWarning,
                stacklevel=2,
            )
            self._enabled = False
        elif self.fast_dtype.name not in _LOW:
            warnings.warn(
                f"In {device_type.upper()} autocast, but the target dtype is not supported. "
                f"Disabling autocast. Autocast only supports dtypes of torch.bfloat16, "
                "torch.float16 currently.",
                UserWarning,
                stacklevel=2,
            )
            self._enabled = False
        else:
            _unsupported.refuse(
                f"torch.autocast to {self.fast_dtype.name}",
                "polygrad computes in float32 and float64 only; drop the autocast",
            )

    def __enter__(self) -> autocast:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapper


def is_autocast_available(device_type: str) -> bool:
    """True for the device types torch's autocast knows (``cpu``, ``cuda`` ...)."""
    return device_type in ("cpu", "cuda", "xpu", "mps", "hpu", "xla", "mtia", "maia")


class GradScaler:
    """torch's ``GradScaler(device="cuda", init_scale=2.**16, growth_factor=2.0,
    backoff_factor=0.5, growth_interval=2000, enabled=True)``.

    Disabled (with torch's warning) for a device the backend cannot use; see the module
    docstring.

    Examples
    --------
    >>> import polygrad, warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     scaler = polygrad.amp.GradScaler()
    >>> scaler.is_enabled(), scaler.get_scale()
    (False, 1.0)
    """

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        self._device = device
        self._enabled = bool(enabled)
        if self._enabled and not _device_available(device):
            warnings.warn(
                f"torch.{device}.amp.GradScaler is enabled, but {device.upper()} is not "
                "available.  Disabling.",
                UserWarning,
                stacklevel=2,
            )
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise ValueError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise ValueError("The backoff factor must be < 1.0.")
        self._init_scale = float(init_scale)
        self._scale = self._f32(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._per_optimizer: dict[int, dict] = {}

    @staticmethod
    def _f32(value: float) -> float:
        """``value`` rounded to float32, as torch keeps the scale in a float32 tensor."""
        import struct

        return struct.unpack("f", struct.pack("f", value))[0]

    def is_enabled(self) -> bool:
        """Whether the scaler scales (False when disabled at construction)."""
        return self._enabled

    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def scale(self, outputs: Any) -> Any:
        """``outputs`` (a tensor, or lists/tuples of them) multiplied by the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def _state(self, optimizer: Any) -> dict:
        return self._per_optimizer.setdefault(id(optimizer), {"stage": "ready", "inf": False})

    def unscale_(self, optimizer: Any) -> None:
        """Divide the gradients of ``optimizer``'s parameters by the scale, in place.

        Raises
        ------
        RuntimeError
            If called twice for one optimizer before ``update()``, or after ``step()``.
        """
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] == "unscaled":
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update()."
            )
        if state["stage"] == "stepped":
            raise RuntimeError("unscale_() is being called after step().")
        inv = self._f32(1.0 / self._scale)  # torch: scale.double().reciprocal().float()
        found = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    p.grad.mul_(inv)
                    found = found or not bool(ops.all(ops.isfinite(p.grad)))
        state["inf"], state["stage"] = found, "unscaled"

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """``optimizer.step()`` unless the unscaled gradients hold an inf or NaN (then skipped,
        returning None)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        state = self._state(optimizer)
        if state["stage"] == "stepped":
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == "ready":
            self.unscale_(optimizer)
        result = None if state["inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = "stepped"
        return result

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Back the scale off after a skipped step, grow it after ``growth_interval`` good ones."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = self._f32(float(new_scale))
        else:
            if not self._per_optimizer:
                raise AssertionError("No inf checks were recorded prior to update.")
            if any(s["inf"] for s in self._per_optimizer.values()):
                self._scale = self._f32(self._scale * self._backoff_factor)
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale = self._f32(self._scale * self._growth_factor)
                    self._growth_tracker = 0
        self._per_optimizer = {}

    def state_dict(self) -> dict:
        """torch's layout; empty when disabled."""
        if not self._enabled:
            return {}
        return {
            "scale": self._scale,
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved "
                "from a disabled instance of GradScaler."
            )
        self._scale = self._f32(float(state_dict["scale"]))
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
