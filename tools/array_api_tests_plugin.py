"""pytest plugin for tools/array_api_tests.sh: array-api-tests' hypothesis profile without
the shrink phase. Pass/fail is unchanged; a failing example is reported as found, not minimal,
which keeps a run with many failures to minutes."""

import pytest
from hypothesis import Phase, settings


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--array-api-shrink", default=False):
        return
    settings.register_profile(
        "array-api-tests-noshrink",
        parent=settings.get_profile("array-api-tests"),
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )
    settings.load_profile("array-api-tests-noshrink")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--array-api-shrink", action="store_true", help="keep hypothesis's shrink phase"
    )
