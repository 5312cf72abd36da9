"""Containers: Sequential and ModuleList."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

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
