"""``polygrad.autograd.Function``: torch's custom-op API (a ``ctx`` and static ``forward`` /
``backward`` on Tensors) on top of polygrad's engine.

``Function.apply`` runs the user's ``forward`` under ``no_grad`` and records one engine node,
``<Name>Backward``, whose rule calls the user's ``backward`` with Tensors. For a first-order
backward the rule runs with recording off; with ``create_graph=True`` the engine runs it with
recording on, so a ``backward`` written with differentiable Tensor ops is itself differentiated
(saved inputs are the caller's own Tensors, still wired into their graph).

A Function with several outputs records one selector node per differentiable output; each sends
its gradient to the shared node as a :class:`_Grads` (a sparse, addable tuple), so the engine's
ordinary accumulation gathers the gradients of all outputs before the user's ``backward`` runs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from .. import _tensor
from .._grad_mode import no_grad
from .._tensor import Tensor, grad_mode

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """The ``ctx`` a Function's ``forward`` and ``backward`` share, as torch's.

    Attributes
    ----------
    needs_input_grad : tuple of bool
        Per ``forward`` argument: does it need a gradient (a Tensor that requires grad)?
    """

    def __init__(self) -> None:
        self.needs_input_grad: tuple[bool, ...] = ()
        self.materialize_grads = True
        self._saved: tuple = ()
        self._versions: tuple = ()
        self._non_differentiable: set[int] = set()
        self._dirty: tuple = ()
        self._name = "Function"

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep Tensors (or None) for ``backward``, which reads them from ``saved_tensors``.

        Raises
        ------
        TypeError
            If an argument is neither a Tensor nor None.
        """
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save tensors, but argument {i} is of type "
                    f"{type(t).__name__}"
                )
        self._saved = tensors
        self._versions = tuple(
            None if t is None else _tensor._saved_version(t, i) for i, t in enumerate(tensors)
        )

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        """The tensors given to ``save_for_backward``.

        Raises
        ------
        RuntimeError
            If one of them was modified in place after it was saved (as torch's engine).
        """
        for t, v in zip(self._saved, self._versions):
            if v is not None and v[0][0] != v[1]:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: [{t.dtype.name} tensor of shape {list(t.shape)}], "
                    f"saved by {self._name}, is at version {v[0][0]}; expected version "
                    f"{v[1]} instead (clone it before the in-place write)"
                )
        return tuple(self._saved)

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Declare outputs that get no gradient (``requires_grad`` False); ``backward`` still
        receives a gradient for each, all zeros."""
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """Whether ``backward`` receives zeros (True, the default) or None for outputs that
        got no gradient."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors: Tensor) -> None:
        """Declare inputs that ``forward`` modified in place and returns: each such output is
        the input tensor itself, now produced by this Function (its earlier history feeds
        the Function's inputs), as torch's.

        Raises (at ``apply``)
        ------
        RuntimeError
            For a leaf that requires grad (torch's in-place-on-leaf error).
        NotImplementedError
            For a view (torch rebases the view's base; polygrad does not).
        """
        self._dirty = tensors


class _Grads:
    """The gradients of a multi-output Function's outputs gathered so far: {index: grad}."""

    __slots__ = ("parts",)

    def __init__(self, parts: dict[int, Any]) -> None:
        self.parts = parts

    def __add__(self, other: _Grads) -> _Grads:
        parts = dict(self.parts)
        for i, g in other.parts.items():
            parts[i] = g if i not in parts else parts[i] + g
        return _Grads(parts)


class _Select(_tensor.Function):
    """Output ``index`` of a multi-output Function: forwards its gradient to the shared node."""

    saves = ""
    exact = True  # what it returns is a _Grads, not an array to conform

    def __init__(self, index: int, name: str) -> None:
        self.index, self.name = index, name

    def backward(self, xp: Any, g: Any) -> tuple:
        return (_Grads({self.index: g}),)

    def __repr__(self) -> str:
        return f"<{self.name}>"


class _CustomBackward(_tensor.Function):
    """The engine node of one ``Function.apply`` call; its rule runs the user's backward."""

    saves = ""

    def __init__(self, fn: type, ctx: FunctionCtx, args: tuple, outputs: list, xp: Any) -> None:
        self.fn, self.ctx, self.xp0 = fn, ctx, xp
        self.inputs = [(a.shape, True) if isinstance(a, Tensor) else (None, False) for a in args]
        self.outputs = [(o.shape, o._data.dtype, o.device) for o in outputs]

    def _zeros(self, i: int, recorded: bool) -> Any:
        shape, dtype, device = self.outputs[i]
        z = self.xp0.zeros(shape, dtype=dtype, device=device)
        return Tensor._wrap(z, self.xp0) if recorded else z

    def backward(self, xp: Any, g: Any) -> tuple:
        recorded = grad_mode.enabled  # the engine turns recording on for create_graph=True
        parts = g.parts if isinstance(g, _Grads) else {0: g}
        grads = []
        for i in range(len(self.outputs)):
            gi = parts.get(i)
            if gi is None and self.ctx.materialize_grads:
                gi = self._zeros(i, recorded)
            if gi is not None and not isinstance(gi, Tensor):
                gi = Tensor._wrap(gi, self.xp0)
            grads.append(gi)
        fn = self.fn
        rule = fn.backward if fn.backward is not Function.backward else fn.vjp
        results = rule(self.ctx, *grads)
        if not isinstance(results, tuple):
            results = (results,)
        return self._check(results, recorded)

    def _check(self, results: tuple, recorded: bool) -> tuple:
        name, n = type(self).__name__, len(self.inputs)
        if len(results) < n or any(r is not None for r in results[n:]):
            raise RuntimeError(
                f"function {name} returned an incorrect number of gradients "
                f"(expected {n}, got {len(results)})"
            )
        out = []
        for i, (r, (shape, is_tensor)) in enumerate(zip(results, self.inputs)):
            if r is None:
                out.append(None)
                continue
            if not is_tensor:
                raise RuntimeError(
                    f"function {name} returned a gradient different than None at position "
                    f"{i + 1}, but the corresponding forward input was not a Variable"
                )
            if not isinstance(r, Tensor):
                raise TypeError(
                    f"function {name} returned a {type(r).__name__} as gradient {i}; "
                    "backward must return Tensors or None"
                )
            if not _expandable(shape, r.shape):
                raise RuntimeError(
                    f"Function {name} returned an invalid gradient at index {i} - got "
                    f"{list(r.shape)} but expected shape compatible with {list(shape)}"
                )
            out.append(r if recorded else r._data)
        return tuple(out)


def _expandable(shape: tuple, to: tuple) -> bool:
    """Can ``shape`` broadcast to ``to`` (so a gradient of shape ``to`` sums down to it)?"""
    if len(shape) > len(to):
        return False
    return all(a == b or a == 1 for a, b in zip(reversed(shape), reversed(to)))


def _backward_class(fn: type) -> type:
    """The node class ``<Name>Backward`` of a Function subclass, made once per subclass."""
    cls = fn.__dict__.get("_backward_cls")
    if cls is None:
        cls = type(f"{fn.__name__}Backward", (_CustomBackward,), {})
        fn._backward_cls = cls
    return cls


class Function:
    """Base class for custom differentiable operations, as ``torch.autograd.Function``.

    Subclass it with ``@staticmethod`` ``forward(ctx, *args)`` and ``backward(ctx,
    *grad_outputs)`` (or ``forward(*args)`` plus ``setup_context(ctx, inputs, output)``), and
    call ``MyFn.apply(*args)``. ``backward`` gets one gradient per output and returns one per
    ``forward`` argument (None for non-Tensors and inputs that need none); gradients of a
    broadcast shape are summed down to the input's shape. Use ``ctx.save_for_backward``,
    ``ctx.saved_tensors``, ``ctx.needs_input_grad`` and ``ctx.mark_non_differentiable``. A
    ``backward`` made of differentiable Tensor ops supports ``create_graph=True``.

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.autograd import Function
    >>> class Cube(Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return 3 * x ** 2 * g
    >>> x = polygrad.tensor(2.0, requires_grad=True)
    >>> y = Cube.apply(x)
    >>> y.backward()
    >>> x.grad.item(), type(y.grad_fn).__name__
    (12.0, 'CubeBackward')
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please "
            "use new-style autograd function with static forward method. (Example: "
            "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)"
        )

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        """The computation, on Tensors (runs with recording off)."""
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        """The vector-Jacobian product: one gradient per ``forward`` argument."""
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD."
        )

    vjp = backward

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> Any:
        """Optional: fill ``ctx`` from the inputs and output, for a ``forward`` without ctx."""
        raise NotImplementedError("setup_context is not overridden.")

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        """Not supported: forward-mode AD."""
        raise NotImplementedError("polygrad does not implement forward-mode AD (Function.jvp)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` on ``args`` and record the op for backward; returns its outputs."""
        if not isinstance(inspect.getattr_static(cls, "forward"), staticmethod):
            cls.__call__(None)  # the legacy-Function error
        ctx = FunctionCtx()
        ctx._name = f"{cls.__name__}Backward"
        tensors = [a for a in args if isinstance(a, Tensor)]
        record = grad_mode.enabled and any(t.requires_grad for t in tensors)
        ctx.needs_input_grad = tuple(
            isinstance(a, Tensor) and a.requires_grad and record for a in args
        )
        separate = cls.setup_context is not Function.setup_context
        with no_grad():
            if separate:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(output, tuple)
        outs = [output] if single else list(output)
        positions = [i for i, o in enumerate(outs) if isinstance(o, Tensor)]
        dirty = _check_dirty(cls, ctx, tensors, outs, record)
        for i in positions:
            # an input returned as is is a new tensor, unless it was modified in place
            if any(outs[i] is t for t in tensors) and id(outs[i]) not in dirty:
                outs[i] = outs[i].detach()
        if record and positions:
            _record(cls, ctx, args, [outs[i] for i in positions], tensors[0]._xp)
        return outs[0] if single else tuple(outs)


def _check_dirty(cls: type, ctx: FunctionCtx, tensors: list, outs: list, record: bool) -> set:
    """The ids of the ``mark_dirty`` inputs, checked as torch checks them."""
    for t in ctx._dirty:
        if not any(t is a for a in tensors):
            raise RuntimeError(f"{cls.__name__}: mark_dirty got a tensor that is not an input")
        if not any(t is o for o in outs):
            raise RuntimeError(
                f"{cls.__name__}: a tensor marked dirty must be returned as an output of forward"
            )
        if record and t.requires_grad and t._node is None:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation "
                f"({cls.__name__}.forward, marked dirty); clone it first"
            )
        if t._view is not None:
            raise NotImplementedError(
                f"polygrad does not implement torch.autograd.Function's ctx.mark_dirty on a "
                f"view ({cls.__name__}); mark a tensor that is not a view, or clone the view"
            )
    for t in ctx._dirty:
        _tensor.mark_modified(t)  # torch bumps the version once more for mark_dirty
    return {id(t) for t in ctx._dirty}


def _record(fn: type, ctx: FunctionCtx, args: tuple, outs: list, xp: Any) -> None:
    """Wire ``outs`` (the Tensor outputs, computed under no_grad) to one new engine node."""
    node = _backward_class(fn)(fn, ctx, args, outs, xp)
    node.next = tuple(_tensor._edge(a) for a in args)
    node.saved = ()
    differentiable = [
        i
        for i, o in enumerate(outs)
        if id(o) not in ctx._non_differentiable and o.dtype.is_floating_point
    ]
    if len(outs) == 1:
        node.shape, node.dtype = outs[0].shape, outs[0]._data.dtype
        if differentiable:
            _attach(outs[0], node)
        return
    node.shape = node.dtype = None
    for i in differentiable:
        sel = _Select(i, type(node).__name__)
        sel.next, sel.saved = (node,), ()
        sel.shape, sel.dtype = outs[i].shape, outs[i]._data.dtype
        _attach(outs[i], sel)


def _attach(t: Tensor, node: _tensor.Function) -> None:
    t._node = node
    t.requires_grad = True


class _DelayedError(_tensor.Function):
    """Passes a once-differentiable backward's result through; differentiating it raises."""

    saves = ""

    def forward(self, xp: Any, x: Any, *inputs: Any) -> Any:
        return x

    def backward(self, xp: Any, g: Any) -> tuple:
        raise RuntimeError(
            "trying to differentiate twice a function that was marked with @once_differentiable"
        )


def once_differentiable(fn: Callable) -> Callable:
    """Decorate a Function's ``backward`` that is not itself differentiable: it runs with
    recording off; differentiating its results again (after ``create_graph=True``) raises
    RuntimeError, as torch's."""

    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        with no_grad():
            results = fn(ctx, *args)
        needing = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        if not (grad_mode.enabled and needing):
            return results
        single = not isinstance(results, tuple)
        wrapped = tuple(
            _tensor.apply(_DelayedError(), r, *needing) if isinstance(r, Tensor) else r
            for r in ((results,) if single else results)
        )
        return wrapped[0] if single else wrapped

    return wrapper
