"""Backend selection, and the one place per backend for what the array API standard lacks.

Everything an op computes goes through ``Backend.xp``: the array-api-compat namespace of the
backend's library plus the three extras the standard has no answer for (``erf``, ``add_at`` for
index gradients, and host copies / random numbers on the ``Backend`` itself). Each extra has a
pure-standard version here; a backend overrides it only where its library has a faster one.
Host-side work (parsing Python lists, drawing random numbers, ``Tensor.numpy()``) uses NumPy,
which is polygrad's host library on every backend; nothing here converts device data silently.
"""

from __future__ import annotations

import contextlib
import math
import os
import types
from collections.abc import Iterator
from typing import Any, NamedTuple

import array_api_compat
import numpy as np

from . import _blocked, _devices, _dtypes, _erf, _gamma

__all__ = ["BackendError", "set_backend", "get_backend", "use_backend", "manual_seed"]

BACKEND_NAMES = ("numpy", "cupy", "torch", "strict")


class BackendError(RuntimeError):
    """A backend is unknown, cannot be imported, has no usable device, or two backends mix."""


class BackendInfo(NamedTuple):
    """What ``polygrad.get_backend()`` reports: the backend's name and its default device."""

    name: str
    device: Any


#: the special functions backends add beside ``erf`` (SciPy / torch.special / cupyx names)
SPECIAL = ("erfc", "erfinv", "gammaln", "psi", "trigamma")


class Backend:
    """One array library as polygrad uses it.

    ``xp`` is the namespace every kernel is written against: the library's array-api-compat
    namespace with ``erf`` and ``add_at`` added. Tensors carry ``xp``; comparing two tensors'
    ``xp`` by identity is how polygrad tells whether they come from the same backend.
    """

    name = "?"
    #: True where basic slicing and reshaping a contiguous array give views that share its
    #: memory, so in-place writes through them reach it (the standard leaves this open)
    views_share_memory = False
    writes_into = False  # True where ``into`` writes into its ``out`` (so scratch buffers pay)

    def __init__(self, compat: Any) -> None:
        self.compat = compat
        ns = {k: v for k, v in vars(compat).items() if not k.startswith("_")}
        # the standard's extensions: array-api-strict serves them through a module __getattr__
        ns.update({e: getattr(compat, e) for e in ("linalg", "fft") if hasattr(compat, e)})
        ns.update(erf=self.erf, gelu=self.gelu, gelu_grad=self.gelu_grad, sigmoid=self.sigmoid,
                  add_at=self.add_at, backend=self,
                  **{f: getattr(self, f) for f in SPECIAL},
                  __name__=f"polygrad:{self.name}")  # fmt: skip
        for extension in ("linalg", "fft"):  # array-api-strict loads these on first access
            if hasattr(compat, extension):
                ns[extension] = getattr(compat, extension)
        has = set(compat.__array_namespace_info__().dtypes())
        #: the polygrad dtypes this library has, in the order of ``_dtypes.ALL``
        self.dtypes = tuple(d for d in _dtypes.ALL if d.name in has)
        self._dtypes = {self._dtype_key(getattr(compat, d.name)): d for d in self.dtypes}
        # the library's own float dtype objects: ``x.dtype in xp.floats`` is the fast float test
        ns["floats"] = frozenset(k for k, d in self._dtypes.items() if d.is_floating_point)
        self.xp = types.SimpleNamespace(**ns)

    # -- devices and dtypes -------------------------------------------------------------------
    def default_device(self) -> Any:
        raise NotImplementedError

    def normalize_device(self, device: Any) -> Any:
        """Turn a user's device spec (None, a string, a device object) into this library's."""
        if device is None:
            return self.default_device()
        return device

    def device_of(self, x: Any) -> Any:
        return array_api_compat.device(x)

    def device_name(self, device: Any) -> str:
        """A string that ``normalize_device`` turns back into ``device``."""
        return str(device)

    def _dtype_key(self, dtype: Any) -> Any:
        return dtype

    def dtype_of(self, x: Any) -> _dtypes.DType:
        """polygrad DType of a backend array."""
        try:
            return self._dtypes[self._dtype_key(x.dtype)]
        except KeyError:
            supported = ", ".join(d.name for d in self.dtypes)
            half = "float16" in str(x.dtype)
            half = " (its float dtypes are float32 and float64)" if half else ""
            raise TypeError(
                f"polygrad does not support {self.name} arrays of dtype {x.dtype}{half}; "
                f"supported dtypes: {supported}"
            ) from None

    def to_backend_dtype(self, dtype: Any) -> Any:
        d = _refuse_half(dtype)
        if d not in self.dtypes:
            supported = ", ".join(d.name for d in self.dtypes)
            raise TypeError(
                f"the {self.name} backend has no {d.name} arrays; its dtypes: {supported}"
            )
        return getattr(self.compat, d.name)

    @contextlib.contextmanager
    def on(self, device: Any) -> Iterator[None]:
        """Context in which creation functions allocate on ``device`` (only CuPy needs it)."""
        yield

    # -- creation ------------------------------------------------------------------------------
    def from_host(self, a: Any, dtype: Any, device: Any) -> Any:
        """Copy host data (anything NumPy takes) to ``device`` as polygrad dtype ``dtype``."""
        a = np.asarray(a, dtype=_refuse_half(dtype).name if dtype is not None else None)
        with self.on(device):
            return self.compat.asarray(a, device=device, copy=True)

    def to_numpy(self, x: Any) -> np.ndarray:
        """A host NumPy copy of a backend array."""
        return np.array(x, copy=True)

    # -- extras the standard lacks -------------------------------------------------------------
    def erf(self, x: Any) -> Any:
        """The error function, elementwise, from standard operations only (within 1 ulp)."""
        return _erf.erf(self.compat, x)

    def gelu(self, x: Any) -> tuple[Any, Any]:
        """Exact GELU ``x Phi(x)`` and ``Phi(x)``, the normal CDF (which the backward needs)."""
        cdf = self.erf(x / _blocked.SQRT_2)
        cdf += 1.0  # in place on the fresh temporary
        cdf *= 0.5
        return x * cdf, cdf

    def gelu_grad(self, g: Any, x: Any, cdf: Any) -> Any:
        """GELU's vector-Jacobian product ``g (Phi(x) + x phi(x))``, ``phi`` the normal density,
        in place on one fresh temporary."""
        t = x * x
        t *= -0.5
        t = self.compat.exp(t)
        t *= _blocked.INV_SQRT_2PI
        t *= x
        t += cdf
        t *= g
        return t

    def erfc(self, x: Any) -> Any:
        """The complementary error function from standard operations only (fdlibm's ranges)."""
        return _erf.erfc(self.compat, x)

    def erfinv(self, x: Any) -> Any:
        """The inverse error function from standard operations (Giles' guess, Halley steps)."""
        return _gamma.erfinv(self.compat, x)

    def gammaln(self, x: Any) -> Any:
        """``log|Gamma(x)|`` from standard operations (Stirling, recurrence, reflection)."""
        return _gamma.lgamma(self.compat, x)

    def psi(self, x: Any) -> Any:
        """The digamma function from standard operations."""
        return _gamma.digamma(self.compat, x)

    def trigamma(self, x: Any) -> Any:
        """The trigamma function (the digamma's derivative) from standard operations."""
        return _gamma.trigamma(self.compat, x)

    def extrema(self, x: Any) -> tuple:
        """``(min(x), max(x))`` of a non-empty array as Python numbers, with one host read."""
        xp = self.xp
        return tuple(self.to_numpy(xp.stack([xp.min(x), xp.max(x)])).tolist())

    def pick_rows(self, x: Any, index: Any) -> Any:
        """``x[i, index[i]]`` for every row ``i`` of a 2-D ``x``, with ``index`` (one integer
        per row) already checked to be in ``[0, x.shape[1])``."""
        xp = self.xp
        picked = xp.take_along_axis(x, xp.expand_dims(index, axis=1), axis=1)
        return xp.reshape(picked, (x.shape[0],))

    def into(self, out: Any, name: str, *args: Any) -> Any:
        """The standard's function ``name`` (elementwise, or ``concat``) on ``args``, written
        into ``out`` (an array of the result's shape and dtype that nothing else reads) on
        backends whose ``writes_into`` is true, else into a new array (``out`` may then be
        None). Returns the result. For scratch buffers reused across steps: the values are
        the same either way."""
        return getattr(self.xp, name)(*args)

    def sigmoid(self, x: Any) -> Any:
        """The logistic function ``1 / (1 + exp(-x))``, elementwise, from standard operations.

        ``e^min(x, 0) / (1 + e^-|x|)`` is ``1 / (1 + e^-x)`` for x >= 0 and ``e^x / (1 + e^x)``
        below: no exp overflows, and both tails keep their last bits (unlike
        ``0.5 * tanh(x / 2) + 0.5``). Backends with a compiled one use it instead.
        """
        xp = self.compat
        return xp.exp(xp.minimum(x, 0.0)) / (1.0 + xp.exp(-xp.abs(x)))

    def add_at(self, shape: tuple[int, ...], key: Any, values: Any) -> Any:
        """Zeros of ``shape`` with ``values`` added at ``[key]``; repeated indices accumulate.

        This is the adjoint of ``x[key]``. Keys of slices, integers, None and Ellipsis cannot
        repeat an element, so they use plain assignment; keys with integer or boolean arrays go
        through the flat position of every element they select and a flat scatter-add.
        """
        xp = self.compat
        device = self.device_of(values)
        size = math.prod(shape)
        if isinstance(key, TakeKey):
            with self.on(device):
                where = xp.reshape(xp.arange(size, device=device), key.merged_shape(shape))
            pos = xp.take(where, key.index, axis=key.axis)
            values = xp.reshape(values, pos.shape)
            flat = self.scatter_add_flat(size, xp.reshape(pos, (-1,)), xp.reshape(values, (-1,)))
            return xp.reshape(flat, shape)
        with self.on(device):
            out = xp.zeros(shape, dtype=values.dtype, device=device)
        if _is_basic(key):
            no_none = tuple(k for k in key if k is not None)
            target = out[no_none]
            out[no_none] = xp.reshape(values, target.shape)
            return out
        with self.on(device):
            pos = xp.reshape(xp.arange(size, device=device), shape)[key]
        flat = self.scatter_add_flat(size, xp.reshape(pos, (-1,)), xp.reshape(values, (-1,)))
        return xp.reshape(flat, shape)

    def scatter_add_flat(self, size: int, index: Any, values: Any) -> Any:
        """1-D scatter-add from standard functions: sort, a segmented scan, and searchsorted.

        The values are sorted by index; a log-step scan (Hillis-Steele) then adds, within each
        run of equal indices only, every value into the run's last element, so position j gets
        the sum of its own values and nothing else. (A difference of two global running totals
        would be shorter to write, but it loses the digits of every earlier run: in float32,
        ``1e8 + 1 - 1e8`` is 0.)
        """
        xp = self.compat
        device = self.device_of(values)
        order = xp.argsort(index)
        sorted_index = xp.take(index, order)
        flags = values.dtype == xp.bool  # bools add as logical or (NumPy's add.at)
        run = xp.take(xp.astype(values, xp.int8) if flags else values, order)
        n = run.shape[0]
        step = 1
        while step < n:
            same = sorted_index[step:] == sorted_index[:-step]
            head = run[:step]
            tail = run[step:] + xp.where(same, run[:-step], xp.zeros_like(run[:-step]))
            run = xp.concat([head, tail])
            step *= 2
        targets = xp.arange(size, dtype=sorted_index.dtype, device=device)
        hi = xp.searchsorted(sorted_index, targets, side="right")
        lo = xp.searchsorted(sorted_index, targets, side="left")
        if n == 0:
            out = xp.zeros(size, dtype=run.dtype, device=device)
        else:  # each position's run ends just before ``hi``; positions without values get 0
            last = xp.take(run, xp.clip(hi - 1, 0, None))
            out = xp.where(hi > lo, last, xp.zeros_like(last))
        return out != 0 if flags else out


class TakeKey(NamedTuple):
    """An index picking with integer arrays on consecutive axes: ``x[idx]``, ``x[:, i, j]``.

    Such keys run through the standard's ``take`` on ``x`` with the indexed axes merged into
    one, rather than through ``__getitem__``, which the standard (and array-api-strict) allows
    only with integer arrays on every axis. ``index`` is the 1-D non-negative flat index into
    the merged axis; ``index_shape`` is the broadcast shape of the user's index arrays.
    """

    axis: int
    n_axes: int
    index: Any
    index_shape: tuple[int, ...]

    def merged_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        a, b = self.axis, self.axis + self.n_axes
        return shape[:a] + (math.prod(shape[a:b]),) + shape[b:]

    def apply(self, xp: Any, x: Any) -> Any:
        shape = tuple(x.shape)
        if self.n_axes != 1:
            x = xp.reshape(x, self.merged_shape(shape))
        out = xp.take(x, self.index, axis=self.axis)
        if self.n_axes != 1 or len(self.index_shape) != 1:
            rest = shape[self.axis + self.n_axes :]
            out = xp.reshape(out, shape[: self.axis] + self.index_shape + rest)
        return out


def _is_basic(key: tuple) -> bool:
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice)) for k in key)


def _refuse_half(dtype: Any) -> _dtypes.DType:
    """``dtype`` as a polygrad DType; a TypeError for float16 and bfloat16."""
    d = _dtypes.to_dtype(dtype)
    if d.name in _dtypes.HALF:
        raise TypeError(
            f"polygrad does not support {d.name} tensors: its float dtypes are float32 and "
            "float64 (torch's half precision is a GPU speed feature polygrad lacks)"
        )
    return d


class NumpyBackend(Backend):
    name = "numpy"
    views_share_memory = True
    writes_into = True
    _scipy_erf: Any = None  # scipy.special.erf once looked up; False when SciPy is missing
    _scipy_expit: Any = None  # scipy.special.expit, the same way

    def __init__(self) -> None:
        super().__init__(array_api_compat.array_namespace(np.zeros(0)))
        # Fast path: NumPy's reductions (np.sum ...) reach the ufunc's reduce through a layer of
        # Python that costs more than the reduction itself on small arrays. These call it
        # directly, with the standard's signature and defaults (axis=None reduces everything).
        add, maximum, minimum = np.add.reduce, np.maximum.reduce, np.minimum.reduce

        def sum(x, /, *, axis=None, dtype=None, keepdims=False):  # noqa: A001
            return add(x, axis=axis, dtype=dtype, keepdims=keepdims)

        def max(x, /, *, axis=None, keepdims=False):  # noqa: A001
            return maximum(x, axis=axis, keepdims=keepdims)

        def min(x, /, *, axis=None, keepdims=False):  # noqa: A001
            return minimum(x, axis=axis, keepdims=keepdims)

        self.xp.sum, self.xp.max, self.xp.min = sum, max, min

        # The same for a few shape and dtype helpers the engine calls on every op; each keeps
        # the standard's signature and does what array-api-compat's version does for the
        # arguments polygrad passes.
        compat_reshape = self.compat.reshape

        def reshape(x, /, shape, *, copy=None):
            return x.reshape(shape) if copy is None else compat_reshape(x, shape, copy=copy)

        def expand_dims(x, /, *, axis=0):
            n = x.ndim + 1
            if not -n <= axis < n:
                raise IndexError(f"axis {axis} is out of range for a result with {n} dims")
            axis %= n
            return x.reshape(x.shape[:axis] + (1,) + x.shape[axis:])

        def astype(x, dtype, /, *, copy=True, device=None):
            return x.astype(dtype, copy=copy)

        self.xp.reshape, self.xp.expand_dims, self.xp.astype = reshape, expand_dims, astype
        self.xp.matrix_transpose = lambda x, /: x.mT
        self.xp.matmul = np.matmul

    def extrema(self, x: Any) -> tuple:
        # the reductions directly: a third of the generic path's cost
        return np.minimum.reduce(x, axis=None).item(), np.maximum.reduce(x, axis=None).item()

    def pick_rows(self, x: Any, index: Any) -> Any:
        # one fancy index: take_along_axis builds the same index through Python
        return x[np.arange(x.shape[0]), index]

    def into(self, out: Any, name: str, *args: Any) -> Any:
        # NumPy's ufuncs write into ``out=`` (no allocation, and no page faults on a fresh
        # buffer; bitwise the same values)
        return getattr(np, name)(*args, out=out)

    def sigmoid(self, x: Any) -> Any:
        """SciPy's compiled ``expit`` when SciPy is installed (one ufunc call instead of five;
        within 1 ulp of torch's ``sigmoid`` over the whole float64 range), else the portable
        formula."""
        if NumpyBackend._scipy_expit is None:
            try:
                from scipy.special import expit
            except ImportError:
                expit = False
            NumpyBackend._scipy_expit = staticmethod(expit) if expit else False  # as for erf
        if self._scipy_expit is False or x.dtype.kind != "f":
            return super().sigmoid(x)
        return np.asarray(self._scipy_expit(x))  # a 0-d input gives a scalar: made an array

    def erf(self, x: Any) -> Any:
        """float32: the blocked ``tanh(x P(x^2))`` of ``_blocked`` (within 3.7 ulp, 5x faster
        than SciPy's, which computes float32 in double). float64: SciPy's compiled ``erf``
        when SciPy is installed (several times faster than the portable rational
        approximation on NumPy), else the portable one."""
        if x.dtype == np.float32:
            return _blocked.erf_float32(x)
        if self._scipy_erf is None:
            try:
                from scipy.special import erf as scipy_erf
            except ImportError:
                scipy_erf = False
            # staticmethod: with SCIPY_ARRAY_API=1 SciPy's erf is a Python function, which a
            # plain class attribute would bind to the backend as its first argument
            NumpyBackend._scipy_erf = staticmethod(scipy_erf) if scipy_erf else False
        if self._scipy_erf is False or x.dtype.kind != "f":
            return super().erf(x)
        # NOTE: SciPy's float32 loop evaluates in double and rounds once, so it gives the same
        # bits as the float64 loop plus a cast (checked over 4M normal samples, zeros, infs,
        # NaN and subnormals) without the two conversions: call it on x's own dtype
        return np.asarray(self._scipy_erf(x)).astype(x.dtype, copy=False)

    def gelu(self, x: Any) -> tuple[Any, Any]:
        """Exact GELU and ``Phi`` in one blocked sweep (``_blocked.gelu``): float32 with the
        blocked erf, float64 with SciPy's (the portable composition without SciPy)."""
        if x.dtype == np.float32:
            return _blocked.gelu(x, _blocked.erf32_block)
        if self._scipy_erf is None:
            self.erf(np.zeros(1))  # looks SciPy up once
        if x.dtype != np.float64 or self._scipy_erf is False:
            return super().gelu(x)
        erf = self._scipy_erf
        return _blocked.gelu(x, lambda u, out, scratch: erf(u, out=out))

    def gelu_grad(self, g: Any, x: Any, cdf: Any) -> Any:
        if g.shape != x.shape or g.dtype != x.dtype or x.dtype.kind != "f":
            return super().gelu_grad(g, x, cdf)
        return _blocked.gelu_grad(g, x, cdf)

    def _scipy_special(self, name: str, x: Any, *args: Any) -> Any:
        try:
            import scipy.special as sc
        except ImportError:
            return getattr(Backend, name)(self, x)
        fn = {"trigamma": lambda v: sc.polygamma(1, v)}.get(name) or getattr(sc, name)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        return np.asarray(fn(x)).astype(x.dtype, copy=False)

    def erfc(self, x: Any) -> Any:
        return self._scipy_special("erfc", x)

    def erfinv(self, x: Any) -> Any:
        return self._scipy_special("erfinv", x)

    def gammaln(self, x: Any) -> Any:
        out = self._scipy_special("gammaln", x)
        out[x == -np.inf] = np.inf  # SciPy gives -inf there; torch (and |Gamma|) +inf
        return out

    def psi(self, x: Any) -> Any:
        return self._scipy_special("psi", x)

    def trigamma(self, x: Any) -> Any:
        out = self._scipy_special("trigamma", x)
        out[x == -np.inf] = np.nan  # SciPy gives +inf there; torch NaN, as the portable one
        return out

    def default_device(self) -> Any:
        return _devices.CPU

    def normalize_device(self, device: Any) -> Any:
        if device is None or str(device) == "cpu":
            return _devices.CPU
        raise BackendError(f"the numpy backend has only the 'cpu' device, not {device!r}")

    def device_of(self, x: Any) -> Any:
        return _devices.CPU  # polygrad.device("cpu"), which is also the string NumPy takes

    def _dtype_key(self, dtype: Any) -> Any:
        return np.dtype(dtype)

    def scatter_add_flat(self, size: int, index: Any, values: Any) -> Any:
        out = np.zeros(size, dtype=values.dtype)
        np.add.at(out, index, values)
        return out


def _classes() -> dict[str, type[Backend]]:
    from . import _backend_libs  # the other libraries' backends subclass Backend: imported late

    return {
        "numpy": NumpyBackend,
        "cupy": _backend_libs.CupyBackend,
        "torch": _backend_libs.TorchBackend,
        "strict": _backend_libs.StrictBackend,
    }


_INSTANCES: dict[str, Backend] = {}


def _cuda_gpu_count() -> int:
    try:
        import cupy

        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:
        return 0


def backend_by_name(name: str) -> Backend:
    """The (cached) Backend called ``name``; a clear BackendError if it is unknown or unusable."""
    if name in _INSTANCES:
        return _INSTANCES[name]
    if name not in BACKEND_NAMES:
        raise BackendError(
            f"unknown backend {name!r}; POLYGRAD_BACKEND must be one of {', '.join(BACKEND_NAMES)}"
        )
    library = {"strict": "array_api_strict"}.get(name, name)
    try:
        __import__(library)
    except ImportError as e:
        raise BackendError(
            f"backend {name!r} needs the {library} package, which cannot be imported ({e}); "
            f"install it with: pip install -r backends/{name}.txt"
        ) from e
    if name == "cupy" and _cuda_gpu_count() == 0:
        raise BackendError("backend 'cupy' needs a CUDA GPU, and none is usable on this machine")
    _INSTANCES[name] = backend = _classes()[name]()
    return backend


def backend_of_namespace(xp: Any) -> Backend:
    return xp.backend


def backend_for_array(x: Any) -> Backend:
    """The Backend whose library made array ``x``; BackendError if it is none of polygrad's."""
    if isinstance(x, np.ndarray):
        return backend_by_name("numpy")
    try:
        ns = array_api_compat.array_namespace(x)
    except TypeError:
        raise TypeError(f"{type(x).__name__} is not an array polygrad can use") from None
    for name, test in (
        ("torch", array_api_compat.is_torch_namespace),
        ("cupy", array_api_compat.is_cupy_namespace),
        ("strict", array_api_compat.is_array_api_strict_namespace),
        ("numpy", array_api_compat.is_numpy_namespace),
    ):
        if test(ns):
            return backend_by_name(name)
    raise TypeError(f"arrays of {ns.__name__} are not supported by polygrad")


def resolve_to_args(first: Any, backend: str | None, device: Any) -> tuple[Any, Any, Any]:
    """``.to(x)``'s positional argument as torch users write it: a dtype (``pg.float64``,
    ``"float64"``), a backend name (``"torch"``) or a device (``"cpu"``, ``"cuda:0"``).
    Returns ``(dtype, backend, device)``."""
    if first is None:
        return None, backend, device
    if isinstance(first, str) and first in BACKEND_NAMES:
        if backend is not None:
            raise ValueError(f"backend given twice: {first!r} and {backend!r}")
        return None, first, device
    try:
        return _dtypes.to_dtype(first), backend, device
    except TypeError:
        if device is not None:
            raise ValueError(f"{first!r} is neither a dtype nor a backend name") from None
        return None, backend, first


class _Active:
    backend: Backend
    device: Any


_active = _Active()


def set_backend(name: str, device: Any = None) -> None:
    """Make ``name`` the backend (and ``device`` its device) that new tensors are created on.

    Parameters
    ----------
    name : {"numpy", "cupy", "torch", "strict"}
        The array library. ``strict`` is array-api-strict, on ``device1`` unless told otherwise.
    device : optional
        A CuPy device id, a torch device such as ``"cpu"`` or ``"cuda:0"``, or an
        array-api-strict device name. None means the backend's default.

    Raises
    ------
    BackendError
        If the backend is unknown, cannot be imported, or cannot use the device.

    Examples
    --------
    >>> import polygrad
    >>> polygrad.set_backend("numpy")
    >>> polygrad.get_backend().name
    'numpy'
    """
    backend = backend_by_name(name)
    dev = backend.normalize_device(device)
    _active.backend, _active.device = backend, dev


def get_backend() -> BackendInfo:
    """The active backend's name and default device.

    Examples
    --------
    >>> import polygrad
    >>> polygrad.get_backend()  # doctest: +SKIP
    BackendInfo(name='numpy', device='cpu')
    """
    return BackendInfo(_active.backend.name, _active.device)


@contextlib.contextmanager
def use_backend(name: str, device: Any = None) -> Iterator[BackendInfo]:
    """Switch to another backend inside a ``with`` block, restoring the previous one after.

    Examples
    --------
    >>> import polygrad
    >>> with polygrad.use_backend("numpy"):
    ...     polygrad.ones(2).device
    'cpu'
    """
    saved = (_active.backend, _active.device)
    set_backend(name, device)
    try:
        yield get_backend()
    finally:
        _active.backend, _active.device = saved


def active() -> tuple[Backend, Any]:
    return _active.backend, _active.device


def _init_from_environment() -> None:
    name = os.environ.get("POLYGRAD_BACKEND", "numpy").strip().lower() or "numpy"
    set_backend(name, os.environ.get("POLYGRAD_DEVICE") or None)


# -- random numbers ---------------------------------------------------------------------------
# The standard has no random numbers: every draw is made on the host by one seeded NumPy
# generator and then moved to the device, so a seed gives the same numbers on every backend.
_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed polygrad's random numbers (``rand``, ``randn``, ``randint``, dropout, init).

    The same seed gives the same numbers on every backend and device.
    """
    global _rng
    _rng = np.random.default_rng(int(seed))


def rng() -> np.random.Generator:
    return _rng


def get_rng_state() -> dict:
    """The host generator's state, for checkpoints."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    _rng.bit_generator.state = state
