"""DistributedSampler against torch's index streams, for every argument combination."""

import itertools

import pytest
import torch.utils.data as tud

from polygrad.utils.data import DistributedSampler
from polygrad.utils.data.distributed import torch_randperm


@pytest.mark.parametrize("n", [0, 1, 7, 10, 12, 101])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("shuffle,drop_last", list(itertools.product([True, False], repeat=2)))
def test_index_streams_equal_torchs(n, replicas, shuffle, drop_last):
    for rank in range(replicas):
        for seed, epoch in [(0, 0), (7, 3)]:
            ours = DistributedSampler(range(n), replicas, rank, shuffle, seed, drop_last)
            theirs = tud.DistributedSampler(range(n), replicas, rank, shuffle, seed, drop_last)
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            if n == 0 and not drop_last:  # torch divides by zero padding an empty list
                assert len(ours) == len(theirs) == 0
                continue
            assert list(ours) == list(theirs), (rank, seed, epoch)
            assert len(ours) == len(theirs)


@pytest.mark.parametrize("seed", [0, 1, 2**31 + 5, 2**40 + 3])
def test_randperm_equals_torchs_for_large_and_64_bit_seeds(seed):
    import torch

    g = torch.Generator().manual_seed(seed)
    assert torch_randperm(5000, seed) == torch.randperm(5000, generator=g).tolist()


def test_bad_rank_is_refused_as_torch():
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="Invalid rank 2"):
        tud.DistributedSampler(range(4), num_replicas=2, rank=2)


def test_default_replicas_need_a_process_group():
    with pytest.raises(ValueError, match="init_process_group"):
        DistributedSampler(range(4))
