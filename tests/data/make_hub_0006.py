"""Writes hub-0006.db: a small hub made by the hub of commit d3232d0 (migrations 0001–0006, entry ids
unique across the hub), for tests/test_hub_migration.py. Run once, from a checkout of that commit:

    git archive d3232d0 | tar -x -C /tmp/old && PYTHONPATH=/tmp/old python tests/data/make_hub_0006.py

It holds two participants' entries, a correction, the device's flags on some entries, a rejected
upload and the audit log, all stored through that hub's own ingest.
"""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # hub_fixture

from hub_fixture import make_entry  # noqa: E402

from diary_client.core.protocol import builtin_text  # noqa: E402
from sync.hub.store import HubStore  # noqa: E402

OUT = Path(__file__).with_name("hub-0006.db")
START = date(2026, 3, 2)
NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)

if __name__ == "__main__":
    for p in (OUT, OUT.with_name(OUT.name + ".key")):
        p.unlink(missing_ok=True)
    hub = HubStore(OUT)
    for pid in ("P01", "P02"):
        hub.enrolment.register(pid, builtin_text(), START, "UTC", NOW)
    p1 = [make_entry("P01", START, d) for d in range(1, 11)]
    fix = make_entry("P01", START, 4, value=70, supersedes=p1[3].id, seq=11)
    flags = [(p1[0].id, "clock_override", "DIARY_NOW was set"), (p1[1].id, "clock_jump", "the clock went back 2 h")]
    assert len(hub.ingest("P01", [*p1, fix], NOW, flags=flags).accepted) == 11
    p2 = [make_entry("P02", START, d, device_id="dev-2") for d in range(1, 6)]
    assert len(hub.ingest("P02", p2, NOW, via="import").accepted) == 5
    assert len(hub.ingest("P02", [replace(p2[0], answers=p2[0].answers | {"pain": 1})], NOW).rejected) == 1
    hub.close()
    with sqlite3.connect(OUT) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
    OUT.with_name(OUT.name + ".key").unlink()
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
