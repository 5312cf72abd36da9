"""Run under mpiexec: one rank fails while the others wait in an all_reduce; the job must end,
non-zero, not hang. argv[1]: "kill" (rank 1 SIGKILLs itself: mpiexec ends the job; no process
can name the rank, as SIGKILL runs no code; MPICH's report names some PID of the job),
"raise" (an uncaught exception: the job aborts naming rank 1),
"hang" (rank 1 sleeps: the others give up after the 2 s timeout, naming themselves)."""

import os
import signal
import sys
import time
from datetime import timedelta

import polygrad as pg
import polygrad.distributed as dist

dist.init_process_group("mpi", timeout=timedelta(seconds=2 if sys.argv[1] == "hang" else 1800))
rank = dist.get_rank()
dist.barrier()
if rank == 1:
    if sys.argv[1] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if sys.argv[1] == "hang":
        time.sleep(100)
    raise ValueError("rank 1 fails on purpose")
dist.all_reduce(pg.ones(3))  # never completes: rank 1 is gone
print("unreachable: the all_reduce completed without rank 1", flush=True)
