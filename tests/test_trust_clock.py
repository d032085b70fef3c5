"""The clock guard: back-filling by DIARY_NOW or by a moved wall clock is flagged on the device and
on the hub; imported days are counted apart; the backwards check compares with the latest record."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from click.testing import CliRunner
from hub_fixture import make_entry, running_hub

from diary_client.cli.hub import status_report
from diary_client.cli.tree import main
from diary_client.core import clock
from diary_client.core.protocol import builtin_text
from diary_client.device.diary import Diary
from diary_client.device.store import Store

START = date(2026, 3, 2)
REPORT = ["severity=50", "pain=40", "fatigue=30", "sleep_quality=60", "sadness=10", "stress=20",
          "headache=0", "gi=0", "thinking=10", "side_effects="]


@dataclass
class FakeClock:
    """A wall clock a test can set like a participant would, beside a boot clock it cannot."""

    true: datetime  # what the time really is (the hub's clock)
    offset: timedelta = timedelta(0)  # how far the participant moved the wall clock
    boot_s: float = 1000.0
    boot_id_: str | None = "boot-1"

    def wall(self) -> datetime:
        return self.true + self.offset

    def boot(self) -> float:
        return self.boot_s

    def boot_id(self) -> str | None:
        return self.boot_id_

    def passes(self, **delta) -> None:
        d = timedelta(**delta)
        self.true += d
        self.boot_s += d.total_seconds()


def day(n: int, hm: str = "19:30") -> datetime:
    h, m = map(int, hm.split(":"))
    return datetime.combine(START + timedelta(days=n - 1), datetime.min.time(), UTC).replace(hour=h, minute=m)


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def flags_by_day(store: Store) -> dict[str, list[str]]:
    days = {e.id: e.diary_date.isoformat() for e in store.entries()}
    out: dict[str, list[str]] = {}
    for f in store.flags():
        out.setdefault(days[f["entry_id"]], []).append(f["flag"])
    return {d: sorted(v) for d, v in sorted(out.items())}


def hub_row(h, pid="P01", now: datetime | None = None) -> dict:
    return next(r for r in status_report(h.store, now or clock.now())[0] if r["participant_id"] == pid)


def test_backfill_by_diary_now_is_flagged_on_device_and_hub(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("DIARY_NOW", "2026-03-08T12:00")  # day 7: days 5 and 6 were missed
    with running_hub(tmp_path / "hub.db") as h:
        assert run("enroll", "--participant", "P01", "--hub", h.url, "--code", h.code("P01", START)).exit_code == 0
        for n in (5, 6):  # the participant fakes the clock to each missed evening
            monkeypatch.setenv("DIARY_NOW", f"{day(n):%Y-%m-%dT%H:%M}")
            r = run("record", *REPORT)
            assert r.exit_code == 0, r.output
        monkeypatch.setenv("DIARY_NOW", "2026-03-08T12:00")
        status = json.loads(run("status", "--json").output)
        assert run("sync").exit_code == 0
        on_hub = h.store.reads.flags("P01")
        row = hub_row(h)
    # ... and before the time of the enrolment's first sync, which the device claimed earlier
    both = ["clock_backwards", "clock_override"]
    assert flags_by_day(Store.in_dir(data_dir)) == {"2026-03-06": both, "2026-03-07": both}
    # doubted, and received by no hub before their grace ended: they fill nothing, the days stay missed
    assert (status["done"], status["flagged"], status["on_time"], status["missed"]) == (0, 2, 0, 6)
    assert sorted(on_hub.values()) == [both] * 2
    assert (row["done"], row["flagged_days"], row["on_time"], row["flagged"], row["missed"]) == (0, 2, 0, 2, 6)


def test_backfill_by_a_moved_wall_clock_is_flagged_until_a_sync_reanchors(tmp_path, data_dir, monkeypatch):
    monkeypatch.delenv("DIARY_NOW", raising=False)
    fake = FakeClock(day(4))
    with clock.use(fake), running_hub(tmp_path / "hub.db", now=lambda: fake.true) as h:
        assert run("enroll", "--participant", "P01", "--hub", h.url, "--code", h.code("P01", START)).exit_code == 0
        assert run("record", *REPORT).exit_code == 0  # day 4, honestly
        assert run("sync").exit_code == 0  # as the app does after each save
        fake.passes(days=3)  # days 5 and 6 missed; now day 7 19:30
        for n in (5, 6):  # the participant sets the machine's clock back to each missed evening
            fake.offset = day(n) - fake.true
            r = run("record", *REPORT)
            assert r.exit_code == 0, r.output
            fake.passes(minutes=1)
        assert run("sync").exit_code == 0  # the hub's clock: the entries reach it with their doubts
        mid = hub_row(h, now=fake.true)  # counted by the hub's clock, not the one set back
        fake.offset = timedelta(0)  # the clock set right again, then a sync re-anchors the guard
        run("sync")
        fake.passes(minutes=5)
        assert run("record", *REPORT).exit_code == 0  # day 7: not doubted
        assert run("sync").exit_code == 0
        on_hub = {h.store.reads.entries("P01")[i].diary_date.isoformat(): v for i, v in enumerate(
            [h.store.reads.flags("P01").get(e.id, []) for e in h.store.reads.entries("P01")])}
        row = hub_row(h)
    local = flags_by_day(Store.in_dir(data_dir))
    assert "2026-03-05" not in local and "2026-03-08" not in local
    assert "clock_jump" in local["2026-03-06"] and "clock_jump" in local["2026-03-07"]
    assert "clock_override" not in sum(local.values(), [])
    assert "clock_jump" in on_hub["2026-03-06"] and "clock_jump" in on_hub["2026-03-07"] and on_hub["2026-03-08"] == []
    # days 5 and 6 reached the hub after their grace: doubted, they fill nothing (missed with days 1-3)
    assert (mid["done"], mid["flagged_days"], mid["on_time"], mid["missed"]) == (1, 2, 1, 5)
    assert (row["done"], row["flagged_days"], row["on_time"], row["missed"]) == (2, 2, 2, 5)


def test_a_wall_clock_that_keeps_time_is_not_a_jump_and_a_reboot_only_catches_going_back(data_dir):
    fake = FakeClock(day(1))
    with clock.use(fake):
        diary = Diary.enroll(Store.in_dir(data_dir), "P01", builtin_text(), START)
        e1 = diary.store.save(make_entry("P01", START, 1, device_id=diary.device_id, submitted_at=fake.wall()))
        fake.passes(days=1, minutes=4)  # a day later, the wall clock drifted 4 min: within tolerance
        fake.offset = timedelta(minutes=4)
        e2 = diary.store.save(make_entry("P01", START, 2, device_id=diary.device_id, submitted_at=fake.wall()))
        fake.boot_id_, fake.boot_s = "boot-2", 5.0  # a reboot: the boot clock starts again
        fake.passes(days=1)
        e3 = diary.store.save(make_entry("P01", START, 3, device_id=diary.device_id, submitted_at=fake.wall()))
        fake.offset = -timedelta(days=2)  # after the reboot the wall clock reads earlier than the last record
        e4 = diary.store.save(make_entry("P01", START, 4, device_id=diary.device_id, submitted_at=day(4)))
    flags = {(f["entry_id"], f["flag"]) for f in diary.store.flags()}
    assert not {f for f in flags if f[0] in (e1.id, e2.id, e3.id)}
    assert (e4.id, "clock_jump") in flags


def test_clock_backwards_compares_with_the_latest_record_not_only_the_previous_entry(diary):
    t = day(3)
    ids = [diary.store.save(make_entry("P01", START, n, device_id=diary.device_id, submitted_at=at)).id
           for n, at in ((1, t), (2, t - timedelta(hours=1)), (3, t - timedelta(minutes=30)))]
    flagged = {f["entry_id"] for f in diary.store.flags() if f["flag"] == "clock_backwards"}
    assert flagged == {ids[1], ids[2]}  # the third is after the second but before the first


def test_imported_days_are_counted_apart_never_on_time(cli, tmp_path, tmp_path_factory):
    cli("enroll", "--participant", "P01", "--start", "2026-03-02", now="2026-03-02T12:00")
    paper = tmp_path / "paper.csv"
    paper.write_text("date,severity,pain,fatigue,sleep_quality,sadness,stress,headache,gi,thinking,side_effects\n"
                     "2026-03-02,50,40,30,60,10,20,0,0,10,\n2026-03-03,50,40,30,60,10,20,0,0,10,\n")
    assert cli("import", str(paper), now="2026-03-05T12:00").exit_code == 0
    s = json.loads(cli("status", "--json", now="2026-03-05T12:00").output)
    assert (s["done"], s["imported"], s["on_time"], s["missed"], s["compliance"]) == (0, 2, 0, 3, 0)
    assert "2 imported" in cli("status", now="2026-03-05T12:00").output
