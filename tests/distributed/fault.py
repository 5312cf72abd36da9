"""Run under mpiexec: one rank fails (argv[1]: "kill" = SIGKILL itself, "raise" = an uncaught
exception) while the others wait in an all_reduce; the job must end, non-zero, not hang."""

import os
import signal
import sys

import polygrad as pg
import polygrad.distributed as dist

dist.init_process_group("mpi")
rank = dist.get_rank()
dist.barrier()
if rank == 1:
    if sys.argv[1] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise ValueError("rank 1 fails on purpose")
dist.all_reduce(pg.ones(3))  # never completes: rank 1 is gone
print("unreachable: the all_reduce completed without rank 1", flush=True)
