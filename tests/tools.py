"""Real components the tests need: a missing one fails the test that needs it (make test installs them)."""

from __future__ import annotations

import shutil

import pytest


def require(binary: str, installed_by: str = "make debs") -> str:
    """The path of `binary`; a test that needs a real component fails without it, never skips quietly."""
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not on PATH: this test needs the real one ({installed_by} installs it)",
                    pytrace=False)
    return path
