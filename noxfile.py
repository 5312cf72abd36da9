"""nox sessions: the test suite once per backend, lint, and (later) examples and benchmarks.

Each tests-<backend> session installs polygrad, backends/<backend>.txt and backends/test.txt,
sets POLYGRAD_BACKEND, checks that polygrad really reports that backend (so a misconfigured
session cannot pass by testing NumPy), then runs pytest with any extra arguments.
Uses nox's default virtualenv + pip: this machine's local torch build is invisible to uv.
"""

import nox

nox.options.default_venv_backend = "virtualenv"
nox.options.sessions = ["tests-numpy", "tests-strict", "tests-torch", "lint"]

BACKENDS = ("numpy", "strict", "torch", "cupy")


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


def _make_tests_session(backend: str) -> None:
    def tests(session: nox.Session) -> None:
        if backend == "cupy" and not _cuda_gpu_present():
            session.skip("no CUDA GPU on this machine: the cupy backend cannot run here")
        session.install("-e", ".", "-r", f"backends/{backend}.txt", "-r", "backends/test.txt")
        session.env["POLYGRAD_BACKEND"] = backend
        session.run(
            "python",
            "-c",
            "import polygrad, sys; b = polygrad.get_backend(); print('polygrad backend:', b); "
            f"sys.exit(0 if b.name == {backend!r} else 'polygrad did not select {backend}')",
        )
        session.run("pytest", *session.posargs)

    tests.__doc__ = f"Run the test suite on the {backend} backend."
    nox.session(name=f"tests-{backend}")(tests)


for _backend in BACKENDS:
    _make_tests_session(_backend)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the package, tests, examples and benchmarks."""
    session.install("ruff")
    session.run("ruff", "check", ".")
