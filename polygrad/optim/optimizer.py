"""The Optimizer base class: parameter groups, per-parameter state, zero_grad, state_dict, and
the in-place policy every update follows.

In-place policy (decided in one place, :meth:`Optimizer._updates_in_place`). An optimizer's
``_update`` is written once, with the standard's augmented operators on local names
(``w -= lr * g``, ``buf *= mu``), and returns the parameter array and leaves its buffers in
``state``. Where arrays are writable (NumPy, CuPy, torch, array-api-strict) those operators update
the parameter and the buffers in place, so no second copy of the model is allocated per step.
Otherwise (a read-only array, or ``optimizer.in_place = False``) the update runs on private
copies that then replace the old arrays, which are never touched. For array libraries with no
in-place operators at all (JAX), Python itself turns ``a -= b`` into ``a = a - b``, so the same
code computes new arrays out of place. Either way the gradient array ``p.grad._data`` is only
read: state buffers are the optimizer's own arrays, never views of a gradient.

NOTE: as in torch, call ``step()`` after ``backward()``, never between a forward and its
backward: an in-place step changes arrays that graph saved, and that backward then raises
(the step bumps the parameter's version counter, as torch's does).
"""

from __future__ import annotations

import copy
import struct
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import array_api_compat

from .. import _capture
from .._grad_mode import enable_grad
from .._tensor import Tensor, mark_modified

__all__ = ["Optimizer", "ParamsT"]

#: What optimizers accept: Tensors, or parameter groups (dicts with "params" and options).
ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


_UNORDERED = (
    "optimizer parameters must be in an ordered collection such as a list, not a set: a "
    "set's order changes between runs, and state_dict depends on the order"
)


def _check(ok: bool, message: str, where: str) -> None:
    """Raise torch's ValueError for an out-of-range option; ``where`` names the group."""
    if not ok:
        raise ValueError(message + where)


_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def _check_nonnegative(options: dict[str, Any], where: str, *names: str) -> None:
    """torch's ``if not 0.0 <= x: raise ValueError("Invalid <name> value: x")`` for each name."""
    for name in names:
        value = options[name]
        label = _LABELS.get(name, f"{name} value")
        _check(0.0 <= value, f"Invalid {label}: {value}", where)


def _check_betas(options: dict[str, Any], where: str) -> None:
    """Both betas in [0, 1), with torch's messages."""
    betas = options["betas"]
    _check(len(betas) == 2, f"betas must be a pair (beta1, beta2), got {betas!r}", where)
    for i, beta in enumerate(betas):
        _check(0.0 <= beta < 1.0, f"Invalid beta parameter at index {i}: {beta}", where)


def _check_adam_family(options: dict[str, Any], where: str, *more: str) -> None:
    """The checks Adam, AdamW, RAdam, Adamax and NAdam share, in torch's order: ``lr`` and
    ``eps`` non-negative, both betas in [0, 1), ``weight_decay`` (and ``more``) non-negative."""
    _check_nonnegative(options, where, "lr", "eps")
    _check_betas(options, where)
    _check_nonnegative(options, where, "weight_decay", *more)


def adam_prologue(
    xp: Any,
    w: Any,
    g: Any,
    state: dict[str, Any],
    group: dict,
    buffers: tuple[str, ...],
    scalars: dict[str, float] | None = None,
) -> tuple[Any, Any, int]:
    """What every Adam-family update does first: create the state at the first step (``step``,
    then ``scalars``, then a zero buffer per name in ``buffers``), negate ``g`` for
    ``maximize``, count the step, apply weight decay (to the weight when the group decouples
    it, AdamW's way, else to the gradient). Returns the weight, gradient and step number."""
    if not state:
        state["step"] = 0
        state.update(scalars or {})
        for name in buffers:
            state[name] = xp.zeros_like(w)
    if group["maximize"]:
        g = -g
    state["step"] = step = state["step"] + 1
    wd = group["weight_decay"]
    if wd != 0:
        if group.get("decoupled_weight_decay", False):
            w *= 1 - group["lr"] * wd
        else:
            g = g + wd * w
    return w, g, step


def adam_moments(
    state: dict[str, Any], g: Any, beta1: float, beta2: float, scratch: FlatState | None = None
) -> tuple[Any, Any]:
    """Update the first and second moments in ``state`` from gradient ``g``, as torch's
    ``exp_avg.lerp_(g, 1 - beta1)`` and ``exp_avg_sq.mul_(beta2).addcmul_(g, g, 1 - beta2)``,
    and return them.

    Each line is one pass over the parameter; the augmented operators work in one scratch
    array at a time (``t``), so at most one parameter-sized temporary is alive. With a
    ``FlatState`` as ``scratch``, ``t`` is its reused buffer (see ``FlatState.temp``).
    """
    m, v = state["exp_avg"], state["exp_avg_sq"]
    t = g - m if scratch is None else scratch.temp("subtract", g, m)
    t *= 1 - beta1
    m += t
    del t  # free the scratch before the next one is made
    t = g * g if scratch is None else scratch.temp("multiply", g, g)
    t *= 1 - beta2
    v *= beta2
    v += t
    state["exp_avg"], state["exp_avg_sq"] = m, v  # (rebound where arrays are immutable)
    return m, v


def torch_flags(
    who: str,
    foreach: bool | None = None,
    maximize: bool = False,
    capturable: bool | None = None,
    differentiable: bool = False,
    fused: bool | None = None,
) -> dict[str, Any]:
    """The implementation switches torch's optimizers take, as group options.

    ``foreach``, ``capturable`` and ``fused`` choose among torch's kernels, which compute the
    same update; polygrad has one implementation, so they are accepted, kept in the groups (a
    torch state dict round-trips) and change nothing. ``differentiable=True`` (a step recorded
    for autograd) is not implemented. ``capturable``/``fused`` are None where that optimizer
    of torch has no such option (then they are left out).
    """
    if differentiable:
        raise NotImplementedError(
            f"polygrad does not implement torch.optim.{who}(differentiable=True): optimizer "
            "steps are never recorded for autograd"
        )
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    flags: dict[str, Any] = {"maximize": maximize, "foreach": foreach}
    if capturable is not None:
        flags["capturable"] = capturable
    flags["differentiable"] = differentiable
    if fused is not None or who in ("SGD", "Adam", "AdamW", "Adagrad"):
        flags["fused"] = fused
    return flags


def scalar_dtype_round(x: float) -> float:
    """``x`` rounded as torch stores a scalar state such as NAdam's ``mu_product``: a 0-d tensor
    of float32, or float64 when the default dtype is float64 (torch's ``_get_scalar_dtype``)."""
    from .. import _creation, _dtypes

    if _creation.get_default_dtype() == _dtypes.float64:
        return x
    return struct.unpack("f", struct.pack("f", x))[0]


def _is_array(x: Any) -> bool:
    return isinstance(x, Tensor) or array_api_compat.is_array_api_obj(x)


def _private_copy(x: Any) -> Any:
    """A copy of backend array ``x`` on its device, sharing no memory with it."""
    return array_api_compat.array_namespace(x).asarray(x, copy=True)


def _to_param_array(value: Any, p: Tensor) -> Any:
    """A new backend array with ``value``'s numbers on ``p``'s backend, device and dtype.

    ``value`` may be a polygrad Tensor or an array of any backend polygrad knows (NumPy, torch,
    CuPy, array-api-strict), so a state dict saved on one backend or device loads on another.
    """
    t = value if isinstance(value, Tensor) else Tensor(value)
    xp = p._xp
    if t._xp is not xp:
        return xp.backend.from_host(t.numpy(), p.dtype, p.device)
    data = xp.asarray(t._data, copy=True)
    if data.dtype != p._data.dtype:
        data = xp.astype(data, p._data.dtype)
    if xp.backend.device_of(data) != p.device:
        data = array_api_compat.to_device(data, p.device)
    return data


def _stale(v: Any, w: Any, p: Tensor) -> bool:
    """True when state array ``v`` is not of parameter array ``w``'s library, dtype or device."""
    if isinstance(v, Tensor) or type(v) is not type(w) or v.dtype != w.dtype:
        return True
    if type(w).__module__ == "numpy":
        return False
    return p._xp.backend.device_of(v) != p.device


def _as_scalar(value: Any) -> float | int:
    """A number saved as a Python number or a 0-d array (torch saves 0-d tensors)."""
    if isinstance(value, (int, float)):
        return value
    return (value if isinstance(value, Tensor) else Tensor(value)).item()


def _as_step(value: Any) -> int:
    """A step count as a Python int (torch saves it as a 0-d float tensor)."""
    return int(_as_scalar(value))


class Optimizer:
    """Base class of polygrad's optimizers, with torch's ``torch.optim.Optimizer`` interface.

    A subclass passes its option defaults to ``__init__``, checks option values in
    ``_check_options`` and implements ``_update``: the array arithmetic for one parameter.
    Updates record no graph and, where the backend allows, change arrays in place (see the
    module docstring).

    Parameters
    ----------
    params : iterable of Tensor, or iterable of dict
        Leaf tensors with ``requires_grad=True``, or parameter groups: dicts with a ``"params"``
        entry (the tensors) and any options that differ from the optimizer's defaults.
    defaults : dict
        The options of a group that does not set them.

    Attributes
    ----------
    param_groups : list of dict
        Each group's ``"params"`` and options; options can be changed between steps
        (``opt.param_groups[0]["lr"] = 0.01``), which is what learning-rate schedulers do.
    state : dict
        Per-parameter state (step counts, momentum buffers, moment estimates as backend arrays),
        keyed by the parameter Tensor.
    in_place : bool or None
        ``None`` (default) updates in place wherever the arrays are writable; ``False`` always
        computes new arrays and leaves the old ones untouched.

    Raises
    ------
    TypeError
        If ``params`` is a single Tensor, a set, or holds something other than Tensors.
    ValueError
        If ``params`` is empty, holds a non-leaf tensor or one that does not require grad,
        lists a tensor twice, or an option is out of range.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.optim as optim
    >>> w = polygrad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([ 0.8, -1.6], requires_grad=True)
    """

    #: per-parameter state entries that are numbers, not parameter-shaped arrays (torch keeps
    #: them as 0-d tensors: a state dict of torch's loads them as numbers)
    _scalar_state: tuple[str, ...] = ()

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self._check_options(self.defaults, "")
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self.in_place: bool | None = None
        if isinstance(params, Tensor):
            raise TypeError(
                "params given to the optimizer should be an iterable of Tensors or dicts, "
                "not a single Tensor; wrap it in a list: [tensor]"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(_UNORDERED)
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # -- what a subclass provides ------------------------------------------------------------
    def _check_options(self, options: dict[str, Any], where: str) -> None:
        """Raise ValueError if an option is out of range; ``where`` names the group."""

    def _update(self, xp: Any, w: Any, g: Any, state: dict[str, Any], group: dict) -> Any:
        """Update parameter array ``w`` from gradient ``g`` (read only) and ``state``.

        Returns the new parameter array (``w`` itself when updated in place). New or replaced
        state arrays are stored back into ``state``.
        """
        raise NotImplementedError

    # -- groups ------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, with its own options, to ``param_groups``.

        Useful to start training layers that were frozen. Options the group does not set take
        the optimizer's defaults.

        Parameters
        ----------
        param_group : dict
            ``{"params": tensors, option: value, ...}``.

        Raises
        ------
        TypeError, ValueError
            As the constructor; also if a parameter already belongs to another group.

        Examples
        --------
        >>> import polygrad
        >>> import polygrad.optim as optim
        >>> a = polygrad.zeros(3, requires_grad=True)
        >>> b = polygrad.zeros(2, requires_grad=True)
        >>> opt = optim.SGD([a], lr=0.1)
        >>> opt.add_param_group({"params": [b], "lr": 0.01})
        >>> [g["lr"] for g in opt.param_groups]
        [0.1, 0.01]
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, not {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("a parameter group needs a 'params' entry listing its tensors")
        index = len(self.param_groups)
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_UNORDERED)
        else:
            params = list(params)
        names = None
        if params and all(isinstance(p, tuple) and len(p) == 2 for p in params):
            # torch's named parameters, model.named_parameters(): kept as "param_names"
            names = [name for name, _ in params]
            params = [p for _, p in params]
        seen: set[int] = set()
        for i, p in enumerate(params):
            where = f"parameter {i} of parameter group {index}"
            _check_param(p, where)
            if id(p) in seen:
                raise ValueError(f"{where} appears twice in that group")
            seen.add(id(p))
        for other in self.param_groups:
            if any(id(q) in seen for q in other["params"]):
                raise ValueError("some parameters appear in more than one parameter group")
        if self.param_groups and ("param_names" in self.param_groups[0]) != (names is not None):
            raise ValueError(
                "all optimizer param groups should be with/without names. cannot add param "
                f"group {'with' if names is not None else 'without'} names to the optimizer"
            )
        group = {k: v for k, v in param_group.items() if k != "params"}
        if names is not None:
            group["param_names"] = names
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_options(group, f" (parameter group {index})")
        self.param_groups.append({"params": params, **group})

    # -- gradients and steps -----------------------------------------------------------------
    def __init_subclass__(cls, **kwargs: Any) -> None:
        # polygrad.compile replays step() and zero_grad() as host steps, overrides included
        super().__init_subclass__(**kwargs)
        for name in ("step", "zero_grad"):
            if name in vars(cls):
                setattr(cls, name, _capture.host(vars(cls)[name]))

    @_capture.host
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors.

        Parameters
        ----------
        set_to_none : bool
            ``True`` (default) sets each ``.grad`` to None: the next backward allocates fresh
            gradients, and a parameter that gets none is skipped by ``step``. ``False`` fills
            the gradients with zeros instead (in place where the array is writable and not
            part of a recorded graph; otherwise ``.grad`` becomes a new zero tensor).

        Examples
        --------
        >>> import polygrad
        >>> import polygrad.optim as optim
        >>> w = polygrad.ones(2, requires_grad=True)
        >>> opt = optim.SGD([w], lr=0.1)
        >>> (w * 3).sum().backward()
        >>> opt.zero_grad(set_to_none=False)
        >>> w.grad
        tensor([0., 0.])
        >>> opt.zero_grad()
        >>> w.grad is None
        True
        """
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif not grad.requires_grad and self._updates_in_place(grad._data):
                    grad._data[...] = 0
                else:  # recorded by create_graph=True, or not writable: leave the old one be
                    p.grad = Tensor._wrap(grad._xp.zeros_like(grad._data), grad._xp)

    @_capture.host
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; parameters whose ``.grad`` is None are
        skipped.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (it runs with grad mode on).

        Returns
        -------
        The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                self._step_group(group, params)
        return loss

    def _step_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        """Update ``params`` (the group's parameters that have a gradient), one at a time;
        an optimizer may update a whole group at once instead (Adam's flat path)."""
        for p in params:
            self._step_param(p, group)

    def _flat_state(
        self, params: list[Tensor], names: tuple[str, ...], limit: int = 2**17
    ) -> FlatState | None:
        """The state buffers ``names`` of ``params`` as views into one flat array per name, so
        a group's update is one array call per operation instead of one per parameter (the
        idea of torch's foreach optimizers). None when that does not apply: parameters of
        several dtypes, backends or devices, a backend without shared views, an out-of-place
        policy, more than ``limit`` elements in all (large arrays gain nothing from it and
        the flat gradient would cost memory), or states at different steps.

        The checks run in full when the flat state is made; at later steps, while every
        parameter still holds the very array it held then (so its library, dtype, device and
        size are the same), only what can change without replacing it is checked again: the
        in-place policy, the gradients' ``requires_grad`` and the state entries' identity."""
        key = tuple(map(id, params))
        flat = self._flat.get(key) if hasattr(self, "_flat") else None
        if (
            flat is not None
            and flat.in_place == self.in_place
            and all(p._data is w for p, w in zip(params, flat.arrays))
            and not any(p.grad.requires_grad for p in params)
            and flat.owns([self.state.get(p) for p in params], names, params[0]._data.dtype)
        ):
            return flat
        w0 = params[0]._data
        backend = params[0]._xp.backend
        if not backend.views_share_memory or not self._updates_in_place(w0):
            return None
        numel = 0
        for p in params:
            w = p._data
            if p._xp.backend is not backend or w.dtype != w0.dtype or p.grad.requires_grad:
                return None
            if backend.device_of(w) != backend.device_of(w0) or not self._updates_in_place(w):
                return None
            numel += p.numel()
        if numel > limit:
            return None
        states = [self.state.get(p) for p in params]
        if flat is not None and flat.owns(states, names, w0.dtype):
            flat.remember(params, self.in_place)
            return flat
        steps = {s.get("step") if s else 0 for s in states}
        if len(steps) != 1 or any(s and not all(n in s for n in names) for s in states):
            return None  # mixed histories: the parameter-by-parameter path handles them
        if any(s and _stale(s[n], p._data, p) for s, p in zip(states, params) for n in names):
            return None  # the parameters moved: that path moves their state first
        flat = FlatState(params, states, names, steps.pop())
        flat.remember(params, self.in_place)
        if not hasattr(self, "_flat"):
            self._flat: dict[tuple, FlatState] = {}
        self._flat[key] = flat
        for p, state in zip(params, flat.states):
            self.state[p] = state
        return flat

    def _updates_in_place(self, x: Any) -> bool:
        """The in-place policy: may array ``x`` be updated in place?"""
        if self.in_place is not None:
            return self.in_place
        return array_api_compat.is_writeable_array(x)

    def _step_param(self, p: Tensor, group: dict[str, Any]) -> None:
        state = self.state.get(p)
        state = {} if state is None else state
        w = p._data
        w_type = type(w)
        for k, v in state.items():
            # cheap tests first (this runs for every parameter at every step): an array of
            # the parameter's own type, dtype and device, or a number, is up to date
            if type(v) is w_type and not _stale(v, w, p) or type(v) in (int, float):
                continue
            if _is_array(v) and _stale(v, w, p):
                # the parameter moved (model.to(dtype / backend / device), model.double()):
                # its state follows it, rather than computing on in the old precision or place
                state[k] = _to_param_array(v, p)
        in_place = self._updates_in_place(w)
        if not in_place:
            # out of place: the update works on private copies, which replace the old arrays
            w = _private_copy(w)
            state = {k: _private_copy(v) if _is_array(v) else v for k, v in state.items()}
        p._data = self._update(p._xp, w, p.grad._data, state, group)
        # graphs that saved p's array refuse to backward through it, and views of p re-derive
        # their data from the new values (also after an out-of-place update)
        mark_modified(p)
        if state:
            self.state[p] = state

    # -- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A snapshot of the optimizer: ``{"state": ..., "param_groups": ...}``, as torch's.

        ``param_groups`` holds each group's options with its ``"params"`` replaced by integer
        indices (counting through the groups in order); ``state`` maps those indices to each
        parameter's state, with arrays as polygrad Tensors. Unlike torch, the arrays are copies:
        training on after ``state_dict()`` does not change the snapshot.

        Examples
        --------
        >>> import polygrad
        >>> import polygrad.optim as optim
        >>> w = polygrad.ones(2, requires_grad=True)
        >>> opt = optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> sd = opt.state_dict()
        >>> sd["param_groups"][0]["params"], list(sd["state"][0])
        ([0], ['momentum_buffer'])
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = copy.deepcopy({k: v for k, v in group.items() if k != "params"})
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                entry = self.state.get(p)
                if entry:
                    state[index[id(p)]] = {
                        k: Tensor._wrap(_private_copy(v), p._xp) if _is_array(v) else v
                        for k, v in entry.items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a snapshot from :meth:`state_dict`, so training resumes exactly.

        The snapshot's options replace the groups' options; its arrays are copied onto each
        parameter's backend, device and dtype, so a state dict saved on one backend or device
        (or by ``torch.optim``, whose state arrays are torch tensors) loads on another.

        Raises
        ------
        ValueError
            If the snapshot's groups or their sizes differ from this optimizer's, it has state
            for a parameter no group lists, a state array's shape differs from its parameter's,
            or an option is out of range. Nothing is changed then.

        Examples
        --------
        >>> import polygrad
        >>> import polygrad.optim as optim
        >>> w = polygrad.ones(2, requires_grad=True)
        >>> opt = optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> resumed = optim.Adam([w], lr=0.1)
        >>> resumed.load_state_dict(opt.state_dict())
        >>> resumed.state[w]["step"]
        1
        """
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError(
                "an optimizer state dict is a dict with 'state' and 'param_groups' entries, "
                "as returned by Optimizer.state_dict()"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, but the optimizer "
                f"has {len(self.param_groups)}"
            )
        problems = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                problems.append(
                    f"parameter group {i} has {len(saved['params'])} parameters in the state "
                    f"dict but {len(group['params'])} in the optimizer"
                )
        if problems:
            raise ValueError("cannot load the optimizer state dict: " + "; ".join(problems))
        id_map = {
            saved_id: p
            for group, saved in zip(self.param_groups, saved_groups)
            for saved_id, p in zip(saved["params"], group["params"])
        }
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, entry in state_dict["state"].items():
            p = id_map.get(key)
            if p is None:
                problems.append(f"it has state for parameter {key!r}, which no group lists")
                continue
            loaded = {}
            for name, value in entry.items():
                if name == "step":
                    loaded[name] = _as_step(value)
                elif name in self._scalar_state:
                    loaded[name] = float(_as_scalar(value))
                elif _is_array(value):
                    if tuple(value.shape) != p.shape:
                        problems.append(
                            f"state[{key!r}][{name!r}] has shape {tuple(value.shape)} but "
                            f"parameter {key!r} has shape {p.shape}"
                        )
                        continue
                    loaded[name] = _to_param_array(value, p)
                else:
                    loaded[name] = copy.deepcopy(value)
            state[p] = loaded
        groups = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            options = copy.deepcopy({k: v for k, v in saved.items() if k != "params"})
            for name, default in self.defaults.items():
                options.setdefault(name, default)
            try:
                self._check_options(options, f" (parameter group {i})")
            except ValueError as e:
                problems.append(str(e))
            groups.append({"params": group["params"], **options})
        if problems:
            raise ValueError(
                "cannot load the optimizer state dict (nothing was changed): " + "; ".join(problems)
            )
        self.state = state
        self.param_groups[:] = groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        lines.append(")")
        return "\n".join(lines)


class FlatState:
    """One group's per-parameter state buffers held as views of one flat array per buffer
    name (see :meth:`Optimizer._flat_state`). ``flats[name]`` is the flat array, ``states``
    the per-parameter state dicts whose entries are its views; ``offsets`` cut a flat array
    back into the parameters."""

    __slots__ = (
        "flats", "states", "offsets", "shapes", "arrays", "in_place", "xp", "_buffers", "_cuts",
        "views",
    )  # fmt: skip

    def __init__(self, params: list[Tensor], states: list, names: tuple, step: int) -> None:
        self.xp = xp = params[0]._xp
        self.shapes = [tuple(p._data.shape) for p in params]
        self.offsets = [0]
        for p in params:
            self.offsets.append(self.offsets[-1] + p.numel())
        self.flats = {}
        for name in names:
            if states[0]:  # resume from existing buffers (a loaded state dict): copies
                self.flats[name] = self.flatten(xp, [s[name] for s in states])
            else:
                self.flats[name] = xp.zeros_like(self.flatten(xp, [p._data for p in params]))
        self._buffers: dict[str, Any] = {}  # scratch buffers by name (see ``_scratch``)
        self._cuts: dict[str, list] = {}  # their per-parameter views (see ``pieces``)
        self.states = []  # the state dicts handed out; their buffer entries are the views
        self.views = []  # those views, per parameter, in the order of ``names``
        for i in range(len(params)):
            state = dict(states[i]) if states[i] else {"step": step}
            views = tuple(self.piece(xp, self.flats[name], i) for name in names)
            state.update(zip(names, views))
            self.states.append(state)
            self.views.append(views)

    def remember(self, params: list[Tensor], in_place: bool | None) -> None:
        """Note the arrays the parameters hold and the in-place policy, as the full checks of
        ``Optimizer._flat_state`` just found them (see there)."""
        self.arrays = [p._data for p in params]
        self.in_place = in_place

    def flatten(self, xp: Any, arrays: list, into: str | None = None) -> Any:
        """``arrays`` concatenated flat; written into the scratch buffer ``into`` where the
        backend writes results into existing arrays (``Backend.into``)."""
        parts = [xp.reshape(a, (-1,)) for a in arrays]
        if into is None:
            return xp.concat(parts)
        return xp.backend.into(self._scratch(into), "concat", parts)

    def temp(self, name: str, *args: Any, buffer: str = "temp") -> Any:
        """The standard's elementwise function ``name`` on ``args`` (flat arrays), written into
        this state's reused scratch buffer ``buffer`` where the backend allows
        (``Backend.into``); the caller holds at most one temporary per buffer at a time."""
        return self.xp.backend.into(self._scratch(buffer), name, *args)

    def _scratch(self, name: str) -> Any:
        """Scratch buffer ``name``, made once: flat, of the state buffers' dtype and device.
        None on backends that do not write into existing arrays (``Backend.writes_into``)."""
        if not self.xp.backend.writes_into:
            return None
        buf = self._buffers.get(name)
        if buf is None:
            buf = self._buffers[name] = self.xp.empty_like(next(iter(self.flats.values())))
        return buf

    def pieces(self, xp: Any, flat: Any) -> list:
        """Every parameter's part of ``flat`` (views); made once for a scratch buffer."""
        for name, buf in self._buffers.items():
            if flat is buf:
                cut = self._cuts.get(name)
                if cut is None:
                    cut = self._cuts[name] = self._cut(xp, flat)
                return cut
        return self._cut(xp, flat)

    def _cut(self, xp: Any, flat: Any) -> list:
        return [self.piece(xp, flat, i) for i in range(len(self.shapes))]

    def piece(self, xp: Any, flat: Any, i: int) -> Any:
        """Parameter ``i``'s part of ``flat``, in its shape (a view)."""
        return xp.reshape(flat[self.offsets[i] : self.offsets[i + 1]], self.shapes[i])

    def owns(self, states: list, names: tuple, dtype: Any) -> bool:
        """True while every parameter's state is the dict this object handed out and its
        entries still are this object's views (nothing replaced a dict or an entry:
        load_state_dict, a dtype move, ``state[p]["exp_avg"] = ...``), and the flat arrays
        have the parameters' dtype."""
        if any(f.dtype != dtype for f in self.flats.values()):
            return False
        return all(
            s is own and all(s.get(n) is v for n, v in zip(names, views))
            for s, own, views in zip(states, self.states, self.views)
        )


def _check_param(p: Any, where: str) -> None:
    if not isinstance(p, Tensor):
        kind = f"{type(p).__module__}.{type(p).__qualname__}"
        raise TypeError(f"optimizer can only optimize polygrad Tensors, but {where} is a {kind}")
    if not p.is_leaf:
        raise ValueError(
            f"can't optimize a non-leaf Tensor: {where} (shape {p.shape}) was computed by "
            f"{p.grad_fn!r}; optimize the leaf tensors it was computed from"
        )
    if not p.requires_grad:
        raise ValueError(
            f"{where} (shape {p.shape}) does not require grad, so it would never get a "
            "gradient; create it with requires_grad=True or call .requires_grad_() on it"
        )
