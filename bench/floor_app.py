"""The floor for the hub benchmarks: a minimal FastAPI + sqlite-utils endpoint doing the same insert.

No auth, no validation beyond JSON, no audit, no dedup logic: one INSERT per entry in one
transaction per request, with the hub's SQLite settings (WAL, synchronous=FULL) and connection
handling (one kept connection per thread, writers queued on a lock), so the ratio is fair.
"""

from __future__ import annotations

import json
import sqlite3
import threading

from fastapi import Body, FastAPI
from sqlite_utils import Database


def create_floor_app(db_path: str) -> FastAPI:
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS entries (id TEXT PRIMARY KEY, participant_id TEXT, body TEXT)")
    conn.commit()
    conn.close()
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
        db = database()
        with write_lock:
            db.execute("BEGIN IMMEDIATE")
            ids = []
            for e in payload["entries"]:
                db.execute("INSERT OR IGNORE INTO entries VALUES (?, ?, ?)", [e["id"], e["participant_id"], json.dumps(e)])
                ids.append(e["id"])
            db.execute("COMMIT")
        return {"accepted": ids}

    return app
