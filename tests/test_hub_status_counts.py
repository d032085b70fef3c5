"""`hub status` counted in SQL agrees with the tallies computed from every entry (schedule's own rule)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest

from analysis.simulate import Profile, as_entries, simulate
from diary_client.core.entry import Entry, filed_timing, new_id
from diary_client.core.protocol import builtin_text, parse_protocol
from sync.hub.rules import compliance, tally_dict
from sync.hub.status import statuses
from sync.hub.store import HubStore

TOML = builtin_text()
PROTOCOL = parse_protocol(TOML)
START = date(2026, 3, 2)


def _entry(e: Entry, **change) -> Entry:
    fields = {k: getattr(e, k) for k in ("id", "participant_id", "study_id", "protocol_version", "diary_date",
                                         "study_day", "answers", "submitted_at", "timing", "source", "device_id",
                                         "seq", "supersedes", "reason")}
    return Entry(**(fields | change))


def _study(pid: str, start: date, rng, upto: int) -> list[Entry]:
    """Days 1..upto with ~15% missed; a mix of on-time, late and imported reports; some corrections."""
    days = simulate(PROTOCOL, start, rng, Profile(missing=0.15))
    out = []
    for e in as_entries(PROTOCOL, start, days, pid, f"dev-{pid}"):
        if e.study_day > upto:
            continue
        timing = str(rng.choice(["on_time", "on_time", "late", "import"]))
        out.append(_entry(e, timing=timing, source="import" if timing == "import" else "app"))
    for e in list(out[::9]):  # corrections: some claim (a clock set back) to come before their original
        back = timedelta(hours=-3 if rng.random() < 0.5 else 2)
        out.append(_entry(e, id=new_id(), supersedes=e.id, reason="typo", submitted_at=e.submitted_at + back,
                          timing={"on_time": "late", "late": "on_time"}.get(e.timing, e.timing), seq=e.seq + 1000))
    return out


def _hub(tmp_path, now: datetime) -> HubStore:
    hub = HubStore(tmp_path / "hub.db")
    rng = np.random.default_rng(7)
    plan = {"P01": (START, "UTC", 98), "P02": (START + timedelta(days=40), "Pacific/Auckland", 60),
            "P03": (START + timedelta(days=70), "America/Los_Angeles", 30), "P04": (START + timedelta(days=80), "UTC", 0)}
    for pid, (start, tz, upto) in plan.items():
        hub.enrolment.register(pid, TOML, start, tz, now)
        entries = _study(pid, start, rng, upto)
        flags = [(e.id, "clock_off", "the clock was off") for e in entries[1::7]]
        flags += [(e.id, "clock_backwards", "earlier than before") for e in entries[3::11]]
        if entries:
            hub.ingest(pid, entries, now, flags=flags, via="import")  # a collected file: its imported days come in
            hub.ingest(pid, [_entry(entries[0], id=new_id(), answers={"severity": 101})], now)  # refused: quarantined
    hub.enrolment.register("P05", TOML, None, "UTC", now)  # no day 1 yet
    return hub


@pytest.mark.parametrize("clock", ["07:00", "18:30", "23:59:30", "04:00"])  # before, in, end of the window; grace
def test_status_in_sql_matches_the_tallies_from_every_entry(tmp_path, clock):
    now = datetime.combine(START + timedelta(days=100), time.fromisoformat(clock), UTC)
    hub = _hub(tmp_path, now - timedelta(days=1))
    got = {s.participant.participant_id: s for s in statuses(hub, now)}
    assert sorted(got) == ["P01", "P02", "P03", "P04", "P05"]
    for p in hub.reads.participants():
        received = hub.reads.received(p.participant_id)
        doubted = hub.reads.flags(p.participant_id)
        want = compliance(p, [r["entry"] for r in received], now, doubted,
                          {r["entry"].id: r["received_at"] for r in received})
        st = got[p.participant_id]
        assert {k: tally_dict(v) for k, v in st.phases.items()} == want["phases"]
        assert (tally_dict(st.overall) if st.overall else None) == want["overall"]
        assert st.entries == len(received)
        assert st.last_received_at == max((r["received_at"] for r in received), default=None)
        assert st.flagged == len(doubted)
        assert st.quarantined == (1 if received else 0)
    o = got["P01"].overall  # imported days and doubted ones that came after their grace fill nothing
    assert o.done > 40 and o.imported > 0 and o.flagged > 0 and o.late > 0 and o.done + o.missed == o.expected
    assert got["P05"].phases == {} and got["P05"].overall is None


def test_a_correction_does_not_change_how_its_day_was_filed_even_if_its_clock_says_it_came_first():
    e = as_entries(PROTOCOL, START, {START: {"severity": 40}}, "P01")[0]
    fix = _entry(e, id=new_id(), supersedes=e.id, reason="typo", timing="late",
                 submitted_at=e.submitted_at - timedelta(hours=1))
    assert filed_timing([e, fix]) == {START: "on_time"}
    assert filed_timing([fix]) == {}  # a day is filed by its report, not by a correction alone
