"""Shared pytest settings."""


def pytest_configure(config):
    """Register the ``slow`` mark: tests over a second, skipped with ``-m "not slow"``."""
    config.addinivalue_line(
        "markers", "slow: takes more than a second; deselect with -m 'not slow'"
    )
