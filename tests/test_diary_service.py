"""Diary is the device's one service: only it writes the settings, and its settings are typed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from diary_client.device.settings import DeviceSettings

ROOT = Path(__file__).resolve().parent.parent


def test_only_diary_writes_the_device_settings():
    writers = []
    for folder in ("diary_client", "sync", "analysis"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name in ("store.py", "diary.py") and path.parent.name == "device":
                continue
            if re.search(r"\.set_settings\(", path.read_text(encoding="utf-8")):
                writers.append(str(path.relative_to(ROOT)))
    assert writers == [], f"settings written outside Diary: {writers}"


def test_screens_and_commands_save_through_diary_only():
    savers = []
    for path in [*(ROOT / "diary_client" / "app" / "screens").glob("*.py"), ROOT / "diary_client" / "cli" / "participant.py"]:
        if re.search(r"store\.save(_all)?\(", path.read_text(encoding="utf-8")):
            savers.append(path.name)
    assert savers == []


def test_settings_are_typed_and_a_writer_names_only_their_fields(diary):
    s = diary.settings
    assert isinstance(s, DeviceSettings) and s.participant_id == "P01" and s.hub_url is None
    diary.set_theme("textual-light")
    assert diary.settings.theme == "textual-light"
    with pytest.raises(TypeError, match="not a device setting: them"):
        diary.update_settings(them="x")
