"""Module hooks as torch's: removable handles, and running forward (pre-)hooks and full
backward (pre-)hooks around ``Module.__call__``.

Full backward hooks work as torch's ``BackwardHook``: the module's Tensor inputs and outputs pass
through identity :class:`polygrad.autograd.Function` s. The outputs' one records the gradients
with respect to the outputs (and runs backward pre-hooks, which may replace them); the inputs'
one then calls the hooks with ``(module, grad_input, grad_output)`` and passes on what they
return instead of ``grad_input``. When no input needs a gradient, the hooks run from the outputs'
node with ``grad_input`` all None, as in torch.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from polygrad import Tensor

_ids = itertools.count()


class RemovableHandle:
    """What ``register_*_hook`` returns: ``handle.remove()`` unregisters the hook (also as a
    context manager: the hook is removed when the ``with`` block ends)."""

    def __init__(self, *hooks_dicts: dict) -> None:
        self.id = next(_ids)
        self._dicts = hooks_dicts

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        for d in self._dicts:
            d.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def add_hook(hooks: dict, hook: Callable, prepend: bool, extra: dict | None = None,
             flag: Any = None) -> RemovableHandle:
    """Register ``hook`` in the ordered dict ``hooks`` (first when ``prepend``); ``extra``
    records a per-hook flag (with_kwargs, always_call)."""
    handle = RemovableHandle(hooks, *(() if extra is None else (extra,)))
    if prepend:
        items = list(hooks.items())
        hooks.clear()
        hooks[handle.id] = hook
        hooks.update(items)
    else:
        hooks[handle.id] = hook
    if extra is not None:
        extra[handle.id] = flag
    return handle


class _State:
    """One call's backward-hook bookkeeping: the gradients of the outputs once known."""

    def __init__(self, module: Any, n_inputs: int) -> None:
        self.module = module
        self.n_inputs = n_inputs
        self.grad_output: tuple | None = None


def _run_backward_hooks(state: _State, grad_input: tuple) -> tuple:
    for hook in list(state.module._backward_hooks.values()):
        result = hook(state.module, grad_input, state.grad_output)
        if result is not None:
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if len(result) != len(grad_input):
                raise RuntimeError(
                    f"Backward hook returned an invalid number of grad_input, got "
                    f"{len(result)}, but expected {len(grad_input)}"
                )
            grad_input = result
    return grad_input


def _functions() -> tuple[type, type]:
    from polygrad.autograd import Function

    class BackwardHookFunctionOutputs(Function):
        @staticmethod
        def forward(ctx: Any, state: _State, *outputs: Tensor) -> Any:
            ctx.state = state
            return outputs if len(outputs) != 1 else outputs[0]

        @staticmethod
        def backward(ctx: Any, *grads: Tensor) -> tuple:
            state = ctx.state
            for hook in list(state.module._backward_pre_hooks.values()):
                result = hook(state.module, grads)
                if result is not None:
                    grads = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            state.grad_output = grads
            if state.n_inputs == 0:  # no input needs a gradient: run the hooks now
                nones = (None,) * state.module._n_tensor_inputs
                if any(g is not None for g in _run_backward_hooks(state, nones)):
                    raise RuntimeError(
                        "Backward hook for Modules where no input requires gradient should "
                        "always return None or None for all gradients."
                    )
            return (None, *grads)

    class BackwardHookFunctionInputs(Function):
        @staticmethod
        def forward(ctx: Any, state: _State, *inputs: Tensor) -> Any:
            ctx.state = state
            ctx.requires = [t.requires_grad for t in inputs]
            outs = tuple(t.detach() for t in inputs)
            ctx.mark_non_differentiable(*(o for o, r in zip(outs, ctx.requires) if not r))
            return outs if len(outs) != 1 else outs[0]

        @staticmethod
        def backward(ctx: Any, *grads: Tensor) -> tuple:
            grads = tuple(g if r else None for g, r in zip(grads, ctx.requires))
            return (None, *_run_backward_hooks(ctx.state, grads))

    return BackwardHookFunctionInputs, BackwardHookFunctionOutputs


_FUNCTIONS: list = []


def _hook_functions() -> tuple[type, type]:
    if not _FUNCTIONS:
        _FUNCTIONS.extend(_functions())
    return _FUNCTIONS[0], _FUNCTIONS[1]


def _replace_tensors(args: tuple, new: Any, positions: list[int]) -> tuple:
    new = new if isinstance(new, tuple) else (new,)
    out = list(args)
    for i, t in zip(positions, new):
        out[i] = t
    return tuple(out)


def call_with_hooks(module: Any, args: tuple, kwargs: dict) -> Any:
    """``module(*args, **kwargs)`` with its forward pre-hooks, forward hooks and backward
    hooks, in torch's order."""
    for hid, hook in list(module._forward_pre_hooks.items()):
        if module._forward_pre_hooks_with_kwargs.get(hid):
            result = hook(module, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        "forward pre-hook must return None or a tuple of (new_args, new_kwargs),"
                        f" but got {result}."
                    )
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    state = None
    backward = module._backward_hooks or module._backward_pre_hooks
    if backward:
        from polygrad import is_grad_enabled

        backward = is_grad_enabled()
    if backward:
        inputs_fn, _ = _hook_functions()
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        module._n_tensor_inputs = len(positions)
        needing = [i for i in positions if args[i].requires_grad]
        state = _State(module, len(needing))
        if needing and module._backward_hooks:
            wrapped = inputs_fn.apply(state, *(args[i] for i in positions))
            args = _replace_tensors(args, wrapped, positions)
    output = module.forward(*args, **kwargs)
    for hid, hook in list(module._forward_hooks.items()):
        if module._forward_hooks_with_kwargs.get(hid):
            result = hook(module, args, kwargs, output)
        else:
            result = hook(module, args, output)
        if result is not None:
            output = result
    if state is not None:
        _, outputs_fn = _hook_functions()
        single = isinstance(output, Tensor)
        outs = (output,) if single else output
        if isinstance(outs, tuple):
            positions = [i for i, o in enumerate(outs) if isinstance(o, Tensor)
                         and o.requires_grad]
            if positions:
                wrapped = outputs_fn.apply(state, *(outs[i] for i in positions))
                outs = _replace_tensors(outs, wrapped, positions)
            output = outs[0] if single else outs
    return output
