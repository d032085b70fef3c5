"""The `diary` console command: with no command it opens the app at once; click and the command
line (`cli.py`) load only when a command is given, so the home screen comes up sooner."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from diary_client.cli.datadir import chosen_data_dir

DATA_DIR_OPTION = "--data-dir"


def app_data_dir(args: list[str]) -> Path | None:
    """The data dir when `args` only open the app (nothing, or `--data-dir DIR`), else None."""
    if not args:
        return chosen_data_dir(None)
    if len(args) == 2 and args[0] == DATA_DIR_OPTION and args[1] and not args[1].startswith("-"):
        return Path(args[1])
    if len(args) == 1 and args[0].startswith(DATA_DIR_OPTION + "=") and args[0] != DATA_DIR_OPTION + "=":
        return Path(args[0].split("=", 1)[1])
    return None


COMPLETE_VAR = "_DIARY_COMPLETE"  # click's shell completion for the program `diary` (bash_source, zsh_source, ...)


def run() -> None:  # pragma: no cover - console entry point (tests/test_diary_start.py runs it)
    data_dir = app_data_dir(sys.argv[1:])
    if data_dir is None or data_dir.is_file() or os.environ.get(COMPLETE_VAR):
        # a command, a file for a folder (the command line says), or the shell asking for completions
        from diary_client.cli.tree import run as command_line

        command_line()
        return
    from diary_client.app.main import run_app

    run_app(data_dir)
