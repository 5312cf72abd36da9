"""SyncBatchNorm in one process: refusals as torch's and convert_sync_batchnorm's structure.

Its statistics across ranks are tested under mpiexec (tests/distributed/syncbn.py); without a
process group it is batch norm (tests/test_nn_norm_layers.py compares it with torch's).
"""

import pytest
import torch

import polygrad as pg
import polygrad.nn as nn


@pytest.mark.parametrize(
    ("shape", "error"),
    [((3,), ValueError), ((3, 0), ValueError), ((3, 4), RuntimeError), ((1, 3), ValueError)],
)
def test_refusals_are_torchs(shape, error):
    c = 0 if shape[-1] == 0 else 3
    with pytest.raises(error):
        torch.nn.SyncBatchNorm(c)(torch.randn(shape))
    with pytest.raises(error, match=r"\(got 1D|channels|C=3|per channel") as info:
        nn.SyncBatchNorm(c)(pg.randn(*shape))
    assert str(shape[0]) in str(info.value) or len(shape) == 1 or shape[1] == 0


def _tree(module, bn_types):
    """(name, kind) of every module: the BatchNorm layers by class name, the others as-is."""
    return [(name, type(m).__name__ if isinstance(m, bn_types) else "other")
            for name, m in module.named_modules()]  # fmt: skip


def test_convert_sync_batchnorm_as_torchs():
    def build(lib):
        inner = lib.Sequential(lib.BatchNorm2d(2, momentum=None), lib.InstanceNorm1d(3))
        return lib.Sequential(lib.Linear(4, 3), lib.BatchNorm1d(3, affine=False), inner,
                              lib.BatchNorm1d(3, track_running_stats=False, eps=1e-3))  # fmt: skip

    ours, theirs = build(nn), build(torch.nn)
    ours[2][0].eval(), theirs[2][0].eval()
    before = {id(t) for t in [*ours.parameters(), *ours.buffers()]}
    group = object()  # only stored: the conversion does not use the group
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(ours, process_group=group)
    expected = torch.nn.SyncBatchNorm.convert_sync_batchnorm(theirs, process_group=group)
    assert converted is ours and expected is theirs  # the container itself, layers replaced
    kinds = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.modules.instancenorm._InstanceNorm)
    ours_kinds = (nn.BatchNorm1d, nn.BatchNorm2d, nn.SyncBatchNorm, nn.InstanceNorm1d)
    assert _tree(converted, ours_kinds) == _tree(expected, kinds)
    assert repr(converted) == repr(expected)
    assert [m.training for m in converted.modules()] == [m.training for m in expected.modules()]
    assert converted[1].process_group is group and converted[2][0].process_group is group
    # the same Parameter and buffer objects, so an optimizer built before still works
    assert {id(t) for t in [*converted.parameters(), *converted.buffers()]} == before
    assert list(converted.state_dict()) == list(expected.state_dict())
    assert converted[3].running_mean is None and converted[3].eps == 1e-3


def test_convert_a_batchnorm_layer_returns_a_new_layer():
    bn = nn.BatchNorm1d(3)
    bn(pg.randn(4, 3))
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(bn)
    assert type(sync) is nn.SyncBatchNorm and sync is not bn
    assert sync.weight is bn.weight and sync.running_var is bn.running_var
    assert sync.num_batches_tracked.item() == 1 and sync.process_group is None
