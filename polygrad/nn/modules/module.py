"""Module and Parameter: the base class that finds parameters, buffers and sub-modules.

A Module finds its parameters, buffers and sub-modules by walking its attributes (Tensors,
Modules, and lists, tuples and dicts of them), so a subclass only assigns them in ``__init__``.
Names are the attribute paths (``"layers.0.weight"``), the same as torch's for the same model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import polygrad as pg
from polygrad import Tensor, _capture
from polygrad._backend import resolve_to_args

from ..functional._utils import creating_like
from .hooks import RemovableHandle, add_hook, call_with_hooks


class Parameter(Tensor):
    """A Tensor that is a trainable parameter of a Module.

    It shares ``data``'s array, is a leaf, and requires grad unless told otherwise. A Module
    lists every Parameter among its attributes in ``parameters()`` and ``state_dict()``, even
    one whose ``requires_grad`` was switched off (a frozen parameter).

    Parameters
    ----------
    data : Tensor, optional
        The initial value (an empty float tensor if None).
    requires_grad : bool

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> w = nn.Parameter(polygrad.zeros(2, 3))
    >>> w.requires_grad, w.is_leaf, isinstance(w, polygrad.Tensor)
    (True, True, True)
    """

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        if data is None:
            data = pg.empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(
                f"Parameter needs a polygrad Tensor, got {type(data).__name__}; "
                "wrap the values with polygrad.tensor(...) first"
            )
        super().__init__(data._data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _rebind(t: Tensor, source: Tensor) -> None:
    """Make ``t`` hold ``source``'s array (maybe of another backend), keeping ``t``'s identity,
    ``requires_grad`` and gradient: what lets optimizers keep their references across ``to``."""
    grad, requires_grad = t.grad, t.requires_grad
    Tensor.__init__(t, source._data, requires_grad=requires_grad)
    t.grad = grad


def _is_parameter(t: Tensor) -> bool:
    return isinstance(t, Parameter) or (t.requires_grad and t.is_leaf)


def _walk(name: str, value: Any, out: list) -> None:
    if isinstance(value, (Tensor, Module)):
        out.append((name, value))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _walk(f"{name}.{i}", item, out)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _walk(f"{name}.{key}", item, out)


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


_PRINTING: set[int] = set()


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` reports: keys the model has but the dict lacked, and the
    reverse (both empty after a strict load)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer and model.

    Assign parameters (``Parameter`` or any leaf Tensor with ``requires_grad``), sub-modules,
    and lists, tuples or dicts of them as attributes in ``__init__``, and write ``forward``;
    calling the module runs ``forward``. Everything else (``parameters``, ``state_dict``,
    ``to``, ``train``/``eval``, ``zero_grad``, the printed tree) finds them by walking the
    attributes. Tensors that are state but not trained (running statistics) are registered
    with :meth:`register_buffer` so they are saved and moved too.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> class TwoLayer(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(4, 8)
    ...         self.out = nn.Linear(8, 1)
    ...     def forward(self, x):
    ...         return self.out(self.hidden(x).relu())
    >>> model = TwoLayer()
    >>> [name for name, _ in model.named_parameters()]
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    >>> model(polygrad.ones(3, 4)).shape
    (3, 1)
    """

    #: True in training mode (the default), False after ``eval()``.
    training: bool = True
    # hooks by handle id; these class-level empty dicts are never written (each module gets
    # its own on its first registration), so a module without hooks pays one check per call
    _forward_pre_hooks: dict = {}
    _forward_pre_hooks_with_kwargs: dict = {}
    _forward_hooks: dict = {}
    _forward_hooks_with_kwargs: dict = {}
    _backward_hooks: dict = {}
    _backward_pre_hooks: dict = {}
    _HOOKS = (
        "_forward_pre_hooks",
        "_forward_pre_hooks_with_kwargs",
        "_forward_hooks",
        "_forward_hooks_with_kwargs",
        "_backward_hooks",
        "_backward_pre_hooks",
        "_n_tensor_inputs",
    )
    _INTERNAL = frozenset({"training", "_buffers", *_HOOKS})

    def __init__(self) -> None:
        self.training = True
        self._buffers: dict[str, bool] = {}  # buffer name -> persistent (saved in state_dict)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _capture.rec is not None:  # polygrad.compile guards on the training flag
            _capture.rec.module(self)
        if (
            self._forward_pre_hooks
            or self._forward_hooks
            or self._backward_hooks
            or self._backward_pre_hooks
        ):
            return call_with_hooks(self, args, kwargs)
        return self.forward(*args, **kwargs)

    # -- hooks ----------------------------------------------------------------------------
    def _hooks(self, name: str) -> dict:
        if name not in vars(self):
            setattr(self, name, {})
        return getattr(self, name)

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward (``hook(module, args, kwargs)``
        with ``with_kwargs``); a non-None result replaces the arguments (a single value is
        wrapped in a tuple; with ``with_kwargs`` it must be ``(args, kwargs)``).

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` unregisters the hook.

        Examples
        --------
        >>> import polygrad
        >>> import polygrad.nn as nn
        >>> layer = nn.Identity()
        >>> handle = layer.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
        >>> layer(polygrad.tensor(1.0)).item()
        2.0
        >>> handle.remove()
        >>> layer(polygrad.tensor(1.0)).item()
        1.0
        """
        return add_hook(
            self._hooks("_forward_pre_hooks"),
            hook,
            prepend,
            self._hooks("_forward_pre_hooks_with_kwargs"),
            with_kwargs,
        )

    def register_forward_hook(
        self,
        hook: Callable,
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward (``hook(module, args,
        kwargs, output)`` with ``with_kwargs``); a non-None result replaces the output.
        ``always_call`` is accepted (polygrad runs the hooks only when forward returns).

        Examples
        --------
        >>> import polygrad
        >>> import polygrad.nn as nn
        >>> seen = []
        >>> layer = nn.Linear(2, 3)
        >>> handle = layer.register_forward_hook(lambda m, args, out: seen.append(out.shape))
        >>> _ = layer(polygrad.ones(4, 2))
        >>> seen
        [(4, 3)]
        """
        return add_hook(
            self._hooks("_forward_hooks"),
            hook,
            prepend,
            self._hooks("_forward_hooks_with_kwargs"),
            with_kwargs,
        )

    def register_full_backward_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to
        the module's Tensor inputs are computed; a non-None result replaces ``grad_input``.
        ``grad_input`` has None for inputs that need no gradient, as in torch.

        Examples
        --------
        >>> import polygrad
        >>> import polygrad.nn as nn
        >>> layer = nn.Linear(2, 1)
        >>> handle = layer.register_full_backward_hook(
        ...     lambda m, gin, gout: print([g.shape for g in gout]))
        >>> layer(polygrad.ones(3, 2)).sum().backward()
        [(3, 1)]
        """
        return add_hook(self._hooks("_backward_hooks"), hook, prepend)

    def register_full_backward_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients with respect to the module's
        outputs are known; a non-None result replaces ``grad_output``."""
        return add_hook(self._hooks("_backward_pre_hooks"), hook, prepend)

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        """Not supported: torch's deprecated non-full backward hook (its gradients depend on
        the last op inside forward); use :meth:`register_full_backward_hook`."""
        raise NotImplementedError(
            "polygrad does not implement torch's deprecated Module.register_backward_hook; use "
            "register_full_backward_hook"
        )

    # -- registration ---------------------------------------------------------------------
    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a Tensor that is state but not a parameter (e.g. running statistics).

        Buffers are moved by :meth:`to` and, if ``persistent``, saved in :meth:`state_dict`.
        Re-assigning the attribute later (``self.name = t``) keeps it a buffer.

        Examples
        --------
        >>> import polygrad
        >>> import polygrad.nn as nn
        >>> m = nn.Module()
        >>> m.register_buffer("steps", polygrad.tensor(0))
        >>> list(m.state_dict())
        ['steps']
        """
        _check_name(self, name, "buffer", getattr(self, "_buffers", {}))
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(polygrad Tensor or None required)"
            )
        if "_buffers" not in vars(self):
            self._buffers = {}
        setattr(self, name, tensor)
        self._buffers[name] = persistent

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None) under ``name``, as ``setattr`` with torch's checks.

        Raises
        ------
        KeyError
            If ``name`` is empty, contains ".", or is an attribute that is not a parameter.
        TypeError
            If ``param`` is neither a Parameter nor None.
        ValueError
            If ``param`` is not a leaf.
        """
        current = vars(self).get(name)
        own = isinstance(current, Parameter) or (current is None and name in vars(self))
        _check_name(self, name, "parameter", (name,) if own else ())
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(polygrad.nn.Parameter or None required)"
            )
        if param is not None and not param.is_leaf:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must "
                "be created explicitly."
            )
        setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module (or None) under ``name``, as ``setattr`` with torch's checks.

        Raises
        ------
        TypeError
            If ``module`` is not a Module or None, or ``name`` not a str.
        KeyError
            If ``name`` is empty, contains ".", or is another attribute already.
        """
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        current = vars(self).get(name)
        own = isinstance(current, Module) or (current is None and name in vars(self))
        _check_name(self, name, "module", (name,) if own else ())
        setattr(self, name, module)

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The module at dotted path ``target`` (``""`` is this module), as torch's.

        Raises
        ------
        AttributeError
            If a step of the path does not exist or is not a Module.

        Examples
        --------
        >>> import polygrad.nn as nn
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU()))
        >>> net.get_submodule("1.0")
        ReLU()
        """
        if target == "":
            return self
        mod: Module = self
        parts = target.split(".")
        while parts:
            members = dict(mod._members())
            for k in range(1, len(parts) + 1):  # list members are named "attr.index"
                name = ".".join(parts[:k])
                if name in members:
                    break
            else:
                raise AttributeError(f"{type(mod).__name__} has no attribute `{parts[0]}`")
            value = members[name]
            if not isinstance(value, Module):
                raise AttributeError(f"`{name}` is not an nn.Module")
            mod, parts = value, parts[k:]
        return mod

    def get_parameter(self, target: str) -> Tensor:
        """The parameter at dotted path ``target`` (``"layer.weight"``).

        Raises
        ------
        AttributeError
            If the path does not lead to a parameter.
        """
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        params = dict(mod._own_tensors()[0])
        if name not in params:
            if not hasattr(mod, name):
                raise AttributeError(f"{type(mod).__name__} has no attribute `{name}`")
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return params[name]

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at dotted path ``target``.

        Raises
        ------
        AttributeError
            If the path does not lead to a buffer.
        """
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in getattr(mod, "_buffers", {}):
            if not hasattr(mod, name):
                raise AttributeError(f"{type(mod).__name__} has no attribute `{name}`")
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(mod, name)

    # -- walking --------------------------------------------------------------------------
    def _members(self) -> list[tuple[str, Tensor | Module]]:
        """Tensors and Modules among the attributes, with their dotted attribute paths."""
        out: list = []
        for name, value in vars(self).items():
            if name not in self._INTERNAL:
                _walk(name, value, out)
        return out

    def _own_tensors(self) -> tuple[list[tuple[str, Tensor]], list[tuple[str, Tensor, bool]]]:
        """This module's own (not its children's) parameters, and buffers with persistence."""
        buffers = getattr(self, "_buffers", {})
        params = [
            (n, t)
            for n, t in self._members()
            if isinstance(t, Tensor) and n not in buffers and _is_parameter(t)
        ]
        bufs = [(n, getattr(self, n), keep) for n, keep in buffers.items()]
        return params, [(n, t, keep) for n, t, keep in bufs if isinstance(t, Tensor)]

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Direct sub-modules with their names (each module once)."""
        seen: set[int] = set()
        for name, m in self._members():
            if isinstance(m, Module) and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        """Direct sub-modules."""
        for _, m in self.named_children():
            yield m

    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """This module and every module below it, depth first, with dotted names; a module
        reachable under several names appears once unless ``remove_duplicate=False``."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, m in self._members():
            if isinstance(m, Module):
                yield from m.named_modules(memo, _join(prefix, name), remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """This module and every module below it."""
        for _, m in self.named_modules():
            yield m

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """Parameters with dotted names, in torch's order; a shared parameter appears once.

        Examples
        --------
        >>> import polygrad.nn as nn
        >>> [n for n, _ in nn.Sequential(nn.Linear(2, 3), nn.ReLU()).named_parameters()]
        ['0.weight', '0.bias']
        """
        seen: set[int] = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for module_name, m in modules:
            for name, t in m._own_tensors()[0]:
                if id(t) not in seen:
                    if remove_duplicate:
                        seen.add(id(t))
                    yield _join(module_name, name), t

    def parameters(self, recurse: bool = True) -> Iterator[Tensor]:
        """The parameters, for an optimizer: ``SGD(model.parameters(), lr=0.1)``."""
        for _, t in self.named_parameters(recurse=recurse):
            yield t

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """Buffers (persistent or not) with dotted names."""
        seen: set[int] = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for module_name, m in modules:
            for name, t, _ in m._own_tensors()[1]:
                if id(t) not in seen:
                    if remove_duplicate:
                        seen.add(id(t))
                    yield _join(module_name, name), t

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """The buffers."""
        for _, t in self.named_buffers(recurse=recurse):
            yield t

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every module (children first, as torch); returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- modes and gradients --------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and every module below it; returns self.

        Raises
        ------
        ValueError
            If ``mode`` is not a bool (as torch).
        """
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode (``train(False)``): Dropout off, BatchNorm uses running stats."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Switch ``requires_grad`` of every parameter (freeze with False); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients: set them to None (the default) or to zeros."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = pg.zeros_like(p.grad)

    # -- state ----------------------------------------------------------------------------
    def _state_entries(self, prefix: str, path: tuple[int, ...]) -> Iterator[tuple[str, Tensor]]:
        # as torch: own parameters, then own persistent buffers, then each child; a module or
        # tensor reachable under two names is listed under both
        if id(self) in path:
            return
        params, buffers = self._own_tensors()
        for name, t in params:
            yield _join(prefix, name), t
        for name, t, persistent in buffers:
            if persistent:
                yield _join(prefix, name), t
        for name, m in self._members():
            if isinstance(m, Module):
                yield from m._state_entries(_join(prefix, name), path + (id(self),))

    def state_dict(
        self,
        *,
        destination: dict[str, Any] | None = None,
        prefix: str = "",
        keep_vars: bool = False,
    ) -> dict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name.

        The values are detached tensors sharing the model's arrays, as in torch; the model
        itself when ``keep_vars``.

        Examples
        --------
        >>> import polygrad.nn as nn
        >>> list(nn.BatchNorm1d(3).state_dict())
        ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
        """
        # as torch: the prefix is prepended as is ("model." gives "model.weight")
        entries = {
            prefix + n: t if keep_vars else t.detach() for n, t in self._state_entries("", ())
        }
        if destination is None:
            return entries
        destination.update(entries)  # torch's ``destination=``: filled and returned
        return destination

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> IncompatibleKeys:
        """Load values into the parameters and buffers, keeping their identities.

        Values may be polygrad Tensors of any backend or device, or host arrays; they are
        moved to each parameter's backend, device and dtype. Nothing is changed unless every
        value can be loaded.

        Parameters
        ----------
        state_dict : mapping of str to Tensor
        strict : bool
            Refuse missing and unexpected keys (shape mismatches are always refused).
        assign : bool
            Accepted; the values are always copied into the existing parameters (torch's
            ``assign=True`` would make the given tensors the parameters: same values).

        Returns
        -------
        IncompatibleKeys
            ``(missing_keys, unexpected_keys)``.

        Raises
        ------
        RuntimeError
            Listing every missing, unexpected (when ``strict``) and mis-shaped key.

        Examples
        --------
        >>> import polygrad.nn as nn
        >>> a, b = nn.Linear(2, 3), nn.Linear(2, 3)
        >>> b.load_state_dict(a.state_dict())
        IncompatibleKeys(missing_keys=[], unexpected_keys=[])
        >>> bool((a.weight == b.weight).all())
        True
        """
        own = dict(self._state_entries("", ()))
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        if strict and missing:
            problems.append(
                "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". "
            )
        if strict and unexpected:
            problems.append(
                "Unexpected key(s) in state_dict: "
                + ", ".join(f'"{k}"' for k in unexpected)
                + ". "
            )
        loaded: dict[str, Tensor] = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            try:
                value = _loadable(state_dict[key], target)
            except (TypeError, ValueError, pg.BackendError) as e:
                problems.append(f"{key!r}: cannot convert the value: {e}")
                continue
            if value.shape != target.shape:
                problems.append(
                    f"size mismatch for {key}: copying a param with shape {value.shape} from "
                    f"checkpoint, the shape in current model is {target.shape}."
                )
            loaded[key] = value
        if problems:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(problems)
            )
        with pg.no_grad():
            for key, value in loaded.items():
                _rebind(own[key], value)
        return IncompatibleKeys(missing, unexpected)

    # -- moving ---------------------------------------------------------------------------
    def to(self, dtype: Any = None, *, backend: str | None = None, device: Any = None) -> Module:
        """Move every parameter and buffer to ``backend`` / ``device`` and cast the floating
        ones to ``dtype``, in place: the same Parameter objects now hold the moved arrays, so
        an optimizer built before still works. Gradients move along. Returns self.

        As with tensors, the positional argument may also be a backend name or a device:
        ``model.to("torch")``, ``model.to("cpu")``.

        Examples
        --------
        >>> import polygrad
        >>> import polygrad.nn as nn
        >>> layer = nn.Linear(2, 3)
        >>> w = layer.weight
        >>> layer.to(polygrad.float64).weight is w, w.dtype
        (True, polygrad.float64)
        """
        dtype, backend, device = resolve_to_args(dtype, backend, device)
        seen: set[int] = set()
        tensors = [t for _, t in self.named_parameters()] + [t for _, t in self.named_buffers()]
        with pg.no_grad():
            for t in tensors:
                if id(t) in seen:
                    continue
                seen.add(id(t))
                moved = _moved(t, dtype, backend, device)
                if moved is not t:
                    _rebind(t, moved)
                if t.grad is not None:
                    t.grad = _moved(t.grad, dtype, backend, device)
        return self

    def double(self) -> Module:
        """Cast floating parameters and buffers to float64; returns self."""
        return self.to(pg.float64)

    def float(self) -> Module:
        """Cast floating parameters and buffers to float32; returns self."""
        return self.to(pg.float32)

    def half(self) -> Module:
        """Cast floating parameters and buffers to float16; returns self.

        Raises
        ------
        TypeError
            If polygrad has no float16 dtype (then nothing changes).
        """
        return self.to(_low_precision("float16", "half"))

    def bfloat16(self) -> Module:
        """Cast floating parameters and buffers to bfloat16; returns self.

        Raises
        ------
        TypeError
            If polygrad has no bfloat16 dtype (then nothing changes).
        """
        return self.to(_low_precision("bfloat16", "bfloat16"))

    # -- printing -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The settings shown between the parentheses of this module's repr."""
        return ""

    def _header(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def __repr__(self) -> str:
        if id(self) in _PRINTING:  # a module reachable from itself
            return f"{type(self).__name__}(...)"
        _PRINTING.add(id(self))
        try:
            return self._tree_repr()
        finally:
            _PRINTING.discard(id(self))

    def _tree_repr(self) -> str:
        lines = [line for line in self.extra_repr().split("\n") if line]
        lines += [f"({name}): {_indent(repr(m))}" for name, m in self.named_children()]
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not any(True for _ in self.named_children()):
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _check_name(module: Module, name: Any, kind: str, own: Any) -> None:
    """torch's checks of a name given to register_buffer / register_parameter / add_module:
    a non-empty str without ".", not already another attribute (``own``: names of that kind
    it may replace)."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if hasattr(module, name) and name not in own:
        raise KeyError(f"attribute '{name}' already exists")


def _low_precision(name: str, method: str) -> Any:
    dtype = getattr(pg, name, None)
    if dtype is None:
        raise TypeError(f"Module.{method}(): polygrad has no {name} dtype")
    return dtype


def _moved(t: Tensor, dtype: Any, backend: str | None, device: Any) -> Tensor:
    out = t.to(backend=backend, device=device) if (backend or device is not None) else t
    if dtype is not None and out.dtype.is_floating_point:
        out = pg.astype(out, dtype, copy=False)
    return out


def _loadable(value: Any, target: Tensor) -> Tensor:
    """A new copy of ``value`` on ``target``'s backend and device, with its dtype."""
    if isinstance(value, Tensor):
        value = value.to(backend=target.backend, device=target.device)
    with creating_like(target):
        return pg.tensor(value, dtype=target.dtype)
