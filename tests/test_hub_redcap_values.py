"""REDCap's import file carries every value exactly as typed; its dates are marked as identifiers."""

from __future__ import annotations

import csv
from datetime import date

from conftest import at
from hub_fixture import answers_for, make_entry

from diary_client.core.protocol import builtin_text, parse_protocol
from sync.hub.export import export
from sync.hub.store import HubStore

START = date(2026, 3, 2)
NOTES = ["-not a number", "=1+2", "+1", "@x", "\ttabbed", 'she said "enough", then left', "a, b, c",
         "two\nlines", "first\r\nsecond", "Übelkeit — 头痛 🙂", "'quoted already", " leading space"]


def test_redcap_import_round_trips_every_text_value_byte_for_byte(tmp_path):
    protocol = parse_protocol(builtin_text())
    hub = HubStore(tmp_path / "hub.db")
    hub.enrolment.register("P01", builtin_text(), START, "UTC", at("2026-03-01T09:00"))
    entries = [make_entry("P01", START, day, answers=answers_for(protocol, "baseline") | {"note": note})
               for day, note in enumerate(NOTES, 1)]
    got = hub.ingest("P01", entries, at("2026-03-20T09:00"))
    assert not got.rejected, got.rejected
    export(hub, at("2026-03-20T12:00"), redcap_dir=tmp_path / "redcap")
    hub.close()
    with open(tmp_path / "redcap" / "ldn-fm_ImportData.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["redcap_repeat_instrument"] == "daily_diary"]
    notes = {int(r["redcap_repeat_instance"]): r["note"] for r in rows}
    assert [notes[day] for day in range(1, len(NOTES) + 1)] == NOTES
    # ... while the codebook beside it, meant for people, keeps the spreadsheet guard
    with open(tmp_path / "redcap" / "codebook.csv", newline="", encoding="utf-8") as f:
        assert "'" not in f.readline()  # a header without formula characters stays as is


def test_redcap_dictionary_marks_dates_as_identifiers(tmp_path):
    hub = HubStore(tmp_path / "hub.db")
    hub.enrolment.register("P01", builtin_text(), START, "UTC", at("2026-03-01T09:00"))
    export(hub, at("2026-03-20T12:00"), redcap_dir=tmp_path / "redcap")
    hub.close()
    with open(tmp_path / "redcap" / "ldn-fm_DataDictionary.csv", newline="", encoding="utf-8") as f:
        fields = {r["Variable / Field Name"]: r for r in csv.DictReader(f)}
    dates = {name for name, r in fields.items() if r["Text Validation Type OR Show Slider Number"] == "date_ymd"}
    assert dates == {"start_date", "end_date", "diary_date", "ae_started", "ae_resolved", "dose_from"}  # events' too
    assert {name for name, r in fields.items() if r["Identifier?"] == "y"} == dates | {"submitted_at", "med_taken"}
