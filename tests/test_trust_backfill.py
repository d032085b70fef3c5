"""No back-filling on any path: a participant's own import, a clock really set back (libfaketime),
another time zone, on the device and on the hub; a legitimate flight still files the right day;
a refusal time cures (the hub's clock behind) is retried until it is accepted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hub_fixture import running_hub

from diary_client.cli.hub import status_report
from diary_client.cli.tree import main
from diary_client.core.protocol import builtin_text
from diary_client.device.store import Store

START = date(2026, 3, 2)
REPORT = ["severity=50", "pain=40", "fatigue=30", "sleep_quality=60", "sadness=10", "stress=20",
          "headache=0", "gi=0", "thinking=10", "side_effects="]
HEADER = "date,severity,pain,fatigue,sleep_quality,sadness,stress,headache,gi,thinking,side_effects\n"
FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


class Clocks:
    """The device's DIARY_NOW and the hub's clock, moved together (or apart) by the test."""

    def __init__(self, monkeypatch, hub_now: datetime):
        self.monkeypatch, self.hub_now = monkeypatch, hub_now

    def device(self, text: str) -> None:
        self.monkeypatch.setenv("DIARY_NOW", text)

    def both(self, text: str) -> None:
        self.device(text)
        self.hub_now = datetime.fromisoformat(text).replace(tzinfo=UTC)


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def hub_row(h, now: datetime) -> dict:
    return next(r for r in status_report(h.store, now)[0] if r["participant_id"] == "P01")


def figures(row: dict) -> tuple:
    return row["compliance"], row["done"], row["missed"], row["on_time"]


# -- 1. the participant's own import ----------------------------------------------------------------

def test_an_import_on_a_hub_device_is_refused_unless_the_protocol_allows_it_and_never_fills_a_day(
        tmp_path, data_dir, monkeypatch):
    allowing = builtin_text().replace("[schedule]\n", "[schedule]\ndevice_import = true\n", 1)
    paper = tmp_path / "backfill.csv"
    paper.write_text(HEADER + "2026-03-03,50,40,30,60,10,20,0,0,10,\n")  # day 2, missed
    clocks = Clocks(monkeypatch, datetime(2026, 3, 2, 10, tzinfo=UTC))
    for toml, name in ((builtin_text(), "default"), (allowing, "allowing")):
        home = tmp_path / name
        monkeypatch.setenv("DIARY_HOME", str(home))
        clocks.both("2026-03-02T10:00")
        with running_hub(tmp_path / f"{name}.db", now=lambda: clocks.hub_now) as h:
            assert run("enroll", "--participant", "P01", "--hub", h.url, "--code",
                       h.code("P01", START, toml, now=clocks.hub_now)).exit_code == 0
            for n in (1, 3, 4):  # day 2 missed
                clocks.both(f"2026-03-{1 + n:02d}T19:30")
                assert run("record", *REPORT).exit_code == 0
                assert run("sync").exit_code == 0
            clocks.both("2026-03-16T12:00")  # two weeks later
            before, device_before = hub_row(h, clocks.hub_now), json.loads(run("status", "--json").output)
            got = run("import", str(paper))
            if name == "default":
                assert got.exit_code == 1 and "does not let a device import" in got.output, got.output
                assert got.output.strip().count("\n") == 0 and "Traceback" not in got.output
                continue
            assert got.exit_code == 0, got.output
            assert run("sync").exit_code == 0
            after, device_after = hub_row(h, clocks.hub_now), json.loads(run("status", "--json").output)
        assert figures(after) == figures(before) and after["imported"] == 1 and after["missed"] == before["missed"]
        assert after["quarantined"] == 0 and after["entries"] == before["entries"] + 1
        for key in ("compliance", "done", "missed", "on_time"):
            assert device_after[key] == device_before[key], key
        assert device_after["imported"] == 1


def test_the_hub_refuses_an_import_marked_as_filed_and_a_device_import_the_protocol_does_not_allow(tmp_path):
    from hub_fixture import make_entry

    from sync.hub.store import HubStore

    hub = HubStore(tmp_path / "hub.db")
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    hub.enrolment.register("P01", builtin_text(), START, "UTC", now)
    forged = make_entry("P01", START, 2, source="import", timing="on_time")
    honest = make_entry("P01", START, 3, source="import", timing="import", seq=3)
    got = hub.ingest("P01", [forged, honest], now)
    assert [why for _, why in got.rejected][0].startswith("an imported entry is marked")
    assert "does not let a device import" in got.rejected[1][1]
    collected = hub.ingest("P01", [honest], now, via="import")  # the coordinator's collected file: counted apart
    assert collected.accepted == [honest.id]
    [row] = status_report(hub, now)[0]
    assert (row["done"], row["imported"], row["missed"]) == (0, 1, 8)


# -- 2. a clock really set back (libfaketime) -------------------------------------------------------

def diary_proc(home: Path, *args: str, faketime: str | None = None, tz: str = "UTC", diary_now: str | None = None,
               ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DIARY_NOW", "FAKETIME", "LD_PRELOAD")}
    env |= {"DIARY_HOME": str(home), "TZ": tz}
    if diary_now:
        env["DIARY_NOW"] = diary_now
    if faketime:  # the wall clock set back; the boot clock left running, as a participant would
        env |= {"LD_PRELOAD": str(FAKETIME), "FAKETIME": faketime, "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                "FAKETIME_NO_CACHE": "1"}
    return subprocess.run([sys.executable, "-m", "diary_client", *args], env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.skipif(not FAKETIME.exists() or shutil.which("faketime") is None,
                    reason="libfaketime is not installed (apt-get install faketime libfaketime)")
def test_a_clock_set_back_before_the_first_report_is_caught_and_fills_nothing(tmp_path):
    home = tmp_path / "home"
    today = datetime.now(UTC).date()
    start = today - timedelta(days=3)
    r = diary_proc(home, "enroll", "--participant", "P01", "--start", start.isoformat())
    assert r.returncode == 0, r.stderr
    before = json.loads(diary_proc(home, "status", "--json").stdout)
    back = today - timedelta(days=2)  # day 2: its grace ended yesterday at noon
    r = diary_proc(home, "record", *REPORT, faketime=f"@{back} 19:30:00")
    assert r.returncode == 0, r.stderr  # saved (the device cannot know the true time) ...
    store = Store.in_dir(home)
    [entry] = store.entries()
    flags = {f["flag"] for f in store.flags()}
    assert entry.diary_date == back and entry.timing == "on_time"
    assert "clock_jump" in flags, flags  # ... but caught against enrolment's clock record
    after = json.loads(diary_proc(home, "status", "--json").stdout)
    assert (after["done"], after["on_time"], after["flagged"]) == (0, 0, 1)
    assert after["missed"] == before["missed"] and after["compliance"] == before["compliance"]
    with running_hub(tmp_path / "hub.db") as h:  # linked to a hub later: the hub counts it missed too
        code = h.code("P01", start)
        r = diary_proc(home, "enroll", "--participant", "P01", "--hub", h.url, "--code", code)
        assert r.returncode == 0, r.stderr
        row = hub_row(h, datetime.now(UTC))
    assert row["entries"] == 1 and row["flagged_days"] == 1
    assert (row["done"], row["on_time"], row["missed"]) == (0, 0, before["missed"])


# -- 3. another time zone, and a real flight --------------------------------------------------------

def test_a_zone_set_back_a_day_reopens_nothing_on_the_device_or_the_hub(tmp_path):
    home = tmp_path / "home"
    tokyo_enrol = "2026-03-02T10:00+09:00"
    assert diary_proc(home, "enroll", "--participant", "P01", "--start", "2026-03-02", tz="Asia/Tokyo",
                      diary_now=tokyo_enrol).returncode == 0
    now = "2026-03-10T14:30+09:00"  # day 9 (03-10) in Tokyo; day 8 (03-09) missed, its grace over at 11:59
    before = json.loads(diary_proc(home, "status", "--json", tz="Asia/Tokyo", diary_now=now).stdout)
    r = diary_proc(home, "record", *REPORT, tz="Pacific/Pago_Pago", diary_now=now)  # 03-09 19:30 there
    assert r.returncode == 1 and "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
    assert "2026-03-09" in r.stderr and "Asia/Tokyo" in r.stderr
    moved = json.loads(diary_proc(home, "status", "--json", tz="Pacific/Pago_Pago", diary_now=now).stdout)
    assert (moved["missed"], moved["done"], moved["compliance"]) == (before["missed"], 0, before["compliance"])
    assert moved["today"] == "missed" and Store.in_dir(home).entries() == []
    # the hub: a report of 03-09 saved at 14:30 in Tokyo on 03-10, from a device that did not refuse it
    from hub_fixture import make_entry

    from sync.hub.store import HubStore

    hub = HubStore(tmp_path / "hub.db")
    t = datetime.fromisoformat(now)
    hub.enrolment.register("P01", builtin_text(), START, "Asia/Tokyo", t)
    late = make_entry("P01", START, 8, submitted_at=t.astimezone(UTC))
    got = hub.ingest("P01", [late], t)
    assert got.rejected and "after the grace period of 2026-03-09 ended" in got.rejected[0][1]
    assert "Asia/Tokyo" in got.rejected[0][1]


def test_a_flight_files_the_day_lived_in_the_new_zone_flagged_and_audited(tmp_path):
    home = tmp_path / "home"
    clock_of_hub = [datetime(2026, 3, 2, 1, tzinfo=UTC)]
    with running_hub(tmp_path / "hub.db", now=lambda: clock_of_hub[0]) as h:
        code = h.code("P01", START, now=clock_of_hub[0])
        r = diary_proc(home, "enroll", "--participant", "P01", "--hub", h.url, "--code", code, tz="Asia/Tokyo",
                       diary_now="2026-03-02T10:00+09:00")
        assert r.returncode == 0, r.stderr
        assert h.store.reads.participant("P01").tz == "Asia/Tokyo"  # the device's zone is the registered one
        # Flown to Berlin; the evening of 03-06 there is 03:30 on 03-07 in Tokyo (03-06 late there)
        berlin = datetime.fromisoformat("2026-03-06T19:30+01:00")
        clock_of_hub[0] = berlin.astimezone(UTC)
        r = diary_proc(home, "record", *REPORT, "--json", tz="Europe/Berlin", diary_now="2026-03-06T19:30")
        assert r.returncode == 0, r.stderr
        entry = json.loads(r.stdout)
        assert (entry["diary_date"], entry["timing"], entry["study_day"]) == ("2026-03-06", "on_time", 5)
        assert diary_proc(home, "sync", tz="Europe/Berlin", diary_now="2026-03-06T19:31").returncode == 0
        row = hub_row(h, clock_of_hub[0])
        on_hub = h.store.reads.flags("P01")
    store = Store.in_dir(home)
    assert "zone_change" in {f["flag"] for f in store.flags()}
    zones = [json.loads(r[0]) for r in store.conn.execute("SELECT detail FROM audit WHERE action = 'zone'")]
    assert zones == [{"from": "Asia/Tokyo", "to": "Europe/Berlin", "registered": "Asia/Tokyo"}]
    assert "zone_change" in on_hub[entry["id"]]
    assert (row["done"], row["on_time"], row["flagged_days"]) == (1, 0, 1)  # filled, never "on time"
    assert store.verify() == []


# -- the hub's clock behind: a refusal time cures is retried ----------------------------------------

def test_a_day_to_come_on_a_lagging_hub_is_retried_and_accepted_once_the_hub_s_date_arrives(
        tmp_path, data_dir, monkeypatch):
    clocks = Clocks(monkeypatch, datetime(2026, 3, 2, 10, tzinfo=UTC))
    with running_hub(tmp_path / "hub.db", now=lambda: clocks.hub_now) as h:
        clocks.device("2026-03-02T10:00")
        assert run("enroll", "--participant", "P01", "--hub", h.url, "--code",
                   h.code("P01", START, now=clocks.hub_now)).exit_code == 0
        clocks.device("2026-03-05T19:30")  # day 4; the hub's clock is two days behind (a restored VM)
        clocks.hub_now = datetime(2026, 3, 3, 19, 30, tzinfo=UTC)
        assert run("record", *REPORT).exit_code == 0
        first = run("sync", "--json")
        assert '"rejected": 1' in first.output and "has not come yet" in first.output, first.output
        s = json.loads(run("status", "--json").output)
        assert s["quarantined"] == 1, s
        clocks.hub_now = datetime(2026, 3, 3, 23, 0, tzinfo=UTC)  # a later sync, still too early: refused, kept
        run("sync")
        assert json.loads(run("status", "--json").output)["quarantined"] == 1
        clocks.both("2026-03-05T19:40")  # the hub's date has come
        assert run("sync").exit_code == 0
        status = json.loads(run("status", "--json").output)
        stored = h.store.reads.entries("P01")
    assert (status["quarantined"], status["pending_upload"]) == (0, 0)
    assert [e.diary_date for e in stored] == [date(2026, 3, 5)]
