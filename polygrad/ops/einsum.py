# ruff: noqa: E501, A001, A002, A004
"""``einsum``: Einstein summation as broadcast multiplies and sums of permuted operands."""

from __future__ import annotations

import builtins
import string
from typing import Any

from .._tensor import Tensor
from ._common import _tensor_arg
from .arrange import moveaxis
from .elementwise import multiply
from .linalg import diagonal
from .reduction import sum
from .shape import broadcast_to, permute_dims, reshape


def _parse(equation: str, operands: list[Tensor]) -> tuple[list[str], str]:
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(
            f"einsum(): the equation {equation!r} has {len(terms)} operands, got {len(operands)}"
        )
    free = [c for c in string.ascii_letters if c not in eq]
    ell = ""
    for i, (term, x) in enumerate(zip(terms, operands)):
        if "..." in term:
            n = x.ndim - (len(term) - 3)
            if n < 0:
                raise ValueError(f"einsum(): operand {i} has too few dimensions for {term!r}")
            ell = ell if len(ell) >= n else "".join(free[:n])
            terms[i] = term.replace("...", ell[len(ell) - n :] if n else "")
        if len(terms[i]) != x.ndim or not all(c.isalpha() for c in terms[i]):
            raise ValueError(
                f"einsum(): subscripts {term!r} do not fit operand {i} of shape {x.shape}"
            )
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = {c: "".join(terms).count(c) for c in "".join(terms)}
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    return terms, out


def _diagonals(x: Tensor, term: str) -> tuple[Tensor, str]:
    """Take the diagonal for a letter repeated within one operand (``ii->i``)."""
    while len(set(term)) < len(term):
        c = next(c for c in term if term.count(c) > 1)
        i, j = term.index(c), term.index(c, term.index(c) + 1)
        x = moveaxis(x, (i, j), (-2, -1))
        rest = [t for k, t in enumerate(term) if k not in (i, j)]
        x, term = diagonal(x), "".join(rest) + c
    return x, term


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, as torch's ``einsum`` (``"ij,jk->ik"``, ``"bij,bjk->bik"``,
    ``"...ij->...ji"``, ``"ii->i"``); operands may also be given as one list.

    Examples
    --------
    >>> import polygrad
    >>> a = polygrad.ones(2, 3)
    >>> polygrad.einsum("ij,kj->ik", a, a).tolist()
    [[3.0, 3.0], [3.0, 3.0]]
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    xs = [_tensor_arg(x) for x in operands]
    terms, out = _parse(equation, xs)
    letters = list(dict.fromkeys("".join(terms) + out))
    sizes: dict[str, int] = {}
    aligned = []
    for x, term in zip(xs, terms):
        x, term = _diagonals(x, term)
        for c, n in zip(term, x.shape):
            if sizes.setdefault(c, n) != n and n != 1 and sizes[c] != 1:
                raise ValueError(
                    f"einsum(): subscript {c!r} has size {sizes[c]} and {n} in {equation!r}"
                )
            sizes[c] = builtins.max(sizes[c], n)
        present = [c for c in letters if c in term]
        x = permute_dims(x, tuple(term.index(c) for c in present))
        shape = tuple(x.shape[present.index(c)] if c in present else 1 for c in letters)
        aligned.append(reshape(x, shape))
    y = aligned[0]
    for x in aligned[1:]:
        y = multiply(y, x)
    summed = tuple(i for i, c in enumerate(letters) if c not in out)
    if summed:
        y = sum(y, axis=summed)
    kept = [c for c in letters if c in out]
    y = permute_dims(y, tuple(kept.index(c) for c in out))
    full = tuple(sizes.get(c, 1) for c in out)
    return broadcast_to(y, full) if y.shape != full else y
