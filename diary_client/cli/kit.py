"""What every command shares: the data dir and clock (`Env`), one-line user errors, JSON output."""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import sys
from pathlib import Path

import click

from diary_client.core import clock
from diary_client.device.diary import Diary, DiaryError
from diary_client.device.errors import USER_ERRORS
from diary_client.device.store import DB_NAME, Store


class Env:
    """What every command needs: where the data is, and the clock."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir

    def store(self) -> Store:
        return Store.in_dir(self.data_dir)

    def diary(self) -> Diary:
        if not (self.data_dir / DB_NAME).exists():  # nobody enrolled here: say so and create nothing
            raise DiaryError(f"this device is not enrolled yet (no diary in {self.data_dir}): "
                             "run `diary enroll --participant ID` first")
        diary = Diary(self.store())
        try:
            diary.store.backup_daily(self.now().date())  # the daily copy, kept for 7 days
        except (OSError, sqlite3.Error) as e:
            click.echo(f"warning: daily backup failed ({e})", err=True)
        return diary

    def now(self):
        return clock.now()


pass_env = click.make_pass_decorator(Env)


def user_errors(*extra: type[BaseException]):
    """Turn the errors a person can fix into one line on stderr and exit 1 (no traceback)."""

    def deco(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            try:
                return f(*args, **kwargs)
            except (*USER_ERRORS, *extra) as e:
                raise click.ClickException(str(e)) from None
            except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
                raise  # a bug, not a file problem: its traceback is wanted
            except sqlite3.DatabaseError as e:  # a damaged or locked file; the step in flight rolled back
                raise click.ClickException(
                    f"the database cannot be used ({e}); the last step was not saved. The file may be "
                    "damaged: `diary verify` checks a diary, and a diary keeps daily copies in backups/") from None

        return wrapper

    return deco


def emit_json(doc, done: str | None = None) -> None:
    """One JSON document on stdout; with `done`, the change it reports stands even if it cannot be printed (`confirm`)."""
    text = json.dumps(doc, indent=2, ensure_ascii=False, default=str)
    if done is None:
        click.echo(text)
    else:
        confirm(text, done)


def confirm(text: str, done: str) -> None:
    """Print the line that says a change was made. When stdout cannot take it (a full disk, a
    closed pipe) the change still stands: say so in one line on stderr, and exit 0 as done."""
    try:
        click.echo(text)
    except OSError as e:
        try:  # what is still buffered for stdout goes nowhere, so the exit's flush cannot fail again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        click.echo(f"{done}; the line saying so could not be printed ({e.strerror or e})", err=True)


def check_reveal(reveal: bool, reason: str | None) -> None:
    """`--reveal` and `--reason` go together: a reveal is audited with why (docs/designs.md)."""
    if reason is not None and not reveal:
        raise click.UsageError("--reason goes with --reveal")
    if reveal and not (reason or "").strip():
        raise click.UsageError("--reveal needs --reason TEXT: why the sequences are shown (it is audited)")
