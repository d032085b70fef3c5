"""Enrolment that survives a lost answer, codes and tokens hashed under the hub's own key, and a
paging cursor that says nothing about other participants. Real uvicorn, a cutting proxy."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from fault_proxy import FaultProxy, proxy_thread
from hub_fixture import make_entry, running_hub

from diary_client.core.protocol import builtin_text
from diary_client.device.store import Store
from sync.client.upload import SyncError, enroll_device, load_token
from sync.hub import codes
from sync.hub.store import CodeError, HubStore

START = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _live_tokens(db_path, pid: str) -> int:
    with sqlite3.connect(db_path) as c:
        return c.execute("SELECT COUNT(*) FROM tokens WHERE participant_id = ? AND revoked_at IS NULL", [pid]).fetchone()[0]


class CutOnce(FaultProxy):
    """Cuts the first response that passes (after the hub committed it), then relays faithfully."""

    async def _delay(self) -> None:
        if self.stats["cut"]:
            self.p_cut = 0.0


def test_a_cut_enrolment_answer_is_retried_and_the_device_gets_a_working_token(tmp_path):
    with running_hub(tmp_path / "hub.db") as hub:
        code = hub.code("P01", START)
        with proxy_thread(_port(hub.url), p_cut=1.0) as relay:
            relay.__class__ = CutOnce
            store = Store.in_dir(tmp_path / "dev")
            diary = enroll_device(store, f"http://127.0.0.1:{relay.port}", code)
            assert relay.stats["cut"] == 1  # the first answer was lost; the same call asked again
        assert _live_tokens(hub.db_path, "P01") == 1  # the unreached token is revoked
        token = load_token(tmp_path / "dev")
        me = httpx.get(f"{hub.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["participant_id"] == "P01"
        assert diary.device_id == store.settings()["device_id"]


def test_every_answer_lost_then_the_same_command_again_works(tmp_path, cli):
    with running_hub(tmp_path / "hub.db") as hub:
        code = hub.code("P01", START)
        data = tmp_path / "dev"
        with proxy_thread(_port(hub.url), p_cut=1.0) as relay:
            with pytest.raises(SyncError, match="works again from this device"):
                enroll_device(Store.in_dir(data), f"http://127.0.0.1:{relay.port}", code)
        before = Store.in_dir(data).settings()
        assert "participant_id" not in before and before["device_id"]  # not enrolled, id kept
        r = cli("--data-dir", str(data), "enroll", "--participant", "P01", "--hub", hub.url, "--code", code)
        assert r.exit_code == 0, r.output
        assert Store.in_dir(data).settings()["device_id"] == before["device_id"]
        assert _live_tokens(hub.db_path, "P01") == 1


def test_only_the_same_device_within_10_minutes_may_redeem_again(tmp_path):
    store = HubStore(tmp_path / "hub.db")
    code = store.enrolment.enroll("P01", builtin_text(), START, "UTC", NOW)
    first = store.enrolment.redeem(code, "pi", NOW, device_id="0b7c7f0e-0000-4000-8000-000000000001")
    with pytest.raises(CodeError):  # another device
        store.enrolment.redeem(code, "pi", NOW, device_id="0b7c7f0e-0000-4000-8000-000000000002")
    with pytest.raises(CodeError):  # no device id: no way to know it is the same
        store.enrolment.redeem(code, "pi", NOW)
    again = store.enrolment.redeem(code, "pi", NOW + timedelta(minutes=9), device_id="0b7c7f0e-0000-4000-8000-000000000001")
    keys = store.db.keys
    assert store.enrolment.authenticate(keys.digest(again.token)).participant_id == "P01"
    assert store.enrolment.authenticate(keys.digest(first.token)) is None
    with pytest.raises(CodeError):  # the window counts from the latest token of that device
        store.enrolment.redeem(code, "pi", NOW + timedelta(minutes=20), device_id="0b7c7f0e-0000-4000-8000-000000000001")
    store.enrolment.revoke("P01", NOW + timedelta(minutes=10))
    with pytest.raises(CodeError):  # revoked: no retry either
        store.enrolment.redeem(code, "pi", NOW + timedelta(minutes=11), device_id="0b7c7f0e-0000-4000-8000-000000000001")


def test_codes_and_tokens_are_hashed_with_a_private_key_beside_the_database(tmp_path):
    store = HubStore(tmp_path / "hub.db")
    key = codes.key_path(tmp_path / "hub.db")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    code = store.enrolment.enroll("P01", builtin_text(), START, "UTC", NOW)
    token = store.enrolment.redeem(code, "pi", NOW).token
    with sqlite3.connect(tmp_path / "hub.db") as c:
        stored = {r[0] for r in c.execute("SELECT code_hash FROM codes UNION SELECT token_hash FROM tokens")}
    plain = {hashlib.sha256(s.encode()).hexdigest() for s in (codes.normalize_code(code), token)}
    assert stored and not stored & plain  # a copy of the database alone cannot test guesses
    assert HubStore(tmp_path / "hub.db").db.keys == store.db.keys  # the same key on the next start
    key.write_bytes(b"short")
    with pytest.raises(Exception, match="not a hub key"):
        HubStore(tmp_path / "hub.db")


def test_a_hub_from_before_the_key_keeps_its_codes_and_tokens_working(tmp_path):
    """Hashes stored as plain SHA-256 are accepted and rehashed under the key on use."""
    store, now = HubStore(tmp_path / "hub.db"), datetime.now(UTC)  # the served hub's clock
    code = store.enrolment.enroll("P01", builtin_text(), START, "UTC", now)
    token = store.enrolment.redeem(code, "pi", now).token
    code2 = store.enrolment.enroll("P01", builtin_text(), START, "UTC", now)
    keys = store.db.keys
    with sqlite3.connect(tmp_path / "hub.db") as c:  # as an older hub wrote them
        c.execute("UPDATE tokens SET token_hash = ? WHERE token_hash = ?",
                  [codes.legacy_digest(token), keys.digest(token)])
        c.execute("UPDATE codes SET code_hash = ? WHERE code_hash = ?",
                  [codes.legacy_digest(codes.normalize_code(code2)), keys.digest(codes.normalize_code(code2))])
    with running_hub(tmp_path / "hub.db") as hub:
        me = httpx.get(f"{hub.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert httpx.post(f"{hub.url}/api/v1/enroll", json={"code": code2, "device": "pi2"}).status_code == 200
    with sqlite3.connect(tmp_path / "hub.db") as c:
        stored = {r[0] for r in c.execute("SELECT code_hash FROM codes UNION SELECT token_hash FROM tokens")}
    assert codes.legacy_digest(token) not in stored and keys.digest(token) in stored
    assert codes.legacy_digest(codes.normalize_code(code2)) not in stored


def test_the_paging_cursor_counts_only_the_participants_own_entries(tmp_path):
    with running_hub(tmp_path / "hub.db") as hub:
        tokens = {}
        for pid in ("P01", "P02"):
            tokens[pid] = httpx.post(f"{hub.url}/api/v1/enroll",
                                     json={"code": hub.code(pid, START), "device": "t"}).json()["token"]
        later = datetime(2026, 6, 1, tzinfo=UTC)  # every day of these entries has come
        hub.store.ingest("P02", [make_entry("P02", START, d) for d in range(1, 40)], later)
        hub.store.ingest("P01", [make_entry("P01", START, d) for d in (1, 2, 3)], later)
        c = httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {tokens['P01']}"})
        first = c.get("/api/v1/entries", params={"limit": 2}).json()
        assert first["next_after"] == 2  # not 41: P02's 39 entries are invisible
        rest = c.get("/api/v1/entries", params={"after": 2, "limit": 2}).json()
        assert len(rest["entries"]) == 1 and rest["next_after"] is None


def test_a_backup_carries_the_key_so_a_restored_hub_knows_its_devices(tmp_path):
    from sync.hub.backup import backup

    store = HubStore(tmp_path / "hub.db")
    token = store.enrolment.redeem(store.enrolment.enroll("P01", builtin_text(), START, "UTC", NOW), "pi", NOW).token
    backup(tmp_path / "hub.db", tmp_path / "copy.db")
    assert stat.S_IMODE(codes.key_path(tmp_path / "copy.db").stat().st_mode) == 0o600
    restored = HubStore(tmp_path / "copy.db")
    assert restored.enrolment.authenticate(restored.db.keys.digest(token)).participant_id == "P01"
