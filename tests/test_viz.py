"""polygrad.viz: DOT text of a graph, and the rendering fallback."""

import pytest

import polygrad as pg
from polygrad.viz import draw, to_dot


def _expression():
    a = pg.tensor(2.0, requires_grad=True)
    b = pg.tensor(-3.0, requires_grad=True)
    e = a * b
    e.retain_grad()
    out = (e + 10.0).tanh()
    return a, b, e, out


def test_dot_names_every_op_and_shows_values_and_gradients():
    a, b, e, out = _expression()
    dot = to_dot(out, names={"a": a, "b": b, "e": e})
    assert dot.startswith("digraph polygrad {") and dot.rstrip().endswith("}")
    for op in ("Mul", "Add", "Tanh"):
        assert f'label="{op}"' in dot
    assert "a () | data 2" in dot and "b () | data -3" in dot and "e () | data -6" in dot
    assert "| grad" not in dot
    out.backward(retain_graph=True)
    dot = to_dot(out, names={"a": a, "b": b, "e": e})
    assert f"grad {b.grad.item():.4g}" in dot and f"grad {e.grad.item():.4g}" in dot
    assert "| grad" not in to_dot(out, show_grad=False, names={"a": a})
    # a -> Mul, b -> Mul, Mul -> e, e -> Add, Add -> box, box -> Tanh, Tanh -> box
    assert dot.count("->") == 7


def test_large_tensors_show_their_shape_only():
    x = pg.randn(10, 10, requires_grad=True)
    dot = to_dot(x.exp().sum())
    assert "(10, 10) float32" in dot and "data [" not in dot


def test_a_freed_graph_cannot_be_drawn():
    _, _, _, out = _expression()
    out.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        to_dot(out)


def test_draw_writes_dot_text_and_falls_back_to_dot_without_graphviz(tmp_path, monkeypatch):
    _, _, _, out = _expression()
    written = draw(out, tmp_path / "g.dot")
    assert written.read_text() == to_dot(out)
    monkeypatch.setattr("shutil.which", lambda name: None)
    written = draw(out, tmp_path / "pics" / "g.svg")
    assert written == tmp_path / "pics" / "g.dot" and written.read_text() == to_dot(out)
