"""The torch-shaped front door, snippet by snippet against the real torch.

Module layout (``import polygrad`` exposes nn, optim, utils.data ... as ``import torch`` does);
dtype aliases and conversions; devices, ``cuda``, ``backends``, ``accelerator``; ``amp``; the
torch features polygrad lacks, which import fine and fail when used; the DataLoader options
polygrad accepts without acting on them.
"""

import ast
import pathlib
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from helpers import assert_on_backend

import polygrad as pg

PACKAGE = pathlib.Path(pg.__file__).parent


# -- 1. module layout -------------------------------------------------------------------------
SUBMODULES = [
    "nn",
    "nn.functional",
    "nn.init",
    "nn.parallel",
    "optim",
    "optim.lr_scheduler",
    "utils.data",
    "autograd",
    "cuda",
    "cuda.amp",
    "amp",
    "backends",
    "jit",
    "onnx",
    "distributed",
    "serialization",
    "sparse",
]


def test_subpackages_are_attributes_after_a_bare_import():
    """In a fresh interpreter ``import polygrad`` alone reaches every subpackage, as torch."""
    code = (
        "import functools, polygrad, torch\n"
        f"for path in {SUBMODULES!r}:\n"
        "    functools.reduce(getattr, path.split('.'), torch)\n"
        "    m = functools.reduce(getattr, path.split('.'), polygrad)\n"
        "    assert m.__name__ == 'polygrad.' + path, m.__name__\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def _imports(path: pathlib.Path) -> set[str]:
    """The polygrad modules ``path`` imports at module level (relative imports resolved)."""
    name = ".".join(("polygrad", *path.relative_to(PACKAGE).with_suffix("").parts))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    package = package.removesuffix(".__init__")
    found = set()
    for node in ast.parse(path.read_text()).body:  # module level only: lazy imports are fine
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("polygrad")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.startswith("polygrad"):
                if node.module or not node.level:  # not `from . import x`: that is x only
                    found.add(module)
                found |= {f"{module}.{a.name}" for a in node.names}
    return found


def test_the_core_import_graph_is_acyclic_and_never_reaches_the_front_door():
    """Engine modules (``polygrad._*``, ``ops``, ``array_api``) import neither the top-level
    package nor the torch-shaped subpackages, and the module graph below the top level has no
    cycle, so ``import polygrad.nn`` as a first import works."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(("polygrad", *path.relative_to(PACKAGE).with_suffix("").parts))
        modules[name.removesuffix(".__init__")] = path
    graph = {m: {i for i in _imports(p) if i in modules and i != "polygrad"} for m, p in
             modules.items()}  # fmt: skip
    front = ("polygrad.nn", "polygrad.optim", "polygrad.utils", "polygrad.cuda")
    for m, deps in graph.items():
        if m == "polygrad":
            continue
        core = m.split(".")[1].startswith("_") or m.split(".")[1] in ("ops", "array_api")
        if core:
            assert "polygrad" not in _imports(modules[m]) or m.startswith("polygrad._unsup"), m
            assert not [d for d in deps if d.startswith(front)], (m, deps)
    state: dict[str, int] = {}

    def visit(m, trail):
        if state.get(m) == 1:
            raise AssertionError(f"import cycle: {' -> '.join(trail + [m])}")
        if state.get(m) == 2:
            return
        state[m] = 1
        for d in graph[m]:
            # a package's __init__ importing its own submodules is how packages work
            if not d.startswith(m + "."):
                visit(d, trail + [m])
        state[m] = 2

    for m in graph:
        if m != "polygrad":
            visit(m, [])


@pytest.mark.parametrize("path", ["polygrad.nn", "polygrad.utils.data", "polygrad.distributed"])
def test_first_import_of_a_subpackage_works(path):
    run = subprocess.run(
        [sys.executable, "-c", f"import {path}"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr


# -- 3. dtypes ------------------------------------------------------------------------------------
ALIASES = ["long", "int", "float", "double", "bool", "half", "short", "cfloat", "cdouble",
           "float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
           "uint8", "complex64", "complex128"]  # fmt: skip


@pytest.mark.parametrize("name", ALIASES)
def test_dtype_aliases_name_torchs_dtypes(name):
    ours, theirs = getattr(pg, name), getattr(torch, name)
    assert f"torch.{ours.name}" == str(theirs)
    assert ours.is_floating_point == theirs.is_floating_point
    assert ours.is_complex == theirs.is_complex
    assert ours.itemsize == theirs.itemsize


CONVERSIONS = ["long", "float", "double", "int", "bool"]


@pytest.mark.parametrize("method", CONVERSIONS)
@pytest.mark.parametrize("values", [[1.5, -2.0, 0.0], [3, 0, -1]])
def test_conversion_methods(method, values):
    t = torch.tensor(values)
    x = pg.tensor(values)
    got, want = getattr(x, method)(), getattr(t, method)()
    assert_on_backend(got)
    assert f"torch.{got.dtype.name}" == str(want.dtype)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_conversion_to_the_same_dtype_returns_self_as_torch():
    x, t = pg.ones(2), torch.ones(2)
    assert (x.float() is x) == (t.float() is t) == (x.type(pg.float32) is x)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "uint8", "bool"])
def test_type_names_and_type_conversion(dtype):
    t = torch.zeros(2, dtype=getattr(torch, dtype))
    x = pg.zeros(2, dtype=getattr(pg, dtype))
    assert x.type() == t.type()
    for target in ("torch.DoubleTensor", "torch.LongTensor", "torch.BoolTensor"):
        assert f"torch.{x.type(target).dtype.name}" == str(t.type(target).dtype)
    assert x.type(pg.float64).dtype == pg.float64 and t.type(torch.float64).dtype == torch.float64


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.zeros(2, dtype=m.half),
        lambda m: m.ones(2, dtype=m.bfloat16),
        lambda m: m.tensor([1.0], dtype=m.float16),
        lambda m: m.ones(2).half(),
        lambda m: m.ones(2).bfloat16(),
        lambda m: m.ones(2).to(m.float16),
    ],
)
def test_half_precision_tensors_are_a_clear_type_error(make):
    assert make(torch).dtype in (torch.float16, torch.bfloat16)  # torch has them ...
    with pytest.raises(TypeError, match="float32 and float64"):  # ... polygrad says it has not
        make(pg)


def test_default_dtype_as_torch():
    for dtype in ("float64", "float32"):
        torch.set_default_dtype(getattr(torch, dtype))
        pg.set_default_dtype(getattr(pg, dtype))
        assert str(torch.get_default_dtype()) == f"torch.{pg.get_default_dtype().name}"
        assert str(torch.tensor([1.5]).dtype) == f"torch.{pg.tensor([1.5]).dtype.name}"
        assert str(torch.zeros(2).dtype) == f"torch.{pg.zeros(2).dtype.name}"
    with pytest.raises(TypeError, match="float32 or float64"):
        pg.set_default_dtype(pg.float16)
    with pytest.raises(TypeError):
        torch.set_default_dtype(torch.int64)
    with pytest.raises(TypeError):
        pg.set_default_dtype(pg.int64)


# -- 3. devices -----------------------------------------------------------------------------------
SPECS = [("cpu",), ("cuda",), ("cuda:1",), ("cuda", 2), ("cpu", 0), ("mps",), ("meta",)]
BAD_SPECS = [("gpu",), ("cuda:x",), ("cuda:01",), ("cuda:-1",), ("cuda:1", 1), ("",)]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_device_objects_as_torch(spec):
    ours, theirs = pg.device(*spec), torch.device(*spec)
    assert (ours.type, ours.index, str(ours), repr(ours)) == (
        theirs.type,
        theirs.index,
        str(theirs),
        repr(theirs),
    )
    assert ours == theirs and theirs == ours and not (ours != theirs)
    assert pg.device(theirs) == ours and pg.device(ours) is ours
    assert pickle.loads(pickle.dumps(ours)) == ours
    assert hash(ours) == hash(pg.device(str(theirs)))
    assert ours == str(theirs)  # the documented difference: a polygrad device is its string


@pytest.mark.parametrize("spec", BAD_SPECS, ids=str)
def test_bad_device_specs_raise_torchs_error(spec):
    with pytest.raises(RuntimeError) as theirs:
        torch.device(*spec)
    with pytest.raises(RuntimeError) as ours:
        pg.device(*spec)
    assert str(ours.value) == str(theirs.value)


def test_devices_compare_by_type_and_index():
    assert pg.device("cpu") != pg.device("cpu", 0)
    assert (torch.device("cpu") != torch.device("cpu", 0)) is True
    assert pg.device("cuda", 0) != torch.device("cuda", 1)


def test_tensor_device_and_cpu():
    x, t = pg.ones(2), torch.ones(2)
    assert x.device.type == t.device.type == "cpu"
    assert x.device.index is t.device.index is None
    assert (x.cpu() is x) == (t.cpu() is t) is True
    assert x.is_cuda == t.is_cuda is False
    assert x.is_cpu == t.is_cpu is True
    assert x.get_device() == t.get_device() == -1
    assert x.is_sparse == t.is_sparse is False
    for where in (x.device, pg.device("cpu"), "cpu", torch.device("cpu")):
        assert_on_backend(pg.zeros(2, device=where))
        assert_on_backend(x.to(where))
    assert x.to(x.device) is x


def test_cuda_without_cuda_fails_as_torch():
    with pytest.raises(AssertionError, match="not compiled with CUDA") as theirs:
        torch.ones(2).cuda()
    with pytest.raises(AssertionError, match="not compiled with CUDA") as ours:
        pg.ones(2).cuda()
    assert type(ours.value) is type(theirs.value)


def test_cuda_module_without_cuda():
    assert pg.cuda.is_available() == torch.cuda.is_available() is False
    assert pg.cuda.device_count() == torch.cuda.device_count() == 0
    assert pg.cuda.is_bf16_supported() is False
    pg.manual_seed(3)
    a = pg.randn(4).numpy()
    pg.manual_seed(3)
    pg.cuda.manual_seed_all(99)  # seeds CUDA generators only, as in torch: CPU draws unchanged
    pg.cuda.manual_seed(99)
    torch.cuda.manual_seed_all(99)
    np.testing.assert_array_equal(pg.randn(4).numpy(), a)
    pg.cuda.synchronize()
    pg.cuda.empty_cache()
    with pytest.raises(NotImplementedError, match="torch.cuda.current_device"):
        pg.cuda.current_device()
    with pytest.raises(AttributeError, match="no torch feature torch.cuda.nccl"):
        pg.cuda.nccl  # noqa: B018


def test_backends_flags_scripts_set():
    assert pg.backends.mps.is_available() == torch.backends.mps.is_available() is False
    assert pg.backends.mps.is_built() is False
    assert pg.backends.cudnn.is_available() == torch.backends.cudnn.is_available()
    for ns, flag in [
        ("cuda.matmul", "allow_tf32"),
        ("cudnn", "allow_tf32"),
        ("cudnn", "benchmark"),
        ("cudnn", "deterministic"),
        ("cudnn", "enabled"),
    ]:
        ours = pg.backends
        theirs = torch.backends
        for part in ns.split("."):
            ours, theirs = getattr(ours, part), getattr(theirs, part)
        assert getattr(ours, flag) == getattr(theirs, flag), (ns, flag)  # torch's defaults
        setattr(ours, flag, True)  # accepted, no effect
        assert getattr(ours, flag) is True
        setattr(ours, flag, getattr(theirs, flag))
    x = pg.randn(3, 3, dtype=pg.float32)
    before = (x @ x).numpy()
    pg.backends.cuda.matmul.allow_tf32 = True
    try:
        np.testing.assert_array_equal((x @ x).numpy(), before)
    finally:
        pg.backends.cuda.matmul.allow_tf32 = False


def test_accelerator_as_torch_without_one():
    assert pg.accelerator.is_available() == torch.accelerator.is_available() is False
    assert pg.accelerator.current_accelerator() is torch.accelerator.current_accelerator() is None
    assert pg.accelerator.device_count() == torch.accelerator.device_count() == 0


def test_default_device():
    want = pg.get_backend().device
    pg.set_default_device("cpu")
    assert pg.get_default_device() == torch.get_default_device()
    assert pg.get_default_device().type == "cpu"
    assert_on_backend(pg.zeros(2))
    pg.set_default_device(None)
    assert pg.get_default_device() == want
    with pytest.raises(pg.BackendError):
        pg.set_default_device("cuda")
    assert pg.get_backend().device == want


# -- 3. amp -------------------------------------------------------------------------------------
def _both(make):
    """Build with torch and with polygrad, returning both and the warnings each gave."""
    out = []
    for m in (torch, pg):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            obj = make(m)
        out.append((obj, sorted({(w.category.__name__) for w in caught})))
    return out


def test_grad_scaler_without_cuda_disables_itself_as_torch():
    (ts, tw), (ps, pw) = _both(lambda m: m.amp.GradScaler())
    assert tw == pw == ["UserWarning"]
    (ts2, tw2), (ps2, pw2) = _both(lambda m: m.cuda.amp.GradScaler())
    assert tw2 == pw2 == ["FutureWarning", "UserWarning"]
    for t_scaler, p_scaler in ((ts, ps), (ts2, ps2)):
        assert t_scaler.is_enabled() == p_scaler.is_enabled() is False
        assert t_scaler.get_scale() == p_scaler.get_scale() == 1.0
        assert t_scaler.state_dict() == p_scaler.state_dict() == {}
    w = pg.tensor([1.0, 2.0], requires_grad=True)
    opt = pg.optim.SGD([w], lr=0.5)
    loss = (w * w).sum()
    assert ps.scale(loss) is loss
    loss.backward()
    ps.unscale_(opt)
    assert ps.step(opt) is None and ps.update() is None
    np.testing.assert_allclose(w.numpy(), [0.0, 0.0])  # the step was taken, unscaled
    (_, quiet_t), (_, quiet_p) = _both(lambda m: m.amp.GradScaler(enabled=False))
    assert quiet_t == quiet_p == []


def test_cpu_grad_scaler_scales_skips_and_backs_off_as_torch():
    """torch's GradScaler("cpu") is enabled: same scales, skipped steps and weights."""
    init = [[0.5, -1.0], [2.0, 0.25]]
    results = []
    for m in (torch, pg):
        w = m.tensor(init, requires_grad=True)
        opt = m.optim.SGD([w], lr=0.1, momentum=0.9)
        scaler = m.amp.GradScaler("cpu", init_scale=2.0**127, growth_interval=2)
        scales = []
        for step in range(6):
            opt.zero_grad()
            loss = ((w * (step + 1)) ** 2).sum()
            scaler.scale(loss).backward()  # 2**127 * loss overflows float32 at first
            scaler.step(opt)
            scaler.update()
            scales.append(scaler.get_scale())
        results.append((scales, w.detach().numpy().copy(), scaler.state_dict()["scale"]))
    (t_scales, t_w, t_state), (p_scales, p_w, p_state) = results
    assert p_scales == t_scales
    assert float(t_state) == p_state
    np.testing.assert_allclose(p_w, t_w, rtol=1e-6)


def _used(context):
    with context:
        return context


def test_autocast_as_torch_without_cuda():
    (_, tw), (_, pw) = _both(lambda m: _used(m.autocast("cuda")))
    assert tw == pw == ["UserWarning"]
    (_, tw), (_, pw) = _both(lambda m: _used(m.cuda.amp.autocast()))
    assert tw == pw == ["FutureWarning", "UserWarning"]
    (_, tw), (_, pw) = _both(lambda m: _used(m.autocast("cpu", dtype=m.float32)))
    assert tw == pw == ["UserWarning"]
    x = pg.randn(2, 2)
    with pg.autocast("cpu", enabled=False), pg.amp.autocast("cuda", enabled=False):
        assert pg.is_autocast_enabled() is False
        np.testing.assert_array_equal((x @ x).numpy(), (x @ x).numpy())

    @pg.amp.autocast("cpu", enabled=False)
    def f(a):
        return a * 2

    np.testing.assert_array_equal(f(x).numpy(), (x * 2).numpy())
    with torch.autocast("cpu"):  # torch computes in bfloat16 here; polygrad cannot
        assert torch.is_autocast_enabled("cpu")
    with pytest.raises(NotImplementedError, match="autocast to bfloat16"):
        pg.autocast("cpu")
    with pytest.raises(NotImplementedError, match="autocast to float16"):
        pg.autocast("cpu", dtype=pg.float16)


# -- 11. unsupported features fail at use, not at import -----------------------------------------
def test_unsupported_modules_import():
    code = (
        "import polygrad.onnx, polygrad.jit, polygrad.sparse\n"
        "from polygrad.nn.parallel import DistributedDataParallel, DataParallel\n"
        "from polygrad.distributed import init_process_group, get_rank, barrier\n"
        "import polygrad.distributed as dist\n"
        "assert dist.is_initialized() is False\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize(
    "use, feature",
    [
        (lambda: pg.onnx.export(None, None, "m.onnx"), "torch.onnx.export"),
        (lambda: pg.jit.script(lambda x: x), "torch.jit.script"),
        (lambda: pg.jit.trace(lambda x: x, pg.ones(1)), "torch.jit.trace"),
        (lambda: pg.jit.load("m.pt"), "torch.jit.load"),
        (lambda: pg.distributed.new_group([0]), "torch.distributed.new_group"),
        (lambda: pg.sparse_coo_tensor([[0]], [1.0], (1,)), "torch.sparse_coo_tensor"),
        (lambda: pg.sparse.mm(pg.ones(1, 1), pg.ones(1, 1)), "torch.sparse.mm"),
        (lambda: pg.ones(2).to_sparse(), "torch.Tensor.to_sparse"),
    ],
)
def test_unsupported_features_raise_not_implemented_naming_them(use, feature):
    with pytest.raises(NotImplementedError, match=f"^polygrad does not implement {feature}"):
        use()


def test_data_parallel_without_cuda_wraps_the_module_as_torch():
    torch.manual_seed(0)
    tm = torch.nn.Linear(3, 2)
    pm = pg.nn.Linear(3, 2)
    pm.load_state_dict({k: pg.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    twrap, pwrap = torch.nn.DataParallel(tm), pg.nn.DataParallel(pm)
    assert sorted(pwrap.state_dict()) == sorted(twrap.state_dict())
    assert pwrap.module is pm and twrap.module is tm
    x = torch.randn(4, 3)
    np.testing.assert_allclose(
        pwrap(pg.tensor(x.numpy())).numpy(), twrap(x).detach().numpy(), rtol=1e-6
    )
    assert pg.nn.parallel.DataParallel is pg.nn.DataParallel


def test_eager_mode_markers_behave_as_in_eager_torch():
    assert pg.jit.is_scripting() == torch.jit.is_scripting() is False
    assert pg.jit.is_tracing() == torch.jit.is_tracing() is False
    assert pg.onnx.is_in_onnx_export() == torch.onnx.is_in_onnx_export() is False

    def f(x):
        return x + 1

    assert pg.jit.ignore(f) is f and pg.jit.unused(f) is f and pg.jit.export(f) is f
    assert pg.jit.ignore(drop=True)(f) is f
    model = pg.nn.Linear(2, 2)
    ddp = pg.nn.parallel.DistributedDataParallel
    assert not isinstance(model, ddp)
    assert issubclass(ddp, pg.nn.Module) and issubclass(torch.nn.parallel.DistributedDataParallel,
                                                         torch.nn.Module)  # fmt: skip


@pytest.mark.parametrize(
    "module, name",
    [
        (pg, "fft_not_a_thing"),
        (pg, "quantize_per_tensor"),
        (pg.jit, "fork"),
        (pg.onnx, "select_model_mode_for_export"),
        (pg.distributed, "rpc"),
        (pg.nn.parallel, "scatter_gather"),
        (pg.sparse, "as_sparse_gradcheck"),
    ],
)
def test_other_torch_attributes_are_attribute_errors_naming_the_feature(module, name):
    torch_name = module.__name__.replace("polygrad", "torch")
    with pytest.raises(AttributeError, match=f"polygrad has no torch feature {torch_name}.{name}"):
        getattr(module, name)
    assert not hasattr(module, name)


# -- 11. DataLoader options accepted ----------------------------------------------------------
def test_dataloader_pin_memory_and_workers_options_as_torch():
    data = [(float(i), i) for i in range(6)]
    ours = pg.utils.data
    (t_loader, tw), (p_loader, pw) = _both(
        lambda m: list(m.utils.data.DataLoader(data, batch_size=4, pin_memory=True))
    )
    assert tw == pw  # torch warns only when an accelerator is missing ... as polygrad does
    for (tx, ty), (px, py) in zip(t_loader, p_loader):
        np.testing.assert_array_equal(px.numpy(), tx.numpy())
        np.testing.assert_array_equal(py.numpy(), ty.numpy())
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        torch.utils.data.DataLoader(data, persistent_workers=True)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        ours.DataLoader(data, persistent_workers=True)
    loader = ours.DataLoader(data, batch_size=3, num_workers=1, persistent_workers=True)
    for _ in range(2):  # the worker is kept between epochs
        assert [b[1].tolist() for b in loader] == [[0, 1, 2], [3, 4, 5]]
