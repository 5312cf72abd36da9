"""Containers: Sequential, ModuleList, ModuleDict, ParameterList and ParameterDict."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from polygrad import Tensor

from .module import Module


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

    def extend(self, modules: Iterable[Module]) -> Sequential:
        """Append each of ``modules``; returns self."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Insert ``module`` before position ``index`` (children are renumbered); returns self."""
        modules = [m for _, m in self._items()]
        modules.insert(index, module)
        self._reset(modules)
        return self

    def pop(self, index: int = -1) -> Module:
        """Remove the module at ``index`` and return it."""
        module = self[index]
        del self[index]
        return module

    def __add__(self, other: Sequential) -> Sequential:
        if not isinstance(other, Sequential):
            raise ValueError(
                "add operator supports only objects of Sequential class, but "
                f"{type(other)} is given."
            )
        return Sequential(*self, *other)

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


class ModuleDict(Module):
    """An ordered dict of modules whose parameters the parent finds, as ``torch.nn.ModuleDict``;
    each child is named by its key.

    Examples
    --------
    >>> import polygrad.nn as nn
    >>> heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "box": nn.Linear(4, 2)})
    >>> list(heads), heads["box"].out_features
    (['cls', 'box'], 2)
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _items(self) -> list[tuple[str, Module]]:
        return [(k, v) for k, v in vars(self).items() if isinstance(v, Module)]

    def __getitem__(self, key: str) -> Module:
        module = dict(self._items()).get(key)
        if module is None:
            raise KeyError(key)
        return module

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        self[key]  # noqa: B018  (KeyError for an unknown key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self) -> Iterator[str]:
        return iter([k for k, _ in self._items()])

    def __contains__(self, key: object) -> bool:
        return key in dict(self._items())

    def keys(self) -> list[str]:
        """The keys, in insertion order."""
        return [k for k, _ in self._items()]

    def values(self) -> list[Module]:
        """The modules, in insertion order."""
        return [m for _, m in self._items()]

    def items(self) -> list[tuple[str, Module]]:
        """``(key, module)`` pairs, in insertion order."""
        return self._items()

    def pop(self, key: str) -> Module:
        """Remove the module under ``key`` and return it."""
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        """Remove every module."""
        for k in self.keys():
            delattr(self, k)

    def update(self, modules: Mapping[str, Module] | Iterable) -> None:
        """Add or replace modules from a mapping or an iterable of ``(key, module)`` pairs.

        Raises
        ------
        TypeError
            If ``modules`` is neither (as torch).
        """
        if isinstance(modules, Mapping):
            pairs = list(modules.items())
        elif isinstance(modules, Iterable) and not isinstance(modules, (str, Module)):
            pairs = []
            for j, pair in enumerate(modules):
                if not isinstance(pair, Iterable) or len(pair) != 2:
                    raise TypeError(
                        f"ModuleDict update sequence element #{j} should be Iterable of length 2"
                    )
                pairs.append(tuple(pair))
        else:
            raise TypeError(
                "ModuleDict.update should be called with an iterable of key/value pairs, but "
                f"got {type(modules).__name__}"
            )
        for key, module in pairs:
            self.add_module(key, module)  # a key already there keeps its position


class ParameterList(Module):
    """A list of parameters the parent finds, as ``torch.nn.ParameterList`` (plain Tensors are
    made Parameters); children are named "0", "1", ...

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> ps = nn.ParameterList([polygrad.zeros(2), nn.Parameter(polygrad.ones(3))])
    >>> [n for n, _ in ps.named_parameters()], type(ps[0]).__name__
    (['0', '1'], 'Parameter')
    """

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        for v in values or ():
            self.append(v)

    def _values(self) -> list[Any]:
        return [v for k, v in vars(self).items() if k not in self._INTERNAL]

    def __len__(self) -> int:
        return len(self._values())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values())

    def __getitem__(self, idx: int | slice) -> Any:
        values = self._values()
        if isinstance(idx, slice):
            return ParameterList(values[idx])
        return values[idx]

    def __setitem__(self, idx: int, value: Any) -> None:
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range")
        setattr(self, str(idx % n), _as_parameter(value))

    def append(self, value: Any) -> ParameterList:
        """Add ``value`` (a Tensor becomes a Parameter) at the end; returns self."""
        setattr(self, str(len(self)), _as_parameter(value))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Append each of ``values``; returns self."""
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(
            f"({i}): {_parameter_summary(p)}" for i, p in enumerate(self._values())
        )


class ParameterDict(Module):
    """An ordered dict of parameters the parent finds, as ``torch.nn.ParameterDict`` (plain
    Tensors are made Parameters); each is named by its key.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> ps = nn.ParameterDict({"scale": polygrad.ones(2)})
    >>> ps["shift"] = polygrad.zeros(2)
    >>> [n for n, _ in ps.named_parameters()]
    ['scale', 'shift']
    """

    def __init__(self, parameters: Mapping[str, Any] | Iterable | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def _pairs(self) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in vars(self).items() if k not in self._INTERNAL]

    def __getitem__(self, key: str) -> Any:
        pairs = dict(self._pairs())
        if key not in pairs:
            raise KeyError(key)
        return pairs[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"parameter name must be a non-empty str without '.', got {key!r}")
        if key not in vars(self) and hasattr(self, key):
            raise KeyError(f"attribute '{key}' already exists")
        setattr(self, key, _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        self[key]  # noqa: B018  (KeyError for an unknown key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._pairs())

    def __iter__(self) -> Iterator[str]:
        return iter([k for k, _ in self._pairs()])

    def __contains__(self, key: object) -> bool:
        return key in dict(self._pairs())

    def keys(self) -> list[str]:
        """The keys, in insertion order."""
        return [k for k, _ in self._pairs()]

    def values(self) -> list[Any]:
        """The parameters, in insertion order."""
        return [v for _, v in self._pairs()]

    def items(self) -> list[tuple[str, Any]]:
        """``(key, parameter)`` pairs, in insertion order."""
        return self._pairs()

    def get(self, key: str, default: Any = None) -> Any:
        """The parameter under ``key``, or ``default``."""
        return dict(self._pairs()).get(key, default)

    def pop(self, key: str) -> Any:
        """Remove the parameter under ``key`` and return it."""
        value = self[key]
        del self[key]
        return value

    def update(self, parameters: Mapping[str, Any] | Iterable) -> None:
        """Add or replace parameters from a mapping or ``(key, value)`` pairs."""
        pairs = parameters.items() if isinstance(parameters, Mapping) else parameters
        for key, value in pairs:
            self[key] = value

    def extra_repr(self) -> str:
        return "\n".join(f"({k}): {_parameter_summary(p)}" for k, p in self._pairs())


def _as_parameter(value: Any) -> Any:
    from .module import Parameter

    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _parameter_summary(p: Any) -> str:
    if not isinstance(p, Tensor):
        return f"Object of type: {type(p).__name__}"
    size = "x".join(str(n) for n in p.shape)
    return f"Parameter containing: [polygrad.{p.dtype.name} of size {size}]"
