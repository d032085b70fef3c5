"""The floor for the hub benchmarks: a minimal FastAPI + sqlite-utils endpoint doing the same insert.

No auth, no validation beyond JSON, no hash check, no audit, no dedup logic: each entry of the
request becomes the same row in the same table (the hub's own schema and indexes, made by the
hub's migrations) in one transaction per request, with the hub's SQLite settings (WAL,
synchronous=FULL) and connection handling (one kept connection per thread, writers queued on a
lock), so the ratio measures what the hub adds, not a smaller table.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from datetime import UTC, datetime

from fastapi import Body, FastAPI
from sqlite_utils import Database

from sync.hub.store import migrations


def create_floor_app(db_path: str) -> FastAPI:
    setup = Database(db_path)
    setup.execute("PRAGMA journal_mode=WAL")
    migrations.apply(setup)
    setup.close()
    app = FastAPI()

    local = threading.local()
    write_lock = threading.Lock()  # the hub queues its writers the same way

    def database() -> Database:
        # One connection per thread, kept: the same connection handling as the hub's store.
        if getattr(local, "db", None) is None:
            conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA synchronous=FULL")
            local.db = Database(conn)
        return local.db

    @app.post("/api/v1/entries")
    def upload(payload: dict = Body(...)) -> dict:
        db, at = database(), datetime.now(UTC).isoformat()
        with write_lock:
            db.execute("BEGIN IMMEDIATE")
            ids = []
            for e in payload["entries"]:
                body = json.dumps(e)
                db.execute("INSERT OR IGNORE INTO entries (id, participant_id, diary_date, supersedes, content_hash,"
                           " body, received_at, via, timing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [e["id"], e["participant_id"], e["diary_date"], e["supersedes"],
                            hashlib.sha256(body.encode()).hexdigest(), body, at, "api", e["timing"]])
                ids.append(e["id"])
            db.execute("COMMIT")
        return {"accepted": ids}

    return app
