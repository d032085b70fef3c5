"""`[blinding_check]`: the last day of each treatment phase asks the blinding question, everywhere a day's items are asked."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from conftest import one_line_error
from msgspec.structs import replace

from diary_client.core import answers as ans
from diary_client.core.entry import Entry
from diary_client.core.protocol import (
    Protocol,
    ProtocolError,
    hash_view,
    load_protocol,
    masked,
    parse_protocol,
    stored_protocol,
    to_toml,
)
from diary_client.core.schedule import phase_spans
from sync.hub.rules import Participant, entry_problem

START = date(2026, 3, 2)
CHECKED = """
id = "mini"
title = "Mini crossover"
blinding = "single"

[blinding_check]
ask = "period_end"

[[phases]]
id = "baseline"
role = "baseline"
days = 2
label = "Baseline"

[[phases]]
id = "placebo"
role = "placebo"
days = 2
label = "Placebo"

[[phases]]
id = "ldn"
role = "active"
days = 3
label = "Naltrexone"

[[phases]]
id = "washout"
role = "washout"
days = 1
label = "Washout"

[[items]]
id = "severity"
kind = "vas"
prompt = "How severe {day}?"
primary = true
"""


def checked() -> Protocol:
    return parse_protocol(CHECKED)


def asked_ids(p: Protocol, phase_id: str, last: bool) -> list[str]:
    return [i.id for i in p.items_on(phase_id, last)]


def test_the_last_day_of_each_placebo_and_active_phase_asks_the_two_questions():
    p = checked()
    assert asked_ids(p, "placebo", True) == ["severity", "blind_guess", "blind_sure"]
    assert asked_ids(p, "ldn", True) == ["severity", "blind_guess", "blind_sure"]
    for phase, last in [("placebo", False), ("ldn", False), ("baseline", True), ("washout", True)]:
        assert asked_ids(p, phase, last) == ["severity"]
        assert [i.id for i in p.split_items(phase, last)[1]] == ["blind_guess", "blind_sure"]
    guess, sure = p.check_items
    assert guess.kind == "choice" and guess.options == ["drug", "placebo", "don't know"]
    assert guess.prompt == "Which do you think you were taking in this period?"
    assert sure.kind == "vas" and sure.optional
    assert p.item_ids == {"severity", "blind_guess", "blind_sure"}
    assert p.items_in("ldn") == p.items  # the protocol's own items per phase, as before


def test_a_protocol_without_the_check_asks_as_before():
    p = load_protocol()
    assert p.blinding_check is None and p.check_items == () and p.all_items == p.items
    for span in phase_spans(p, START):
        assert p.items_on(span.phase.id, True) == p.items_on(span.phase.id, False) == p.items_in(span.phase.id)
    assert "blinding_check" not in hash_view(p) and "blinding_check" not in to_toml(p)


def test_the_check_survives_storage_and_masking_and_is_checked_when_read():
    p = checked()
    assert stored_protocol(to_toml(p)) == p
    m = masked(p)
    assert m.blinding_check is not None and m.blinding_check.phases == ["period-2", "period-3"]
    for real, hidden in zip(p.phases, m.phases):  # the device asks on the same days, knowing no roles
        for last in (True, False):
            assert asked_ids(m, hidden.id, last) == asked_ids(p, real.id, last)
    assert stored_protocol(to_toml(m)) == m
    named = parse_protocol(CHECKED.replace('ask = "period_end"', 'ask = "period_end"\nphases = ["ldn"]'))
    assert named.checks_blinding("ldn") and not named.checks_blinding("placebo")
    with pytest.raises(ProtocolError, match=r"blinding_check.phases: unknown phase 'ldm'"):
        parse_protocol(CHECKED.replace('ask = "period_end"', 'ask = "period_end"\nphases = ["ldm"]'))
    with pytest.raises(ProtocolError, match="blinding_check.ask"):
        parse_protocol(CHECKED.replace('ask = "period_end"', 'ask = "daily"'))
    with pytest.raises(ProtocolError, match="'blind_guess' is the blinding check's own item"):
        parse_protocol(CHECKED + '\n[[items]]\nid = "blind_guess"\nkind = "text"\nprompt = "x"\n')


def test_answers_are_checked_by_the_day():
    p = checked()
    ok = {"severity": 40, "blind_guess": "drug", "blind_sure": 70}
    assert ans.problems(p, "ldn", ok, last_day=True) == []
    assert ans.problems(p, "ldn", {"severity": 40, "blind_guess": "don't know"}, last_day=True) == []
    assert ans.problems(p, "ldn", {"severity": 40}, last_day=True) == ["blind_guess: is required"]
    assert ans.problems(p, "ldn", ok, last_day=False) == ["blind_guess: is not asked in this period",
                                                         "blind_sure: is not asked in this period"]
    assert ans.problems(p, "ldn", ok | {"blind_guess": "aspirin"}, last_day=True) == [
        "blind_guess: 'aspirin' is not one of: drug, placebo, don't know"]
    assert ans.parse_answers(p, "placebo", {"severity": "3", "blind_guess": "placebo", "blind_sure": ""},
                             last_day=True) == {"severity": 3, "blind_guess": "placebo", "blind_sure": None}
    with pytest.raises(ans.AnswerError, match="blind_guess: is not asked in this period"):
        ans.parse_answers(p, "placebo", {"severity": "3", "blind_guess": "drug"})
    assert ans.parse_answers(p, "placebo", {"severity": "3", "blind_guess": ""}) == {"severity": 3}


@pytest.fixture
def checked_cli(cli, tmp_path):
    path = tmp_path / "mini.toml"
    path.write_text(CHECKED)
    r = cli("enroll", "--participant", "P01", "--protocol", str(path), "--start", str(START), now="2026-03-02T10:00")
    assert r.exit_code == 0, r.output
    return cli


def test_diary_record_asks_the_check_on_the_last_day_only(checked_cli, data_dir):
    from diary_client.device.store import Store

    # placebo is days 3-4 (2026-03-04, 05): its last day asks, its first does not
    one_line_error(checked_cli("record", "severity=40", "blind_guess=drug", now="2026-03-04T19:00"),
                   "blind_guess: is not asked in this period")
    assert checked_cli("record", "severity=40", now="2026-03-04T19:00").exit_code == 0
    one_line_error(checked_cli("record", "severity=40", now="2026-03-05T19:00"), "blind_guess: is required")
    r = checked_cli("record", "severity=40", "blind_guess=drug", "blind_sure=70", now="2026-03-05T19:00")
    assert r.exit_code == 0, r.output
    r = checked_cli("record", "--reason", "changed my mind", "blind_guess=don't know", now="2026-03-05T20:00")
    assert r.exit_code == 0, r.output
    last = Store.in_dir(data_dir).entries()[-1]
    assert last.answers == {"severity": 40, "blind_guess": "don't know", "blind_sure": 70}
    out = checked_cli("export", "--csv", "-", now="2026-03-05T20:00").stdout.splitlines()
    assert out[0].startswith("date,severity,blind_guess,blind_sure,") and "don't know,70" in out[-1]


def test_the_device_begins_the_last_day_with_the_check(tmp_path):
    from diary_client.device.diary import Diary
    from diary_client.device.store import Store

    d = Diary.enroll(Store.in_dir(tmp_path / "other"), "P02", CHECKED, START)
    at = datetime(2026, 3, 9, 19, 0, tzinfo=UTC)  # day 8: washout's last day, no check
    assert [i.id for i in d.begin_report(at).items] == ["severity"]
    report = d.begin_report(at - timedelta(days=1))  # day 7: ldn's last day
    assert [i.id for i in report.items] == ["severity", "blind_guess", "blind_sure"] and report.last_of_phase
    entry = d.save_report(report, {"severity": 20, "blind_guess": "placebo", "blind_sure": 40},
                          at - timedelta(days=1))
    assert entry.answers["blind_guess"] == "placebo"


def hub_entry(p: Protocol, d: date, answers: dict) -> Entry:
    return Entry(id="00000000-0000-4000-8000-000000000001", participant_id="P01", study_id=p.id,
                 protocol_version=p.version, diary_date=d, study_day=(d - START).days + 1, answers=answers,
                 submitted_at=datetime(2026, 3, 20, 19, tzinfo=UTC), timing="on_time", source="app",
                 device_id="dev", seq=1, supersedes=None, reason=None)


def test_the_hub_checks_an_uploaded_day_by_the_same_rule():
    p = checked()
    who = Participant("P01", p.id, p.version, CHECKED, START, "UTC", False, "2026-03-01")
    last_ldn, first_ldn = date(2026, 3, 8), date(2026, 3, 6)
    assert entry_problem(hub_entry(p, last_ldn, {"severity": 3, "blind_guess": "drug", "blind_sure": 9}), who) is None
    assert entry_problem(hub_entry(p, last_ldn, {"severity": 3}), who) == "blind_guess: is required"
    assert entry_problem(hub_entry(p, first_ldn, {"severity": 3, "blind_guess": "drug"}), who) == (
        "blind_guess: is not asked in this period")


# The ldn-fm demo participant's report: its data hash (which hashes the protocol; made on main cf13067,
# before `[blinding_check]`, [allocation] and device_import existed) and the whole JSON document, byte
# for byte (made when the check was merged, after the statistics-at-the-edges change). A change to the
# analysis made on purpose changes the second; the first changes only with the data.
DEMO_DATA_HASH = "sha256:bfdcfbd02f7a919afaecd095498cc58b84160fe2c4b7c790b6e10317a8ed081f"
DEMO_REPORT_SHA256 = "504f851d12306970d786ad6e0fe65cb3897f53664a29e6e470556e204010fff8"


def test_the_ldn_fm_demo_report_is_byte_identical_to_before_the_check(tmp_path):
    from analysis.personal import analyse
    from diary_client.cli.demo import build_demo

    now = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    demo = build_demo(tmp_path / "demo", now)
    rep = analyse(demo.protocol, demo.start, demo.entries(), now, demo.participant_id, blinded=False)
    text = json.dumps(rep.as_json(), ensure_ascii=False, default=str)
    assert rep.data_hash == DEMO_DATA_HASH
    assert hashlib.sha256(text.encode()).hexdigest() == DEMO_REPORT_SHA256
    with_check = replace(demo.protocol, blinding_check=checked().blinding_check)
    again = analyse(with_check, demo.start, demo.entries(), now, demo.participant_id, blinded=False)
    assert again.data_hash != DEMO_DATA_HASH  # the check is part of the protocol the data were asked under
