"""ruff and mypy, as configured in pyproject.toml, pass over the repository (CI runs them through the suite)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess:
    """The tool as installed by the [test] extra, over the repository, with pyproject.toml's settings."""
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_passes():
    run = _run("ruff", "check", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_passes():
    run = _run("mypy")
    assert run.returncode == 0, run.stdout + run.stderr
