"""Events on the device: filed at any time of day through Diary and `diary event`, immutable, corrected
by new events, audited in the chain and checked by `diary verify`; the protocol's [contact]."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest
from conftest import START, at, one_line_error

from diary_client.core import event as ev
from diary_client.core import schedule as sch
from diary_client.core.protocol import as_json, builtin_text, parse_protocol, stored_protocol, to_toml
from diary_client.device.diary import DiaryError, NothingChanged
from diary_client.device.store import Store

TEN_AM = at("2026-03-05T10:00")  # day 4: the diary window opens at 18:00


def ae(diary, now=TEN_AM, **over):
    details = {"what": "nausea", "started": date(2026, 3, 5), "severity": "mild"} | over
    return diary.file_event("adverse_event", details, now)


def test_events_are_filed_outside_the_evening_window(diary):
    a = ae(diary, serious=True)
    m = diary.file_event("medication", {"name": "ibuprofen", "dose": "400 mg", "taken": TEN_AM, "purpose": "rescue"},
                         TEN_AM)
    d = diary.file_event("dose", {"amount": "3 mg", "from_date": date(2026, 3, 4)}, TEN_AM)
    assert [e.seq for e in (a, m, d)] == [1, 2, 3]
    assert diary.events.all() == [a, m, d] and diary.events.pending() == [a, m, d]
    assert isinstance(a, ev.AdverseEvent) and a.serious and a.resolved is None
    for e in (a, m, d):
        assert ev.period_of(diary.protocol, START, e).phase.id == "baseline"
    assert diary.status(TEN_AM).events_pending == 3
    assert sch.window_state(sch.window(diary.protocol.schedule, TEN_AM.date(), TEN_AM.tzinfo), TEN_AM) == "upcoming"
    audit = [r["action"] for r in diary.store.db.query("SELECT action FROM audit ORDER BY seq")]
    assert audit.count("event") == 3
    assert diary.store.verify() == []


def test_event_rules_are_one_line_each(diary):
    for details, words in (
            ({"what": ""}, "what: String should have at least 1 character"),
            ({"started": date(2026, 3, 6)}, "has not come yet"),
            ({"started": date(2026, 3, 1)}, "before day 1"),
            ({"severity": "awful"}, "severity: Input should be"),
            ({"resolved": date(2026, 3, 4)}, "is before started"),
            ({"what": "x" * 201}, "what: String should have at most 200")):
        with pytest.raises(DiaryError, match=words):
            ae(diary, **details)
    with pytest.raises(DiaryError, match="begins on 2026-03-02"):
        ae(diary, now=at("2026-03-01T10:00"), started=date(2026, 3, 1))
    # Up to 14 days after the last day (2026-06-07) events are still taken; then the team is called.
    assert ae(diary, now=at("2026-06-21T09:00"), started=date(2026, 6, 20)).started == date(2026, 6, 20)
    assert ev.period_of(diary.protocol, START, diary.events.all()[-1]) is None  # follow-up
    with pytest.raises(DiaryError, match="follow-up ended on 2026-06-21"):
        ae(diary, now=at("2026-06-22T09:00"), started=date(2026, 6, 20))
    assert len(diary.events.all()) == 1


def test_a_correction_is_a_new_event_and_the_old_one_stays(diary):
    a = ae(diary)
    c = diary.file_event("adverse_event", {"resolved": date(2026, 3, 5)}, TEN_AM, supersedes=a.id, reason="it stopped")
    assert (c.supersedes, c.reason, c.what, c.resolved) == (a.id, "it stopped", "nausea", date(2026, 3, 5))
    assert diary.events.all() == [a, c] and ev.current(diary.events.all()) == [c]
    with pytest.raises(DiaryError, match="already corrected by event"):
        diary.file_event("adverse_event", {"severity": "severe"}, TEN_AM, supersedes=a.id, reason="worse")
    with pytest.raises(NothingChanged):
        diary.file_event("adverse_event", {}, TEN_AM, supersedes=c.id, reason="same")
    with pytest.raises(DiaryError, match="needs a reason"):
        diary.file_event("adverse_event", {"severity": "severe"}, TEN_AM, supersedes=c.id)
    with pytest.raises(DiaryError, match="is an adverse event, not a dose change"):
        diary.file_event("dose", {"amount": "2 mg"}, TEN_AM, supersedes=c.id, reason="wrong form")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        diary.store.conn.execute("UPDATE events SET body = body WHERE id = ?", [a.id])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        diary.store.conn.execute("DELETE FROM events")


def test_verify_catches_events_changed_behind_the_apps_back(diary, data_dir, cli):
    a = ae(diary)
    diary.file_event("dose", {"amount": "3 mg", "from_date": date(2026, 3, 5)}, TEN_AM)
    diary.store.close()
    r = cli("verify")
    assert r.exit_code == 0 and "2 events" in r.output
    db = sqlite3.connect(data_dir / "diary.db")
    db.execute("DROP TRIGGER events_no_update")
    db.execute("DROP TRIGGER events_no_delete")
    db.execute("UPDATE events SET body = replace(body, '\"mild\"', '\"moderate\"') WHERE id = ?", [a.id])
    db.execute("DELETE FROM events WHERE seq = 2")
    db.commit()
    db.close()
    r = cli("verify")
    assert r.exit_code == 1
    assert f"event {a.id} (adverse_event): altered after it was saved" in r.output
    assert "in the audit log but missing from events (deleted)" in r.output


def test_the_command_line_files_lists_and_corrects_events(diary, cli):
    now = "2026-03-05T10:00"
    r = cli("event", "ae", "--what", "nausea", "--started", "2026-03-05", "--severity", "mild", now=now)
    assert r.exit_code == 0 and r.output.startswith("Adverse event saved at 10:00: nausea, mild"), r.output
    r = cli("event", "med", "--name", "ibuprofen", "--dose", "400 mg", "--taken", "2026-03-05T08:30", "--json", now=now)
    med = json.loads(r.output)
    assert (med["kind"], med["taken"], med["purpose"]) == ("medication", "2026-03-05T08:30:00Z", "rescue")
    r = cli("event", "dose", "--amount", "3 mg", now=now)
    assert "Dose change saved at 10:00: 3 mg from 2026-03-05" in r.output
    one_line_error(cli("event", "ae", "--what", "x", "--started", "2026-03-09", "--severity", "mild", now=now),
                   "has not come yet")
    assert cli("event", "ae", "--what", "x", now=now).exit_code == 2  # usage: --started, --severity missing
    listed = json.loads(cli("events", "--json", now=now).output)["events"]
    assert [e["kind"] for e in listed] == ["adverse_event", "medication", "dose"]
    assert {e["period"] for e in listed} == {"Run-in"} and {e["sync"] for e in listed} == {"pending"}  # blinded labels
    first = listed[0]["id"]
    r = cli("event", "ae", "--supersedes", first, "--why", "it stopped", "--resolved", "2026-03-05", now=now)
    assert r.exit_code == 0 and "Correction saved" in r.output and "resolved 2026-03-05" in r.output
    one_line_error(cli("event", "ae", "--supersedes", first, "--why", "again", "--severity", "severe", now=now),
                   "already corrected")
    one_line_error(cli("event", "ae", "--what", "x", "--started", "2026-03-05", "--severity", "mild", "--why", "w",
                       now=now), "a reason is for a correction")
    text = cli("events", now=now).output
    assert f"{first}  adverse event nausea, mild, started 2026-03-05, ongoing · Run-in · pending  (corrected)" in text


def test_a_serious_event_without_a_hub_says_to_call_the_team(diary, cli):
    r = cli("event", "ae", "--what", "fainted", "--started", "2026-03-05", "--severity", "severe", "--serious",
            now="2026-03-05T10:00")
    assert r.exit_code == 0
    assert "please ALSO call the study team now" in r.stderr and "no hub" in r.stderr


CONTACT = '\n[contact]\nstudy_team = "LDN study nurse"\nphone = "+1 650 555 0100"\n'


def test_the_protocol_names_the_study_teams_phone():
    text = builtin_text().replace("\n[schedule]", CONTACT + "\n[schedule]", 1)
    p = parse_protocol(text)
    assert p.contact is not None and p.contact.words() == "the study team (LDN study nurse) at +1 650 555 0100"
    assert stored_protocol(text) == p and parse_protocol(to_toml(p)) == p
    plain = parse_protocol(builtin_text())
    assert plain.contact is None and "contact" not in to_toml(plain)
    from diary_client.core.protocol import ProtocolError

    with pytest.raises(ProtocolError, match=r"contact\.fax"):
        parse_protocol(text.replace('phone = "', 'fax = "'))
    assert as_json(p)["contact"] == {"study_team": "LDN study nurse", "phone": "+1 650 555 0100"}


def test_a_protocol_without_events_gives_the_report_it_always_gave():
    """The data hash (and so the whole report) of the built-in protocol is the one computed before
    `[contact]` existed: a new field left unset does not enter it."""
    import numpy as np

    from analysis.personal import analyse, protocol_text
    from analysis.simulate import as_entries, simulate

    p = parse_protocol(builtin_text())
    assert '"contact"' not in protocol_text(p)
    es = as_entries(p, START, simulate(p, START, np.random.default_rng(20)), "G1")
    rep = analyse(p, START, es, at("2026-07-01T12:00"), "G1", False)
    # Computed by the code before this change (same data, same seed).
    assert rep.data_hash == "sha256:49368c6672eb7e34b2f79eb22f5ad41eb49a67a8bdfd1de6bf44351589c5f813"
    with_contact = parse_protocol(builtin_text().replace("\n[schedule]", CONTACT + "\n[schedule]", 1))
    assert analyse(with_contact, START, es, at("2026-07-01T12:00"), "G1", False).data_hash != rep.data_hash


def test_a_serious_event_names_the_protocols_contact(data_dir, cli, tmp_path):
    proto = tmp_path / "p.toml"
    proto.write_text(builtin_text().replace("\n[schedule]", CONTACT + "\n[schedule]", 1))
    assert cli("enroll", "--participant", "P02", "--protocol", str(proto), "--start", "2026-03-02",
               now="2026-03-02T09:00").exit_code == 0
    r = cli("event", "ae", "--what", "fainted", "--started", "2026-03-05", "--severity", "severe", "--serious",
            now="2026-03-05T10:00")
    assert "please ALSO call the study team (LDN study nurse) at +1 650 555 0100 now" in r.stderr
    assert Store.in_dir(data_dir).count("events") == 1
