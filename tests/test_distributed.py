"""polygrad.distributed and DistributedDataParallel on several processes.

The scripts under tests/distributed/ run under ``mpiexec -n 2`` and ``-n 3`` (MPI through
mpi4py, the ``mpich`` wheel's launcher) and, for the torch backend, as processes joined by
torch.distributed's gloo with the env:// rendezvous; each checks its results on every rank
against NumPy references and exits non-zero (the job aborts) on any failure.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import polygrad as pg
import polygrad.distributed as dist

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "tests" / "distributed"
MPIEXEC = shutil.which("mpiexec")
TIMEOUT = 120  # seconds any job may take before the test fails as hung

needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or not dist.is_mpi_available(),
    reason="mpiexec or mpi4py missing: pip install -e '.[mpi]' (nox -s distributed)",
)


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", POLYGRAD_BACKEND=pg.get_backend().name)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _mpiexec(n: int, script: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [MPIEXEC, "-n", str(n), sys.executable, str(SCRIPTS / script), *args]
    return subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT)


def _ok(result: subprocess.CompletedProcess, expected: str) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    assert expected in result.stdout, result.stdout + result.stderr


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_every_collective_against_numpy_on_each_rank(n):
    _ok(_mpiexec(n, "collectives.py"), f"collectives ok on {n} ranks")


@needs_mpi
@pytest.mark.parametrize("n", [1, 2, 3])
def test_ddp_equals_one_process_with_the_global_batch(n):
    # one bucket, several buckets, no_sync accumulation, unused parameters, shape mismatch;
    # on 1 rank: bitwise the unwrapped model's parameters and gradients, no bucket filled
    _ok(_mpiexec(n, "ddp.py"), f"ddp ok on {n} ranks")


@pytest.mark.skipif(not dist.is_mpi_available(), reason="mpi4py missing")
def test_ddp_in_a_world_of_one_without_mpiexec_is_the_unwrapped_model():
    # MPI's singleton: init_process_group() with no launcher gives a world of one process
    cmd = [sys.executable, str(SCRIPTS / "ddp.py")]
    result = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT)
    _ok(result, "ddp ok on 1 ranks")


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_sync_batchnorm_equals_batchnorm_on_the_global_batch(n):
    # uneven shards (an empty one on 3 ranks), running statistics, gradients, DDP training
    _ok(_mpiexec(n, "syncbn.py"), f"syncbn ok on {n} ranks")


# how long the job may take to end after rank 1 failed: the 5 s timeout of fault.py's hang case
# plus MPI's abort and the teardown of 3 processes on a loaded 2-core machine, with a margin
FAULT_LIMIT = 30


@needs_mpi
@pytest.mark.parametrize("how", ["kill", "raise", "hang"])
def test_a_failed_rank_ends_the_job_within_the_limit(how):
    result = _mpiexec(3, "fault.py", how)  # a hung job fails here after TIMEOUT
    ended = time.time()
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "unreachable" not in result.stdout, output
    failed = float(result.stdout.split("failing at ")[1].split()[0])
    assert ended - failed < FAULT_LIMIT, f"the job took {ended - failed:.0f} s to end: {output}"
    if how == "raise":  # the failed rank is named
        assert "rank 1 of 3 aborts" in result.stderr and "on purpose" in result.stderr, output
    if how == "kill":  # mpiexec reports the signal (SIGKILL leaves the rank no last word)
        assert "signal 9" in output, output
    if how == "hang":  # the timeout of init_process_group ends the waiting ranks
        assert "all_reduce did not complete within 5 s on rank" in result.stderr, output


DIGITS = ROOT / "examples" / "digits.py"


def _digits(launch: list[str], out: Path, *args: str) -> str:
    cmd = [*launch, sys.executable, str(DIGITS), "--distributed", "--out", str(out), *args]
    result = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT,
                            cwd=out.parent)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@needs_mpi
def test_digits_distributed_resumes_on_another_number_of_processes(tmp_path):
    pytest.importorskip("matplotlib"), pytest.importorskip("tqdm")
    out = tmp_path / "runs"
    first = _digits([MPIEXEC, "-n", "2"], out, "--batchnorm", "--epochs", "2")
    # rank 0 alone prints: one banner, one progress bar per epoch, one result line
    assert first.count("data-parallel on 2 process(es), mpi") == 1, first
    assert first.count("batch 32 per process x 2") == 1, first
    assert first.count("epoch  2/2") >= 1 and first.count("test accuracy") == 1, first
    checkpoint = pg.load(out / "digits-mlp.pgz")  # written by rank 0, no per-rank state
    assert checkpoint["epoch"] == 2 and len(checkpoint["history"]["loss"]) == 2
    assert not any(k.startswith("module.") for k in checkpoint["model"]), list(checkpoint["model"])
    again = _digits([MPIEXEC, "-n", "3"], out, "--batchnorm", "--epochs", "4", "--resume")
    assert again.count("resuming from") == 1 and "batch 32 per process x 3" in again, again
    assert pg.load(out / "digits-mlp.pgz")["epoch"] == 4
    accuracy = float(again.split("test accuracy: ")[1].split("%")[0])
    assert accuracy > 85.0 and "after 4 epochs" in again, again


@pytest.mark.skipif(not dist.is_mpi_available(), reason="mpi4py missing")
def test_digits_distributed_without_mpiexec_runs_as_one_process(tmp_path):
    pytest.importorskip("matplotlib"), pytest.importorskip("tqdm")
    out = _digits([], tmp_path / "runs", "--smoke")
    assert "data-parallel on 1 process(es), mpi (launch with mpiexec -n P" in out, out
    assert (tmp_path / "runs" / "digits-mlp.pgz").exists()


CHAR_LM = ROOT / "examples" / "char_lm.py"
# a tiny LSTM and budget: each launch takes a few seconds, mostly imports
CHAR_LM_ARGS = ("--smoke", "--steps-per-epoch", "2", "--batch-size", "4", "--seq-len", "16",
                "--hidden", "32", "--dim", "16", "--sample-len", "8")  # fmt: skip


def _char_lm(launch: list[str], out: Path, *args: str) -> str:
    cmd = [*launch, sys.executable, str(CHAR_LM), "--distributed", "--out", str(out),
           *CHAR_LM_ARGS, *args]  # fmt: skip
    result = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT,
                            cwd=out.parent)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@needs_mpi
def test_char_lm_distributed_checkpoints_from_rank_0_and_resumes_on_one_process(tmp_path):
    pytest.importorskip("matplotlib"), pytest.importorskip("tqdm")
    out, twin, straight = tmp_path / "runs", tmp_path / "twin", tmp_path / "straight"
    first = _char_lm([MPIEXEC, "-n", "2"], out, "--epochs", "1")
    # rank 0 alone prints: one banner, one validation loss, one sample
    assert first.count("data-parallel on 2 process(es), mpi") == 1, first
    assert first.count("batch 4 per process x 2") == 1, first
    assert first.count("\nvalidation loss ") == 1 and first.count("--- sample") == 1, first
    path = out / "char_lm-lstm.pgz"
    checkpoint = pg.load(path)  # written by rank 0, no per-rank state, no DDP prefix
    assert checkpoint["epoch"] == 1 and len(checkpoint["history"]["loss"]) == 1
    assert not any(k.startswith("module.") for k in checkpoint["model"]), list(checkpoint["model"])
    twin.mkdir()
    shutil.copy(path, twin / path.name)

    again = _char_lm([], out, "--epochs", "2", "--resume")  # one process (MPI's singleton)
    assert "data-parallel on 1 process(es)" in again and again.count("resuming from") == 1, again
    resumed = pg.load(path)
    assert resumed["epoch"] == 2 and len(resumed["history"]["loss"]) == 2
    assert resumed["history"]["loss"][0] == checkpoint["history"]["loss"][0]
    assert any((resumed["model"][k] != checkpoint["model"][k]).any().item()
               for k in checkpoint["model"]), "the resumed epoch did not train"  # fmt: skip

    # the generator of an epoch is seeded from (seed, epoch, rank): resuming on 2 processes
    # gives exactly the parameters of 2 epochs in one go
    _char_lm([MPIEXEC, "-n", "2"], twin, "--epochs", "2", "--resume")
    _char_lm([MPIEXEC, "-n", "2"], straight, "--epochs", "2")
    a, b = pg.load(twin / path.name)["model"], pg.load(straight / path.name)["model"]
    for k in a:
        assert (a[k] == b[k]).all().item(), k


def test_char_lm_refuses_compile_with_distributed():
    pytest.importorskip("matplotlib"), pytest.importorskip("tqdm")
    cmd = [sys.executable, str(CHAR_LM), "--distributed", "--compile"]
    result = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--compile: cannot be combined with --distributed" in result.stderr, result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(pg.get_backend().name != "torch", reason="gloo serves the torch backend")
def test_gloo_with_the_env_rendezvous_on_localhost():
    import torch.distributed

    if not torch.distributed.is_gloo_available():
        pytest.skip("this torch build has no gloo")
    port, size = str(_free_port()), 2
    procs = []
    for rank in range(size):
        env = dict(_env(), RANK=str(rank), WORLD_SIZE=str(size), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=port)  # fmt: skip
        cmd = [sys.executable, str(SCRIPTS / "collectives.py"), "gloo"]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))  # fmt: skip
    outs = [p.communicate(timeout=TIMEOUT) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out + err
    assert "collectives ok on 2 ranks (gloo, torch)" in outs[0][0]


def test_a_collective_before_init_process_group_is_a_clear_error():
    assert not dist.is_initialized()
    for call in (lambda: dist.all_reduce(pg.ones(2)), dist.get_rank, dist.barrier):
        # torch raises ValueError; polygrad's error is also a RuntimeError
        with pytest.raises(ValueError, match="init_process_group") as info:
            call()
        assert isinstance(info.value, RuntimeError)


def test_ddp_before_init_process_group_is_a_clear_error():
    from polygrad.nn.parallel import DistributedDataParallel

    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedDataParallel(pg.nn.Linear(2, 2))


def test_reduce_op_names_are_torchs():
    import torch.distributed as tdist

    for name in ("SUM", "AVG", "MAX", "MIN", "PRODUCT"):
        assert hasattr(dist.ReduceOp, name) and hasattr(tdist.ReduceOp, name)


def test_ddp_first_bucket_holds_at_most_one_mib_as_torch():
    # buckets fill from the last parameter (its gradient is ready first); as torch's, the first
    # is capped at 1 MiB so its all-reduce starts early, the others at bucket_cap_mb
    from polygrad.nn.parallel.distributed import FIRST_BUCKET_BYTES, _Reducer

    sizes = {"a": 300_000, "b": 100_000, "c": 100_000, "d": 200_000}  # float32: 4 bytes each
    named = [(k, pg.zeros(n, dtype=pg.float32)) for k, n in sizes.items()]
    buckets = [[name for name, _ in b.params] for b in _Reducer(named, 25 * 2**20).buckets]
    assert FIRST_BUCKET_BYTES == 2**20
    assert buckets == [["d"], ["c", "b", "a"]], buckets  # d + c = 1.2 MB > 1 MiB
    small = [[name for name, _ in b.params] for b in _Reducer(named, 500_000).buckets]
    assert small == [["d"], ["c"], ["b"], ["a"]], small  # a cap below 1 MiB caps all alike
