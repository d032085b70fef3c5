"""Uploads that always finish: batches sized by bytes as well as count, a 413 the device gets to
see (the hub drains the body first), halving down to the one entry the hub cannot take.
Real uvicorn hubs on 127.0.0.1."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

import httpx
from fault_proxy import proxy_thread
from hub_fixture import running_hub
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diary_client.core.answers import MAX_TEXT
from diary_client.core.entry import Entry, new_id
from diary_client.core.protocol import builtin_text, parse_protocol
from diary_client.device.store import Store
from sync import BATCH_BYTES
from sync.client.round import batches, upload_body
from sync.client.upload import RetryPolicy, enroll_device, sync_diary
from sync.hub.limits import Limits

MiB = 1024 * 1024
FAST = RetryPolicy(attempts=2, base=0.01, cap=1.0, timeout=30)
# ldn-fm with a 400-day baseline and two more free-text items: the most text an entry may hold.
LONG_TOML = (builtin_text().replace('days = 14\nlabel = "Baseline"', 'days = 400\nlabel = "Baseline"', 1)
             + "".join(f'\n[[items]]\nid = "{i}"\nkind = "text"\nprompt = "More?"\noptional = true\n'
                       for i in ("note2", "note3")))
LONG = parse_protocol(LONG_TOML)
START = date.today() - timedelta(days=320)
WIDE = Limits(per_token_rate=1000, per_token_burst=1000, enroll_rate=1000, enroll_burst=1000,
              unknown_rate=1000, unknown_burst=1000)
_pids = itertools.count(1)


def entries(pid: str, device: str, notes: list[str]) -> list[Entry]:
    base = {i.id: ([] if i.kind == "multi" else 50) for i in LONG.items_in("baseline") if not i.optional}
    return [Entry(id=new_id(), participant_id=pid, study_id=LONG.id, protocol_version=LONG.version,
                  diary_date=START + timedelta(days=k), study_day=k + 1,
                  answers=base | {"note": n or None, "note2": n or None, "note3": n or None},
                  submitted_at=datetime.combine(START + timedelta(days=k), time(19), UTC), timing="on_time",
                  source="app", device_id=device, seq=k + 1)  # in its day's window: the hub refuses a day past its grace
            for k, n in enumerate(notes)]


def device_with(hub, tmp, notes: list[str]):
    pid = f"U{next(_pids):03d}"
    code = hub.store.enrolment.enroll(pid, LONG_TOML, START, "UTC", datetime.now(UTC))
    diary = enroll_device(Store.in_dir(tmp / pid), hub.url, code)
    diary.store.save_all(entries(pid, diary.device_id, notes))
    return pid, diary


async def test_a_5_mib_backlog_uploads_completely(tmp_path):
    notes = [("é" if k % 2 else "😀") * MAX_TEXT for k in range(300)]
    with running_hub(tmp_path / "hub.db", limits=WIDE) as hub:
        pid, diary = device_with(hub, tmp_path, notes)
        pending = diary.store.pending()
        assert len(upload_body(pending, [])) > 5 * MiB  # one request of it would be a 413
        got = await sync_diary(diary, datetime.now(UTC), policy=FAST)
        assert got.error is None and got.accepted == 300 and got.pending == 0 and got.rejected == 0
        assert len(hub.store.reads.entries(pid)) == 300


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_an_oversized_body_is_answered_413_not_reset(tmp_path):
    """Through a relay (as behind a reverse proxy): a hub that closed on an unread body made the
    relay reset the device's connection before the 413 reached it."""
    with running_hub(tmp_path / "hub.db", limits=WIDE) as hub, proxy_thread(_port(hub.url)) as relay:
        url = f"http://127.0.0.1:{relay.port}"
        for _ in range(3):
            r = httpx.post(f"{url}/api/v1/entries", content=b'{"entries": [' + b" " * (6 * MiB) + b"]}",
                           headers={"content-type": "application/json", "authorization": "Bearer x"}, timeout=30)
            assert r.status_code == 413 and "send fewer entries" in r.json()["detail"]
            # Chunked, without a length: the same answer once the body passes the limit.
            r = httpx.post(f"{url}/api/v1/entries", content=iter([b" " * MiB] * 6),
                           headers={"content-type": "application/json", "authorization": "Bearer x"}, timeout=30)
            assert r.status_code == 413


@settings(max_examples=200, deadline=None, database=None)
@given(sizes=st.lists(st.integers(0, 3 * BATCH_BYTES // 2), max_size=60),
       max_count=st.integers(1, 20), max_bytes=st.integers(1000, 50_000))
def test_batches_keep_order_and_stay_under_both_bounds(sizes, max_count, max_bytes):
    es = [Entry(id=new_id(), participant_id="P", study_id="s", protocol_version=1, diary_date=date(2026, 1, 1),
                study_day=1, answers={"note": "x" * (n // 50)}, submitted_at=datetime.now(UTC), timing="on_time",
                source="app", device_id="d", seq=k) for k, n in enumerate(sizes)]
    flags = [{"entry_id": e.id, "flag": "clock_off", "detail": "x" * 200} for e in es[::3]]
    out = batches(es, flags, max_count, max_bytes)
    assert [e for b in out for e in b] == es
    for b in out:
        ids = {e.id for e in b}
        assert 1 <= len(b) <= max_count
        assert len(b) == 1 or len(upload_body(b, [f for f in flags if f["entry_id"] in ids])) <= max_bytes


def test_a_devices_largest_batches_get_their_413_however_small_the_hubs_limit(tmp_path):
    """A hub that took 64 KiB read and threw away only 256 KiB of a refused body: a device's ~1 MiB
    batch then met a closed connection, and through a relay a reset (ReadError) came before the 413,
    in about one round of four; twice a device's largest batch is always read now."""
    import asyncio

    from sync import BATCH_BYTES as DEVICE_MAX
    from sync.hub.limits import BodyLimit

    assert BodyLimit(None, 64 * 1024).drain_bytes >= 2 * DEVICE_MAX
    small = Limits(**{**WIDE.__dict__, "max_body": 64 * 1024})
    with running_hub(tmp_path / "hub.db", limits=small) as hub, proxy_thread(_port(hub.url)) as relay:
        hub.url = f"http://127.0.0.1:{relay.port}"
        for k in range(8):  # 40 entries of three 2,000-emoji notes: a 0.96 MB body, halved to fit
            pid, diary = device_with(hub, tmp_path / f"d{k}", ["😀" * MAX_TEXT] * 40)
            got = asyncio.run(sync_diary(diary, datetime.now(UTC), policy=FAST))
            assert got.error is None and got.pending == 0 and got.accepted == 40, got


def test_any_mix_of_entry_sizes_uploads_completely_even_past_the_hubs_limit(tmp_path):
    """The hub here takes 64 KiB bodies, far below the device's 1 MiB batches: 413s, halving, done
    (through a relay, where a 413 without the body drained arrived as a reset)."""
    small = Limits(**{**WIDE.__dict__, "max_body": 64 * 1024})
    with running_hub(tmp_path / "hub.db", limits=small) as hub, proxy_thread(_port(hub.url)) as relay:
        hub.url = f"http://127.0.0.1:{relay.port}"
        n = itertools.count()

        @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(notes=st.lists(st.one_of(st.just(""), st.text(alphabet="a😀é\"\\\n", max_size=MAX_TEXT),
                                        st.just("😀" * MAX_TEXT)), min_size=1, max_size=40))
        def run(notes):
            import asyncio

            pid, diary = device_with(hub, tmp_path / f"x{next(n)}", notes)
            got = asyncio.run(sync_diary(diary, datetime.now(UTC), policy=FAST))
            assert got.error is None and got.pending == 0 and got.rejected == 0, got
            assert len(hub.store.reads.entries(pid)) == len(notes)

        run()
