"""Reconciliation: a hub restored from an older copy gets every acknowledged entry back at the
next sync; the device's chain head reaches the hub at each round."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date

from click.testing import CliRunner
from hub_fixture import running_hub

from diary_client.cli.tree import main
from diary_client.device.store import Store
from sync.hub import chains

START = date(2026, 3, 2)
REPORT = ["severity=50", "pain=40", "fatigue=30", "sleep_quality=60", "sadness=10", "stress=20",
          "headache=0", "gi=0", "thinking=10", "side_effects="]


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def file_days(monkeypatch, days):
    for n in days:
        monkeypatch.setenv("DIARY_NOW", f"2026-03-{1 + n:02d}T19:30")
        assert run("record", *REPORT).exit_code == 0
        r = run("sync", "--json")
        assert r.exit_code == 0, r.output


def test_a_hub_restored_from_an_older_copy_gets_every_entry_back(tmp_path, data_dir, monkeypatch):
    db, copy = tmp_path / "hub.db", tmp_path / "hub-copy.db"
    monkeypatch.setenv("DIARY_NOW", "2026-03-02T19:00")
    with running_hub(db) as h:
        assert run("enroll", "--participant", "P01", "--hub", h.url, "--code", h.code("P01", START)).exit_code == 0
        file_days(monkeypatch, [1, 2])
        with sqlite3.connect(db) as src, sqlite3.connect(copy) as dst:  # the coordinator's copy, mid-study
            src.backup(dst)
        file_days(monkeypatch, [3, 4, 5])
        assert len(h.store.reads.entries("P01")) == 5
    for suffix in ("", "-wal", "-shm"):  # restore the older copy in place
        (tmp_path / f"hub.db{suffix}").unlink(missing_ok=True)
    shutil.copy(copy, db)
    with running_hub(db) as h:
        assert len(h.store.reads.entries("P01")) == 2
        device = Store.in_dir(data_dir)
        device.set_settings(hub_url=h.url)  # the restarted hub listens on another port
        device.close()
        r = run("sync", "--json")
        assert r.exit_code == 0, r.output
        assert json.loads(r.output)["resent"] == 3
        assert sorted(e.diary_date.day for e in h.store.reads.entries("P01")) == [2, 3, 4, 5, 6]
        again = json.loads(run("sync", "--json").output)  # nothing more to send: the digests agree
        head = chains.head_of(h.store.db, "P01", Store.in_dir(data_dir).settings()["device_id"])
    assert again["resent"] == 0 and again["error"] is None
    device = Store.in_dir(data_dir)
    length, last = device.head()
    assert head is not None and head[0] <= length and device.chain()[head[0] - 1] == head[1]


async def test_a_failing_reconciliation_does_not_hold_back_the_round(tmp_path, data_dir, monkeypatch):
    import httpx
    from hub_fixture import make_entry

    from diary_client.core import clock
    from diary_client.device.diary import Diary
    from sync.client.upload import RetryPolicy, enroll_device, sync_diary

    class NoReconcile(httpx.AsyncBaseTransport):
        """The real hub, but its reconciliation call fails (an older or broken hub)."""

        def __init__(self):
            self.inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request):
            if request.url.path == "/api/v1/reconcile":
                return httpx.Response(422, json={"detail": "held: too many devices"})
            return await self.inner.handle_async_request(request)

    monkeypatch.setenv("DIARY_NOW", "2026-03-02T19:30")
    with running_hub(tmp_path / "hub.db") as h:
        diary: Diary = enroll_device(Store.in_dir(data_dir), h.url, h.code("P01", START))
        diary.store.save(make_entry("P01", START, 1, device_id=diary.device_id))
        got = await sync_diary(diary, clock.now(), policy=RetryPolicy(attempts=1), transport=NoReconcile())
        assert got.accepted == 1 and got.pending == 0 and "not reconciled" in (got.error or "")
        assert len(h.store.reads.entries("P01")) == 1
        again = await sync_diary(diary, clock.now(), policy=RetryPolicy(attempts=1))  # the next round asks again
    assert again.error is None and again.resent == 0
