"""Where a device keeps its diary: the one data-dir rule of the app and every command (stdlib only, so
the launcher that opens the app without click can use it)."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "symptom-diary"


def default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))


def chosen_data_dir(option: Path | None) -> Path:
    """The one data-dir rule, the app's and every command's: `--data-dir`, else DIARY_HOME, else the user data dir."""
    if option is not None:
        return option
    return Path(os.environ["DIARY_HOME"]) if os.environ.get("DIARY_HOME") else default_data_dir()
