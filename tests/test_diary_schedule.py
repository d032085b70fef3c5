"""Diary-day rules: study day, phases, windows, states, DST, compliance — pure, no clock."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from conftest import START, at

from diary_client.core import schedule as sch
from diary_client.core.protocol import load_protocol

P = load_protocol()
UTC = ZoneInfo("UTC")


def test_study_days_and_phases():
    spans = sch.phase_spans(P, START)
    assert [(s.first_day, s.last_day) for s in spans] == [(1, 14), (15, 28), (29, 84), (85, 98)]
    assert spans[1].start == START + timedelta(days=14) and spans[-1].end == sch.end_date(P, START)
    assert sch.study_day(START, START) == 1
    assert sch.span_on(P, START, START + timedelta(days=28)).phase.id == "ldn"
    assert sch.span_on(P, START, START - timedelta(days=1)) is None
    assert sch.span_on(P, START, START + timedelta(days=98)) is None


def test_every_state_of_one_day():
    win = sch.window(P.schedule, START, UTC)
    assert sch.day_state(win, at("2026-03-02T17:59"), False) == "upcoming"
    assert sch.day_state(win, at("2026-03-02T18:00"), False) == "open"
    assert sch.day_state(win, at("2026-03-02T23:59"), False) == "open"
    assert sch.day_state(win, at("2026-03-03T00:00"), False) == "late"
    assert sch.day_state(win, at("2026-03-03T11:59"), False) == "late"
    assert sch.day_state(win, at("2026-03-03T12:00"), False) == "missed"
    assert sch.day_state(win, at("2026-03-03T12:00"), True) == "done"
    assert sch.timing_now(win, at("2026-03-02T20:00")) == "on_time"
    assert sch.timing_now(win, at("2026-03-03T08:00")) == "late"
    assert sch.timing_now(win, at("2026-03-03T13:00")) is None  # no back-filling
    assert sch.timing_now(win, at("2026-03-02T10:00")) is None  # not before the window


def test_dst_change_day_is_one_diary_day_and_grace_is_real_hours():
    ny = ZoneInfo("America/New_York")
    spring = date(2026, 3, 8)  # clocks go 02:00 -> 03:00
    start = spring - timedelta(days=2)
    assert sch.study_day(start, spring) == 3 and sch.study_day(start, spring + timedelta(days=1)) == 4
    win = sch.window(P.schedule, spring, ny)
    assert win.opens.hour == 18 and win.opens.utcoffset() == timedelta(hours=-4)
    # 12 real hours after 23:59 EDT, the same wall clock on the next day as the clock did not move
    assert (win.grace_ends - win.closes) == timedelta(hours=12)
    fall = date(2026, 10, 31)  # the night into Nov 1 gains an hour
    w2 = sch.window(P.schedule, fall, ny)
    assert w2.grace_ends.astimezone(UTC) - w2.closes.astimezone(UTC) == timedelta(hours=12)
    assert w2.grace_ends.strftime("%H:%M") == "10:59"  # wall clock shows one hour less
    now = datetime_in(ny, "2026-03-08T20:00")
    t = sch.today(P, start, now, {})
    assert (t.diary_date, t.study_day, t.state) == (spring, 3, "open")


def datetime_in(tz, text):
    return at(text, tz)


def test_fileable_prefers_the_open_window_and_knows_grace():
    assert sch.fileable_date(P, START, at("2026-03-02T19:00")) == START
    assert sch.fileable_date(P, START, at("2026-03-03T09:00")) == START  # yesterday, late
    assert sch.fileable_date(P, START, at("2026-03-03T13:00")) is None
    assert sch.fileable_date(P, START, at("2026-03-01T19:00")) is None  # before the study


def test_today_states_for_home_screen():
    d2 = START + timedelta(days=1)
    assert sch.today(P, START, at("2026-03-01T12:00"), {}).state == "upcoming"
    assert sch.today(P, START, at("2026-03-02T12:00"), {}).state == "upcoming"
    assert sch.today(P, START, at("2026-03-02T19:00"), {}).state == "open"
    assert sch.today(P, START, at("2026-03-02T19:00"), {START: "on_time"}).state == "done"
    t = sch.today(P, START, at("2026-03-03T09:00"), {})
    assert (t.diary_date, t.state) == (START, "late")
    t = sch.today(P, START, at("2026-03-03T09:00"), {START: "on_time"})
    assert (t.diary_date, t.state) == (d2, "upcoming")
    end = sch.end_date(P, START)
    assert sch.today(P, START, at(f"{end + timedelta(days=5)}T12:00"), {}).state == "ended"


def test_missed_when_grace_ends_before_next_calendar_check():
    from diary_client.core.protocol import builtin_text, parse_protocol

    short = parse_protocol(builtin_text().replace("grace_hours = 12", "grace_hours = 1")
                           .replace('closes = "23:59"', 'closes = "20:00"'))
    t = sch.today(short, START, at("2026-03-02T22:00"), {})
    assert (t.diary_date, t.state) == (START, "missed")


def test_tally_counts_done_late_missed_and_compliance():
    now = at("2026-03-06T19:00")  # days 1-4 closed, day 5 open
    filed = {START: "on_time", START + timedelta(days=1): "late", START + timedelta(days=4): "on_time"}
    t = sch.tally(P, START, now, filed)
    assert (t.expected, t.done, t.late, t.missed) == (5, 3, 1, 2)
    assert t.compliance == 3 / 5
    assert sch.tally(P, START, now, filed, phase_id="placebo").expected == 0
    # a day in its grace period is expected but not yet missed
    t = sch.tally(P, START, at("2026-03-03T09:00"), {})
    assert (t.expected, t.missed) == (1, 0)


def test_tally_by_phase_matches_tally_of_each_phase():
    filed = {START + timedelta(days=k): ("late" if k % 5 == 0 else "on_time") for k in range(0, 98) if k % 7 != 3}
    for now in (at("2026-03-01T12:00"), at("2026-03-03T09:00"), at("2026-03-20T19:00"), at("2026-04-20T11:00"),
                at("2026-08-01T12:00")):
        got = sch.tally_by_phase(P, START, now, filed)
        assert list(got) == [ph.id for ph in P.phases]
        for ph in P.phases:
            assert got[ph.id] == sch.tally(P, START, now, filed, ph.id)
        assert sum(t.done for t in got.values()) == sch.tally(P, START, now, filed).done
    assert sch.tally_by_phase(P, START, at("2026-03-01T12:00"), {})["baseline"].compliance is None
