"""The Tensor class and the Function base class every op derives from (grad mode is in
``_grad_mode``)."""

from __future__ import annotations

from typing import Any

from . import _backend, _capture, _dtypes
from ._checks import refuse_grad
from ._dtypes import DType
from ._grad_mode import grad_mode


class _Engine:
    """What the modules above this one plug in, so this module imports none of them:
    ``backward`` (the graph walk, from ``_autograd``), ``namespace`` (``polygrad.array_api``,
    which ``__array_namespace__`` returns) and ``rules`` (that namespace plus the few
    non-standard functions rules use, ``erf``, ``pad``, ``add_at``: what recorded rules run
    with for ``create_graph=True``)."""

    backward: Any = None
    register_post_accumulate_grad_hook: Any = None
    namespace: Any = None
    rules: Any = None


_engine = _Engine()

#: the versions of the array API standard that ``polygrad.array_api`` conforms to
_API_VERSIONS = ("2021.12", "2022.12", "2023.12", "2024.12")


# -- Function: one op, its forward and its vector-Jacobian rule ---------------------------------
class Function:
    """Base class of every differentiable op, built in or user-defined.

    A subclass writes ``forward(self, xp, *inputs)`` on backend arrays and
    ``backward(self, xp, g, *saved)`` returning one gradient per input (``None`` where there is
    none). ``saves`` says what ``backward`` receives after ``g``: ``"inputs"`` (the default),
    ``"output"``, ``"both"`` (inputs then output) or ``""``. Non-array settings (an axis, a mask)
    are plain attributes set in ``__init__`` or ``forward``.

    ``backward`` must use only the array API standard (operators, ``xp.exp``, ``xp.sum`` with
    ``axis=``/``keepdims=``, ``xp.where`` ...). Then the one rule runs on raw arrays for an
    ordinary backward and on polygrad Tensors (``xp`` is then the ``polygrad`` module) when
    ``create_graph=True``, which is what makes double backward work.

    Broadcasting is undone by the engine: ``backward`` may return a gradient of the broadcast
    output's shape, and the engine sums it down to the input's shape and casts it to its dtype.

    Examples
    --------
    >>> import polygrad
    >>> class Cube(polygrad.Function):
    ...     def forward(self, xp, x):
    ...         return x * x * x
    ...     def backward(self, xp, g, x):
    ...         return (3 * x * x * g,)
    >>> x = polygrad.tensor(2.0, requires_grad=True)
    >>> Cube()(x).backward()
    >>> x.grad.item()
    12.0
    """

    saves = "inputs"
    #: True when every array ``backward`` returns is newly allocated and distinct from the
    #: others, so the engine can hand it to a leaf's ``.grad`` without a defensive copy.
    fresh = False
    #: True when ``backward`` always returns gradients of exactly its inputs' shapes and
    #: dtypes, so the engine can skip undoing broadcasting and casting for this op.
    exact = False
    _retain = None  # a weak reference to the tensor that called retain_grad()
    #: ((version counter, version, saved index), ...) for the arrays this op saved: backward
    #: checks that no in-place write (an optimizer step, t[...] = v) changed them in between
    _versions: tuple = ()
    #: True for two-input ops whose rule needs each input only for the other's gradient
    #: (``a * b``, ``a @ b``): an input is then guarded only when the other requires grad,
    #: so ``3 * d`` does not stop ``d`` from being written in place, as in torch
    cross = False

    # next, saved, shape, dtype: set by apply() when the op is recorded; _grad and _deps:
    # the engine's per-walk state (the gradient gathered so far, consumers still to come).
    # Slots make these hot attributes fast; __dict__ keeps subclasses free to add their own.
    __slots__ = ("next", "saved", "shape", "dtype", "_grad", "_deps", "__dict__", "__weakref__")

    def forward(self, xp: Any, *inputs: Any) -> Any:
        raise NotImplementedError

    def backward(self, xp: Any, g: Any, *saved: Any) -> tuple:
        raise NotImplementedError

    @property
    def needs(self) -> tuple[bool, ...]:
        """Which inputs need a gradient (rules may skip the work for the others)."""
        return tuple(e is not None for e in self.next)

    def __call__(self, *inputs: Any) -> Tensor:
        return apply(self, *inputs)

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any) -> Tensor:
        """Build the op with ``kwargs`` and apply it to ``inputs`` (Tensors or Python numbers)."""
        return apply(cls(**kwargs), *inputs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


def apply(op: Function, *inputs: Any) -> Tensor:
    """Run ``op`` on the arrays behind ``inputs``; record it if grad mode is on and any input
    requires grad. Inputs are Tensors or Python numbers; all Tensors must share a backend.

    ``apply1`` and ``apply2`` below are the same for one and two inputs, unrolled because
    they run once per op and per-op Python cost is what small models pay for.
    """
    if _capture.rec is not None:  # polygrad.compile is capturing
        return _capture.rec.apply(apply, op, inputs)
    xp = None
    requires = False
    arrays = []
    for t in inputs:
        if isinstance(t, Tensor):
            if t._view is not None and t._view.synced != t._vc[0]:
                _refresh_view(t)
            if xp is None:
                xp = t._xp
            elif t._xp is not xp:
                _raise_mixed(inputs, op)
            requires = requires or t.requires_grad
            arrays.append(t._data)
        else:
            arrays.append(t)
    try:
        out = op.forward(xp, *arrays)
    except Exception as e:
        _diagnose(inputs, op, e)
        raise
    result = _new(Tensor)
    result._data = out
    result._xp = xp
    result.grad = None
    result._vc = result._view = None
    if requires and grad_mode.enabled:
        op.next = tuple([_edge(t) for t in inputs])
        saves = op.saves
        if saves == "inputs" or saves == "both":
            op._versions = tuple(
                [_saved_version(t, i) for i, t in enumerate(inputs) if isinstance(t, Tensor)]
            )
        if saves == "inputs":
            op.saved = tuple(arrays)
        elif saves == "output":
            op.saved = (out,)
            result._vc = [0]
            op._versions = ((result._vc, 0, 0),)
        elif saves == "both":
            op.saved = (*arrays, out)
            result._vc = [0]
            op._versions = (*op._versions, (result._vc, 0, len(arrays)))
        else:
            op.saved = ()
        op.shape = out.shape
        op.dtype = out.dtype
        result._node = op
        result.requires_grad = True
    else:
        result._node = None
        result.requires_grad = False
    return result


def apply1(op: Function, x: Tensor) -> Tensor:
    """``apply`` for one Tensor input."""
    if _capture.rec is not None:  # polygrad.compile is capturing
        return _capture.rec.apply(apply1, op, (x,))
    if x._view is not None and x._view.synced != x._vc[0]:
        _refresh_view(x)
    xp = x._xp
    data = x._data
    out = op.forward(xp, data)
    result = _new(Tensor)
    result._data = out
    result._xp = xp
    result.grad = None
    result._vc = result._view = None
    if x.requires_grad and grad_mode.enabled:
        node = x._node
        op.next = (x,) if node is None else (node,)
        saves = op.saves
        if saves == "inputs":
            op.saved = (data,)
            op._versions = (_saved_version(x, 0),)
        elif saves == "output":
            op.saved = (out,)
            result._vc = [0]
            op._versions = ((result._vc, 0, 0),)
        elif saves == "both":
            op.saved = (data, out)
            result._vc = [0]
            op._versions = (_saved_version(x, 0), (result._vc, 0, 1))
        else:
            op.saved = ()
        op.shape = out.shape
        op.dtype = out.dtype
        result._node = op
        result.requires_grad = True
    else:
        result._node = None
        result.requires_grad = False
    return result


def apply2(op: Function, a: Any, b: Any) -> Tensor:
    """``apply`` for two inputs, each a Tensor or a Python number, at least one a Tensor."""
    if _capture.rec is not None:  # polygrad.compile is capturing
        return _capture.rec.apply(apply2, op, (a, b))
    xp = None
    if isinstance(a, Tensor):
        if a._view is not None and a._view.synced != a._vc[0]:
            _refresh_view(a)
        xp = a._xp
        da = a._data
        ra = a.requires_grad
    else:
        da, ra = a, False
    if isinstance(b, Tensor):
        if b._view is not None and b._view.synced != b._vc[0]:
            _refresh_view(b)
        if xp is not None and b._xp is not xp:
            _raise_mixed((a, b), op)
        xp = b._xp
        db = b._data
        rb = b.requires_grad
    else:
        db, rb = b, False
    try:
        out = op.forward(xp, da, db)
    except Exception as e:
        _diagnose((a, b), op, e)
        raise
    result = _new(Tensor)
    result._data = out
    result._xp = xp
    result.grad = None
    result._vc = result._view = None
    if (ra or rb) and grad_mode.enabled:
        saves = op.saves
        ea = eb = None
        if ra:
            ea = a._node
            if ea is None:
                ea = a
        if rb:
            eb = b._node
            if eb is None:
                eb = b
        op.next = (ea, eb)
        if saves == "inputs" or saves == "both":
            versions = []
            cross = op.cross
            if isinstance(a, Tensor) and (rb or not cross):
                versions.append(_saved_version(a, 0))
            if isinstance(b, Tensor) and (ra or not cross):
                versions.append(_saved_version(b, 1))
            if saves == "inputs":
                op.saved = (da, db)
            else:
                op.saved = (da, db, out)
                result._vc = [0]
                versions.append((result._vc, 0, 2))
            op._versions = tuple(versions)
        elif saves == "output":
            op.saved = (out,)
            result._vc = [0]
            op._versions = ((result._vc, 0, 0),)
        else:
            op.saved = ()
        op.shape = out.shape
        op.dtype = out.dtype
        result._node = op
        result.requires_grad = True
    else:
        result._node = None
        result.requires_grad = False
    return result


def _saved_version(t: Tensor, i: int) -> tuple:
    """(t's version counter, its value now, position in the op's saved arrays): what the
    backward checks to refuse arrays changed in place after they were saved."""
    vc = t._vc
    if vc is None:
        vc = t._vc = [0]
    return (vc, vc[0], i)


_new = object.__new__


def version(t: Tensor) -> int:
    """How many in-place writes ``t``'s storage has had (torch's ``t._version``).

    The counter is shared by every tensor that shares the storage: views (reshape, permute,
    basic indexing, broadcast) and ``detach()`` results.
    """
    vc = t._vc
    return vc[0] if vc is not None else 0


def mark_modified(t: Tensor) -> None:
    """Record an in-place write into ``t``'s storage (so graphs that saved it can tell)."""
    if _capture.rec is not None:  # polygrad.compile is capturing
        _capture.rec.modified(t)
    vc = t._vc
    if vc is None:
        vc = t._vc = [0]
    vc[0] += 1


class View:
    """What a view tensor knows of its storage: the base tensor that owns it, the view steps
    from the base to the view (``("key", k)``, ``("reshape", shape)``, ``("permute", axes)``,
    ``("broadcast", shape)``) and the storage version the view's data and graph reflect."""

    __slots__ = ("base", "steps", "synced")

    def __init__(self, base: Tensor, steps: tuple, synced: int) -> None:
        self.base, self.steps, self.synced = base, steps, synced

    @property
    def broadcast(self) -> bool:
        return any(kind == "broadcast" for kind, _ in self.steps)


def mark_view(out: Tensor, x: Tensor, step: tuple) -> Tensor:
    """Record that ``out`` (just computed from ``x`` by a view op) is a view of ``x``'s storage:
    it shares ``x``'s version counter and knows the steps from the base to it."""
    if out is x:
        return out
    v = x._view
    if v is None:
        base, steps = x, (step,)
    else:
        base, steps = v.base, (*v.steps, step)
    _own_storage(base)
    vc = base._vc
    if vc is None:
        vc = base._vc = [0]
    out._vc = vc
    out._view = View(base, steps, vc[0])
    return out


def _refresh_view(t: Tensor) -> None:
    """Re-derive a view whose storage an in-place write changed (set by ``_inplace``)."""
    raise NotImplementedError


def _own_storage(t: Tensor) -> None:
    """Make ``t._data`` a writable array (NumPy gives 0-d results as immutable scalars), before
    it is shared or written into."""
    if not hasattr(t._data, "__setitem__"):
        t._data = t._xp.asarray(t._data, copy=True)


def _edge(t: Any) -> Any:
    """Where an input's gradient goes: its producing op, the leaf itself, or nowhere."""
    if not isinstance(t, Tensor):
        return None
    if t._node is not None:
        return t._node
    return t if t.requires_grad else None


def _raise_mixed(inputs: tuple, op: Function) -> None:
    names = sorted({t._xp.backend.name for t in inputs if isinstance(t, Tensor)})
    raise _backend.BackendError(
        f"{type(op).__name__}: cannot combine tensors of backends {' and '.join(names)}; "
        "move them to one backend first"
    )


def _diagnose(inputs: tuple, op: Function, error: Exception) -> None:
    """After a forward failed: if the inputs sit on different devices, say so plainly."""
    devices = []
    for t in inputs:
        if isinstance(t, Tensor):
            d = t.device
            if all(d != other for other in devices):
                devices.append(d)
    if len(devices) > 1:
        shown = " and ".join(repr(d) for d in devices)
        raise _backend.BackendError(
            f"{type(op).__name__}: cannot combine tensors on devices {shown}; "
            "move them to one device first"
        ) from error


# -- Tensor -----------------------------------------------------------------------------------
class Tensor:
    """An array of the active backend that records the ops applied to it for ``backward``.

    Create one with :func:`polygrad.tensor` or a creation function (``zeros``, ``randn`` ...).
    ``data`` is a detached alias (as torch's); ``grad`` holds the accumulated gradient after
    ``backward``. The backend array itself is the internal ``_data``.

    Examples
    --------
    >>> import polygrad
    >>> x = polygrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    # _vc: the storage's version counter (a one-item list shared with views and detach()
    # results, None until needed); _view: a View when this tensor is a view of another
    __slots__ = ("_data", "grad", "requires_grad", "_node", "_xp", "_vc", "_view", "__weakref__")
    __hash__ = object.__hash__  # == is elementwise, so hash by identity as torch does
    # NumPy defers to our reflected operators (np.float64(2) * t, np.ones(3) + t give Tensors)
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        backend = _backend.backend_for_array(data)
        backend.dtype_of(data)  # refuse unsupported dtypes at once
        self._data = data
        self._xp = backend.xp
        self.grad = None
        self._node = None
        self._vc = self._view = None
        self.requires_grad = False
        if _capture.rec is not None:  # polygrad.compile: a tensor made outside the recorded ops
            _capture.rec.born(self)
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data: Any, xp: Any, node: Function | None = None) -> Tensor:
        """Fast constructor: wrap an array already known to belong to namespace ``xp``."""
        t = _new(Tensor)
        t._data = data
        t._xp = xp
        t.grad = None
        t._node = node
        t._vc = t._view = None
        t.requires_grad = node is not None
        if _capture.rec is not None:  # polygrad.compile: a tensor made outside the recorded ops
            _capture.rec.born(t)
        return t

    # -- metadata ---------------------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """torch's ``.data``: a tensor sharing this one's storage, cut from the graph.

        In-place writes into it (``p.data.add_(u)``, ``p.data.zero_()``) change this tensor
        and are not recorded. Unlike torch, it shares the version counter too (it is
        ``detach()``), so a backward that saved the old values raises instead of silently
        using the new ones. Assigning ``t.data = other`` makes ``t`` hold ``other``'s array.
        """
        return self.detach()

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(
                f"Tensor.data must be set to a Tensor, not {type(value).__name__}"
            )
        if value._xp is not self._xp:
            raise _backend.BackendError(
                f"Tensor.data: cannot set a {self.backend} tensor's data to a {value.backend} "
                "tensor; move it with .to(...) first"
            )
        if _capture.rec is not None:  # polygrad.compile: an unrecorded rebinding
            _capture.rec.graph_break("assigning tensor.data")
        self._data = value._data
        self._view = None

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape as a tuple of ints."""
        return tuple(self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> DType:
        """The polygrad dtype (``polygrad.float32`` ...), the same object on every backend."""
        return self._xp.backend.dtype_of(self._data)

    @property
    def device(self) -> Any:
        """The backend's device object this tensor's data lives on."""
        return self._xp.backend.device_of(self._data)

    @property
    def backend(self) -> str:
        """The name of the backend this tensor belongs to."""
        return self._xp.backend.name

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op (torch's definition)."""
        return self._node is None

    @property
    def grad_fn(self) -> Function | None:
        """The op that produced this tensor, or None for a leaf."""
        return self._node

    def size(self, dim: int | None = None) -> Any:
        """torch's ``size()``: the shape, or the length of one dimension."""
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        """Number of elements."""
        n = 1
        for s in self.shape:
            n *= s
        return n

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __array_namespace__(self, api_version: str | None = None) -> Any:
        """``polygrad.array_api``: the standard's namespace, differentiable.

        Raises
        ------
        ValueError
            If ``api_version`` is not a version of the standard polygrad implements.
        """
        if api_version is not None and api_version not in _API_VERSIONS:
            raise ValueError(
                f"polygrad.array_api implements the array API standard versions "
                f"{', '.join(_API_VERSIONS)}, not {api_version!r}"
            )
        return _engine.namespace

    # -- grad bookkeeping -------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf; returns self.

        Raises
        ------
        TypeError
            If the tensor is an integer or bool tensor (they cannot have gradients).
        RuntimeError
            If it is not a leaf (torch's rule: only leaves' flag can be changed).
        """
        if self._node is not None:
            raise RuntimeError(
                "requires_grad_ can only change leaf tensors; use .detach() on a non-leaf first"
            )
        if requires_grad and not self.dtype.is_floating_point:
            refuse_grad(self.dtype)
        if _capture.rec is not None and self.requires_grad != bool(requires_grad):
            _capture.rec.graph_break("requires_grad_() inside the compiled function")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data (and version counter), cut from the graph.

        In-place writes into the result change this tensor too, as in torch.
        """
        _own_storage(self)
        out = Tensor._wrap(self._data, self._xp)
        vc = self._vc
        if vc is None:
            vc = self._vc = [0]
        out._vc = vc
        v = self._view
        if v is not None:
            out._view = View(v.base, v.steps, v.synced)
        return out

    def backward(
        self, grad: Any = None, retain_graph: bool | None = None, create_graph: bool = False
    ) -> None:
        """Accumulate the gradient of this tensor into every leaf that requires grad.

        Parameters
        ----------
        grad : Tensor or array, optional
            The upstream gradient, of this tensor's shape. Needed unless the tensor has one
            element.
        retain_graph : bool, optional
            Keep the graph for another backward. Defaults to ``create_graph``.
        create_graph : bool
            Record the backward itself, so the gradients can be differentiated again.

        Raises
        ------
        RuntimeError
            If the tensor does not require grad, has several elements and no ``grad`` was
            given, or the graph was already freed by an earlier backward.
        """
        _engine.backward([self], [grad], retain_graph, create_graph)

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """Call ``hook(self)`` each time a backward has accumulated into this leaf's ``.grad``.

        As torch's: during the backward, as soon as the last gradient for this leaf arrived
        (``DistributedDataParallel`` launches its gradient buckets from it). Returns a handle
        whose ``remove()`` unregisters the hook. Raises RuntimeError on a non-leaf tensor.
        """
        return _engine.register_post_accumulate_grad_hook(self, hook)

    def retain_grad(self) -> None:
        """Keep the gradient of this non-leaf tensor in ``.grad`` after backward."""
        if _capture.rec is not None:  # polygrad.compile records no retained gradients
            _capture.rec.graph_break("retain_grad()")
        if self._node is None:
            return
        import weakref

        self._node._retain = weakref.ref(self)

    # -- host conversion --------------------------------------------------------------------
    def numpy(self) -> Any:
        """A host NumPy copy of the data, on any backend (a device-to-host copy on a GPU)."""
        if _capture.rec is not None:  # polygrad.compile: control flow may depend on the value
            _capture.rec.graph_break("reading a tensor's value (.item(), .numpy(), bool(), print)")
        return self._xp.backend.to_numpy(self._data)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Any:
        """NumPy's conversion (``np.asarray(t)``): a host copy, as :meth:`numpy`.

        Refused for a tensor that requires grad, as torch does, so code that converts through
        NumPy (some SciPy functions do) cannot drop the gradient silently.

        Raises
        ------
        RuntimeError
            If the tensor requires grad.
        ValueError
            If ``copy=False``: the conversion always copies.
        """
        if self.requires_grad:
            raise RuntimeError(
                f"np.asarray of a tensor that requires grad (shape {self.shape}, "
                f"{self.dtype.name}) would lose its gradient; call tensor.detach() first"
            )
        if copy is False:
            raise ValueError("np.asarray(tensor, copy=False): the conversion to NumPy copies")
        out = self.numpy()
        return out if dtype is None else out.astype(dtype, copy=False)

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.numel() != 1:
            raise ValueError(f"item() needs a tensor with one element, not shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self) -> Any:
        """The data as (nested) Python lists."""
        return self.numpy().tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in ("int", "uint"):
            raise TypeError(f"only integer tensors can be used as an index, not {self.dtype.name}")
        return int(self.item())

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.item())

    def __repr__(self) -> str:
        import numpy as np

        body = np.array2string(
            self.numpy(), separator=", ", prefix="tensor(", precision=4, suppress_small=True
        )
        extras = []
        dt = self.dtype
        if dt not in (_dtypes.float32, _dtypes.int64, _dtypes.bool_):
            extras.append(f"dtype={dt!r}")
        backend = self._xp.backend
        if backend.name != "numpy":
            extras.append(f"backend='{backend.name}'")
            extras.append(f"device={self.device}")
        if self._node is not None:
            extras.append(f"grad_fn={self._node!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extras)})"

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    # -- copying and pickling -----------------------------------------------------------------
    def __deepcopy__(self, memo: dict) -> Tensor:
        """A copy with its own data (and gradient) on the same backend and device."""
        if self._node is not None:
            raise RuntimeError(
                "only leaf tensors can be deep-copied (as in torch); use .detach() first"
            )
        import copy

        new = type(self).__new__(type(self))
        memo[id(self)] = new
        new._data = self._xp.asarray(self._data, copy=True)
        new._xp = self._xp
        new._node = None
        new._vc = new._view = None
        new.requires_grad = self.requires_grad
        new.grad = copy.deepcopy(self.grad, memo)
        if hasattr(self, "__dict__"):
            new.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return new

    def __reduce_ex__(self, protocol: int) -> tuple:
        """Pickle as host data plus the backend and device names (a leaf is rebuilt)."""
        backend = self._xp.backend
        state = self.__dict__ if hasattr(self, "__dict__") else None
        args = (type(self), self.numpy(), backend.name, backend.device_name(self.device))
        return (_rebuild, (*args, self.requires_grad, state))


def _rebuild(cls: type, host: Any, backend: str, device: str, requires_grad: bool, state: Any):
    """Unpickle a Tensor onto its backend and device (both must be usable here)."""
    b = _backend.backend_by_name(backend)
    data = b.from_host(host, _dtypes.to_dtype(str(host.dtype)), b.normalize_device(device))
    t = Tensor._wrap(data, b.xp)
    new = cls.__new__(cls)
    new._data, new._xp, new._node, new.grad = t._data, t._xp, None, None
    new._vc = new._view = None
    new.requires_grad = requires_grad
    if state:
        new.__dict__.update(state)
    return new
