"""`diary hub backup`: a consistent copy of a live hub database (SQLite's online backup API).

The copy is one snapshot of the database as of one committed transaction: the backup reads
under one read transaction, which in WAL mode does not block the hub's writers. It is written
to a private (0600) file beside OUT, checked (`PRAGMA integrity_check`), switched out of WAL so
it is one self-contained file, and only then renamed to OUT, so OUT is never a half-written copy.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from diary_client.core import private
from sync.hub import codes
from sync.hub.store import HubError


@dataclass(frozen=True)
class BackupResult:
    path: Path
    entries: int
    participants: int
    size: int  # bytes


def _same_file(a: Path, b: Path) -> bool:
    return a.exists() and b.exists() and os.path.samefile(a, b)


def backup(db_path: Path, out: Path) -> BackupResult:
    """Copy the hub database at `db_path` to `out` (replacing an older backup there)."""
    if not db_path.is_file():
        raise HubError(f"{db_path}: no hub database there (check --db)")
    for own in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), codes.key_path(db_path)):
        if _same_file(own, out) or out.resolve() == own.resolve():
            raise HubError(f"{out}: that is the hub's own database; give another file for the backup")
    if out.is_dir():
        raise HubError(f"{out}: is a folder; give a file name for the backup")
    if not out.parent.is_dir():
        raise HubError(f"{out.parent}: no such folder")
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        os.close(os.open(partial, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600))
        os.chmod(partial, 0o600)  # whatever the umask: the backup holds every participant's data
    except OSError as e:
        raise HubError(f"{out}: cannot write there ({e.strerror})") from None
    try:
        counts = _copy(db_path, partial)
        os.replace(partial, out)
        _copy_key(db_path, out)
        _sync_dir(out.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(out, counts[0], counts[1], out.stat().st_size)


def _copy_key(db_path: Path, out: Path) -> None:
    """The hub's hashing key goes beside the copy (`OUT.key`, 0600): a hub restored without it
    would recognise no device token and no enrolment code."""
    key = codes.key_path(db_path)
    if key.is_file():
        private.write(codes.key_path(out), key.read_bytes())


def _copy(db_path: Path, dst_path: Path) -> tuple[int, int]:
    try:
        src = sqlite3.connect(db_path.resolve().as_uri() + "?mode=ro", uri=True, timeout=30)
    except sqlite3.DatabaseError as e:
        raise HubError(f"{db_path}: cannot open the hub database ({e})") from None
    try:
        dst = sqlite3.connect(dst_path)
        try:
            src.backup(dst)  # all pages in one step: one snapshot, not restarted by the hub's writes
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            problem = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if problem != "ok":
                raise HubError(f"the copy of {db_path} fails its integrity check ({problem}): the hub's "
                               "database may be damaged; keep the older backups")
            try:
                entries = dst.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
                people = dst.execute("SELECT COUNT(*) FROM participants").fetchone()[0]
            except sqlite3.OperationalError:
                raise HubError(f"{db_path}: not a hub database (no entries or participants table)") from None
        finally:
            dst.close()
    except sqlite3.DatabaseError as e:
        raise HubError(f"{db_path}: cannot back up the hub database ({e})") from None
    finally:
        src.close()
    return entries, people


def _sync_dir(folder: Path) -> None:
    """The rename survives a power cut only once the folder itself is on disk."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
