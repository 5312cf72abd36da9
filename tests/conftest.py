"""Fixtures shared by every test: seeding, and restoring global polygrad state."""

import numpy as np
import pytest
import torch

import polygrad as pg


def pytest_addoption(parser):
    parser.addoption(
        "--fuzz-long",
        action="store_true",
        help="run test_fuzz.py with thousands of random examples instead of CI's 60",
    )
    parser.addoption(
        "--array-api-examples",
        type=int,
        default=8,
        help="random examples per function in test_array_api.py (the array-api session: 200)",
    )


def pytest_report_header(config):
    return f"polygrad backend: {pg.get_backend()}"


@pytest.fixture(autouse=True)
def _seeded_and_clean():
    """Seed every generator so nothing is flaky; undo global changes a test may make."""
    pg.manual_seed(0)
    torch.manual_seed(0)
    rng_state = np.random.get_state()
    np.random.seed(0)
    backend = pg.get_backend()
    yield
    np.random.set_state(rng_state)
    pg.set_default_dtype(pg.float32)
    pg.set_backend(backend.name, backend.device)
    assert pg.is_grad_enabled(), "a test left grad mode off"
