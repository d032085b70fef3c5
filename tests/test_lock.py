"""The locks in requirements/ agree with pyproject.toml, and the checker says so in one line when they do not."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lock_check import HUB_LOCK, ROOT, TEST_LOCK, locked_version, problems, summary


def test_the_locks_agree_with_pyproject():
    found = problems()
    if found:
        pytest.fail(summary(found), pytrace=False)


def _copy(tmp_path: Path) -> Path:
    (tmp_path / "requirements").mkdir()
    for name in ("pyproject.toml", TEST_LOCK, HUB_LOCK):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_requirement_missing_from_the_lock_is_named(tmp_path):
    root = _copy(tmp_path)
    _edit(root / "pyproject.toml", '"pytest>=8",', '"pytest>=8",\n    "brand-new-thing>=1.0",')
    assert problems(root) == ["brand-new-thing (>=1.0) is in pyproject.toml but not in requirements/test.lock"]


def test_a_pin_outside_the_range_is_named(tmp_path):
    root = _copy(tmp_path)
    pinned = locked_version("click")
    _edit(root / "pyproject.toml", '"click>=8.1",', '"click>=99",')
    found = problems(root)
    assert f"requirements/test.lock pins click=={pinned}, outside pyproject.toml's >=99" in found
    assert f"requirements/hub.lock pins click=={pinned}, outside pyproject.toml's >=99" in found


def test_a_requirement_dropped_from_pyproject_is_named(tmp_path):
    root = _copy(tmp_path)
    _edit(root / "pyproject.toml", '"tzlocal>=5.0",', "")
    found = problems(root)
    assert "requirements/test.lock pins tzlocal for pyproject.toml, which no longer asks for it" in found


def test_an_image_pin_that_was_not_tested_is_named(tmp_path):
    root = _copy(tmp_path)
    pinned = locked_version("click")
    _edit(root / HUB_LOCK, f"click=={pinned}", "click==8.1.0")
    assert problems(root) == [f"{HUB_LOCK} pins click==8.1.0, which {TEST_LOCK} does not (the image would run untested)"]


def test_the_script_says_one_line_and_exits_1(tmp_path):
    root = _copy(tmp_path)
    (root / "tests").mkdir()
    shutil.copy(ROOT / "tests" / "lock_check.py", root / "tests")
    _edit(root / "pyproject.toml", '"click>=8.1",', '"click>=99",')
    run = subprocess.run([sys.executable, str(root / "tests" / "lock_check.py")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "click" in run.stderr and "bash requirements/refresh.sh" in run.stderr
