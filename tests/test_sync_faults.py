"""Sync through a faulty network: 200 seeded random rounds end with exactly the device's entries on the hub."""

from __future__ import annotations

import random
from datetime import date

from fault_proxy import FaultProxy
from hub_fixture import make_entry, running_hub

from diary_client.core import clock
from diary_client.core.entry import content_hash
from diary_client.device.store import Store
from sync.client.upload import RetryPolicy, enroll_device, sync_diary

START = date(2026, 3, 2)
ROUNDS = 200


def add_entries(store: Store, device_id: str, rng: random.Random, tips: dict) -> None:
    """0-2 new entries: the next day's report, or a correction of the latest report of a past day."""
    for _ in range(rng.randint(0, 2)):
        day = len(tips) + 1
        if day <= 98 and rng.random() < 0.7:
            tips[day] = store.save(make_entry("P01", START, day, device_id=device_id, value=rng.randint(0, 100)))
        elif tips:
            tip = tips[rng.choice(sorted(tips))]
            tips[tip.study_day] = store.save(make_entry("P01", START, tip.study_day, device_id=device_id,
                                                        supersedes=tip.id, value=rng.randint(0, 100)))


async def test_random_faults_lose_nothing_and_duplicate_nothing(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("DIARY_NOW", "2026-06-30T12:00")
    rng = random.Random(20090401)
    with running_hub(tmp_path / "hub.db") as h:
        diary = enroll_device(Store.in_dir(data_dir), h.url, h.code("P01", START))
        store = diary.store
        proxy = await FaultProxy(int(h.url.rsplit(":", 1)[1]), rng).start()
        store.set_settings(hub_url=f"http://127.0.0.1:{proxy.port}")
        tips, failed, duplicates = {}, 0, 0
        try:
            for r in range(ROUNDS):
                add_entries(store, diary.device_id, rng, tips)
                policy = RetryPolicy(attempts=rng.randint(1, 3), base=0.001, cap=0.01, timeout=5, seed=r)
                result = await sync_diary(diary, clock.now(), policy=policy)
                failed += result.error is not None
                duplicates += result.duplicate
                assert result.rejected == 0, result.rejections
            proxy.faults(False)
            for _ in range(5):  # heal: bounded, through the same proxy with its faults off
                result = await sync_diary(diary, clock.now(), policy=RetryPolicy(base=0.001, cap=0.01))
                if result.pending == 0 and result.error is None:
                    break
        finally:
            await proxy.close()
        device = {e.id: content_hash(e) for e in store.entries()}
        with h.store.db.read() as db:
            rows = db.execute("SELECT id, content_hash FROM entries").fetchall()
    assert len(rows) == len(device) > 150  # none twice
    assert dict(rows) == device  # none missing, none altered
    assert store.pending() == [] and store.quarantined() == []
    assert store.count("receipts") == len(device)
    # the faults really happened, and some commits were heard of only on the retry
    assert proxy.stats["drop"] > 10 and proxy.stats["cut"] > 10 and failed > 10 and duplicates > 0, (proxy.stats, failed, duplicates)
