"""``polygrad.compile``: capture a function (a whole training step) once, replay it flat.

Design
------
Capture works at the level of the engine's own units, not Python bytecode. The first call with
a given signature runs eagerly (so it returns the eager result) while a recorder
(``polygrad._capture.rec``) appends steps: each Function instance's ``forward`` on raw arrays,
the backward walk's rule calls, broadcasting undone (``_conform``), gradient sums and the
accumulation into each leaf's ``.grad``, creation ops (constants, and random draws made again
from the same generator), in-place writes, and *host steps*: ``optimizer.step()``,
``zero_grad()``, gradient clipping and scheduler ``step()`` run again as a whole on the real
tensors (their Python scalars, such as a scheduler's ``lr`` or Adam's bias corrections, change
every step, so nothing of them is baked in), and *index steps* (``_capture.call``): the flat
index that ``x[idx]``, ``take``, ``gather`` and the embedding lookup compute from an integer
tensor, with its range check, run again on the replay's index array, and set into the
indexing op's key before it runs, so new token ids or targets are picked up and an index out
of range raises torch's IndexError on the replay too. Bool-mask indexing (a result shape that
depends on values) is a graph break. Arrays that exist before the call (parameters,
buffers, tensors closed over) are read through their Tensor (``t._data``) at that point of each
replay, never frozen.

Replay runs the flat list of steps on slots: no Tensor objects, graph nodes or checks per op;
a slot is dropped after its last use. The same Function instances run the same kernels in the
same order as eager, so N replayed steps are bitwise N eager steps (tested on every backend).

Guards: the signature (shapes, dtypes, backend, device and ``requires_grad`` of the tensor
arguments, nested in tuples, lists and dicts; values of other hashable arguments, identity of
the others; grad mode) selects one of at most 8 programs; the modules called during the capture
must keep their ``training`` flag and their tensor attributes (the same Parameter objects), and
the tensors read by reference their shape, dtype and ``requires_grad``, or the call captures
again.

Graph breaks: whatever the recorder cannot prove it recorded — reading a value (``.item()``,
``bool()``, ``.numpy()``, printing), a tensor made by an unrecorded path, a user-defined
Function, hooks, ``retain_grad()``, ``autograd.grad``, ``create_graph=True``, assigning
``.data``, a value-dependent check outside a recorded step, an argument that receives a
gradient, is written in place or is passed to a host step, a bool-mask index, a closure
passed to ``step`` — makes that signature eager-only: the call still returns the eager result
and a one-time ``UserWarning`` names the construct and the source line; ``fullgraph=True`` raises
:class:`Unsupported` naming them instead.

More guards: arguments that share an array (``f(x, x)``), the default dtype, and the names
the function's own code reads (closure cells and globals: objects by identity, numbers and
strings by value); the modules called keep their submodules and tensor attributes (identity)
and their number and string attributes (``dropout.p``, by value). An argument that is a view
is brought up to date with its base before each call, as eager reads it.

Tensors a replay returns hold the replayed values; one that required grad at the capture
requires grad again, but its graph is not kept: a ``backward()`` through it outside the
function raises a RuntimeError (eager would differentiate it; call backward inside the
compiled function, or run that part eagerly). Never a silent gradient of zero.

Limits (documented, not detected): Python side effects of the function (appending to a list,
counters, printing of non-tensors) happen at the capture only, as in JAX's ``jit``; Python
values that functions *called by* the compiled one read from their own globals, and Python
arguments passed to host steps (``clip_grad_norm_(params, max_norm)``), are those of the
capture; assigning ``p.grad`` directly inside the function is not recorded (use
``zero_grad``); a parameter passed as an argument while the function also reads it by name
is not detected.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .. import _capture, _dtypes
from .._tensor import Tensor, _refresh_view, grad_mode
from ._program import Program, make_template
from ._record import Recorder, Unsupported, flatten

__all__ = ["compile", "Unsupported", "CompiledFunction", "CompiledModule"]

_EAGER = "eager"
CACHE_SIZE = 8
_NO_KW = ("dict", ())


def _tensor_key(t: Tensor) -> tuple:
    a = t._data
    xp = t._xp
    backend = xp.backend
    return (
        "T",
        tuple(a.shape),
        str(a.dtype),
        backend.name,
        str(backend.device_of(a)),
        t.requires_grad,
    )


def _key(obj: Any) -> Any:
    if isinstance(obj, Tensor):
        return _tensor_key(obj)
    if isinstance(obj, (tuple, list)):
        return (type(obj).__name__, tuple(_key(v) for v in obj))
    if isinstance(obj, dict):
        return ("dict", tuple((k, _key(v)) for k, v in obj.items()))
    try:
        hash(obj)
    except TypeError:
        return ("id", id(obj))
    if isinstance(obj, (int, float, str, bool, bytes, type(None))):
        return (type(obj).__name__, obj)
    return ("id", id(obj))


_SCALARS = frozenset({bool, int, float, complex, str, bytes, type(None)})
_UNSET = object()


class CompiledFunction:
    """What ``polygrad.compile(fn)`` returns: call it as ``fn``; see :func:`compile`."""

    def __init__(self, fn: Callable, fullgraph: bool = False) -> None:
        self.fn = fn
        self.fullgraph = fullgraph
        self.programs: OrderedDict[Any, Any] = OrderedDict()
        self.warned: set = set()
        #: counters for tests and benchmarks: captures, replays, eager calls
        self.stats = {"captures": 0, "replays": 0, "eager": 0}
        # the closure cells and global names guarded by _free_names
        code = getattr(fn, "__code__", None)
        self._cells = tuple(getattr(fn, "__closure__", None) or ())
        self._globals = getattr(fn, "__globals__", None) or {}
        self._names = tuple(code.co_names) if code is not None else ()
        self.__wrapped__ = fn
        self.__name__ = getattr(fn, "__name__", "compiled")
        self.__doc__ = getattr(fn, "__doc__", None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _capture.rec is not None:  # called inside another capture: just run it
            return self.fn(*args, **kwargs)
        if not kwargs and all(a.__class__ is Tensor for a in args):
            # the common call, tensors only: the same key as _key's, built without recursion
            flat = list(args)
            key = (grad_mode.enabled, ("tuple", (("tuple", tuple(map(_tensor_key, args))), _NO_KW)))
        else:
            flat = list(flatten((args, kwargs)))
            key = (grad_mode.enabled, _key((args, kwargs)))
        tensors = [t for t in flat if isinstance(t, Tensor)]
        for t in tensors:  # an argument that is a view reads its base's current values
            if t._view is not None and t._view.synced != t._vc[0]:
                _refresh_view(t)
        ids = [id(t._data) for t in tensors]
        if len(set(ids)) != len(ids):  # arguments sharing an array: part of the signature
            key = (key, "aliased", tuple(ids.index(i) for i in ids))
        key = (key, _dtypes.default_float.name, self._free_names())
        prog = self.programs.get(key)
        if prog is _EAGER:
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        if prog is not None and prog.guards_hold():
            self.programs.move_to_end(key)
            self.stats["replays"] += 1
            return prog.run(flat)
        return self._capture(key, flat, args, kwargs)

    def _free_names(self) -> tuple:
        """What the function's code reads by name besides its arguments: its closure cells
        and the globals its code names, tensors, optimizers and other objects by identity,
        numbers and strings by value (``w = polygrad.tensor(...)`` or ``lr = 0.1`` rebound
        between calls captures again, as torch.compile's guards on globals do). Only the
        compiled function's own code is looked at, not the functions it calls."""
        values = []
        for c in self._cells:
            try:
                values.append(c.cell_contents)
            except ValueError:  # a cell not yet assigned
                values.append(_UNSET)
        g = self._globals
        values += [g.get(n, _UNSET) for n in self._names]
        return tuple((v.__class__, v) if v.__class__ in _SCALARS else id(v) for v in values)

    def _capture(self, key: Any, flat: list, args: tuple, kwargs: dict) -> Any:
        self.stats["captures"] += 1
        if self.stats["captures"] == 2 * CACHE_SIZE + 1:
            warnings.warn(
                f"polygrad.compile: {self.__name__} has captured {2 * CACHE_SIZE + 1} times: "
                "its signature keeps changing (argument shapes or values, or a number or "
                "object its code reads by name, such as a global step counter); each capture "
                "costs about 2-3 eager calls",
                UserWarning,
                stacklevel=3,
            )
        rec = Recorder(flat, self.fullgraph)
        for t in flat:
            if isinstance(t, Tensor) and t._node is not None:
                _capture.rec = rec
                rec.graph_break("an argument that is part of a recorded graph")
        if rec.broken is None:
            _capture.rec = rec
        try:
            out = self.fn(*args, **kwargs)
            if rec.broken is None:
                arg_pos = {id(t): i for i, t in enumerate(flat) if isinstance(t, Tensor)}
                template = make_template(rec, out, arg_pos)
                for t, a in rec.refs.items():
                    if t._data is not a and id(t._data) not in rec.slot_of:
                        rec.graph_break("a tensor's array replaced by an unrecorded path")
                        break
        finally:
            _capture.rec = None
        if rec.broken is not None:
            self._store(key, _EAGER)
            what, where = rec.broken
            if (what, where) not in self.warned:
                self.warned.add((what, where))
                warnings.warn(
                    f"polygrad.compile: {self.__name__} runs eagerly for these inputs: it "
                    f"cannot capture {what}, at {where}",
                    UserWarning,
                    stacklevel=3,
                )
        else:
            self._store(key, Program(rec, template))
        return out

    def _store(self, key: Any, prog: Any) -> None:
        self.programs[key] = prog
        self.programs.move_to_end(key)
        while len(self.programs) > CACHE_SIZE:
            self.programs.popitem(last=False)


class CompiledModule:
    """What ``polygrad.compile(module)`` returns: it behaves as the module (attributes,
    ``parameters()``, ``state_dict()``, ``train()``/``eval()``), and its calls go through a
    compiled forward when the output needs no gradient (``no_grad``, or nothing requires
    grad); an output that needs a gradient is computed eagerly, so it stays differentiable."""

    def __init__(self, module: Any, fullgraph: bool = False) -> None:
        object.__setattr__(self, "_orig_mod", module)
        object.__setattr__(self, "_forward", CompiledFunction(module.__call__, fullgraph))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module = self._orig_mod
        if grad_mode.enabled and (
            any(p.requires_grad for p in module.parameters())
            or any(isinstance(t, Tensor) and t.requires_grad for t in flatten((args, kwargs)))
        ):
            return module(*args, **kwargs)
        return self._forward(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._orig_mod, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._orig_mod, name, value)

    def __repr__(self) -> str:
        return f"CompiledModule({self._orig_mod!r})"


def compile(  # noqa: A001  (torch's name)
    model: Any = None,
    *,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    backend: Any = None,
    mode: str | None = None,
    options: dict | None = None,
    disable: bool = False,
) -> Any:
    """Capture ``model`` (a function, typically a whole training step, or a Module) on its
    first call with each signature and replay the recorded array calls on later calls.

    Parameters
    ----------
    model : callable or Module
        What to compile. Without it, returns a decorator (``@polygrad.compile(fullgraph=True)``).
    fullgraph : bool
        Raise :class:`Unsupported` naming the construct and line instead of falling back to
        eager for a signature the capture cannot record.
    dynamic : bool, optional
        ``True`` (shape-polymorphic programs) is not implemented; None and False capture one
        program per signature.
    backend : str, optional
        None, ``"inductor"`` or ``"eager"`` (accepted for torch's signature; no effect).
    mode, options : optional
        Accepted for torch's signature; no effect.
    disable : bool
        Return ``model`` itself.

    Returns
    -------
    CompiledFunction or CompiledModule

    Examples
    --------
    >>> import polygrad
    >>> w = polygrad.ones(3, requires_grad=True)
    >>> opt = polygrad.optim.SGD([w], lr=0.1)
    >>> @polygrad.compile
    ... def step(x):
    ...     loss = (w * x).sum()
    ...     loss.backward()
    ...     opt.step()
    ...     opt.zero_grad()
    ...     return loss
    >>> [round(step(polygrad.ones(3)).item(), 4) for _ in range(3)]
    [3.0, 2.7, 2.4]
    """
    if dynamic:
        raise NotImplementedError(
            "polygrad.compile(dynamic=True): shape-polymorphic programs are not implemented; "
            "each new signature (for example the last, smaller batch) captures again"
        )
    if backend not in (None, "inductor", "eager"):
        raise NotImplementedError(
            f"polygrad.compile(backend={backend!r}): only None, 'inductor' and 'eager' are "
            "accepted (all capture and replay polygrad's own program)"
        )
    if model is None:
        return lambda fn: compile(
            fn,
            fullgraph=fullgraph,
            dynamic=dynamic,
            backend=backend,
            mode=mode,
            options=options,
            disable=disable,
        )
    if disable:
        return model
    from ..nn.modules.module import Module

    if isinstance(model, Module):
        return CompiledModule(model, fullgraph)
    if not callable(model):
        raise TypeError(
            f"polygrad.compile needs a function or a Module, not {type(model).__name__}"
        )
    return CompiledFunction(model, fullgraph)
