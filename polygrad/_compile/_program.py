"""A captured program: the recorder's steps, made flat, with slot lifetimes, guards and the
template of what the function returned."""

from __future__ import annotations

import functools
from typing import Any

from .._tensor import Function, Tensor, apply1
from ._record import Recorder

_MISSING = object()


class ReplayedOutput(Function):
    """The grad_fn of a tensor a replay returns that required grad at the capture: the
    replay keeps no graph behind it, so a backward through it is an error, not a gradient
    silently missing."""

    saves = ""

    def forward(self, xp, x):
        return x

    def backward(self, xp, g):
        raise RuntimeError(
            "polygrad.compile: backward() through a tensor that a compiled replay returned: "
            "the replay keeps no graph behind its outputs. Call backward() inside the compiled "
            "function, or compute this part outside it."
        )


class Program:
    """Replay of one capture. ``run(args_flat)`` executes the steps on slots and rebuilds the
    returned structure (tensors detached, holding the replayed values)."""

    def __init__(self, rec: Recorder, template: Any) -> None:
        self.n_slots = rec.n_slots
        self.arg_slots = tuple(rec.arg_slots)
        self.arg_tensor_slots = tuple(rec.arg_tensor_slots)
        self.template = template
        self.modules = tuple(rec.modules.values())
        # guards on the tensors read by reference: what the capture assumed of them
        self.ref_guards = tuple((t, a.shape, a.dtype, t.requires_grad) for t, a in rec.refs.items())
        kept = set(_template_slots(template))
        last: dict[int, int] = {}
        for i, (_, args, _) in enumerate(rec.steps):
            for is_slot, v in args:
                if is_slot:
                    last[v] = i
        frees: list[list[int]] = [[] for _ in rec.steps]
        for k, i in last.items():
            if k not in kept:
                frees[i].append(k)
        # each step pre-bound once: (callable, input slots, output slot(s), slots to free);
        # constants that come before every slot argument (the namespace ``xp``, an op's
        # options) are bound into a partial, so the loop only gathers slots
        steps = []
        for (fn, args, outs), free in zip(rec.steps, frees):
            n_const = 0
            while n_const < len(args) and not args[n_const][0]:
                n_const += 1
            if all(is_slot for is_slot, _ in args[n_const:]):
                call = functools.partial(fn, *(v for _, v in args[:n_const])) if n_const else fn
                steps.append((call, tuple(v for _, v in args[n_const:]), None, outs, tuple(free)))
            else:  # a constant after a slot: gather (is_slot, value) pairs at each replay
                steps.append((fn, None, tuple(args), outs, tuple(free)))
        self.steps = tuple(steps)
        # guards on modules: the tensor attributes by name and identity, and how many
        # attributes the module has (a tensor attribute added or removed changes it)
        self.module_guards = tuple(
            (m, training, len(vars(m)), tensors) for m, training, tensors in self.modules
        )

    def guards_hold(self) -> bool:
        """Do the modules and tensors the capture touched still look as they did?"""
        for m, training, n_attrs, tensors in self.module_guards:
            d = vars(m)
            if m.training != training or len(d) != n_attrs:
                return False
            for k, v, by_identity in tensors:
                now = d.get(k, _MISSING)
                if now is not v if by_identity else (now.__class__ is not v.__class__ or now != v):
                    return False
        for t, shape, dtype, requires_grad in self.ref_guards:
            a = t._data
            if a.shape != shape or a.dtype != dtype or t.requires_grad != requires_grad:
                return False
            if t._view is not None and t._view.synced != t._vc[0]:
                return False
        return True

    def run(self, args_flat: list[Any]) -> Any:
        slots: list[Any] = [None] * self.n_slots
        for i, k in self.arg_slots:
            slots[k] = args_flat[i]._data
        for i, k in self.arg_tensor_slots:
            slots[k] = args_flat[i]
        get = slots.__getitem__
        for call, ins, mixed, outs, free in self.steps:
            if mixed is None:
                r = call(*map(get, ins))
            else:
                r = call(*[slots[v] if is_slot else v for is_slot, v in mixed])
            if outs is not None:
                if outs.__class__ is int:
                    slots[outs] = r
                else:
                    for k, x in zip(outs, r):
                        if k is not None:
                            slots[k] = x
            if free:
                for k in free:
                    slots[k] = None
        return _rebuild(self.template, slots, args_flat)


def _template_slots(template: Any) -> list[int]:
    kind = template[0]
    if kind == "slot":
        return [template[1]]
    if kind in ("tuple", "list"):
        return [k for item in template[1] for k in _template_slots(item)]
    if kind == "dict":
        return [k for item in template[1].values() for k in _template_slots(item)]
    return []


def _rebuild(template: Any, slots: list, args_flat: list) -> Any:
    kind = template[0]
    if kind == "slot":
        t = Tensor._wrap(slots[template[1]], template[2])
        if template[3]:  # it required grad at the capture: so it does, but raises on backward
            t.requires_grad_()
            t = apply1(ReplayedOutput(), t)
        return t
    if kind == "arg":
        return args_flat[template[1]]
    if kind in ("ref", "const"):
        return template[1]
    if kind == "tuple":
        return tuple(_rebuild(t, slots, args_flat) for t in template[1])
    if kind == "list":
        return [_rebuild(t, slots, args_flat) for t in template[1]]
    return {k: _rebuild(t, slots, args_flat) for k, t in template[1].items()}


def make_template(rec: Recorder, out: Any, arg_pos: dict[int, int]) -> Any:
    """How to rebuild ``out`` after a replay; None (with a graph break) if it cannot be."""
    if isinstance(out, Tensor):
        if id(out) in arg_pos:
            return ("arg", arg_pos[id(out)])
        if out in rec.refs:
            return ("ref", out)
        k = rec.slot_of.get(id(out._data))
        if k is not None:
            return ("slot", k, out._xp, out.requires_grad)
        if id(out) in rec.born_ids:
            rec.graph_break("returning a tensor made by an unrecorded path")
            return None
        return ("ref", out)  # a tensor that existed before the call and was not read
    if out is None or isinstance(out, str):
        return ("const", out)
    if isinstance(out, (tuple, list)):
        items = [make_template(rec, v, arg_pos) for v in out]
        if any(i is None for i in items):
            return None
        return ("tuple" if isinstance(out, tuple) else "list", items)
    if isinstance(out, dict):
        d = {k: make_template(rec, v, arg_pos) for k, v in out.items()}
        if any(i is None for i in d.values()):
            return None
        return ("dict", d)
    rec.graph_break(f"returning a {type(out).__name__}")
    return None
