"""L-BFGS with torch's iteration, stopping rules and strong-Wolfe line search
(``torch.optim.LBFGS``).

The parameters are handled as one flat vector (concatenated in ``params`` order) of the first
parameter's backend, dtype and device. Scalars of the iteration (step sizes, curvatures, losses)
are Python floats: every iteration reads them on the host, as torch's does.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from .._grad_mode import enable_grad, no_grad
from .._tensor import Tensor, mark_modified
from .optimizer import Optimizer, ParamsT, _check_nonnegative, _is_array, _to_param_array

__all__ = ["LBFGS"]

#: state entries that are flat vectors, lists of them, or numbers (not parameter-shaped)
_FLAT = ("d", "t", "old_dirs", "old_stps", "ro", "al", "H_diag", "prev_flat_grad", "prev_loss")


def _cubic_min(
    x1: float,
    f1: float,
    g1: float,
    x2: float,
    f2: float,
    g2: float,
    bounds: tuple[float, float] | None = None,
) -> float:
    """The minimizer of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to ``bounds``
    (by default the interval between the points); their midpoint if the cubic has none."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        at = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        at = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(at, lo), hi)


class LBFGS(Optimizer):
    """Limited-memory BFGS, iteration for iteration as ``torch.optim.LBFGS``.

    ``step(closure)`` runs up to ``max_iter`` iterations, each a two-loop recursion over the
    last ``history_size`` curvature pairs, then a step of ``lr`` along the direction (the first
    iteration's step is scaled by ``min(1, 1 / sum|g|)``) or, with
    ``line_search_fn="strong_wolfe"``, a step found by torch's bracketing and cubic-zoom line
    search. The closure re-evaluates the model: it zeroes the gradients, computes the loss,
    calls ``backward()`` and returns the loss.

    Parameters
    ----------
    params : iterable of Tensor
        One group only (as torch: no per-parameter options).
    lr : float
        Step size (>= 0).
    max_iter : int
        Iterations per ``step``.
    max_eval : int, optional
        Closure evaluations per ``step`` (default ``max_iter * 5 // 4``).
    tolerance_grad : float
        Stop when the largest absolute gradient entry is at most this.
    tolerance_change : float
        Stop when the loss or the step changes less than this.
    history_size : int
        Number of curvature pairs kept.
    line_search_fn : {None, "strong_wolfe"}

    Raises
    ------
    ValueError
        For a negative ``lr`` or more than one parameter group.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.optim as optim
    >>> w = polygrad.tensor([3.0, -2.0], requires_grad=True)
    >>> opt = optim.LBFGS([w], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((w - 1.0) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> _ = opt.step(closure)
    >>> [round(v, 6) for v in w.tolist()]
    [1.0, 1.0]
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _check_options(self, o: dict[str, Any], where: str) -> None:
        _check_nonnegative(o, where, "lr")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # -- the flat vector ---------------------------------------------------------------------
    def _xp(self) -> Any:
        return self._params[0]._xp

    def _flat_grad(self) -> Any:
        xp, first = self._xp(), self._params[0]
        parts = []
        for p in self._params:
            if p.grad is None:
                parts.append(xp.zeros((p.numel(),), dtype=first._data.dtype, device=first.device))
            else:
                parts.append(xp.reshape(_to_param_array(p.grad, first), (-1,)))
        return xp.concat(parts)

    def _add_to_params(self, step: float, d: Any) -> None:
        xp, offset = self._xp(), 0
        for p in self._params:
            n = p.numel()
            delta = xp.reshape(d[offset : offset + n], p.shape)
            w = p._data
            if self._updates_in_place(w):
                w += step * delta
            else:
                w = w + step * delta
            p._data = w
            mark_modified(p)
            offset += n

    def _set_params(self, values: list) -> None:
        for p, v in zip(self._params, values):
            if self._updates_in_place(p._data):
                p._data[...] = v
            else:
                p._data = self._xp().asarray(v, copy=True)
            mark_modified(p)

    def _evaluate(self, closure: Callable, x: list, t: float, d: Any) -> tuple[float, Any]:
        """Loss and flat gradient at ``x + t d``; the parameters are put back to ``x``."""
        self._add_to_params(t, d)
        loss = float(closure())
        g = self._flat_grad()
        self._set_params(x)
        return loss, g

    # -- the iteration -----------------------------------------------------------------------
    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations; returns the closure's first loss.

        Raises
        ------
        RuntimeError
            If ``line_search_fn`` is neither None nor ``"strong_wolfe"`` (as torch).
        """
        with no_grad():
            return self._step(enable_grad()(closure))

    def _step(self, closure: Callable[[], Any]) -> Any:
        xp = self._xp()
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search = group["history_size"], group["line_search_fn"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if float(xp.max(xp.abs(g))) <= tol_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_g = state.get("H_diag"), state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        def dot(a: Any, b: Any) -> float:
            return float(xp.matmul(a, b))

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -g
                old_dirs, old_stps, ro = [], [], []
                h_diag = 1.0
            else:
                y = g - prev_g
                s = d * t
                ys = dot(y, s)
                if ys > 1e-10:  # keep the pair only if the curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / dot(y, y)
                al = state.setdefault("al", [None] * history_size)
                q = -g
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = dot(old_stps[i], q) * ro[i]
                    q = q - al[i] * old_dirs[i]
                r = q * h_diag
                for i in range(len(old_dirs)):
                    be_i = dot(old_dirs[i], r) * ro[i]
                    r = r + (al[i] - be_i) * old_stps[i]
                d = r
            prev_g = xp.asarray(g, copy=True)
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(xp.sum(xp.abs(g)))) * lr
            else:
                t = lr
            gtd = dot(g, d)
            if gtd > -tol_change:  # not a descent direction
                break

            ls_evals = 0
            if line_search is not None:
                if line_search != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x0 = [xp.asarray(p._data, copy=True) for p in self._params]
                loss, g, t, ls_evals = self._strong_wolfe(
                    closure, x0, t, d, loss, g, gtd, tol_change, max_eval - current_evals
                )
                self._add_to_params(t, d)
                opt_cond = float(xp.max(xp.abs(g))) <= tol_grad
            else:
                self._add_to_params(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    with enable_grad():
                        loss = float(closure())
                    g = self._flat_grad()
                    opt_cond = float(xp.max(xp.abs(g))) <= tol_grad
                    ls_evals = 1
            current_evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if float(xp.max(xp.abs(d * t))) <= tol_change:
                break
            if abs(loss - prev_loss) < tol_change:
                break

        state.update(
            d=d,
            t=t,
            old_dirs=old_dirs,
            old_stps=old_stps,
            ro=ro,
            H_diag=h_diag,
            prev_flat_grad=prev_g,
            prev_loss=prev_loss,
        )
        return orig_loss

    def _strong_wolfe(
        self,
        closure: Callable,
        x: list,
        t: float,
        d: Any,
        f: float,
        g: Any,
        gtd: float,
        tolerance_change: float,
        max_ls: int,
        c1: float = 1e-4,
        c2: float = 0.9,
    ) -> tuple[float, Any, float, int]:
        """torch's line search: bracket a step meeting the strong Wolfe conditions, then zoom
        in on it by cubic interpolation. Returns (loss, flat gradient, step, evaluations)."""
        xp = self._xp()
        d_norm = float(xp.max(xp.abs(d)))
        f_new, g_new = self._evaluate(closure, x, t, d)
        evals = 1
        gtd_new = float(xp.matmul(g_new, d))
        t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
        done = False
        ls_iter = 0
        while ls_iter < max_ls:  # bracketing
            if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
                bracket, b_f, b_g, b_gtd = (
                    [t_prev, t],
                    [f_prev, f_new],
                    [g_prev, g_new],
                    [gtd_prev, gtd_new],
                )
                break
            if abs(gtd_new) <= -c2 * gtd:
                bracket, b_f, b_g, b_gtd = [t], [f_new], [g_new], [gtd_new]
                done = True
                break
            if gtd_new >= 0:
                bracket, b_f, b_g, b_gtd = (
                    [t_prev, t],
                    [f_prev, f_new],
                    [g_prev, g_new],
                    [gtd_prev, gtd_new],
                )
                break
            t_next = _cubic_min(
                t_prev,
                f_prev,
                gtd_prev,
                t,
                f_new,
                gtd_new,
                bounds=(t + 0.01 * (t - t_prev), t * 10),
            )
            t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
            t = t_next
            f_new, g_new = self._evaluate(closure, x, t, d)
            evals += 1
            gtd_new = float(xp.matmul(g_new, d))
            ls_iter += 1
        if ls_iter == max_ls:
            bracket, b_f, b_g, b_gtd = [0.0, t], [f, f_new], [g, g_new], [gtd, gtd_new]

        insufficient = False
        low, high = (0, 1) if b_f[0] <= b_f[-1] else (1, 0)
        while not done and ls_iter < max_ls:  # zoom
            if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
                break
            t = _cubic_min(bracket[0], b_f[0], b_gtd[0], bracket[1], b_f[1], b_gtd[1])
            lo_t, hi_t = min(bracket), max(bracket)
            eps = 0.1 * (hi_t - lo_t)
            if min(hi_t - t, t - lo_t) < eps:  # too close to an end: move away from it
                if insufficient or t >= hi_t or t <= lo_t:
                    t = hi_t - eps if abs(t - hi_t) < abs(t - lo_t) else lo_t + eps
                    insufficient = False
                else:
                    insufficient = True
            else:
                insufficient = False
            f_new, g_new = self._evaluate(closure, x, t, d)
            evals += 1
            gtd_new = float(xp.matmul(g_new, d))
            ls_iter += 1
            if f_new > (f + c1 * t * gtd) or f_new >= b_f[low]:
                bracket[high], b_f[high], b_g[high], b_gtd[high] = t, f_new, g_new, gtd_new
                low, high = (0, 1) if b_f[0] <= b_f[1] else (1, 0)
            else:
                if abs(gtd_new) <= -c2 * gtd:
                    done = True
                elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                    bracket[high], b_f[high] = bracket[low], b_f[low]
                    b_g[high], b_gtd[high] = b_g[low], b_gtd[low]
                bracket[low], b_f[low], b_g[low], b_gtd[low] = t, f_new, g_new, gtd_new
        return b_f[low], b_g[low], bracket[low], evals

    # -- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """As :meth:`Optimizer.state_dict`; the flat vectors and their lists are copies too."""
        sd = super().state_dict()
        xp = self._xp()
        for entry in sd["state"].values():
            for k in _FLAT:
                if k in entry:
                    entry[k] = _copy_tree(entry[k], lambda a: _own_copy(a, xp))
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As :meth:`Optimizer.load_state_dict`; flat vectors (torch tensors, NumPy arrays or
        polygrad Tensors) are moved to the first parameter's backend, device and dtype."""
        first = self._params[0]
        flat = {
            i: {k: v for k, v in e.items() if k in _FLAT} for i, e in state_dict["state"].items()
        }
        rest = {
            i: {k: v for k, v in e.items() if k not in _FLAT}
            for i, e in state_dict["state"].items()
        }
        super().load_state_dict({"state": rest, "param_groups": state_dict["param_groups"]})
        for i, entry in flat.items():
            p = self.param_groups[0]["params"][i]
            self.state[p].update(
                {k: _copy_tree(v, lambda a: _to_param_array(a, first)) for k, v in entry.items()}
            )


def _own_copy(a: Any, xp: Any) -> Tensor:
    """A Tensor with its own copy of array ``a`` (the base class already copied Tensors)."""
    return a if isinstance(a, Tensor) else Tensor._wrap(xp.asarray(a, copy=True), xp)


def _copy_tree(value: Any, convert: Callable[[Any], Any]) -> Any:
    """``value`` with each array (also inside lists) converted; 0-d arrays become floats."""
    if isinstance(value, list):
        return [_copy_tree(v, convert) for v in value]
    if _is_array(value):
        if len(value.shape) == 0:
            return float((value if isinstance(value, Tensor) else Tensor(value)).item())
        return convert(value)
    return copy.deepcopy(value)
