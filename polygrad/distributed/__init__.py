"""``torch.distributed`` stand-in: polygrad runs in one process, so there is no process group.

``is_available()`` and ``is_initialized()`` answer False (scripts test them to decide whether to
run distributed); everything that needs a process group raises ``NotImplementedError``.

NOTE: this whole package is a placeholder meant to be replaced by a real implementation (on
MPI): nothing else in polygrad imports from it, and tests/test_torch_compat.py checks only the
behaviour of an unavailable backend (``is_available() is False``), so replacing this file changes
nothing elsewhere.
"""

from __future__ import annotations

from typing import Any

from .. import _unsupported

_WHY = "polygrad has no distributed backend; run a single process"


def is_available() -> bool:
    """False: polygrad has no distributed communication backend."""
    return False


def is_initialized() -> bool:
    """False: no process group is ever initialized."""
    return False


def is_torchelastic_launched() -> bool:
    """False: polygrad scripts are not launched by torchelastic."""
    return False


init_process_group = _unsupported.function("torch.distributed.init_process_group", _WHY)
destroy_process_group = _unsupported.function("torch.distributed.destroy_process_group", _WHY)
new_group = _unsupported.function("torch.distributed.new_group", _WHY)
get_rank = _unsupported.function("torch.distributed.get_rank", _WHY)
get_world_size = _unsupported.function("torch.distributed.get_world_size", _WHY)
get_backend = _unsupported.function("torch.distributed.get_backend", _WHY)
barrier = _unsupported.function("torch.distributed.barrier", _WHY)
broadcast = _unsupported.function("torch.distributed.broadcast", _WHY)
all_reduce = _unsupported.function("torch.distributed.all_reduce", _WHY)
reduce = _unsupported.function("torch.distributed.reduce", _WHY)
all_gather = _unsupported.function("torch.distributed.all_gather", _WHY)
gather = _unsupported.function("torch.distributed.gather", _WHY)
scatter = _unsupported.function("torch.distributed.scatter", _WHY)
reduce_scatter = _unsupported.function("torch.distributed.reduce_scatter", _WHY)
send = _unsupported.function("torch.distributed.send", _WHY)
recv = _unsupported.function("torch.distributed.recv", _WHY)
ReduceOp = _unsupported.cls("torch.distributed.ReduceOp", _WHY)


def __getattr__(name: str) -> Any:
    raise _unsupported.missing_attribute("torch.distributed", name)
