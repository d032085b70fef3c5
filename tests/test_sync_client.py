"""The device side against a real hub: enrolment, `diary sync`, receipts, quarantine, unblinding, clock."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from datetime import date, timedelta

import pytest
from conftest import file_report
from hub_fixture import hub, make_entry, running_hub, updated_protocol  # noqa: F401

from diary_client.core import clock
from diary_client.device.diary import Diary
from diary_client.device.store import Store
from sync.client.upload import RetryPolicy, load_token, sync_diary, token_path
from sync.hub.limits import Limits

START = date(2026, 3, 2)
NOW = "2026-03-02T19:30"
FAST = RetryPolicy(attempts=2, base=0.01, cap=2.0, timeout=5)
REPORT = ["severity=50", "pain=40", "fatigue=30", "sleep_quality=60", "sadness=10", "stress=20",
          "headache=0", "gi=0", "thinking=10", "side_effects="]


def enrolled(cli, hub, pid="P01"):
    code = hub.code(pid, START)
    r = cli("enroll", "--participant", pid, "--hub", hub.url, "--code", code, now=NOW)
    assert r.exit_code == 0, r.output
    return code


def test_enrol_with_a_code_keeps_the_token_private(cli, hub, data_dir):
    enrolled(cli, hub)
    path = token_path(data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = load_token(data_dir)
    assert hub.store.enrolment.authenticate(hub.store.db.keys.digest(token)).participant_id == "P01"
    s = Store.in_dir(data_dir).settings()
    assert s["hub_url"] == hub.url and s["start"] == "2026-03-02"
    assert token not in json.dumps(s) and token not in str(Store.in_dir(data_dir).db.query("SELECT * FROM audit").__next__())


def test_a_bad_code_exits_1_and_leaves_the_device_unenrolled(cli, hub, data_dir):
    code = hub.code("P01", START)
    r = cli("enroll", "--participant", "P01", "--hub", hub.url, "--code", "AAAA-AAAA", now=NOW)
    assert r.exit_code == 1 and r.output.count("\n") == 1 and "not valid" in r.output
    assert "participant_id" not in Store.in_dir(data_dir).settings()
    r = cli("enroll", "--participant", "P02", "--hub", hub.url, "--code", code, now=NOW)
    assert r.exit_code == 1  # the code is P01's: refused, and not used up
    assert cli("enroll", "--participant", "P01", "--hub", hub.url, "--code", code, now=NOW).exit_code == 0


def test_unreachable_hub_at_enrolment_is_one_line(cli, data_dir):
    r = cli("enroll", "--participant", "P01", "--hub", "http://127.0.0.1:9", "--code", "AAAA-AAAA", now=NOW)
    assert r.exit_code == 1 and "cannot reach the hub" in r.output and "Traceback" not in r.output


def test_sync_uploads_then_is_a_no_op(cli, hub, data_dir):
    enrolled(cli, hub)
    assert cli("record", *REPORT, now=NOW).exit_code == 0
    r = cli("sync", "--json", now="2026-03-02T19:40")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert (doc["accepted"], doc["pending"], doc["error"]) == (1, 0, None)
    assert json.loads(cli("sync", "--json", now="2026-03-02T19:41").output)["accepted"] == 0
    status = json.loads(cli("status", "--json", now="2026-03-02T19:42").output)
    assert status["pending_upload"] == 0 and status["last_upload"] == "2026-03-02T19:41:00+00:00"
    assert len(hub.store.reads.entries("P01")) == 1


def test_rejected_entries_go_to_quarantine_and_stay(cli, hub, data_dir):
    enrolled(cli, hub)
    store = Store.in_dir(data_dir)
    diary = Diary(store)
    bad = store.save(make_entry("P01", START, 1, value=150, device_id=diary.device_id))
    r = cli("sync", now=NOW)
    assert r.exit_code == 0 and "quarantined" in r.output and "outside 0–100" in r.output
    status = json.loads(cli("status", "--json", now=NOW).output)
    assert status["quarantined"] == 1 and status["pending_upload"] == 0
    assert [e.id for e in Store.in_dir(data_dir).entries()] == [bad.id]
    assert json.loads(cli("sync", "--json", now=NOW).output)["rejected"] == 0  # not sent again


def test_unblinding_reaches_the_device(cli, hub, data_dir):
    enrolled(cli, hub)
    assert json.loads(cli("status", "--json", now=NOW).output)["phase_label"] == "Run-in"
    hub.store.enrolment.unblind(["P01"], clock.now())
    assert "released" in cli("sync", now=NOW).output
    status = json.loads(cli("status", "--json", now=NOW).output)
    assert status["blinded"] is False and status["phase_label"] == "Baseline"


@pytest.mark.parametrize("alone", [False, True])  # True: the blocking transport of `diary sync`
async def test_offline_is_recorded_not_raised(data_dir, monkeypatch, alone):
    monkeypatch.setenv("DIARY_NOW", NOW)
    diary = Diary.enroll(Store.in_dir(data_dir), "P01", __import__("diary_client.core.protocol", fromlist=["x"]).builtin_text(),
                         START, hub_url="http://127.0.0.1:9")
    from sync.client.upload import save_token

    save_token(data_dir, "t" * 43)
    file_report(diary, {"severity": 1, "pain": 1, "fatigue": 1, "sleep_quality": 1, "sadness": 1, "stress": 1,
                "headache": 1, "gi": 1, "thinking": 1, "side_effects": []}, clock.now())
    result = await sync_diary(diary, clock.now(), policy=FAST, alone=alone)
    assert result.error and "not reachable (ConnectError)" in result.error and result.pending == 1
    assert diary.status(clock.now()).last_error.endswith(result.error)


async def test_a_round_alone_goes_over_the_blocking_client_as_the_async_one(hub, data_dir, monkeypatch):
    monkeypatch.setenv("DIARY_NOW", NOW)
    from sync.client.upload import enroll_device

    diary = enroll_device(Store.in_dir(data_dir), hub.url, hub.code("P01", START))
    e = diary.store.save(make_entry("P01", START, 1, device_id=diary.device_id))
    result = await sync_diary(diary, clock.now(), policy=FAST, alone=True)
    assert (result.error, result.accepted, result.pending) == (None, 1, 0)
    assert [x.id for x in hub.store.reads.entries("P01")] == [e.id]
    again = await sync_diary(diary, clock.now(), policy=FAST, alone=True)  # receipts kept: nothing to send
    assert (again.error, again.accepted, again.duplicate) == (None, 0, 0)


async def test_device_clock_offset_flags_entries(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("DIARY_NOW", NOW)
    ahead = running_hub(tmp_path / "skew.db", now=lambda: clock.now() + timedelta(minutes=9))
    with ahead as h:
        from sync.client.upload import enroll_device

        diary = enroll_device(Store.in_dir(data_dir), h.url, h.code("P01", START))
        e = diary.store.save(make_entry("P01", START, 1, device_id=diary.device_id))
        result = await sync_diary(diary, clock.now(), policy=FAST)
        on_hub = h.store.reads.flags("P01")  # the doubt travels with the entry
    assert result.error is None and 530 < result.clock_offset_s < 550
    # DIARY_NOW sets the clock here: clock_override too
    assert sorted((f["entry_id"], f["flag"]) for f in diary.store.flags()) == [(e.id, "clock_off"), (e.id, "clock_override")]
    assert on_hub == {e.id: ["clock_off", "clock_override"]}


async def test_a_flag_the_hub_cannot_read_does_not_hold_back_its_entry(hub, data_dir, monkeypatch):
    monkeypatch.setenv("DIARY_NOW", NOW)
    from sync.client.upload import enroll_device

    diary = enroll_device(Store.in_dir(data_dir), hub.url, hub.code("P01", START))
    e = diary.store.save(make_entry("P01", START, 1, device_id=diary.device_id))
    diary.store.flag(e.id, "clock_off", "x" * 5000)  # more than the hub takes (as an older hub takes no flags)
    result = await sync_diary(diary, clock.now(), policy=FAST)
    assert (result.error, result.accepted, result.rejected) == (None, 1, 0)
    assert [x.id for x in hub.store.reads.entries("P01")] == [e.id] and hub.store.reads.flags("P01") == {}


@pytest.mark.parametrize("path, body", [
    ("/api/v1/me", b"<html>a captive portal</html>"),
    ("/api/v1/me", b'{"server_time": "2026-03-02T19:30:00"}'),  # fields missing, and a time without its offset
    ("/api/v1/entries", b'{"accepted": [], "duplicate": [], "rejected": [{"id": 1}], "receipts": []}'),
])
async def test_an_answer_that_is_not_the_hubs_is_recorded_not_raised(hub, data_dir, monkeypatch, path, body):
    import httpx

    from sync.client.upload import enroll_device

    class Garbled(httpx.AsyncBaseTransport):
        """The real hub, but one call's 200 answer replaced (a proxy or a broken hub)."""

        def __init__(self):
            self.inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request):
            got = await self.inner.handle_async_request(request)
            if request.url.path == path and request.method == ("GET" if path.endswith("/me") else "POST"):
                await got.aread()
                return httpx.Response(200, content=body, headers={"content-type": "application/json"})
            return got

    monkeypatch.setenv("DIARY_NOW", NOW)
    diary = enroll_device(Store.in_dir(data_dir), hub.url, hub.code("P01", START))
    diary.store.save(make_entry("P01", START, 1, device_id=diary.device_id))
    result = await sync_diary(diary, clock.now(), policy=FAST, transport=Garbled())
    assert result.error and result.error.startswith("the hub's answer was not understood (")
    assert result.pending == 1 and diary.status(clock.now()).last_error.endswith(result.error)


def _answers(diary):
    from hub_fixture import answers_for

    return answers_for(diary.protocol, "baseline")


async def test_a_clash_with_the_hubs_history_stays_on_the_hub_and_does_not_stop_sync(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("DIARY_NOW", NOW)
    from sync.client.upload import enroll_device

    old = enroll_device(Store.in_dir(tmp_path / "old"), hub.url, hub.code("P01", START))
    file_report(old, _answers(old), clock.now())
    assert (await sync_diary(old, clock.now(), policy=FAST)).accepted == 1
    new = enroll_device(Store.in_dir(tmp_path / "new"), hub.url, hub.code("P01"))  # no first round: offline, say
    mine = file_report(new, _answers(new), clock.now())  # filed before the history came: the same day as the old report
    first = await sync_diary(new, clock.now(), policy=FAST)
    assert (first.error, first.fetched, first.left_on_hub, first.rejected) == (None, 0, 1, 1)
    assert [e.id for e in new.entries()] == [mine.id] and new.store.quarantined()[0]["entry_id"] == mine.id
    again = await sync_diary(new, clock.now(), policy=FAST)
    assert (again.error, again.left_on_hub) == (None, 0)  # fetched once; nothing blocks later rounds
    assert new.store.verify() == []


async def test_a_replacement_devices_file_imports_with_its_corrections(hub, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from diary_client.cli.tree import main
    from sync.client.upload import enroll_device

    monkeypatch.setenv("DIARY_NOW", NOW)
    old = enroll_device(Store.in_dir(tmp_path / "old"), hub.url, hub.code("P01", START))
    file_report(old, _answers(old), clock.now())
    file_report(old, _answers(old) | {"pain": 70}, clock.now(), reason="typo")  # the old device's seq 2
    await sync_diary(old, clock.now(), policy=FAST)
    new = enroll_device(Store.in_dir(tmp_path / "new"), hub.url, hub.code("P01"))
    assert (await sync_diary(new, clock.now(), policy=FAST)).fetched == 2
    file_report(new, _answers(new) | {"pain": 80}, clock.now(), reason="the pain got worse")  # the new device's seq 1
    assert [e.device_id for e in new.entries()] == [old.device_id] * 2 + [new.device_id]  # stored order, not seq
    r = CliRunner().invoke(main, ["hub", "import", "--db", str(tmp_path / "fresh.db"), str(tmp_path / "new" / "diary.db")])
    assert r.exit_code == 0 and "3 new, 0 already on the hub, 0 rejected" in r.output, r.output


async def test_retry_after_is_honoured(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("DIARY_NOW", NOW)
    limits = Limits(per_token_rate=2, per_token_burst=2, enroll_rate=100, enroll_burst=100)
    with running_hub(tmp_path / "slow.db", limits=limits) as h:
        from sync.client.upload import enroll_device

        diary = enroll_device(Store.in_dir(data_dir), h.url, h.code("P01", START))
        diary.store.save(make_entry("P01", START, 1, device_id=diary.device_id))
        first = await sync_diary(diary, clock.now(), policy=FAST)  # uses the burst: me + upload
        second = await sync_diary(diary, clock.now(), policy=RetryPolicy(attempts=3, base=0.01, cap=2))
    assert first.error is None and first.accepted == 1
    assert second.error is None  # got 429 + Retry-After: 1, waited, then went through


def test_hub_import_then_network_sync_leaves_no_duplicate(cli, hub, data_dir, tmp_path):
    enrolled(cli, hub)
    assert cli("record", *REPORT, now=NOW).exit_code == 0
    assert cli("record", "--reason", "typo", "severity=55", now="2026-03-02T20:00").exit_code == 0
    from click.testing import CliRunner

    from diary_client.cli.tree import main

    r = CliRunner().invoke(main, ["hub", "import", "--db", str(hub.db_path), str(data_dir / "diary.db")])
    assert r.exit_code == 0 and "2 new" in r.output, r.output
    doc = json.loads(cli("sync", "--json", now="2026-03-02T20:05").output)
    assert (doc["accepted"], doc["duplicate"], doc["pending"]) == (0, 2, 0)
    assert sorted(e.id for e in hub.store.reads.entries()) == sorted(e.id for e in Store.in_dir(data_dir).entries())
    r = CliRunner().invoke(main, ["hub", "import", "--db", str(hub.db_path), str(data_dir / "diary.db")])
    assert "0 new, 2 already on the hub" in r.output


def test_a_protocol_update_reaches_the_device_and_old_entries_keep_their_version(cli, hub, data_dir):
    enrolled(cli, hub)
    assert cli("record", *REPORT, now=NOW).exit_code == 0  # made under version 1, not uploaded yet
    assert hub.store.enrolment.publish(updated_protocol(), clock.now())[1:] == (2, ["P01"])
    r = cli("sync", "--json", now="2026-03-02T19:40")
    doc = json.loads(r.output)
    assert r.exit_code == 0 and (doc["accepted"], doc["protocol_version"]) == (1, 2), r.output
    diary = Diary(Store.in_dir(data_dir))
    assert diary.protocol.version == 2 and "mood" in diary.protocol.item_ids
    assert cli("record", *REPORT, "mood=70", now="2026-03-03T19:30").exit_code == 0
    v1 = make_entry("P01", START, 3, device_id=diary.device_id)
    stale = diary.store.save(replace(v1, answers=v1.answers | {"mood": 5}))  # version 1 has no mood
    doc = json.loads(cli("sync", "--json", now="2026-03-03T19:40").output)
    assert (doc["accepted"], doc["rejected"], doc["protocol_version"]) == (1, 1, None)
    assert doc["rejections"][0][0] == stale.id and "mood: no such item" in doc["rejections"][0][1]
    on_hub = {e.diary_date.day: e.protocol_version for e in hub.store.reads.entries("P01")}
    assert on_hub == {2: 1, 3: 2}


def test_a_revoked_device_is_refused_and_a_new_one_enrols(cli, hub, data_dir, tmp_path):
    from click.testing import CliRunner

    from diary_client.cli.tree import main

    enrolled(cli, hub)
    assert cli("record", *REPORT, now=NOW).exit_code == 0
    assert cli("sync", now=NOW).exit_code == 0
    spare = hub.code("P01")  # a code issued earlier, say on the lost device's papers
    r = CliRunner().invoke(main, ["hub", "revoke", "--db", str(hub.db_path), "P01", "--json"])
    assert r.exit_code == 0 and json.loads(r.output) == {"participant_id": "P01", "revoked": 1}
    refused = cli("--data-dir", str(tmp_path / "finder"), "enroll", "--participant", "P01", "--hub", hub.url,
                  "--code", spare, now=NOW)
    assert refused.exit_code == 1 and "not valid" in refused.output
    r = cli("sync", now=NOW)
    assert r.exit_code == 1 and "does not accept this device's token" in r.output
    code = CliRunner().invoke(main, ["hub", "enroll", "--db", str(hub.db_path), "P01", "--json"]).output
    new = cli("--data-dir", str(tmp_path / "new"), "enroll", "--participant", "P01", "--hub", hub.url,
              "--code", json.loads(code)["code"], now=NOW)
    assert new.exit_code == 0 and len(hub.store.reads.entries("P01")) == 1  # what the old device sent stays
    assert "Fetched 1 earlier entries of P01" in new.output  # ... and the new device goes on from it
    replacement = ["--data-dir", str(tmp_path / "new")]
    status = json.loads(cli(*replacement, "status", "--json", now=NOW).output)
    assert (status["today"], status["done"], status["pending_upload"]) == ("done", 1, 0)
    r = cli(*replacement, "record", "--reason", "the pain got worse", "pain=80", now="2026-03-02T21:00")
    assert r.exit_code == 0 and json.loads(cli(*replacement, "sync", "--json", now="2026-03-02T21:05").output)["accepted"] == 1
    assert Diary(Store.in_dir(tmp_path / "new")).store.verify() == []
    r = CliRunner().invoke(main, ["hub", "revoke", "--db", str(hub.db_path), "P99"])
    assert r.exit_code == 1 and "no participant 'P99'" in r.output


def test_a_double_blind_device_holds_no_phase_assignment_until_unblinded(cli, hub, data_dir):
    from diary_client.core.protocol import builtin_text

    double = builtin_text().replace('blinding = "single"', 'blinding = "double"')
    code = hub.code("P01", START, toml=double)
    assert cli("enroll", "--participant", "P01", "--hub", hub.url, "--code", code, now=NOW).exit_code == 0
    with Store.in_dir(data_dir).db.conn as c:  # the whole device database, as a curious participant reads it
        dump = "\n".join(c.iterdump())
    assert "Placebo" not in dump and "Naltrexone" not in dump and '"placebo"' not in dump
    # Day 20 is in the placebo phase: the capsule question (placebo and drug phases) is asked, and accepted
    day20 = "2026-03-21T19:30"
    r = cli("record", *REPORT, "capsule=yes", now=day20)
    assert r.exit_code == 0, r.output
    diary = Diary(Store.in_dir(data_dir))
    probe = make_entry("P01", START, 1, device_id=diary.device_id)  # the capsule question on a run-in day
    probe = diary.store.save(replace(probe, answers=probe.answers | {"capsule": True}))
    doc = json.loads(cli("sync", "--json", now=day20).output)
    assert (doc["accepted"], doc["rejected"]) == (1, 1), doc
    assert doc["rejections"] == [[probe.id, "capsule: is not asked in this period"]]  # no phase named
    status = json.loads(cli("status", "--json", now=day20).output)
    assert status["blinded"] and status["phase_label"] == "Period A"
    hub.store.enrolment.unblind(["P01"], clock.now())
    assert "released" in cli("sync", now=day20).output
    status = json.loads(cli("status", "--json", now=day20).output)
    assert not status["blinded"] and status["phase_label"] == "Placebo"
    assert Diary(Store.in_dir(data_dir)).protocol == hub.store.reads.participant("P01").protocol


def test_a_double_blind_lifts_at_the_end_when_the_protocol_says_so(cli, hub, data_dir):
    from diary_client.core.protocol import builtin_text

    code = hub.code("P01", START, toml=builtin_text().replace('blinding = "single"', 'blinding = "double"'))
    assert cli("enroll", "--participant", "P01", "--hub", hub.url, "--code", code, now=NOW).exit_code == 0
    assert Diary(Store.in_dir(data_dir)).protocol.masked
    assert cli("sync", now="2026-06-07T12:00").exit_code == 0  # the last day: still blind
    assert Diary(Store.in_dir(data_dir)).protocol.masked
    assert cli("sync", now="2026-06-08T12:00").exit_code == 0  # the study is over: unblind_after_end
    diary = Diary(Store.in_dir(data_dir))
    assert not diary.protocol.masked and diary.protocol.phase("placebo").label == "Placebo"


def test_sync_without_a_hub_says_how_to_enrol(cli, diary):
    r = cli("sync", now=NOW)
    assert r.exit_code == 1 and "diary enroll" in r.output


def test_sync_never_imports_textual():
    import subprocess
    import sys

    code = ("import sys, sync.client.upload, diary_client.cli.hub, sync.hub.app, sync.hub.store, sync.hub.export, sync.hub.importer; "
            "assert not [m for m in sys.modules if m.split('.')[0] == 'textual'], 'textual imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
