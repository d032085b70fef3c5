"""Files and folders readable by their owner only (0600 / 0700): diaries, backups, the hub's
database and key, exports. Symptom data must not be readable by other users of the machine.

Modes are given at creation (os.open / os.mkdir with the mode, then chmod, because the umask may
only take bits away), never by changing the process umask, which threads share. SQLite creates a
database's -wal and -shm files with the database file's own mode, so a database made here first
keeps them private too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
DIR_MODE = 0o700


def folder(path: str | Path) -> Path:
    """Make `path` (and missing parents) as 0700 folders; one that exists is left as it is."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for p in reversed(missing):
        try:
            p.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(p, DIR_MODE)
    return path


def file(path: str | Path) -> Path:
    """Create `path` empty as a 0600 file if it does not exist (its folder as 0700), so what
    opens it next (SQLite) writes into a private file; an existing file is left as it is."""
    path = Path(path)
    folder(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return path
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return path


def open_text(path: str | Path, newline: str | None = "") -> IO[str]:
    """Open `path` for writing text (truncated), created 0600 (an existing file is made 0600 too)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, "w", newline=newline, encoding="utf-8")


def write(path: str | Path, data: bytes | str | Iterable[str]) -> None:
    """Write a whole file (text as UTF-8) as 0600; its folder must exist (OSError if not). Text
    given in pieces is written piece by piece (a large page is never held twice, nor encoded whole)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        if isinstance(data, bytes | str):
            f.write(data.encode() if isinstance(data, str) else data)
            return
        for piece in data:
            f.write(piece.encode())
