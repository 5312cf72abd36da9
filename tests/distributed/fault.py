"""Run under mpiexec: one rank fails while the others wait in an all_reduce; the job must end,
non-zero, not hang. argv[1]: "kill" (rank 1 SIGKILLs itself: mpiexec ends the job; no process
can name the rank, as SIGKILL runs no code; MPICH's report names some PID of the job),
"raise" (an uncaught exception: the job aborts naming rank 1),
"hang" (rank 1 sleeps: the others give up after the process group's timeout, naming themselves).

The start is synchronized by a first process group with torch's 30-minute timeout (so a slow
start of one rank on a loaded machine cannot trip the short timeout); the failure happens in a
second group whose timeout is ``HANG_TIMEOUT`` seconds. Rank 1 prints ``failing at <time>``
(wall clock) just before it fails, so the test measures how long the job took to end after it.
"""

import os
import signal
import sys
import time
from datetime import timedelta

import polygrad as pg
import polygrad.distributed as dist

HANG_TIMEOUT = 5  # seconds; tests/test_distributed.py checks the message that names it

dist.init_process_group("mpi")  # torch's default timeout: waits out any start-up skew
dist.barrier()
dist.destroy_process_group()
dist.init_process_group("mpi", timeout=timedelta(seconds=HANG_TIMEOUT))
rank = dist.get_rank()
if rank == 1:
    print(f"failing at {time.time():.3f}", flush=True)
    if sys.argv[1] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if sys.argv[1] == "hang":
        time.sleep(300)
    raise ValueError("rank 1 fails on purpose")
dist.all_reduce(pg.ones(3))  # never completes: rank 1 is gone
print("unreachable: the all_reduce completed without rank 1", flush=True)
