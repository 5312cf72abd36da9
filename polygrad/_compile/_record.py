"""The recorder a capture installs as ``polygrad._capture.rec``, and the flat program it builds.

Every array the capturing call touches gets a slot, keyed by ``id`` of the array (the recorder
keeps each one alive, so ids are never reused during a capture). A slot is produced by a step:

- ``arg``: the data of a tensor argument of the compiled function;
- ``read``: ``t._data`` of a tensor that existed before the call (a parameter, a buffer, a
  tensor closed over), read at that point of every replay, never frozen;
- ``forward`` / ``rule``: a Function instance's ``forward`` / ``backward`` on slots;
- ``conform``, ``add``, ``ones_like``, ``accumulate``: the backward walk's own array calls;
- ``created``: a constant made by a creation function (copied on each replay), or a random
  draw made again from the same generator (fresh numbers on each replay, as in eager);
- ``call``: index arithmetic on arrays (``_capture.call``), its range check included; an op
  whose indexing key holds such an array has the key set again from the slot before it runs;
- ``host``: a whole library call run again (``optimizer.step()``, ``zero_grad()``, clipping,
  a scheduler's ``step()``), on the real tensors, whose ``.grad`` the replay keeps current.

Anything the recorder cannot account for is a graph break (see ``Recorder.graph_break``).
"""

from __future__ import annotations

import operator
import os
import sys
from collections.abc import Iterator
from typing import Any

import array_api_compat

from .. import _autograd, _backend, _capture
from .._autograd import _check_versions, _conform, _freed_error, _prepare, _seed
from .._tensor import Function, Tensor, grad_mode, mark_modified

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Unsupported(RuntimeError):
    """What ``polygrad.compile(..., fullgraph=True)`` raises for a construct it cannot capture
    (torch raises ``torch._dynamo.exc.Unsupported``, also a RuntimeError)."""


def user_line() -> str:
    """``file:line`` of the innermost frame outside the polygrad package (the user's code)."""
    frame = sys._getframe(1)
    while frame is not None:
        name = os.path.abspath(frame.f_code.co_filename)
        if not name.startswith(_PACKAGE + os.sep):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def _is_array(v: Any) -> bool:
    return not isinstance(v, (Tensor, type)) and array_api_compat.is_array_api_obj(v)


def _accumulate(leaf: Tensor, g: Any, fresh: bool, xp: Any) -> Any:
    """``_autograd._accumulate`` (first order) returning the array now in ``leaf.grad``."""
    _autograd._accumulate(leaf, g, fresh, False, xp)
    return leaf.grad._data


def _read(t: Tensor) -> Any:
    return t._data


def _store(target: Any, data: Any) -> None:
    target[...] = data


def _copy_of(xp: Any, a: Any) -> Any:
    return xp.asarray(a, copy=True)


def _redraw(backend: Any, how: tuple, dtype: Any, dev: Any) -> Any:
    name, args = how
    draw = getattr(_backend.rng(), name)(*args)
    return backend.from_host(draw, dtype, dev)


_VALUES = (bool, int, float, complex, str)


def module_tensors(m: Any) -> tuple:
    """What a replay assumes of module ``m``'s own attributes: its tensors (or None) and
    submodules by identity (assigning another Parameter, ``seq[0] = nn.Linear(...)`` or
    ``net.act = nn.ReLU()`` must capture again), and its Python numbers and strings by value
    (``dropout.p = 0.0``, ``layer.eps = ...``: the captured kernels baked them in)."""
    from ..nn.modules.module import Module

    out = []
    for k, v in vars(m).items():
        if v is None or isinstance(v, (Tensor, Module)):
            out.append((k, v, True))
        elif isinstance(v, _VALUES) and k != "training":
            out.append((k, v, False))
    return tuple(out)


def flatten(obj: Any) -> Iterator[Any]:
    """The leaves of nested tuples, lists and dicts (dict values in key order)."""
    if isinstance(obj, (tuple, list)):
        for v in obj:
            yield from flatten(v)
    elif isinstance(obj, dict):
        for k in obj:
            yield from flatten(obj[k])
    else:
        yield obj


class Recorder:
    """Records the capturing call into steps ``(fn, args, outs)``; see the module docstring.

    ``args`` entries are ``(True, slot)`` or ``(False, constant)``; ``outs`` is a slot, a tuple
    of slots (None where a result is not kept) or None.
    """

    def __init__(self, args_flat: list[Any], fullgraph: bool) -> None:
        self.fullgraph = fullgraph
        self.steps: list[tuple] = []
        self.n_slots = 0
        self.slot_of: dict[int, int] = {}  # id(array) -> slot
        self.keep: list[Any] = []  # every array and tensor seen, so no id is reused
        self.born_ids: set[int] = set()  # ids of tensors made during the capture, not by an op
        self.refs: dict[Tensor, Any] = {}  # tensors read by reference -> array last seen
        self.modules: dict[int, tuple] = {}  # id -> (module, training, module_tensors)
        self.arg_slots: list[tuple[int, int]] = []  # (position in args_flat, slot)
        self.paused = 0  # > 0 inside a host step
        self.broken: tuple[str, str] | None = None
        self.arg_tensors: set[int] = set()
        self.arg_index: dict[int, int] = {}  # id(argument tensor) -> position in args_flat
        # slots that hold an argument Tensor itself (for mark_modified): (position, slot)
        self.arg_tensor_slots: list[tuple[int, int]] = []
        self.arg_tensor_slot: dict[int, int] = {}
        for i, a in enumerate(args_flat):
            if isinstance(a, Tensor):
                self.arg_tensors.add(id(a))
                self.arg_index.setdefault(id(a), i)
                if id(a._data) not in self.slot_of:
                    self.arg_slots.append((i, self._new_slot(a._data)))

    # -- slots ----------------------------------------------------------------------------
    def _new_slot(self, array: Any) -> int:
        k = self.n_slots
        self.n_slots += 1
        self.slot_of[id(array)] = k
        self.keep.append(array)
        return k

    def _out(self, array: Any) -> int:
        return self._new_slot(array)

    def tensor_slot(self, t: Tensor) -> int:
        """The slot holding ``t``'s array now, adding a ``read`` step for a tensor that existed
        before the call; a graph break for one made during it by an unrecorded path."""
        a = t._data
        k = self.slot_of.get(id(a))
        if k is not None:
            return k
        if id(t) in self.born_ids:
            self.graph_break("a tensor made inside the function by an unrecorded path")
        last = self.refs.get(t)
        if last is not None and last is not a:
            self.graph_break("a tensor's array replaced by an unrecorded path")
        if t._view is not None and t._view.synced != t._vc[0]:
            self.graph_break("reading a view after an in-place write to its base")
        self.refs[t] = a
        self.keep.append(t)
        k = self._new_slot(a)
        self.steps.append((_read, ((False, t),), k))
        return k

    def spec(self, v: Any) -> tuple[bool, Any]:
        if isinstance(v, Tensor):
            return (True, self.tensor_slot(v))
        if _is_array(v):
            k = self.slot_of.get(id(v))
            if k is None:
                self.graph_break("an array computed outside the recorded ops")
            return (True, k)
        return (False, v)

    # -- graph breaks ---------------------------------------------------------------------
    def graph_break(self, what: str) -> None:
        """Stop: the capture cannot prove it recorded ``what``, so this signature runs eagerly
        (the call goes on, eagerly). Inside a host step (which the replay runs for real)
        nothing is missed, so nothing happens. With ``fullgraph=True``: raise."""
        if self.paused:
            return
        where = user_line()
        if self.fullgraph:
            _capture.rec = None
            raise Unsupported(
                f"polygrad.compile(fullgraph=True): cannot capture {what}, at {where}"
            )
        if self.broken is None:
            self.broken = (what, where)
        # the rest of the call runs eagerly, unrecorded; what the current hook still records
        # is thrown away with the program
        _capture.rec = None

    def _resume(self) -> None:
        if self.broken is None:
            _capture.rec = self

    # -- engine hooks ---------------------------------------------------------------------
    def born(self, t: Tensor) -> None:
        self.born_ids.add(id(t))
        self.keep.append(t)

    def module(self, m: Any) -> None:
        if not self.paused:
            self.modules[id(m)] = (m, m.training, module_tensors(m))

    def apply(self, impl: Any, op: Function, inputs: tuple) -> Tensor:
        if self.paused:
            _capture.rec = None
            try:
                return impl(op, *inputs)
            finally:
                self._resume()
        if not type(op).__module__.startswith("polygrad."):
            self.graph_break(f"a user-defined Function ({type(op).__name__})")
        for name, v in vars(op).items():
            if _is_array(v):  # e.g. where()'s condition: set again before each replay
                k = self.slot_of.get(id(v))
                if k is None:
                    self.graph_break(f"{type(op).__name__} holding an array made outside the op")
                self.steps.append((setattr, ((False, op), (False, name), (True, k)), None))
            elif isinstance(v, tuple):  # an indexing key (a TakeKey, or a tuple of arrays)
                self._rebind_key(op, name, v)
        specs = [self.spec(t) for t in inputs]
        xp = None
        for t in inputs:
            if isinstance(t, Tensor):
                xp = t._xp
                break
        _capture.rec = None
        try:
            result = impl(op, *inputs)
        finally:
            self._resume()
        self.steps.append((op.forward, ((False, xp), *specs), self._out(result._data)))
        return result

    def _rebind_key(self, op: Function, name: str, key: tuple) -> None:
        """Record setting ``op.<name>`` again before each replay to ``key`` with its arrays
        (an index key's integer arrays) taken from their slots: the replay's live values."""
        where = [i for i, v in enumerate(key) if _is_array(v)]
        if not where:
            return
        slots = []
        for i in where:
            a = key[i]
            k = self.slot_of.get(id(a))
            if k is None:
                self.graph_break(f"{type(op).__name__} holding an index made outside the ops")
                return
            if array_api_compat.array_namespace(a).isdtype(a.dtype, "bool"):
                self.graph_break("a boolean mask index (its result's shape depends on values)")
                return
            slots.append((True, k))
        args = ((False, op), (False, name), (False, key), (False, tuple(where)), *slots)
        self.steps.append((_set_key, args, None))

    def call(self, fn: Any, args: tuple) -> Any:
        """Run and record ``fn`` on the arrays of ``args`` (see ``_capture.call``)."""
        if self.paused:
            return fn(*args)
        specs = tuple(self.spec(a) for a in args)
        self.paused += 1  # the checks inside fn are recorded with it: no graph break
        try:
            out = fn(*args)
        finally:
            self.paused -= 1
        if _capture.rec is self:
            self.steps.append((fn, specs, self._out(out)))
        return out

    def raw(self, fn: Any, args: tuple, xp: Any) -> Tensor:
        """Run and record ``fn`` on the arrays of ``args`` (Tensors or numbers): library code
        that calls the backend directly for a result with no gradient (comparisons)."""
        out = fn(*(a._data if isinstance(a, Tensor) else a for a in args))
        if not self.paused:
            specs = tuple(self.spec(a) for a in args)
            self.steps.append((fn, specs, self._out(out)))
        return Tensor._wrap(out, xp)

    def pure(self, fn: Any, args: tuple, kwargs: dict) -> Any:
        """Run and record a ``_capture.pure`` function (see there)."""
        if self.paused:
            return fn(*args, **kwargs)
        for v in kwargs.values():
            if isinstance(v, Tensor) or _is_array(v):
                self.graph_break(f"{fn.__qualname__} with a tensor keyword argument")
        specs = tuple(self.spec(a) for a in args)
        xps = tuple(a._xp if isinstance(a, Tensor) else None for a in args)
        self.paused += 1
        try:
            out = fn(*args, **kwargs)
        finally:
            self.paused -= 1
        outs = tuple(self._out(v._data) if isinstance(v, Tensor) else None for v in out)
        step_args = ((False, fn), (False, xps), (False, kwargs), *specs)
        self.steps.append((_pure_call, step_args, outs))
        return out

    def created(self, data: Any, backend: Any, redraw: Any) -> None:
        if self.paused:
            return
        if isinstance(redraw, str):
            self.graph_break(redraw)
            return
        if redraw is None:
            const = backend.xp.asarray(data, copy=True)
            self.steps.append((_copy_of, ((False, backend.xp), (False, const)), self._out(data)))
        else:
            how, dtype, dev = redraw
            args = ((False, backend), (False, how), (False, dtype), (False, dev))
            self.steps.append((_redraw, args, self._out(data)))

    def store(self, t: Tensor, data: Any) -> None:
        if self.paused:
            return
        if not hasattr(t._data, "__setitem__"):
            self.graph_break("an in-place write into an immutable 0-d array")
        self.steps.append((_store, (self.spec(t), self.spec(data)), None))

    def modified(self, t: Tensor) -> None:
        if self.paused:
            return
        if id(t) in self.arg_tensors:  # the replay's argument, by position, not this one
            k = self.arg_tensor_slot.get(id(t))
            if k is None:
                k = self.arg_tensor_slot[id(t)] = self.n_slots
                self.n_slots += 1
                self.arg_tensor_slots.append((self.arg_index[id(t)], k))
            self.steps.append((mark_modified, ((True, k),), None))
        elif t in self.refs:
            self.steps.append((mark_modified, ((False, t),), None))

    def host(self, fn: Any, args: tuple, kwargs: dict) -> Any:
        if self.paused:
            return fn(*args, **kwargs)
        args = tuple(
            tuple(a) if isinstance(a, Iterator) else a for a in args
        )  # model.parameters() is a generator: replay needs it again
        for a in flatten((args, kwargs)):
            if isinstance(a, Iterator):
                a = tuple(a)
            if callable(a) and not isinstance(a, Tensor) and not hasattr(a, "param_groups"):
                self.graph_break(f"{fn.__qualname__} with a callable argument (a closure)")
            if isinstance(a, Tensor) and id(a) in self.arg_tensors:
                self.graph_break(f"{fn.__qualname__} on an argument tensor (a replay would "
                                 "run it on the first call's)")  # fmt: skip
            elif isinstance(a, Tensor) and a not in self.refs:
                self.graph_break(f"{fn.__qualname__} on a tensor computed inside the function")
        self.paused += 1
        try:
            result = fn(*args, **kwargs)
        finally:
            self.paused -= 1
        for t in self.refs:  # the step may have replaced parameters' arrays: read them anew
            self.refs[t] = t._data
        if isinstance(result, Tensor):
            k = self._out(result._data)
            self.steps.append((_host_tensor, ((False, fn), (False, args), (False, kwargs)), k))
        elif result is None:
            self.steps.append((fn, tuple((False, a) for a in args), None))
            if kwargs:
                self.steps[-1] = (_host_kw, ((False, fn), (False, args), (False, kwargs)), None)
        else:
            self.graph_break(f"{fn.__qualname__} returning a Python value")
        return result

    def backward(self, roots: list, grads: list, retain_graph: Any, create_graph: bool) -> bool:
        """Record ``backward(roots, grads)`` (running it, so the capture is eager); True
        when done, False to let the eager engine run it (inside a host step)."""
        if self.paused:
            return False
        if create_graph:
            self.graph_break("backward(create_graph=True)")
        if _autograd._leaf_hooks or _autograd._post_hooks:
            self.graph_break("a gradient hook on a leaf")
        if retain_graph is None:
            retain_graph = create_graph
        xp = roots[0]._xp
        for r in roots[1:]:
            if r._xp is not xp:
                raise RuntimeError("backward over outputs of different backends")
        seeds = []
        for r, g in zip(roots, grads):
            seed = _seed(r, g, False)
            if g is None:
                k = self._out(seed)
                self.steps.append((xp.ones_like, (self.spec(r),), k))
            else:
                self.spec(seed)
            seeds.append(seed)
        start = list(dict.fromkeys(r._node for r in roots if r._node is not None))
        nodes = _prepare(start)
        for n in nodes:
            if n.__dict__.get("_hooks") or n._retain is not None:
                self.graph_break("a gradient hook or retain_grad() in the graph")
        self._walk(roots, seeds, start, retain_graph, xp)
        return True

    def _add(self, a: Any, b: Any) -> Any:
        s = a + b
        self.steps.append((operator.add, (self.spec(a), self.spec(b)), self._out(s)))
        return s

    def _walk(self, roots: list, seeds: list, start: list, retain_graph: bool, xp: Any) -> None:
        """``_autograd.run`` for first order without hooks, recording each array call."""
        leaves: dict[Tensor, Any] = {}
        fresh: dict[Tensor, bool] = {}
        for r, g in zip(roots, seeds):
            if r._node is not None:
                node = r._node
                node._grad = g if node._grad is None else self._add(node._grad, g)
            elif r in leaves:
                leaves[r], fresh[r] = self._add(leaves[r], g), True
            else:
                leaves[r], fresh[r] = g, False
        ready = [n for n in start if n._deps == 0]
        prev_mode = grad_mode.enabled
        grad_mode.enabled = False
        try:
            while ready:
                node = ready.pop()
                edges = node.next
                if edges is None:
                    raise _freed_error()
                g = node._grad
                node._grad = None
                if node._versions:
                    _check_versions(node)
                if g is not None:
                    saved = node.saved
                    specs = [self.spec(g), *(self.spec(s) for s in saved)]
                    results = node.backward(xp, g, *saved)
                    outs = tuple(None if r is None else self._out(r) for r in results)
                    self.steps.append((node.backward, ((False, xp), *specs), outs))
                    exact = node.exact
                else:
                    results = (None,) * len(edges)
                    exact = True
                if not retain_graph:
                    # the rules read self.next only as "does input i need a gradient"
                    node.saved = None
                    node.next = tuple(None if e is None else True for e in edges)
                for e, gi in zip(edges, results):
                    if e is None:
                        continue
                    if gi is not None and not exact:
                        shape = e.shape
                        dtype = e.dtype if isinstance(e, Function) else e._data.dtype
                        c = _conform(xp, gi, shape, dtype, False)
                        if c is not gi:
                            args = ((False, xp), self.spec(gi), (False, shape), (False, dtype))
                            self.steps.append((_conform_first, args, self._out(c)))
                        conformed = c
                    else:
                        conformed = gi
                    if isinstance(e, Function):
                        if gi is not None:
                            prev = e._grad
                            e._grad = conformed if prev is None else self._add(prev, conformed)
                        e._deps -= 1
                        if not e._deps:
                            ready.append(e)
                    elif gi is not None:
                        prev = leaves.get(e)
                        if prev is None:
                            leaves[e] = conformed
                            fresh[e] = conformed is not gi or node.fresh
                        else:
                            leaves[e] = self._add(prev, conformed)
                            fresh[e] = True
        finally:
            grad_mode.enabled = prev_mode
        for leaf, g in leaves.items():
            if id(leaf) in self.arg_tensors:  # a replay would accumulate into the first call's
                # (the capturing call goes on eagerly: this and the other leaves still get
                # their gradients; the program is thrown away)
                self.graph_break("a gradient into an argument tensor (one that requires grad)")
            spec_leaf = (False, leaf)
            args = (spec_leaf, self.spec(g), (False, fresh[leaf]), (False, xp))
            k_out = None
            a = _accumulate(leaf, g, fresh[leaf], xp)
            k_out = self._out(a)
            self.steps.append((_accumulate, args, k_out))
            self.keep.append(leaf)


def _set_key(op: Function, name: str, key: tuple, where: tuple, *arrays: Any) -> None:
    items = list(key)
    for i, a in zip(where, arrays):
        items[i] = a
    setattr(op, name, tuple(items) if type(key) is tuple else type(key)(*items))


def _conform_first(xp: Any, g: Any, shape: tuple, dtype: Any) -> Any:
    return _conform(xp, g, shape, dtype, False)


def _host_tensor(fn: Any, args: tuple, kwargs: dict) -> Any:
    return fn(*args, **kwargs)._data


def _host_kw(fn: Any, args: tuple, kwargs: dict) -> None:
    fn(*args, **kwargs)


def _pure_call(fn: Any, xps: tuple, kwargs: dict, *arrays: Any) -> tuple:
    args = (a if xp is None else Tensor._wrap(a, xp) for a, xp in zip(arrays, xps))
    out = fn(*args, **kwargs)
    return tuple(v._data if isinstance(v, Tensor) else None for v in out)
