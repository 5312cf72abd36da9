"""The examples run end to end with a tiny budget (``--smoke``) and write what they promise.

Each example runs as a subprocess, as a user would run it, on the numpy and strict backends.
These tests need the examples extra (``pip install -e ".[examples]"``, which ``nox -s
examples`` installs); without it the whole file is skipped.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REASON = "the examples need the examples extra: pip install -e '.[examples]'"
pytest.importorskip("matplotlib", reason=REASON)
pytest.importorskip("tqdm", reason=REASON)
pytest.importorskip("PIL", reason=REASON)

import polygrad as pg  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BACKENDS = ["numpy", "strict"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GIF_MAGIC = (b"GIF87a", b"GIF89a")


def run_example(
    script: str, *args: str, backend: str = "numpy", cwd: Path, python: list[str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``examples/<script>`` with ``args`` on ``backend``; fail with its output if it fails."""
    env = {**os.environ, "POLYGRAD_BACKEND": backend}
    env.pop("POLYGRAD_DEVICE", None)  # each backend's default device (device1 for strict)
    command = python or [sys.executable, str(EXAMPLES / script)]
    proc = subprocess.run(
        [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, (
        f"{script} {' '.join(args)} on {backend} exited with {proc.returncode}\n"
        f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
    )
    return proc


def assert_file(path: Path, magic: bytes | tuple[bytes, ...] | None = None) -> None:
    assert path.is_file(), f"{path} was not written"
    data = path.read_bytes()
    assert data, f"{path} is empty"
    if magic is not None:
        assert data.startswith(magic), f"{path} does not start with {magic!r}: {data[:8]!r}"


def assert_same(a: Any, b: Any, where: str = "checkpoint") -> None:
    """Nested dicts, lists, tuples, tensors and numbers are identical, arrays bit for bit."""
    if isinstance(a, pg.Tensor) or isinstance(a, np.ndarray):
        a_np = a.numpy() if isinstance(a, pg.Tensor) else a
        b_np = b.numpy() if isinstance(b, pg.Tensor) else b
        assert a_np.shape == b_np.shape and a_np.dtype == b_np.dtype, where
        assert np.array_equal(a_np, b_np), f"{where} differs"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), f"{where}: keys {list(a)} != {list(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: lengths {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def final_line(stdout: str, start: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith(start))


# --------------------------------------------------------------------------------------------
# --help
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "script", ["digits.py", "char_lm.py", "spiral.py", "scalar.py", "graph.py"]
)
def test_help(script, tmp_path):
    proc = run_example(script, "--help", cwd=tmp_path)
    assert proc.stdout.startswith("usage:")
    assert "--smoke" in proc.stdout
    assert not list(tmp_path.iterdir()), "--help wrote files"


# --------------------------------------------------------------------------------------------
# digits.py
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "options",
    [
        ["--model", "mlp", "--batchnorm", "--dropout", "0.2"],
        ["--model", "cnn", "--optimizer", "sgd"],
    ],
    ids=["mlp-batchnorm-dropout", "cnn-sgd"],
)
def test_digits_smoke(backend, options, tmp_path):
    out = tmp_path / "runs"
    proc = run_example(
        "digits.py", "--smoke", "--out", str(out), *options, backend=backend, cwd=tmp_path
    )
    assert "test accuracy:" in proc.stdout
    assert "epoch  2/2" in proc.stdout  # the progress bar
    model = options[1]
    assert_file(out / f"digits-{model}.png", PNG_MAGIC)
    assert_file(out / f"digits-{model}.pgz")
    checkpoint = pg.load(out / f"digits-{model}.pgz")
    assert checkpoint["epoch"] == 2
    assert {"model", "optimizer", "scheduler", "rng", "config", "history"} <= set(checkpoint)
    assert len(checkpoint["history"]["val_acc"]) == 2
    assert checkpoint["config"]["model"] == model


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "options",
    [
        ["--model", "mlp", "--batchnorm", "--dropout", "0.2"],
        ["--model", "cnn", "--optimizer", "sgd"],
    ],
    ids=["mlp-batchnorm-dropout", "cnn-sgd"],
)
def test_digits_resume_is_exact(backend, options, tmp_path):
    """3 epochs in one go == 1 epoch, then --resume to 3: same weights, state and metrics."""
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"

    def digits(out: Path, *args: str) -> str:
        proc = run_example(
            "digits.py",
            "--smoke",
            *options,
            "--out",
            str(out),
            *args,
            backend=backend,
            cwd=tmp_path,
        )
        return proc.stdout

    one_go_output = digits(straight, "--epochs", "3")
    digits(resumed, "--epochs", "1")
    continued_output = digits(resumed, "--epochs", "3", "--resume")
    assert "resuming from" in continued_output
    # the same accuracy line, up to the training time after the comma
    accuracy = [
        final_line(o, "test accuracy").split(",")[0] for o in (one_go_output, continued_output)
    ]
    assert accuracy[0] == accuracy[1]
    name = f"digits-{options[1]}.pgz"
    one_go, continued = pg.load(straight / name), pg.load(resumed / name)
    assert one_go["epoch"] == continued["epoch"] == 3
    for key in ("model", "optimizer", "scheduler", "rng", "history"):
        assert_same(one_go[key], continued[key], key)


def test_digits_resume_without_checkpoint_fails_clearly(tmp_path):
    env = {**os.environ, "POLYGRAD_BACKEND": "numpy"}
    script = str(EXAMPLES / "digits.py")
    proc = subprocess.run(
        [sys.executable, script, "--smoke", "--resume", "--out", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode != 0
    assert "no checkpoint" in proc.stderr


# --------------------------------------------------------------------------------------------
# char_lm.py
# --------------------------------------------------------------------------------------------
TINY_LM = ["--smoke", "--dim", "16", "--hidden", "32", "--heads", "2", "--seq-len", "16",
           "--batch-size", "8", "--lr", "0.01", "--sample-len", "30"]  # fmt: skip


def char_lm(out: Path, *args: str, backend: str = "numpy") -> str:
    proc = run_example("char_lm.py", *TINY_LM, "--out", str(out), *args, backend=backend,
                       cwd=out.parent)  # fmt: skip
    return proc.stdout


@pytest.mark.parametrize(("model", "backend"), [("lstm", "numpy"), ("transformer", "strict")])
def test_char_lm_smoke_learns_and_writes(model, backend, tmp_path):
    out = tmp_path / "runs"
    stdout = char_lm(out, "--model", model, backend=backend)
    assert "epoch  2/2" in stdout
    assert f"{model} (" in stdout and "parameters)" in stdout
    assert_file(out / f"char_lm-{model}.png", PNG_MAGIC)
    checkpoint = pg.load(out / f"char_lm-{model}.pgz")
    assert checkpoint["epoch"] == 2 and len(checkpoint["chars"]) == 65
    loss, val_loss = checkpoint["history"]["loss"], checkpoint["history"]["val_loss"]
    # from about ln 65 = 4.17 (uniform over the characters) downwards
    assert loss[1] < loss[0] < 4.3 and val_loss[1] < val_loss[0] < np.log(65)
    reported = float(final_line(stdout, "final validation loss:").split()[3])
    assert reported == pytest.approx(val_loss[1], abs=1e-4)
    # one sample per epoch: --sample-len 30 characters, all of the text's vocabulary
    samples = stdout.split("--- sample (temperature 0.8)\n")[1:]
    assert len(samples) == 2
    for text in samples:
        assert text[30:].startswith("\n---\n"), text
        assert set(text[:30]) <= set(checkpoint["chars"]), text[:30]


def test_char_lm_resume_is_exact(tmp_path):
    """2 epochs in one go == 1 epoch, then --resume to 2 (with dropout: the rng state too)."""
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    options = ["--model", "transformer", "--dropout", "0.1"]
    char_lm(straight, *options, "--epochs", "2")
    char_lm(resumed, *options, "--epochs", "1")
    assert "resuming from" in char_lm(resumed, *options, "--epochs", "2", "--resume")
    one_go = pg.load(straight / "char_lm-transformer.pgz")
    continued = pg.load(resumed / "char_lm-transformer.pgz")
    assert continued["epoch"] == 2
    for key in ("model", "optimizer", "rng", "history", "chars"):
        assert_same(one_go[key], continued[key], key)


def test_char_lm_refuses_another_vocabulary_or_model(tmp_path):
    out = tmp_path / "runs"
    text = tmp_path / "abc.txt"
    text.write_text("abc ab ba cab\n" * 40)
    char_lm(out, "--data", str(text), "--sample-len", "0", "--epochs", "1")
    assert (out / "char_lm-lstm.pgz").is_file()
    other = tmp_path / "xyz.txt"
    other.write_text("xyz, zyx!\n" * 40)
    env = {**os.environ, "POLYGRAD_BACKEND": "numpy"}
    resume = [sys.executable, str(EXAMPLES / "char_lm.py"), *TINY_LM, "--out", str(out),
              "--resume"]  # fmt: skip
    proc = subprocess.run([*resume, "--data", str(other)], env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "another vocabulary (5 characters, this one has 7)" in proc.stderr, proc.stderr
    (out / "char_lm-lstm.pgz").rename(out / "char_lm-transformer.pgz")
    proc = subprocess.run([*resume, "--data", str(text), "--model", "transformer"], env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "holds a lstm model, not a transformer" in proc.stderr, proc.stderr


def test_char_lm_lstm_losses_equal_torchs_from_the_same_weights():
    """The example's CharLSTM and the same layers in torch: equal losses over AdamW steps."""
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(EXAMPLES))
    try:
        from models import CharLSTM
    finally:
        sys.path.remove(str(EXAMPLES))
    ours = CharLSTM(11, embed=6, hidden=8).double()
    theirs = torch.nn.ModuleDict({"embed": torch.nn.Embedding(11, 6),
                                  "lstm": torch.nn.LSTM(6, 8, batch_first=True),
                                  "head": torch.nn.Linear(8, 11)}).double()  # fmt: skip
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    ids = np.random.default_rng(0).integers(0, 11, (4, 13))
    x, y = pg.tensor(ids), torch.tensor(ids)
    opt_ours = pg.optim.AdamW(ours.parameters(), lr=0.01)
    opt_theirs = torch.optim.AdamW(theirs.parameters(), lr=0.01)
    for _ in range(3):
        loss = pg.nn.functional.cross_entropy(ours(x[:, :-1])[0].reshape(-1, 11),
                                              x[:, 1:].reshape(-1))  # fmt: skip
        out, _ = theirs["lstm"](theirs["embed"](y[:, :-1]))
        expected = torch.nn.functional.cross_entropy(theirs["head"](out).reshape(-1, 11),
                                                     y[:, 1:].reshape(-1))  # fmt: skip
        assert loss.item() == pytest.approx(expected.item(), rel=1e-10)
        for opt, value in ((opt_ours, loss), (opt_theirs, expected)):
            opt.zero_grad()
            value.backward()
            opt.step()


def test_char_lm_gpt_logits_equal_torchs_from_the_same_weights():
    """The example's CharGPT against the same computation written with torch.nn.functional."""
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(EXAMPLES))
    try:
        from models import CharGPT
    finally:
        sys.path.remove(str(EXAMPLES))
    vocab, context, dim, heads = 11, 7, 8, 2
    ours = CharGPT(vocab, context, dim, layers=2, heads=heads).double()
    w = {k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()}
    ids = np.random.default_rng(0).integers(0, vocab, (3, 6))
    tf = torch.nn.functional

    def norm(x, name):
        return tf.layer_norm(x, (dim,), w[f"{name}.weight"], w[f"{name}.bias"])

    def linear(x, name):
        return tf.linear(x, w[f"{name}.weight"], w[f"{name}.bias"])

    y = torch.tensor(ids)
    x = w["token.weight"][y] + w["position.weight"][: y.shape[1]]
    for b in ("blocks.0", "blocks.1"):
        q, k, v = linear(norm(x, f"{b}.norm1"), f"{b}.attention.qkv").chunk(3, dim=-1)
        q, k, v = (t.unflatten(-1, (heads, dim // heads)).transpose(1, 2) for t in (q, k, v))
        att = tf.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2)
        x = x + linear(att.flatten(2), f"{b}.attention.proj")
        hidden = tf.gelu(linear(norm(x, f"{b}.norm2"), f"{b}.mlp.0"))
        x = x + linear(hidden, f"{b}.mlp.2")
    expected = linear(norm(x, "norm"), "head")
    np.testing.assert_allclose(
        ours(pg.tensor(ids)).numpy(), expected.numpy(), rtol=1e-10, atol=1e-12
    )


# --------------------------------------------------------------------------------------------
# spiral.py, scalar.py, graph.py
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_spiral_smoke(backend, tmp_path):
    from PIL import Image

    out = tmp_path / "runs"
    proc = run_example("spiral.py", "--smoke", "--out", str(out), backend=backend, cwd=tmp_path)
    for row in ("ReLU        SGD", "ReLU        Adam", "Sigmoid     SGD", "Sigmoid     Adam"):
        assert row in proc.stdout  # the table of accuracies
    assert_file(out / "spiral.gif", GIF_MAGIC)
    assert_file(out / "spiral.png", PNG_MAGIC)
    with Image.open(out / "spiral.gif") as gif:
        assert gif.n_frames >= 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_scalar_smoke(backend, tmp_path):
    proc = run_example("scalar.py", "--smoke", backend=backend, cwd=tmp_path)
    # micrograd's README numbers, from polygrad and from torch on the same line
    assert "138.8338" in proc.stdout and "645.5773" in proc.stdout
    assert "torch grad" in proc.stdout
    assert not list(tmp_path.iterdir()), "scalar.py should write no files"


def test_scalar_without_torch(tmp_path):
    """With torch not importable, scalar.py still runs and says so."""
    hide_torch = (
        "import runpy, sys; sys.modules['torch'] = None; "
        f"sys.argv = [{str(EXAMPLES / 'scalar.py')!r}, '--smoke']; "
        f"sys.path.insert(0, {str(EXAMPLES)!r}); "  # as `python examples/scalar.py` does
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    proc = run_example("scalar.py", cwd=tmp_path, python=[sys.executable, "-c", hide_torch])
    assert "torch is not installed" in proc.stdout
    assert "138.8338" in proc.stdout and "torch grad" not in proc.stdout


@pytest.mark.parametrize("backend", BACKENDS)
def test_graph_smoke(backend, tmp_path):
    out = tmp_path / "runs"
    proc = run_example("graph.py", "--smoke", "--out", str(out), backend=backend, cwd=tmp_path)
    assert "d o / d x1 = -1.5000" in proc.stdout
    for stage in ("before", "after"):
        png = out / f"graph-{stage}.png"
        if png.exists():  # graphviz and its dot program are installed
            assert_file(png, PNG_MAGIC)
        else:  # draw fell back to DOT text and said how to render it
            assert_file(out / f"graph-{stage}.dot", b"digraph")
            assert "dot -Tpng" in proc.stdout


def test_graph_dot_format_needs_no_graphviz(tmp_path):
    run_example("graph.py", "--format", "dot", "--out", str(tmp_path), cwd=tmp_path)
    before, after = (tmp_path / f"graph-{s}.dot" for s in ("before", "after"))
    assert_file(before, b"digraph")
    assert_file(after, b"digraph")
    assert "grad -1.5" in after.read_text()  # x1's gradient, only after backward
    assert "grad -1.5" not in before.read_text()


# --------------------------------------------------------------------------------------------
# Ctrl-C during training: the message names the epoch the checkpoint holds
# --------------------------------------------------------------------------------------------
def interrupt_digits(out: Path, wait_for: str, delay: float, *args: str) -> tuple[str, int]:
    """Start digits.py, wait until it prints ``wait_for`` and its checkpoint exists, sleep
    ``delay`` s, press Ctrl-C (SIGINT); return its stderr and exit status."""
    env = {**os.environ, "POLYGRAD_BACKEND": "numpy"}
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "digits.py"), "--smoke", "--out", str(out), *args],
        cwd=out.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell starts background jobs with SIGINT ignored; Python only turns SIGINT into
        # KeyboardInterrupt when it is not ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        for line in proc.stdout:
            if wait_for in line:
                break
        deadline = time.monotonic() + 120
        while not (out / "digits-mlp.pgz").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return stderr, proc.returncode


@pytest.mark.parametrize("delay", [0.0, 0.13, 0.41])
def test_digits_ctrl_c_reports_the_epoch_saved(delay, tmp_path):
    out = tmp_path / "runs"
    stderr, status = interrupt_digits(out, "training images", delay, "--epochs", "100000")
    assert status == 130, stderr
    assert "Traceback" not in stderr, stderr
    reported = int(re.search(r"holds epoch (\d+); continue with --resume", stderr).group(1))
    checkpoint = pg.load(out / "digits-mlp.pgz")
    assert reported == checkpoint["epoch"] >= 1
    assert len(checkpoint["history"]["loss"]) == reported


def test_digits_ctrl_c_after_resume_reports_the_epoch_saved(tmp_path):
    out = tmp_path / "runs"
    run_example("digits.py", "--smoke", "--epochs", "2", "--out", str(out), cwd=tmp_path)
    stderr, status = interrupt_digits(out, "resuming from", 0.0, "--resume", "--epochs", "100000")
    assert status == 130, stderr
    reported = int(re.search(r"holds epoch (\d+)", stderr).group(1))
    assert reported == pg.load(out / "digits-mlp.pgz")["epoch"] >= 2


# --------------------------------------------------------------------------------------------
# bad command-line values are usage errors: argparse's message, exit status 2
# --------------------------------------------------------------------------------------------
INTEGER_RANGE = "must be an integer >= 1, got"
BAD_VALUES = [
    ("digits.py", ["--epochs", "-3"], "argument --epochs: " + INTEGER_RANGE + " '-3'"),
    ("digits.py", ["--epochs", "0"], "argument --epochs: " + INTEGER_RANGE + " '0'"),
    ("digits.py", ["--epochs", "2.5"], "argument --epochs: " + INTEGER_RANGE + " '2.5'"),
    ("digits.py", ["--batch-size", "0"], "argument --batch-size: " + INTEGER_RANGE + " '0'"),
    ("digits.py", ["--batch-size", "-8"], "argument --batch-size: " + INTEGER_RANGE),
    ("digits.py", ["--lr", "-0.1"], "argument --lr: must be a number > 0, got '-0.1'"),
    ("digits.py", ["--lr", "nan"], "argument --lr: must be a number > 0, got 'nan'"),
    ("digits.py", ["--dropout", "1"], "argument --dropout: must be a number in [0, 1), got"),
    ("digits.py", ["--label-smoothing", "-1"], "argument --label-smoothing: must be a number in"),
    ("digits.py", ["--seed", "-1"], "argument --seed: must be an integer >= 0, got '-1'"),
    ("digits.py", ["--backend", "jax"], "argument --backend: unknown backend 'jax'"),
    ("spiral.py", ["--steps", "0"], "argument --steps: " + INTEGER_RANGE + " '0'"),
    ("spiral.py", ["--frames", "-1"], "argument --frames: " + INTEGER_RANGE + " '-1'"),
    ("spiral.py", ["--points", "0"], "argument --points: " + INTEGER_RANGE + " '0'"),
    ("scalar.py", ["--steps", "-5"], "argument --steps: " + INTEGER_RANGE + " '-5'"),
    ("scalar.py", ["--lr", "-1"], "argument --lr: must be a number > 0, got '-1'"),
    ("graph.py", ["--format", "gif"], "argument --format: invalid choice: 'gif'"),
    ("char_lm.py", ["--model", "rnn"], "argument --model: invalid choice: 'rnn'"),
    ("char_lm.py", ["--seq-len", "0"], "argument --seq-len: " + INTEGER_RANGE + " '0'"),
    ("char_lm.py", ["--temperature", "0"], "argument --temperature: must be a number > 0"),
    (
        "char_lm.py",
        ["--model", "transformer", "--heads", "3"],
        "argument --heads: --dim 64 is not a multiple of 3",
    ),
    ("char_lm.py", ["--data", "no-such.txt"], "argument --data: no file 'no-such.txt'"),
    ("demo.py", ["--steps", "0"], "argument --steps: " + INTEGER_RANGE + " '0'"),
    ("demo.py", ["--hidden", "-2"], "argument --hidden: " + INTEGER_RANGE + " '-2'"),
    ("demo.py", ["--lr", "-0.03"], "argument --lr: must be a number > 0, got '-0.03'"),
]
ALL_EXAMPLES = ["digits.py", "char_lm.py", "spiral.py", "scalar.py", "graph.py", "demo.py"]
WRITING_EXAMPLES = ["digits.py", "char_lm.py", "spiral.py", "graph.py"]


def assert_usage_error(script: str, args: list[str], expected: str, cwd: Path, **env: str) -> None:
    """``script args`` exits with status 2 and argparse's usage and message, writing nothing."""
    environment = {**os.environ, "POLYGRAD_BACKEND": "numpy", **env}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2, f"{script} {args}: status {proc.returncode}\n{proc.stderr}"
    assert proc.stderr.startswith("usage: "), proc.stderr
    assert f"{script}: error: {expected}" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == "", proc.stdout
    assert not (cwd / "runs").exists(), f"{script} wrote runs/ before failing"


@pytest.mark.parametrize(("script", "args", "expected"), BAD_VALUES)
def test_bad_values_are_usage_errors(script, args, expected, tmp_path):
    assert_usage_error(script, args, expected, tmp_path)


@pytest.mark.parametrize("script", ALL_EXAMPLES)
def test_unknown_backend_in_the_environment_is_a_usage_error(script, tmp_path):
    assert_usage_error(
        script, [], "argument --backend: unknown backend 'jax'", tmp_path, POLYGRAD_BACKEND="jax"
    )


def test_unusable_device_is_a_usage_error(tmp_path):
    assert_usage_error(
        "scalar.py",
        ["--smoke"],
        "argument --backend: numpy with POLYGRAD_DEVICE=gpu7 cannot be used: ",
        tmp_path,
        POLYGRAD_DEVICE="gpu7",
    )


@pytest.mark.parametrize("script", WRITING_EXAMPLES)
def test_unwritable_out_is_a_usage_error(script, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    out = tmp_path / "a-file" / "runs"
    assert_usage_error(
        script,
        ["--smoke", "--out", str(out)],
        f"argument --out: cannot write into '{out}'",
        tmp_path,
    )


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_out_is_a_usage_error(tmp_path):
    out = tmp_path / "read-only"
    out.mkdir(mode=0o500)
    assert_usage_error(
        "digits.py", ["--smoke", "--out", str(out)], "argument --out: cannot write into", tmp_path
    )


# --------------------------------------------------------------------------------------------
# array_api_interop.py
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_array_api_interop_checks_every_gradient(backend, tmp_path):
    for module, dist in [("array_api_extra", "array-api-extra"), ("scipy", "scipy"),
                         ("sklearn", "scikit-learn"), ("marray", "marray")]:  # fmt: skip
        pytest.importorskip(module, reason=f"{dist} is missing: pip install -e '.[interop]'")
    proc = run_example("array_api_interop.py", backend=backend, cwd=tmp_path)
    lines = [line for line in proc.stdout.splitlines() if "gradcheck" in line]
    assert len(lines) == 7 and all(line.endswith("gradcheck ok") for line in lines), proc.stdout
    for line in lines:  # the printed largest difference from central differences
        assert float(line.split("numeric|")[1].split()[0]) < 1e-6, line
    assert "max |polygrad - torch|" in proc.stdout
    assert final_line(proc.stdout, "8/8") == "8/8 gradient checks passed"
    assert not list(tmp_path.iterdir()), "array_api_interop.py should write no files"


# --compile (spiral.py, char_lm.py)
# --------------------------------------------------------------------------------------------
SPEEDUP = re.compile(r"compiled step: [\d.]+ ms vs eager [\d.]+ ms \([\d.]+x\)")


def test_spiral_compile_prints_speedup_and_trains_the_same(tmp_path):
    def table(*args: str) -> tuple[list[str], str]:
        proc = run_example("spiral.py", "--smoke", "--out", str(tmp_path), *args, cwd=tmp_path)
        rows = [
            r
            for r in proc.stdout.splitlines()
            if r.startswith(("ReLU ", "Sigmoid ")) and "compiled step" not in r
        ]
        return rows, proc.stdout

    eager, _ = table()
    compiled, stdout = table("--compile")
    assert len(eager) == 4 and compiled == eager  # replayed steps train exactly as eager
    assert SPEEDUP.search(stdout), stdout


def test_char_lm_compile_prints_speedup(tmp_path):
    stdout = char_lm(tmp_path / "runs", "--compile", "--epochs", "1", "--sample-len", "0")
    assert SPEEDUP.search(stdout), stdout


def test_digits_compile_trains_the_same_and_prints_speedup(tmp_path):
    """digits.py --compile: the replayed training steps give bitwise the eager run's weights,
    and the speedup line is printed."""

    def digits(out: Path, *args: str) -> str:
        proc = run_example(
            "digits.py", "--smoke", "--model", "mlp", "--out", str(out), *args, cwd=tmp_path
        )
        return proc.stdout

    digits(tmp_path / "eager")
    stdout = digits(tmp_path / "compiled", "--compile")
    assert SPEEDUP.search(stdout), stdout
    eager = pg.load(tmp_path / "eager" / "digits-mlp.pgz")
    compiled = pg.load(tmp_path / "compiled" / "digits-mlp.pgz")
    assert_same(eager["model"], compiled["model"], "model")
    assert_same(eager["optimizer"], compiled["optimizer"], "optimizer")
