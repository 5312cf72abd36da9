"""Third-party array API code made differentiable: array-api-extra, SciPy, scikit-learn, marray.

Each library function below is called on polygrad tensors, unchanged: it finds
``polygrad.array_api`` through ``x.__array_namespace__()``. A scalar loss through the call is
differentiated with ``backward()``, and the gradient is compared with central differences
(``polygrad.testing.gradcheck`` and the largest difference printed) and, for Ridge, with torch.

Needs the interop extra: ``pip install -e ".[interop]"``. Run ``python
examples/array_api_interop.py [--backend strict]``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

# SciPy (and scikit-learn through it) dispatch on the array namespace only with this, read at
# SciPy's import
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import cli  # noqa: E402  (before polygrad: it takes POLYGRAD_BACKEND over)
import numpy as np  # noqa: E402


def numeric_gradient(loss: Callable, x, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``loss`` at ``x``, one element at a time."""
    import polygrad.array_api as xp

    base = x.numpy()
    out = np.zeros_like(base)
    for i in np.ndindex(base.shape):
        step = np.zeros_like(base)
        step[i] = eps
        plus = float(loss(xp.asarray(base + step, device=x.device)))
        minus = float(loss(xp.asarray(base - step, device=x.device)))
        out[i] = (plus - minus) / (2 * eps)
    return out


def check(title: str, loss: Callable, x) -> bool:
    """Differentiate ``loss`` at ``x``, compare with finite differences, print one line."""
    from polygrad.testing import gradcheck

    x = x.detach().requires_grad_(True)
    value = loss(x)
    value.backward()
    diff = np.max(np.abs(x.grad.numpy() - numeric_gradient(loss, x)))
    ok = gradcheck(loss, [x], raise_exception=False)
    print(f"  {title:<52} loss {float(value):+.6f}  max |grad - numeric| {diff:.1e}  "
          f"gradcheck {'ok' if ok else 'FAILED'}")  # fmt: skip
    return ok and diff < 1e-6


def main(argv: list[str] | None = None) -> int:
    parser = cli.make_parser(__doc__.splitlines()[0], out=False)
    cli.parse(parser, argv)
    try:
        import array_api_extra as xpx
        import marray
        import sklearn
        from scipy import special, stats
        from sklearn.decomposition import PCA
        from sklearn.linear_model import Ridge
    except ImportError as e:
        parser.error(f"{e.name} is missing: pip install -e '.[interop]'")
    import polygrad as pg
    import polygrad.array_api as xp

    rng = np.random.default_rng(0)
    x = xp.asarray(rng.normal(size=(4, 3)))  # float64
    y = xp.asarray(rng.normal(size=4))
    print(f"backend: {pg.get_backend()}; x: {x.shape} {x.dtype}, y: {y.shape}")
    results = []

    print("array-api-extra")
    results.append(check("sum(cov(x) * kron(x[:2, :2], x[2:, 1:]))",
                         lambda a: xp.sum(xpx.cov(a[:, :3]) * xpx.kron(a[:2, :2], a[2:, 1:])), x))
    results.append(check("sum(sinc(pad(x, 1)) ** 2)",
                         lambda a: xp.sum(xpx.sinc(xpx.pad(a, 1)) ** 2), x))  # fmt: skip

    print("SciPy (SCIPY_ARRAY_API=1)")
    results.append(check("sum(special.logsumexp(x, axis=1))",
                         lambda a: xp.sum(special.logsumexp(a, axis=1)), x))
    results.append(check("stats.skew(x.ravel()) + stats.kurtosis(x.ravel())",
                         lambda a: stats.skew(xp.reshape(a, (-1,)))
                         + stats.kurtosis(xp.reshape(a, (-1,))), x))  # fmt: skip

    print("scikit-learn (array_api_dispatch=True)")
    with sklearn.config_context(array_api_dispatch=True):
        def ridge_loss(a):
            coef = Ridge(alpha=0.5, solver="svd").fit(a, y).coef_
            return xp.sum(coef**2)

        results.append(check("|Ridge(alpha=0.5).fit(x, y).coef_|^2", ridge_loss, x))
        results.append(check("sum(PCA(2, covariance_eigh).fit_transform(x)^2 * w)",
                             lambda a: xp.sum(PCA(2, svd_solver="covariance_eigh")
                                              .fit_transform(a) ** 2 * xp.asarray([1.0, 3.0])),
                             x))  # fmt: skip
        try:
            import torch
        except ImportError:
            print("  (torch not installed: the Ridge check against torch is skipped)")
        else:
            xt = torch.tensor(x.numpy(), requires_grad=True)
            yt = torch.tensor(y.numpy())
            xc, yc = xt - xt.mean(0), yt - yt.mean()
            coef_t = torch.linalg.solve(xc.T @ xc + 0.5 * torch.eye(3, dtype=xt.dtype), xc.T @ yc)
            (coef_t**2).sum().backward()
            xg = x.detach().requires_grad_(True)
            ridge_loss(xg).backward()
            diff = np.max(np.abs(xg.grad.numpy() - xt.grad.numpy()))
            print(f"  {'Ridge gradient against torch (centred normal equations)':<52} "
                  f"max |polygrad - torch| {diff:.1e}")  # fmt: skip
            results.append(diff < 1e-10)

    print("marray (masked arrays over polygrad.array_api)")
    mxp = marray.masked_namespace(xp)
    mask = xp.asarray(rng.uniform(size=(4, 3)) < 0.3)
    print(f"  mask: {int(xp.sum(xp.astype(mask, xp.int64)))} of 12 elements masked")
    results.append(check("sum(masked var(x, axis=0) + masked mean(exp(x)))",
                         lambda a: xp.sum(mxp.var(mxp.asarray(a, mask=mask), axis=0).data)
                         + mxp.mean(mxp.exp(mxp.asarray(a, mask=mask))).data, x))  # fmt: skip

    passed = sum(bool(r) for r in results)
    print(f"{passed}/{len(results)} gradient checks passed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
