"""The reverse-mode engine: an iterative walk over the recorded ops, and ``polygrad.grad``.

The walk is Kahn's algorithm on the graph below the outputs: count how many recorded consumers
each op has, then run an op's rule once all of them have sent it their gradient. Nothing here
recurses, so a chain of any length backpropagates. Broadcasting is undone here, once, for every
op: a gradient arriving with the broadcast shape is summed down to its input's shape.

Two modes share the walk:
- first order: rules run on raw backend arrays with the backend namespace (fast, no recording);
- ``create_graph=True``: the saved arrays become Tensors again, the namespace is ``polygrad``
  itself, and grad mode is on, so the backward is recorded and can be differentiated.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from . import _capture
from ._tensor import Function, Tensor, _engine, grad_mode

#: leaf tensor -> the hooks ``register_hook`` gave it (non-leaf hooks live on their op node)
#: keyed by id (a WeakKeyDictionary would compare tensors with ``==``, which is elementwise);
#: an entry goes with its leaf (weakref.finalize)
_leaf_hooks: dict[int, list] = {}


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks: list, hook: Callable) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def register_hook(t: Tensor, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
    """Call ``hook(grad)`` whenever the gradient of ``t`` is computed; a returned tensor
    replaces the gradient (torch's ``Tensor.register_hook``).

    Raises
    ------
    RuntimeError
        If ``t`` does not require grad.
    """
    if _capture.rec is not None:  # polygrad.compile records no hooks
        _capture.rec.graph_break("register_hook()")
    if not t.requires_grad:
        raise RuntimeError(
            "register_hook: cannot register a hook on a tensor that doesn't require gradient"
        )
    if t._node is None:
        if id(t) not in _leaf_hooks:
            _leaf_hooks[id(t)] = []
            weakref.finalize(t, _leaf_hooks.pop, id(t), None)
        hooks = _leaf_hooks[id(t)]
    else:
        hooks = t._node.__dict__.setdefault("_hooks", [])
    hooks.append(hook)
    return RemovableHandle(hooks, hook)


def _run_hooks(hooks: list, g: Any, create_graph: bool, xp: Any) -> Any:
    """``g`` after each hook in turn (hooks see and return Tensors; the walk may hold arrays)."""
    for hook in list(hooks):
        seen = g if create_graph else Tensor._wrap(g, xp)
        out = hook(seen)
        if out is not None:
            if not isinstance(out, Tensor) or out.shape != tuple(g.shape):
                raise RuntimeError(
                    f"a gradient hook returned {type(out).__name__} "
                    f"{getattr(out, 'shape', '')}, not a Tensor of the gradient's shape "
                    f"{tuple(g.shape)}"
                )
            g = out if create_graph else out._data
    return g


def sum_to(xp: Any, g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes broadcasting added or stretched, giving ``shape``."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    if lead or g.shape != shape:
        g = xp.reshape(g, shape)
    return g


def _seed(root: Tensor, grad: Any, create_graph: bool) -> Any:
    """The upstream gradient for one output, checked against its shape."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: no input of the computation "
            "had requires_grad=True (or it ran under no_grad)"
        )
    if grad is None:
        if root.numel() != 1:
            raise RuntimeError(
                f"backward() needs a gradient argument for an output of shape {root.shape}; "
                "only one-element outputs get an implicit gradient of 1"
            )
        seed = root._xp.ones_like(root._data)
        return Tensor._wrap(seed, root._xp) if create_graph else seed
    if not isinstance(grad, Tensor):
        grad = Tensor(grad)
    if grad.shape != root.shape:
        raise RuntimeError(
            f"gradient of shape {grad.shape} given for an output of shape {root.shape}"
        )
    if grad._xp is not root._xp:
        raise RuntimeError(
            f"gradient is a {grad.backend} tensor but the output is a {root.backend} tensor"
        )
    if grad._data.dtype != root._data.dtype:  # as torch: the gradient takes the output's dtype
        grad = grad.astype(root.dtype)
    return grad if create_graph else grad._data


def _freed_error() -> RuntimeError:
    return RuntimeError(
        "trying to backward through the graph a second time: its saved arrays were freed by "
        "the first backward; pass retain_graph=True to the first backward to keep them"
    )


def _as_tensors(node: Function, xp: Any) -> tuple:
    """The node's saved arrays as Tensors wired into the graph, for a recorded backward."""
    saved = node.saved
    edges = node.next
    out = []
    n_inputs = len(edges) if node.saves in ("inputs", "both") else 0
    for i, a in enumerate(saved):
        if i >= n_inputs:  # the node's own output
            out.append(Tensor._wrap(a, xp, node))
            continue
        edge = edges[i]
        if not hasattr(a, "shape"):  # a Python number stays a number
            out.append(a)
        elif edge is None:
            out.append(Tensor._wrap(a, xp))
        elif isinstance(edge, Tensor):
            out.append(edge)
        else:
            out.append(Tensor._wrap(a, xp, edge))
    return tuple(out)


# id(leaf) -> {handle id: hook} for ``Tensor.register_post_accumulate_grad_hook``; keyed by id
# so the registry keeps no leaf alive (an entry goes with its leaf, or through its handle)
_post_hooks: dict[int, dict[int, Callable[[Tensor], None]]] = {}
_hook_ids = itertools.count()


class PostAccumulateHandle:
    """What ``register_post_accumulate_grad_hook`` returns: ``remove()`` unregisters the hook."""

    def __init__(self, leaf: Tensor, key: int) -> None:
        self._leaf, self._key = id(leaf), key

    def remove(self) -> None:
        hooks = _post_hooks.get(self._leaf)
        if hooks is not None:
            hooks.pop(self._key, None)
            if not hooks:
                del _post_hooks[self._leaf]


def register_post_accumulate_grad_hook(
    leaf: Tensor, hook: Callable[[Tensor], None]
) -> PostAccumulateHandle:
    """Engine side of ``Tensor.register_post_accumulate_grad_hook``."""
    if leaf._node is not None:
        raise RuntimeError(
            "post accumulate grad hooks cannot be registered on non-leaf tensors "
            f"(shape {leaf.shape})"
        )
    key = next(_hook_ids)
    if id(leaf) not in _post_hooks:
        _post_hooks[id(leaf)] = {}
        weakref.finalize(leaf, _post_hooks.pop, id(leaf), None)
    _post_hooks[id(leaf)][key] = hook
    return PostAccumulateHandle(leaf, key)


def _hooked_leaf_uses(nodes: set[Function]) -> dict[Tensor, int]:
    """For each leaf with a post-accumulate hook: how many edges of ``nodes`` reach it, so
    its gradient can be accumulated (and the hook run) as soon as the last one has sent it."""
    uses: dict[Tensor, int] = {}
    for node in nodes:
        for e in node.next:
            if e is not None and not isinstance(e, Function) and id(e) in _post_hooks:
                uses[e] = uses.get(e, 0) + 1
    return uses


def _finish_leaf(leaf: Tensor, leaves: dict, fresh: dict, create_graph: bool, xp: Any) -> None:
    """Accumulate ``leaf``'s gradient now and run its post-accumulate hooks."""
    if leaf not in leaves:  # every path to it carried no gradient: nothing accumulated
        return
    g, is_fresh = leaves.pop(leaf), fresh.pop(leaf)
    hooks = _leaf_hooks.get(id(leaf))
    if hooks:  # register_hook's hooks first, as torch runs them before accumulating
        g, is_fresh = _run_hooks(hooks, g, create_graph, xp), False
    _accumulate(leaf, g, is_fresh, create_graph, xp)
    for hook in list(_post_hooks.get(id(leaf), {}).values()):
        hook(leaf)


def _prepare(roots: list[Function]) -> set[Function]:
    """Set up the walk: each op below ``roots`` gets ``_deps``, its number of recorded
    consumers, and an empty ``_grad``. Iterative DFS; visiting resets any earlier state, so
    nothing stale survives an earlier walk that stopped with an error."""
    seen = set(roots)
    for r in seen:
        r._deps = 0
        r._grad = None
    stack = list(seen)
    push, pop, add = stack.append, stack.pop, seen.add
    while stack:
        edges = pop().next
        if edges is None:
            raise _freed_error()
        for e in edges:
            if isinstance(e, Function):
                if e in seen:
                    e._deps += 1
                else:
                    add(e)
                    e._deps = 1
                    e._grad = None
                    push(e)
    return seen


def run(
    roots: Sequence[Tensor],
    grads: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    wanted: Sequence[Tensor] | None = None,
) -> dict[Any, Any] | None:
    """Backpropagate ``grads`` from ``roots``.

    With ``wanted`` None, gradients accumulate into leaves' ``.grad``. Otherwise nothing is
    accumulated and the gradient of each wanted tensor (leaf or not) is returned in a dict
    keyed by that tensor's node (non-leaf) or by the tensor itself (leaf).
    """
    if _capture.rec is not None:  # polygrad.compile records backward() only, not grad()
        _capture.rec.graph_break("polygrad.autograd.grad()")
    xp0 = roots[0]._xp
    for r in roots[1:]:
        if r._xp is not xp0:
            raise RuntimeError("backward over outputs of different backends")
    if create_graph:
        xp = _engine.rules
    else:
        xp = xp0

    start = list(dict.fromkeys(r._node for r in roots if r._node is not None))
    nodes = _prepare(start)
    # leaves whose hooks must run during the walk (DistributedDataParallel's bucket launches)
    pending = _hooked_leaf_uses(nodes) if _post_hooks and wanted is None else {}
    leaves: dict[Tensor, Any] = {}  # leaf -> its gradient so far
    fresh: dict[Tensor, bool] = {}  # leaf -> does that gradient own its memory?
    for r, g in zip(roots, grads):
        if r._node is not None:
            r._node._grad = g if r._node._grad is None else r._node._grad + g
        elif r in leaves:
            leaves[r] = leaves[r] + g
            fresh[r] = True
        else:
            leaves[r] = g
            fresh[r] = False

    want_nodes = {}
    if wanted is not None:
        want_nodes = {t._node: t for t in wanted if t._node is not None}
    captured: dict[Any, Any] = {}

    ready = [n for n in start if n._deps == 0]
    pop, push = ready.pop, ready.append
    prev_mode = grad_mode.enabled
    grad_mode.enabled = create_graph
    try:
        while ready:
            node = pop()
            edges = node.next
            if edges is None:
                raise _freed_error()
            g = node._grad
            node._grad = None
            if node._versions:
                _check_versions(node)
            if g is not None:
                hooks = node.__dict__.get("_hooks")
                if hooks:
                    g = _run_hooks(hooks, g, create_graph, xp0)
                if want_nodes and node in want_nodes:
                    captured[node] = g
                if node._retain is not None and wanted is None:
                    _retained(node, g, create_graph, xp0)
                saved = _as_tensors(node, xp0) if create_graph else node.saved
                results = node.backward(xp, g, *saved)
                exact = node.exact
            else:  # nothing reached this op: its inputs get nothing through it
                results = (None,) * len(edges)
                exact = True
            if not retain_graph:
                node.saved = node.next = None
            for e, gi in zip(edges, results):
                if e is None:
                    continue
                if isinstance(e, Function):
                    if gi is not None:
                        if not exact:
                            gi = _conform(xp, gi, e.shape, e.dtype, create_graph)
                        prev = e._grad
                        e._grad = gi if prev is None else prev + gi
                    e._deps -= 1
                    if not e._deps:
                        push(e)
                else:  # a leaf
                    if gi is not None:
                        conformed = (
                            gi if exact else _conform(xp, gi, e.shape, e._data.dtype, create_graph)
                        )
                        prev = leaves.get(e)
                        if prev is None:
                            leaves[e] = conformed
                            fresh[e] = conformed is not gi or node.fresh
                        else:
                            leaves[e] = prev + conformed
                            fresh[e] = True
                    if pending and e in pending:
                        pending[e] -= 1
                        if not pending[e]:
                            del pending[e]
                            _finish_leaf(e, leaves, fresh, create_graph, xp0)
        for leaf in list(leaves) if _leaf_hooks else ():
            hooks = _leaf_hooks.get(id(leaf))
            # (a leaf with post-accumulate hooks runs these in _finish_leaf, after the walk)
            finish_later = wanted is None and id(leaf) in _post_hooks
            if hooks and not finish_later:
                leaves[leaf] = _run_hooks(hooks, leaves[leaf], create_graph, xp0)
                fresh[leaf] = False
    finally:
        grad_mode.enabled = prev_mode

    if wanted is not None:
        for t in wanted:
            if t._node is None and t in leaves:
                captured[t] = leaves[t]
        return captured
    for leaf in list(leaves):
        if id(leaf) in _post_hooks:
            _finish_leaf(leaf, leaves, fresh, create_graph, xp0)
        else:
            _accumulate(leaf, leaves[leaf], fresh[leaf], create_graph, xp0)
    return None


def _conform(xp: Any, g: Any, shape: tuple, dtype: Any, create_graph: bool) -> Any:
    """``g`` summed down to ``shape`` (undoing broadcasting) and cast to ``dtype``."""
    if g.shape != shape:
        g = sum_to(xp, g, shape)
    gdtype = g._data.dtype if create_graph else g.dtype
    if gdtype is not dtype and gdtype != dtype:
        g = xp.astype(g, dtype)
    return g


def _check_versions(node: Function) -> None:
    """Refuse to use a saved array that an in-place write changed after the forward."""
    for vc, seen, i in node._versions:
        now = vc[0]
        if now != seen:
            n_saved = len(node.saved)
            what = "output" if node.saves != "inputs" and i == n_saved - 1 else f"input {i}"
            shape = tuple(getattr(node.saved[i], "shape", ()))
            raise RuntimeError(
                "one of the tensors needed for gradient computation has been modified by an "
                f"in-place operation: the {what} of shape {shape} saved by "
                f"{type(node).__name__} is at version {now}, but the forward saved version "
                f"{seen} (an optimizer step(), t[...] = v or an in-place method such as add_ "
                "ran between this forward and its backward; use t.clone() before the write)"
            )


def _retained(node: Function, g: Any, create_graph: bool, xp: Any) -> None:
    """Give a tensor that called ``retain_grad()`` its gradient."""
    t = node._retain()
    if t is not None:
        t.grad = _clone(g) if create_graph else Tensor._wrap(xp.asarray(g, copy=True), xp)


def _clone(g: Tensor) -> Tensor:
    from .ops import clone

    return clone(g)


def _accumulate(leaf: Tensor, g: Any, fresh: bool, create_graph: bool, xp: Any) -> None:
    """Add ``g`` into ``leaf.grad``; never let two ``.grad`` arrays share memory."""
    if create_graph:
        # a recorded gradient may be a tensor of the graph, shared with another leaf or a
        # broadcast view: the leaf gets its own copy (still recorded, so differentiable)
        leaf.grad = _clone(g) if leaf.grad is None else leaf.grad + g
        return
    if leaf.grad is None:
        leaf.grad = Tensor._wrap(g if fresh else xp.asarray(g, copy=True), xp)
    else:
        leaf.grad = Tensor._wrap(leaf.grad._data + g, xp)


def backward(
    roots: Sequence[Tensor], grads: Sequence[Any], retain_graph: bool | None, create_graph: bool
) -> None:
    """Engine entry for ``Tensor.backward``."""
    if _capture.rec is not None and _capture.rec.backward(roots, grads, retain_graph, create_graph):
        return  # polygrad.compile recorded it
    if retain_graph is None:
        retain_graph = create_graph
    seeds = [_seed(r, g, create_graph) for r, g in zip(roots, grads)]
    run(roots, seeds, retain_graph, create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, without touching any ``.grad``.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensors
        What to differentiate.
    inputs : Tensor or sequence of Tensors
        With respect to what; leaves or intermediate tensors.
    grad_outputs : Tensor, array or sequence, optional
        Upstream gradients, one per output (None means ones for one-element outputs).
    retain_graph : bool, optional
        Keep the graph for another backward; defaults to ``create_graph``.
    create_graph : bool
        Record this backward so the result can be differentiated again (Hessian-vector
        products, gradient penalties).
    allow_unused : bool
        Return None for an input the outputs do not depend on, instead of raising.

    Returns
    -------
    tuple of Tensor
        One gradient per input.

    Examples
    --------
    >>> import polygrad
    >>> x = polygrad.tensor(3.0, requires_grad=True)
    >>> (dy,) = polygrad.grad(x ** 3, x, create_graph=True)
    >>> (d2y,) = polygrad.grad(dy, x)
    >>> dy.item(), d2y.item()
    (27.0, 18.0)
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or hasattr(grad_outputs, "shape"):
        grad_outputs = [grad_outputs]
    else:
        grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"{len(grad_outputs)} grad_outputs given for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"input {i} of polygrad.grad does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    seeds = [_seed(r, g, create_graph) for r, g in zip(outputs, grad_outputs)]
    captured = run(outputs, seeds, retain_graph, create_graph, wanted=inputs)
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(t._node if t._node is not None else t)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"input {i} (shape {t.shape}) was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            result.append(None)
        elif create_graph:
            result.append(_clone(g))
        else:
            result.append(Tensor._wrap(t._xp.asarray(g, copy=True), t._xp))
    return tuple(result)


_engine.backward = backward
_engine.register_post_accumulate_grad_hook = register_post_accumulate_grad_hook
