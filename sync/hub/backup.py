"""`diary hub backup`: a consistent copy of a live hub database (SQLite's online backup API).

The copy is one snapshot of the database as of one committed transaction: the backup reads
under one read transaction, which in WAL mode does not block the hub's writers. It is written
to a private (0600) file beside OUT, checked (`PRAGMA integrity_check`), switched out of WAL so
it is one self-contained file, synced, and only then renamed to OUT (after the key, OUT.key), so
OUT is never a half-written copy and never stands without its key.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

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
    """Copy the hub database at `db_path` to `out` and its key to `OUT.key` (replacing an older pair).

    Both are written aside under names of this process and synced; only then is the key renamed
    into place, and the database after it. A failure before the renames (a full disk, a folder
    that refuses writes) leaves the older pair as it was and no partial file; the key is the hub's
    own, the same in every backup of it, so a new key beside an older database is still its key.
    """
    if not db_path.is_file():
        raise HubError(f"{db_path}: no hub database there (check --db)")
    key_out = codes.key_path(out)
    for own in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), codes.key_path(db_path)):
        if any(_same_file(own, x) or x.resolve() == own.resolve() for x in (out, key_out)):
            raise HubError(f"{out}: that is the hub's own database; give another file for the backup")
    if out.is_dir():
        raise HubError(f"{out}: is a folder; give a file name for the backup")
    if not out.parent.is_dir():
        raise HubError(f"{out.parent}: no such folder")
    partial, key_partial = (p.with_name(f".{p.name}.partial-{os.getpid()}") for p in (out, key_out))
    try:
        try:
            key = codes.key_path(db_path).read_bytes() if codes.key_path(db_path).is_file() else None
            if key is not None:
                _write_synced(key_partial, key)
            _write_synced(partial, b"")
            counts = _copy(db_path, partial)
            _fsync(partial)
            if key is not None:
                os.replace(key_partial, key_out)  # the key first: a database in place always has its key
            os.replace(partial, out)
            _sync_dir(out.parent)
        except OSError as e:
            raise HubError(f"{out}: the backup could not be written ({e.strerror or e}); "
                           "no partial file is left and an older backup there is as it was") from None
    finally:
        partial.unlink(missing_ok=True)
        key_partial.unlink(missing_ok=True)
    return BackupResult(out, counts[0], counts[1], out.stat().st_size)


def _write_synced(path: Path, data: bytes) -> None:
    """`data` into a new private (0600, whatever the umask) file, on disk when this returns."""
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the backup holds every participant's data; the key opens every token
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
