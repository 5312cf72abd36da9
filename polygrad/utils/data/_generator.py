"""``Generator``: a seedable random stream for samplers and ``random_split``, as torch's.

Random streams (decision): torch's exact index streams come from its own Mersenne-Twister
generator and cannot be reproduced without torch. A polygrad ``Generator`` wraps a NumPy
``Generator`` (PCG64) seeded with ``manual_seed``; the same seed gives the same stream on every
backend and machine. Code that passes no generator draws from polygrad's global generator, which
``polygrad.manual_seed`` seeds, as torch's code draws from ``torch.default_generator``.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import numpy as np

from ... import _backend

__all__ = ["Generator"]


class Generator:
    """A random number generator to pass as ``generator=`` to samplers, loaders and splits.

    Parameters
    ----------
    device : str
        Accepted for torch compatibility; only ``"cpu"`` exists (draws are made on the host).

    Examples
    --------
    >>> import polygrad as pg
    >>> from polygrad.utils.data import Generator, RandomSampler
    >>> g = Generator().manual_seed(0)
    >>> sorted(RandomSampler(range(4), generator=g))
    [0, 1, 2, 3]
    """

    def __init__(self, device: Any = "cpu") -> None:
        if str(device) != "cpu":
            raise ValueError(
                f"polygrad.Generator draws on the host: device must be 'cpu', got {device!r}"
            )
        self.device = "cpu"
        self._initial_seed = 67280421310721  # torch's default seed of a new Generator
        self._rng = np.random.default_rng(self._initial_seed)

    def manual_seed(self, seed: int) -> Generator:
        """Seed the stream and return the generator itself (so it can be chained)."""
        seed = int(seed)
        self._initial_seed = seed
        # NumPy needs a non-negative seed; torch accepts negative ones, so map them one to one
        self._rng = np.random.default_rng(seed % 2**64)
        return self

    def seed(self) -> int:
        """Seed from a non-deterministic source and return the seed used."""
        seed = secrets.randbits(63)
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        """The seed last given to ``manual_seed`` (or the default one)."""
        return self._initial_seed

    def get_state(self) -> Any:
        """The state as a uint8 Tensor of the active backend, to give back to ``set_state``."""
        from ..._creation import tensor

        state = {"initial_seed": self._initial_seed, "bit_generator": self._rng.bit_generator.state}
        blob = json.dumps(state).encode()
        return tensor(np.frombuffer(blob, dtype=np.uint8).copy())

    def set_state(self, new_state: Any) -> Generator:
        """Restore a state returned by ``get_state``; returns the generator itself."""
        host = new_state.numpy() if hasattr(new_state, "numpy") else np.asarray(new_state)
        host = np.asarray(host)
        if host.dtype != np.uint8 or host.ndim != 1:
            raise TypeError(
                "Generator.set_state expects the 1-d uint8 tensor from get_state, got "
                f"dtype {host.dtype} and shape {tuple(host.shape)}"
            )
        try:
            state = json.loads(host.tobytes().decode())
            seed = int(state["initial_seed"])
            rng = np.random.default_rng()
            rng.bit_generator.state = state["bit_generator"]
        except (ValueError, KeyError, TypeError) as exc:
            raise RuntimeError(
                f"Generator.set_state: not a polygrad Generator state ({exc})"
            ) from exc
        self._initial_seed, self._rng = seed, rng
        return self

    def __repr__(self) -> str:
        return f"polygrad.Generator(initial_seed={self._initial_seed})"


def host_rng(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator to draw from: ``generator``'s, or polygrad's global one."""
    if generator is None:
        return _backend.rng()
    if not isinstance(generator, Generator):
        raise TypeError(
            f"generator must be a polygrad.Generator, got {type(generator).__name__}"
        )
    return generator._rng


def draw_seed(generator: Generator | None) -> int:
    """One int64 seed from ``generator`` (or the global stream), as torch's ``random_()``."""
    return int(host_rng(generator).integers(0, 2**63 - 1, dtype=np.int64))


def randperm(n: int, generator: Generator | None) -> list[int]:
    """A random permutation of ``range(n)`` as Python ints."""
    return host_rng(generator).permutation(n).tolist()
