"""nox sessions: the test suite once per backend, lint, and (later) examples and benchmarks.

Each tests-<backend> session installs polygrad, backends/<backend>.txt and backends/test.txt,
sets POLYGRAD_BACKEND, checks that polygrad really reports that backend (so a misconfigured
session cannot pass by testing NumPy), then runs pytest with any extra arguments.
Uses nox's default virtualenv + pip: this machine's local torch build is invisible to uv.
"""

import nox

nox.options.default_venv_backend = "virtualenv"
nox.options.sessions = [
    "tests-numpy", "tests-strict", "tests-torch", "tests-oldest", "distributed", "interop",
    "examples", "lint",
]  # fmt: skip

BACKENDS = ("numpy", "strict", "torch", "cupy")

# Run in the tests-oldest session: fail unless every pin of backends/oldest.txt is installed.
CHECK_OLDEST = """
import sys
from importlib.metadata import version

pins = dict(line.split("==") for line in open("backends/oldest.txt") if "==" in line)
installed = {name: version(name).split("+")[0] for name in pins}  # torch 2.13.0+cpu is 2.13.0
print("installed:", ", ".join(f"{name} {v}" for name, v in installed.items()))
wrong = [f"{name} {installed[name]}, not {pin.strip()}" for name, pin in pins.items()
         if installed[name] != pin.strip()]
sys.exit("not the oldest versions: " + "; ".join(wrong) if wrong else 0)
"""


def _cuda_gpu_present() -> bool:
    """True when an NVIDIA GPU is visible, checked without installing anything."""
    import shutil
    import subprocess

    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def _select_backend(session: nox.Session, backend: str) -> None:
    """Set POLYGRAD_BACKEND and fail unless polygrad then really selects ``backend``."""
    session.env["POLYGRAD_BACKEND"] = backend
    session.run(
        "python",
        "-c",
        "import polygrad, sys; b = polygrad.get_backend(); print('polygrad backend:', b); "
        f"sys.exit(0 if b.name == {backend!r} else 'polygrad did not select {backend}')",
    )


def _run_suite(session: nox.Session, backend: str) -> None:
    """Check that polygrad selects ``backend``, then run the suite (but the examples) on it."""
    _select_backend(session, backend)
    # the examples have their own session (they need the examples extra)
    session.run("pytest", "--ignore=tests/test_examples.py", *session.posargs)


def _make_tests_session(backend: str) -> None:
    def tests(session: nox.Session) -> None:
        if backend == "cupy" and not _cuda_gpu_present():
            session.skip("no CUDA GPU on this machine: the cupy backend cannot run here")
        session.install("-e", ".", "-r", f"backends/{backend}.txt", "-r", "backends/test.txt")
        _run_suite(session, backend)

    tests.__doc__ = f"Run the test suite on the {backend} backend."
    nox.session(name=f"tests-{backend}")(tests)


for _backend in BACKENDS:
    _make_tests_session(_backend)


@nox.session(name="tests-oldest")
def tests_oldest(session: nox.Session) -> None:
    """Run the suite on the numpy and strict backends with the oldest dependencies declared.

    backends/oldest.txt pins numpy, array-api-compat and array-api-strict at the floors of
    pyproject.toml and backends/*.txt (and torch at the one build used everywhere); the session
    checks that those versions are the ones installed before testing.
    """
    session.install(
        "-e", ".", "-r", "backends/strict.txt", "-r", "backends/test.txt",
        "-c", "backends/oldest.txt",
    )  # fmt: skip
    session.run("python", "-c", CHECK_OLDEST)
    for backend in ("numpy", "strict"):
        _run_suite(session, backend)


@nox.session
def distributed(session: nox.Session) -> None:
    """polygrad.distributed and DistributedDataParallel under mpiexec -n 2 and -n 3 (numpy
    backend), then the torch backend's gloo path with the env:// rendezvous.

    Installs the mpi extra (mpi4py and the MPICH wheel, which brings mpiexec); skips with a
    message when no mpiexec can be found after that.
    """
    session.install("-e", ".[mpi,examples]", "-r", "backends/test.txt")
    import os
    import shutil

    search = os.pathsep.join([session.bin, os.environ.get("PATH", "")])
    if shutil.which("mpiexec", path=search) is None:
        session.skip("mpiexec is unavailable: the mpich wheel installed none for this platform")
    session.env["OMP_NUM_THREADS"] = "1"
    session.env["POLYGRAD_BACKEND"] = "numpy"
    session.run("pytest", "tests/test_distributed.py", "tests/test_distributed_sampler.py",
                *session.posargs)  # fmt: skip
    session.env["POLYGRAD_BACKEND"] = "torch"
    session.run("pytest", "tests/test_distributed.py", "-k", "gloo", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the package, tests, examples and benchmarks."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark against torch and hand-written NumPy (not run by default; minutes long).

    Extra arguments go to benchmarks/run.py, e.g. ``nox -s bench -- --quick --backend torch``;
    the backend named by ``--backend`` gets its requirements file installed too.
    """
    args = list(session.posargs)
    backend = "numpy"
    for i, arg in enumerate(args):
        if arg == "--backend" and i + 1 < len(args):
            backend = args[i + 1]
        elif arg.startswith("--backend="):
            backend = arg.split("=", 1)[1]
    extra = ["-r", f"backends/{backend}.txt"] if backend in BACKENDS else []
    session.install("-e", ".", *extra, "-r", "backends/test.txt", "matplotlib", "threadpoolctl")
    session.run("python", "benchmarks/run.py", *args)


@nox.session
def examples(session: nox.Session) -> None:
    """Run each example with a tiny budget (--smoke) on the numpy and strict backends.

    Installs the examples extra (matplotlib, tqdm, graphviz, pillow) and the interop extra
    (for array_api_interop.py); extra arguments go to pytest, e.g. ``nox -s examples -- -k
    digits``.
    """
    session.install(
        "-e", ".[examples,interop]", "-r", "backends/test.txt", "-r", "backends/strict.txt"
    )  # fmt: skip
    session.run("pytest", "tests/test_examples.py", *session.posargs)


@nox.session
def interop(session: nox.Session) -> None:
    """Third-party array code (array-api-extra, SciPy, scikit-learn, marray) differentiated
    through polygrad.array_api: tests/test_interop.py on the numpy, strict and torch backends,
    with SCIPY_ARRAY_API=1 so SciPy and scikit-learn dispatch on the array namespace."""
    session.install("-e", ".[interop]", "-r", "backends/test.txt", "-r", "backends/strict.txt")
    session.env["SCIPY_ARRAY_API"] = "1"
    for backend in ("numpy", "strict", "torch"):
        _select_backend(session, backend)
        session.run("pytest", "tests/test_interop.py", *session.posargs)


@nox.session(name="array-api", python="3.11")
def array_api(session: nox.Session) -> None:
    """polygrad.array_api against the backends' namespaces, and third-party array code on it.

    Installs the interop extra (array-api-extra, SciPy, scikit-learn, marray) and runs
    tests/test_interop.py, tests/test_array_api_conformance.py and tests/test_array_api.py (200
    random examples per function) on the numpy and strict backends, with SCIPY_ARRAY_API=1 so
    SciPy and scikit-learn dispatch on the array namespace. Extra arguments go to pytest.
    """
    session.install(
        "-e", ".[interop]", "-r", "backends/test.txt", "-r", "backends/strict.txt"
    )  # fmt: skip
    session.env["SCIPY_ARRAY_API"] = "1"
    for backend in ("numpy", "strict"):
        _select_backend(session, backend)
        session.run(
            "pytest", "tests/test_interop.py", "tests/test_array_api.py",
            "tests/test_array_api_conformance.py", "--array-api-examples", "200", *session.posargs,
        )  # fmt: skip
