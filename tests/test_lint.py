"""ruff and mypy, at the versions requirements/test.lock pins and as configured in pyproject.toml, pass over the repository."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from lock_check import TEST_LOCK, locked_version

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess:
    """The tool as installed by the [test] extra, over the repository, with pyproject.toml's settings."""
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("tool", ["ruff", "mypy"])
def test_the_lint_tool_is_the_locked_version(tool):
    """A newer ruff or mypy finds new things on unchanged code: say which version differs before that shows."""
    installed, locked = version(tool), locked_version(tool)
    if installed != locked:
        pytest.fail(f"{tool} {installed} is installed but {TEST_LOCK} pins {locked}: "
                    f"pip install -c {TEST_LOCK} '.[test]' installs the locked one", pytrace=False)


def test_ruff_passes():
    run = _run("ruff", "check", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_passes():
    run = _run("mypy")
    assert run.returncode == 0, run.stdout + run.stderr
