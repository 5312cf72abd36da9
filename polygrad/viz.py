"""Pictures of computation graphs: Graphviz DOT text, rendered to SVG/PNG when Graphviz is there.

Each recorded op is an ellipse; each tensor it reads or makes is a box with its shape and,
for small tensors, its values and gradient. Intermediate tensors are shown with values when
you name them (``names={"h": h}``) or when their op kept its output for backward; their
gradients appear after ``backward`` if you called ``h.retain_grad()`` first.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ._tensor import Function, Tensor

__all__ = ["to_dot", "draw"]

MAX_SHOWN = 16  # tensors with more elements show their shape only


def _fmt(t: Any, xp: Any = None) -> str:
    arr = t.numpy() if isinstance(t, Tensor) else xp.backend.to_numpy(t)
    if arr.size > MAX_SHOWN:
        return ""
    if arr.ndim == 0:
        return f"{arr.item():.4g}"
    return "[" + ", ".join(f"{v:.4g}" for v in arr.reshape(-1).tolist()) + "]"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("{", "\\{").replace("}", "\\}")


def to_dot(tensor: Tensor, show_grad: bool = True, names: dict[str, Tensor] | None = None) -> str:
    """Graphviz DOT text for the graph that produced ``tensor``.

    Parameters
    ----------
    tensor : Tensor
        The output whose graph to draw.
    show_grad : bool
        Show ``.grad`` of leaves (and of named tensors that retained it).
    names : dict of str to Tensor, optional
        Labels for tensors; a named intermediate tensor also shows its values.

    Raises
    ------
    RuntimeError
        If the graph was freed by a backward without ``retain_graph=True``.

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.viz import to_dot
    >>> a = polygrad.tensor(2.0, requires_grad=True)
    >>> print(to_dot(a * a + 1.0).splitlines()[0])
    digraph polygrad {
    """
    names = names or {}
    label_of = {id(t): n for n, t in names.items()}
    by_node = {id(t._node): t for t in names.values() if t._node is not None}
    by_node.setdefault(id(tensor._node), tensor)
    lines = [
        "digraph polygrad {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
    ]
    ids: dict[int, str] = {}

    def ident(obj: Any) -> str:
        if id(obj) not in ids:
            ids[id(obj)] = f"n{len(ids)}"
        return ids[id(obj)]

    def box(key: Any, t: Tensor | None, shape: tuple, dtype: str, out_value: Any = None) -> str:
        parts = []
        name = label_of.get(id(t)) if t is not None else None
        parts.append(f"{name} {shape}" if name else f"{shape} {dtype}")
        value = t if t is not None else out_value
        if value is not None and _fmt(value, tensor._xp):
            parts.append(f"data {_fmt(value, tensor._xp)}")
        if show_grad and t is not None and t.grad is not None and _fmt(t.grad):
            parts.append(f"grad {_fmt(t.grad)}")
        node_id = ident(key) + "v"
        fill = "lightblue" if (t is not None and t.is_leaf) else "white"
        label = _escape(" | ".join(parts))
        lines.append(
            f'  {node_id} [shape=record, style=filled, fillcolor={fill}, label="{{ {label} }}"];'
        )
        return node_id

    if tensor._node is None:
        box(tensor, tensor, tensor.shape, tensor.dtype.name)
        lines.append("}")
        return "\n".join(lines)

    seen: set[int] = set()
    stack = [tensor._node]
    while stack:
        op = stack.pop()
        if id(op) in seen:
            continue
        seen.add(id(op))
        if op.next is None:
            raise RuntimeError(
                "this graph was freed by backward(); call backward(retain_graph=True) to draw "
                "it afterwards"
            )
        op_id = ident(op)
        lines.append(f'  {op_id} [shape=ellipse, label="{type(op).__name__}"];')
        out = by_node.get(id(op))
        saved_out = None
        if out is None and op.saves in ("output", "both") and op.saved:
            saved_out = op.saved[-1]
        dtype = str(op.dtype).rsplit(".", 1)[-1]
        out_box = box(op, out, tuple(op.shape), dtype, saved_out)
        lines.append(f"  {op_id} -> {out_box};")
        for edge in op.next:
            if isinstance(edge, Function):
                lines.append(f"  {ident(edge)}v -> {op_id};")
                stack.append(edge)
            elif isinstance(edge, Tensor):
                leaf_box = box(edge, edge, edge.shape, edge.dtype.name)
                lines.append(f"  {leaf_box} -> {op_id};")
    lines.append("}")
    return "\n".join(dict.fromkeys(lines))  # a leaf used twice is declared once


def draw(
    tensor: Tensor,
    path: str | os.PathLike,
    show_grad: bool = True,
    names: dict[str, Tensor] | None = None,
) -> Path:
    """Render the graph behind ``tensor`` to ``path`` (``.svg``, ``.png``, ``.pdf`` or ``.dot``).

    Rendering needs the ``graphviz`` Python package and the Graphviz ``dot`` program (Debian:
    ``apt-get install graphviz``). Without them the DOT text is written next to ``path`` as
    ``.dot`` and a message says how to render it.

    Returns
    -------
    Path
        The file actually written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dot = to_dot(tensor, show_grad=show_grad, names=names)
    fmt = path.suffix.lstrip(".").lower()
    if fmt == "dot":
        path.write_text(dot)
        return path
    try:
        import graphviz
    except ImportError:
        graphviz = None
    if graphviz is not None and shutil.which("dot"):
        path.write_bytes(graphviz.Source(dot).pipe(format=fmt))
        return path
    fallback = path.with_suffix(".dot")
    fallback.write_text(dot)
    missing = "the graphviz Python package" if graphviz is None else "the Graphviz 'dot' program"
    print(
        f"polygrad.viz: {missing} is not installed, so wrote {fallback} instead of {path}. "
        f"Render it with: dot -T{fmt} {fallback} -o {path}  "
        "(install: pip install graphviz; apt-get install graphviz)"
    )
    return fallback
