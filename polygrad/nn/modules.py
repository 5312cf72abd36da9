"""Module and Parameter, the containers, the layers, the activations and the losses as modules.

A Module finds its parameters, buffers and sub-modules by walking its attributes (Tensors,
Modules, and lists, tuples and dicts of them), so a subclass only assigns them in ``__init__``.
Names are the attribute paths (``"layers.0.weight"``), the same as torch's for the same model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import polygrad as pg
from polygrad import Tensor
from polygrad._backend import resolve_to_args

from . import functional as F
from . import init


# ============================================================================================
# Parameter
# ============================================================================================
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
        super().__init__(data.data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _rebind(t: Tensor, source: Tensor) -> None:
    """Make ``t`` hold ``source``'s array (maybe of another backend), keeping ``t``'s identity,
    ``requires_grad`` and gradient: what lets optimizers keep their references across ``to``."""
    grad, requires_grad = t.grad, t.requires_grad
    Tensor.__init__(t, source.data, requires_grad=requires_grad)
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


# ============================================================================================
# Module
# ============================================================================================
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
    _INTERNAL = frozenset({"training", "_buffers"})

    def __init__(self) -> None:
        self.training = True
        self._buffers: dict[str, bool] = {}  # buffer name -> persistent (saved in state_dict)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

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
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"buffer name must be a non-empty string without '.', got {name!r}")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"buffer {name!r} must be a polygrad Tensor or None, not {type(tensor).__name__}"
            )
        if "_buffers" not in vars(self):
            self._buffers = {}
        setattr(self, name, tensor)
        self._buffers[name] = persistent

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Same as ``setattr(self, name, param)`` (for code written against torch)."""
        setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Same as ``setattr(self, name, module)`` (for code written against torch)."""
        setattr(self, name, module)

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
        self, memo: set[int] | None = None, prefix: str = ""
    ) -> Iterator[tuple[str, Module]]:
        """This module and every module below it, depth first, each once, with dotted names."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._members():
            if isinstance(m, Module):
                yield from m.named_modules(memo, _join(prefix, name))

    def modules(self) -> Iterator[Module]:
        """This module and every module below it."""
        for _, m in self.named_modules():
            yield m

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """Parameters with dotted names, in torch's order; a shared parameter appears once.

        Examples
        --------
        >>> import polygrad.nn as nn
        >>> [n for n, _ in nn.Sequential(nn.Linear(2, 3), nn.ReLU()).named_parameters()]
        ['0.weight', '0.bias']
        """
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_name, m in modules:
            for name, t in m._own_tensors()[0]:
                if id(t) not in seen:
                    seen.add(id(t))
                    yield _join(module_name, name), t

    def parameters(self, recurse: bool = True) -> Iterator[Tensor]:
        """The parameters, for an optimizer: ``SGD(model.parameters(), lr=0.1)``."""
        for _, t in self.named_parameters(recurse=recurse):
            yield t

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        """Buffers (persistent or not) with dotted names."""
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_name, m in modules:
            for name, t, _ in m._own_tensors()[1]:
                if id(t) not in seen:
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
        """Set training mode on this module and every module below it; returns self."""
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

    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> dict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name.

        The values are detached tensors sharing the model's arrays, as in torch; the model
        itself when ``keep_vars``.

        Examples
        --------
        >>> import polygrad.nn as nn
        >>> list(nn.BatchNorm1d(3).state_dict())
        ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
        """
        return {name: t if keep_vars else t.detach() for name, t in self._state_entries(prefix, ())}

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
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
            problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
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
                    f"size mismatch for {key!r}: the state_dict has shape {value.shape}, "
                    f"the model has {target.shape}"
                )
            loaded[key] = value
        if problems:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n  "
                + "\n  ".join(problems)
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


def _moved(t: Tensor, dtype: Any, backend: str | None, device: Any) -> Tensor:
    out = t.to(backend=backend, device=device) if (backend or device is not None) else t
    if dtype is not None and out.dtype.is_floating_point:
        out = pg.astype(out, dtype, copy=False)
    return out


def _loadable(value: Any, target: Tensor) -> Tensor:
    """A new copy of ``value`` on ``target``'s backend and device, with its dtype."""
    if isinstance(value, Tensor):
        value = value.to(backend=target.backend, device=target.device)
    with F.creating_like(target):
        return pg.tensor(value, dtype=target.dtype)


# ============================================================================================
# containers
# ============================================================================================
class _IndexedModules(Module):
    """Sub-modules stored as attributes named "0", "1", ... (or given names), in order."""

    def _add(self, name: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__} holds Modules, got {type(module).__name__}")
        if hasattr(type(self), name):
            raise KeyError(f"{type(self).__name__}: the name {name!r} clashes with an attribute")
        setattr(self, name, module)

    def _items(self) -> list[tuple[str, Module]]:
        return [(k, v) for k, v in vars(self).items() if isinstance(v, Module)]

    def _reset(self, modules: Iterable[Module]) -> None:
        for name, _ in self._items():
            delattr(self, name)
        for i, m in enumerate(modules):
            self._add(str(i), m)

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self) -> Iterator[Module]:
        return iter([m for _, m in self._items()])

    def _index(self, idx: int) -> int:
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for {type(self).__name__} of length {n}")
        return idx % n

    def __getitem__(self, idx: int | slice) -> Any:
        items = self._items()
        if isinstance(idx, slice):
            return type(self)._from_items(items[idx])
        return items[self._index(idx)][1]

    def __setitem__(self, idx: int, module: Module) -> None:
        items = self._items()
        i = self._index(idx)
        items[i] = (items[i][0], module)
        for name, _ in self._items():
            delattr(self, name)
        for name, m in items:
            self._add(name, m)

    def __delitem__(self, idx: int | slice) -> None:
        modules = [m for _, m in self._items()]
        del modules[idx if isinstance(idx, slice) else self._index(idx)]
        self._reset(modules)

    @classmethod
    def _from_items(cls, items: list[tuple[str, Module]]) -> Module:
        raise NotImplementedError


class Sequential(_IndexedModules):
    """Modules applied one after another; children are named "0", "1", ... as in torch, or by
    the keys of a dict given as the only argument.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> model(polygrad.ones(5, 4)).shape
    (5, 2)
    >>> model[0]
    Linear(in_features=4, out_features=8, bias=True)
    """

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, m in modules[0].items():
                self._add(str(name), m)
        else:
            for i, m in enumerate(modules):
                self._add(str(i), m)

    @classmethod
    def _from_items(cls, items: list[tuple[str, Module]]) -> Module:
        return Sequential(dict(items))

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end; returns self."""
        self._add(str(len(self)), module)
        return self

    def forward(self, x: Any) -> Any:
        for m in self:
            x = m(x)
        return x


class ModuleList(_IndexedModules):
    """A list of modules whose parameters the parent finds; children are named "0", "1", ...

    Examples
    --------
    >>> import polygrad.nn as nn
    >>> blocks = nn.ModuleList([nn.Linear(3, 3) for _ in range(2)])
    >>> blocks.append(nn.Tanh())
    ModuleList(
      (0): Linear(in_features=3, out_features=3, bias=True)
      (1): Linear(in_features=3, out_features=3, bias=True)
      (2): Tanh()
    )
    >>> len(list(blocks.parameters()))
    4
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        for i, m in enumerate(modules or ()):
            self._add(str(i), m)

    @classmethod
    def _from_items(cls, items: list[tuple[str, Module]]) -> Module:
        return ModuleList([m for _, m in items])

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns self."""
        self._add(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add each of ``modules`` at the end; returns self."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index``."""
        modules = [m for _, m in self._items()]
        modules.insert(index, module)
        self._reset(modules)


# ============================================================================================
# simple layers
# ============================================================================================
class Identity(Module):
    """Returns its input unchanged (accepts and ignores any constructor arguments).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> x = polygrad.ones(2)
    >>> nn.Identity()(x) is x
    True
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """Merge axes ``start_dim`` through ``end_dim`` (by default all but the batch axis).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.Flatten()(polygrad.ones(2, 3, 4)).shape
    (2, 12)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def forward(self, x: Tensor) -> Tensor:
        return pg.flatten(x, self.start_dim, self.end_dim)


class Linear(Module):
    """``y = x @ weight.T + bias`` with ``weight`` of shape (out_features, in_features).

    Initialized as torch: weight by ``kaiming_uniform_(a=sqrt(5))``, bias by
    U(-1/sqrt(in_features), 1/sqrt(in_features)).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> layer = nn.Linear(4, 3)
    >>> layer.weight.shape, layer.bias.shape
    ((3, 4), (3,))
    >>> layer(polygrad.ones(2, 4)).shape
    (2, 3)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(pg.empty(out_features, in_features, dtype=dtype, device=device))
        self.bias = Parameter(pg.empty(out_features, dtype=dtype, device=device)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the parameters with torch's default initialization."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{self._header()}: expected input with last dimension {self.in_features}, "
                f"got shape {x.shape}"
            )
        return F.linear(x, self.weight, self.bias)


class Embedding(Module):
    """A lookup table: integer indices of any shape pick rows of ``weight``
    (num_embeddings, embedding_dim), initialized N(0, 1) as torch. Row ``padding_idx`` starts
    at zero and gets no gradient.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> emb = nn.Embedding(10, 3)
    >>> emb(polygrad.tensor([[1, 2], [3, 9]])).shape
    (2, 2, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"padding_idx {padding_idx} is out of range for {num_embeddings} embeddings"
                )
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.weight = Parameter(pg.empty(num_embeddings, embedding_dim, dtype=dtype, device=device))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weight from N(0, 1), with the padding row zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with pg.no_grad():
                self.weight[self.padding_idx] = pg.zeros_like(self.weight[self.padding_idx])

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dtype.kind not in ("int", "uint"):
            got = x.dtype.name if isinstance(x, Tensor) else type(x).__name__
            raise TypeError(f"{self._header()}: expected an integer tensor of indices, got {got}")
        return F.embedding(x, self.weight, self.padding_idx)


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the
    others by ``1 / (1 - p)``; the identity in eval mode.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> drop = nn.Dropout(0.5)
    >>> x = polygrad.ones(4)
    >>> drop.eval()(x) is x
    True
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be between 0 and 1, got {p}")
        self.p = float(p)
        self.inplace = inplace  # accepted for torch code; the result is the same either way

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)


# ============================================================================================
# normalization
# ============================================================================================
class _BatchNorm(Module):
    _dims: tuple[int, ...] = ()
    _layout = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        c = self.num_features
        self.weight = Parameter(pg.ones(c, dtype=dtype, device=device)) if affine else None
        self.bias = Parameter(pg.zeros(c, dtype=dtype, device=device)) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", pg.zeros(c, dtype=dtype, device=device))
            self.register_buffer("running_var", pg.ones(c, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", pg.tensor(0, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self._dims or x.shape[1] != self.num_features:
            raise ValueError(
                f"{self._header()}: expected input of shape {self._layout} with "
                f"C={self.num_features}, got shape {x.shape}"
            )
        use_batch_stats = self.training or not self.track_running_stats
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with pg.no_grad():
                self.num_batches_tracked[...] = self.num_batches_tracked + 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / int(self.num_batches_tracked.item())
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) inputs, per channel C.

    Training normalizes with the batch mean and biased variance and updates the running
    mean and the *unbiased* running variance with ``momentum`` (a cumulative average when
    ``momentum=None``); eval normalizes with the running statistics. ``running_mean``,
    ``running_var`` and ``num_batches_tracked`` are buffers, saved in ``state_dict``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> bn = nn.BatchNorm1d(3)
    >>> y = bn(polygrad.randn(8, 3))
    >>> bn.num_batches_tracked.item()
    1
    """

    _dims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) inputs, per channel C; as :class:`BatchNorm1d`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.BatchNorm2d(3)(polygrad.randn(2, 3, 4, 4)).shape
    (2, 3, 4, 4)
    """

    _dims = (4,)
    _layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalize over the trailing ``normalized_shape`` axes (biased variance), then scale by
    ``weight`` (ones) and shift by ``bias`` (zeros) elementwise.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.LayerNorm(4)(polygrad.randn(2, 4)).shape
    (2, 4)
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        shape = self.normalized_shape
        self.weight = (
            Parameter(pg.ones(shape, dtype=dtype, device=device)) if elementwise_affine else None
        )
        self.bias = (
            Parameter(pg.zeros(shape, dtype=dtype, device=device))
            if elementwise_affine and bias
            else None
        )

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k :] != self.normalized_shape or x.ndim < k:
            raise ValueError(
                f"{self._header()}: expected input whose last dimensions are "
                f"{self.normalized_shape}, got shape {x.shape}"
            )
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)


# ============================================================================================
# convolution and pooling
# ============================================================================================
class Conv2d(Module):
    """2-d convolution (cross-correlation) of (N, C_in, H, W) inputs, torch's layout and init.

    ``weight`` has shape (out_channels, in_channels / groups, kh, kw); ``padding`` may be
    ints or ``"valid"`` / ``"same"``. Weight by ``kaiming_uniform_(a=sqrt(5))`` and bias
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with ``fan_in = in_channels / groups * kh * kw``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> conv = nn.Conv2d(3, 8, kernel_size=3, stride=2, padding=1)
    >>> conv(polygrad.randn(2, 3, 16, 16)).shape
    (2, 8, 8, 8)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: in_channels={in_channels} and out_channels={out_channels} must both "
                f"be divisible by groups={groups}"
            )
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = F._pair(kernel_size, "kernel_size")
        self.stride = F._pair(stride, "stride")
        self.padding = padding if isinstance(padding, str) else F._pair(padding, "padding")
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise ValueError(f"Conv2d: padding must be 'valid', 'same' or ints, not {padding!r}")
        if padding == "same" and self.stride != (1, 1):
            raise ValueError("Conv2d: padding='same' needs stride 1")
        self.dilation = F._pair(dilation, "dilation")
        self.groups = int(groups)
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(pg.empty(shape, dtype=dtype, device=device))
        self.bias = Parameter(pg.empty(out_channels, dtype=dtype, device=device)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the parameters with torch's default initialization."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4) or x.shape[-3] != self.in_channels:
            raise ValueError(
                f"{self._header()}: expected input of shape (N, {self.in_channels}, H, W) or "
                f"({self.in_channels}, H, W), got shape {x.shape}"
            )
        return F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )


class MaxPool2d(Module):
    """Maximum over ``kernel_size`` windows (stride defaults to the kernel size).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.MaxPool2d(2)(polygrad.randn(1, 3, 8, 8)).shape
    (1, 3, 4, 4)
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}"
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4):
            raise ValueError(
                f"{self._header()}: expected a (N, C, H, W) or (C, H, W) input, got shape {x.shape}"
            )
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)


class AvgPool2d(Module):
    """Mean over ``kernel_size`` windows (stride defaults to the kernel size) of the
    zero-padded input; ``count_include_pad=False`` leaves the padding out of the count.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.AvgPool2d(2)(polygrad.ones(1, 1, 4, 4)).tolist()
    [[[[1.0, 1.0], [1.0, 1.0]]]]
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4):
            raise ValueError(
                f"{self._header()}: expected a (N, C, H, W) or (C, H, W) input, got shape {x.shape}"
            )
        return F.avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.count_include_pad,
            self.divisor_override,
        )


# ============================================================================================
# activations
# ============================================================================================
class ReLU(Module):
    """``max(x, 0)`` (``inplace`` is accepted for torch code and changes nothing).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.ReLU()(polygrad.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""

    def forward(self, x: Tensor) -> Tensor:
        return pg.relu(x)


class LeakyReLU(Module):
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.LeakyReLU(0.5)(polygrad.tensor([-1.0, 2.0])).tolist()
    [-0.5, 2.0]
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")

    def forward(self, x: Tensor) -> Tensor:
        return pg.leaky_relu(x, self.negative_slope)


class Tanh(Module):
    """Hyperbolic tangent.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.Tanh()(polygrad.tensor([0.0])).tolist()
    [0.0]
    """

    def forward(self, x: Tensor) -> Tensor:
        return pg.tanh(x)


class Sigmoid(Module):
    """Logistic sigmoid ``1 / (1 + exp(-x))``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.Sigmoid()(polygrad.tensor([0.0])).tolist()
    [0.5]
    """

    def forward(self, x: Tensor) -> Tensor:
        return pg.sigmoid(x)


class GELU(Module):
    """Gaussian error linear unit; ``approximate="tanh"`` for torch's tanh formula.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.GELU()(polygrad.tensor([0.0])).tolist()
    [0.0]
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"

    def forward(self, x: Tensor) -> Tensor:
        return pg.gelu(x, self.approximate)


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> round(nn.Softplus()(polygrad.tensor([0.0])).item(), 4)
    0.6931
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"

    def forward(self, x: Tensor) -> Tensor:
        return pg.softplus(x, self.beta, self.threshold)


class Softmax(Module):
    """Softmax along ``dim`` (torch's legacy default axis when None).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.Softmax(dim=-1)(polygrad.tensor([0.0, 0.0])).tolist()
    [0.5, 0.5]
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim)


class LogSoftmax(Module):
    """Log-softmax along ``dim`` (torch's legacy default axis when None).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> round(nn.LogSoftmax(dim=-1)(polygrad.tensor([0.0, 0.0]))[0].item(), 4)
    -0.6931
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.dim)


# ============================================================================================
# MLP
# ============================================================================================
ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "gelu": GELU,
    "softplus": Softplus,
    "identity": Identity,
}


class MLP(Sequential):
    """A multilayer perceptron: for each hidden size, Linear, then BatchNorm1d (if
    ``batchnorm``), the activation, and Dropout (if ``dropout > 0``); then a last Linear.

    It is a :class:`Sequential`, so its parameter names (``"0.weight"`` ...) are those of the
    same torch ``nn.Sequential``.

    Parameters
    ----------
    in_features, out_features : int
    hidden_sizes : int or sequence of int
    activation : str or callable returning a Module
        One of relu, leaky_relu, tanh, sigmoid, gelu, softplus, identity, or e.g.
        ``lambda: nn.LeakyReLU(0.2)``.
    dropout : float
    batchnorm : bool

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> mlp = nn.MLP(4, [16, 16], 3, activation="tanh", dropout=0.1)
    >>> mlp(polygrad.randn(5, 4)).shape
    (5, 3)
    >>> [type(m).__name__ for m in mlp]
    ['Linear', 'Tanh', 'Dropout', 'Linear', 'Tanh', 'Dropout', 'Linear']
    """

    def __init__(
        self,
        in_features: int,
        hidden_sizes: int | Sequence[int],
        out_features: int,
        activation: str | Callable[[], Module] = "relu",
        dropout: float = 0.0,
        batchnorm: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if isinstance(activation, str):
            if activation not in ACTIVATIONS:
                raise ValueError(
                    f"MLP: unknown activation {activation!r}; use one of "
                    f"{', '.join(ACTIVATIONS)} or pass a callable returning a Module"
                )
            make_activation: Callable[[], Module] = ACTIVATIONS[activation]
        else:
            make_activation = activation
        sizes = [hidden_sizes] if isinstance(hidden_sizes, int) else list(hidden_sizes)
        layers: list[Module] = []
        prev = in_features
        for size in sizes:
            layers.append(Linear(prev, size, device=device, dtype=dtype))
            if batchnorm:
                layers.append(BatchNorm1d(size, device=device, dtype=dtype))
            layers.append(make_activation())
            if dropout > 0:
                layers.append(Dropout(dropout))
            prev = size
        layers.append(Linear(prev, out_features, device=device, dtype=dtype))
        super().__init__(*layers)


# ============================================================================================
# losses
# ============================================================================================
class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean (or summed, or unreduced) squared error.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.MSELoss()(polygrad.tensor([1.0, 2.0]), polygrad.tensor([1.0, 4.0])).item()
    2.0
    """

    def forward(self, x: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(x, target, self.reduction)


class L1Loss(_Loss):
    """Mean (or summed, or unreduced) absolute error.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.L1Loss(reduction="sum")(polygrad.tensor([1.0, 2.0]), polygrad.tensor([0.0, 4.0])).item()
    3.0
    """

    def forward(self, x: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(x, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits against integer class targets: fused, log-softmax based and
    stable, with torch's ``weight``, ``ignore_index``, ``label_smoothing`` and ``reduction``
    (the mean is over the targets not ignored). See :func:`polygrad.nn.functional.cross_entropy`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    >>> loss = loss_fn(polygrad.randn(4, 3, requires_grad=True), polygrad.tensor([0, 2, 1, 2]))
    >>> loss.backward()
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, x: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(
            x, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing
        )


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities against integer class targets, with
    ``weight``, ``ignore_index`` and ``reduction`` as :class:`CrossEntropyLoss`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.NLLLoss()(polygrad.tensor([[-1.0, -2.0]]), polygrad.tensor([0])).item()
    1.0
    """

    def __init__(
        self, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, x: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(x, target, self.weight, self.ignore_index, self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (logs clamped at -100, as torch).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> round(nn.BCELoss()(polygrad.tensor([0.5]), polygrad.tensor([0.0])).item(), 4)
    0.6931
    """

    def __init__(self, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)

    def forward(self, x: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(x, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of ``sigmoid(input)``, computed stably from logits, with optional
    ``weight`` (per element) and ``pos_weight`` (per class, for positives).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.BCEWithLogitsLoss()(polygrad.tensor([-1000.0]), polygrad.tensor([0.0])).item()
    0.0
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
    ) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, x: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            x, target, self.weight, self.reduction, self.pos_weight
        )
