"""Three PyTorch training programs run on polygrad with only their imports changed.

``tests/ports/torch_<name>.py`` is written for PyTorch; ``tests/ports/polygrad_<name>.py`` is
the same file with ``import torch`` (and ``torch.nn``, ``torch.nn.functional``,
``torch.utils.data``) imports pointed at polygrad. The tests check that the two files differ
in import lines only, then train both from the same initial weights (float64) and compare the
losses step by step.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
import torch

PORTS = Path(__file__).parent / "ports"
NAMES = ["polynomial", "mlp_classifier", "char_lstm"]
IMPORT = re.compile(r"^(import \S+( as \S+)?|from \S+ import .+)$")


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"port_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", NAMES)
def test_the_port_differs_from_the_torch_program_in_imports_only(name):
    ours = (PORTS / f"polygrad_{name}.py").read_text().splitlines()
    theirs = (PORTS / f"torch_{name}.py").read_text().splitlines()
    changed = [
        line[1:]
        for line in difflib.unified_diff(theirs, ours, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed, "the port should change the imports"
    for line in changed:
        assert IMPORT.match(line), f"{name}: a non-import line differs: {line!r}"
        if line in ours:
            assert "polygrad" in line, f"{name}: a changed import does not use polygrad: {line!r}"


def _initial_weights(name: str, torch_program) -> dict | None:
    """The torch model's seeded initial state, as NumPy, so both programs start equal."""
    torch.manual_seed(0)
    if name == "mlp_classifier":
        model = torch_program.Net().double()
    elif name == "char_lstm":
        model = torch_program.CharLM(torch_program.batches()[0]).double()
    else:
        return None
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize(("name", "steps"), [("polynomial", 300), ("mlp_classifier", 4),
                                              ("char_lstm", 25)])  # fmt: skip
def test_the_port_trains_to_torch_losses(name, steps, capsys):
    torch_program = _load(PORTS / f"torch_{name}.py")
    port = _load(PORTS / f"polygrad_{name}.py")
    weights = _initial_weights(name, torch_program)
    args = (steps,) if weights is None else (steps, weights)
    want = torch_program.main(*args)
    got = port.main(*args)
    assert len(got) == len(want) == steps
    assert all(isinstance(v, float) for v in got)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    printed = capsys.readouterr().out.splitlines()
    half = len(printed) // 2
    assert half and len(printed) == 2 * half, printed
    if name != "polynomial":  # (that one prints full-precision floats)
        assert printed[half:] == printed[:half], "the port prints other progress lines"
