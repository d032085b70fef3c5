"""Events filed as a participant files them (CLI, at 10:00), synced once to a real hub, then in all four
exports with their period: SQLite and CSV tables, FHIR AdverseEvent / MedicationStatement (validated by
fhir.resources), REDCap repeating instruments checked against their own dictionary."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import date

from click.testing import CliRunner
from hub_fixture import hub  # noqa: F401

from diary_client.cli.tree import main

START = date(2026, 3, 2)


def filed_and_exported(cli, hub, tmp_path) -> dict:
    code = hub.code("P01", START)
    assert cli("enroll", "--participant", "P01", "--hub", hub.url, "--code", code, now="2026-03-02T09:00").exit_code == 0
    ae = cli("event", "ae", "--what", "nausea", "--started", "2026-03-05", "--severity", "moderate", "--json",
             now="2026-03-05T10:00")
    ae_id = json.loads(ae.output)["id"]
    assert cli("event", "ae", "--supersedes", ae_id, "--why", "it stopped", "--resolved", "2026-03-06",
               now="2026-03-06T10:00").exit_code == 0
    assert cli("event", "med", "--name", "ibuprofen", "--dose", "400 mg", "--taken", "2026-03-17T07:30",
               now="2026-03-17T10:00").exit_code == 0
    assert cli("event", "dose", "--amount", "3 mg", "--from", "2026-03-30", now="2026-03-30T10:00").exit_code == 0
    assert json.loads(cli("sync", "--json", now="2026-03-30T10:05").output)["events_sent"] == 4  # one sync
    out = {"sqlite": tmp_path / "x.db", "csv": tmp_path / "csv", "fhir": tmp_path / "fhir", "redcap": tmp_path / "rc"}
    r = CliRunner().invoke(main, ["hub", "export", "--db", str(hub.db_path), *(a for k, v in out.items()
                                                                               for a in (f"--{k}", str(v)))])
    assert r.exit_code == 0 and "4 events" in r.output, r.output
    return out | {"ae_id": ae_id}


def rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_events_are_in_all_four_exports_with_their_period(cli, hub, data_dir, tmp_path):
    from fhir.resources.R4B.bundle import Bundle

    out = filed_and_exported(cli, hub, tmp_path)
    db = sqlite3.connect(out["sqlite"])
    db.row_factory = sqlite3.Row
    aes = [dict(r) for r in db.execute("SELECT * FROM adverse_events ORDER BY submitted_at")]
    assert [(a["event_id"] == out["ae_id"], a["current"], a["resolved"], a["period"], a["role"]) for a in aes] == [
        (True, 0, None, "baseline", "baseline"), (False, 1, "2026-03-06", "baseline", "baseline")]
    assert aes[1]["supersedes"] == out["ae_id"] and aes[1]["reason"] == "it stopped" and aes[1]["received_at"]
    [med] = [dict(r) for r in db.execute("SELECT * FROM medications")]
    assert (med["name"], med["dose"], med["purpose"], med["period"], med["phase_label"], med["study_day"]) == (
        "ibuprofen", "400 mg", "rescue", "placebo", "Placebo", 16)
    assert med["taken_at"].startswith("2026-03-17T07:30:00")
    [dose] = [dict(r) for r in db.execute("SELECT * FROM doses")]
    assert (dose["amount"], dose["from_date"], dose["period"], dose["role"]) == ("3 mg", "2026-03-30", "ldn", "active")
    meta = json.loads((out["sqlite"].with_name("x.metadata.json")).read_text())
    assert "severity" in meta["databases"]["x"]["tables"]["adverse_events"]["columns"]

    csv_aes = rows(out["csv"] / "adverse_events.csv")
    assert [r["period"] for r in csv_aes] == ["baseline", "baseline"] and rows(out["csv"] / "doses.csv")[0]["period"] == "ldn"
    assert rows(out["csv"] / "medications.csv")[0]["purpose"] == "rescue"

    doc = json.loads((out["fhir"] / "Bundle-P01.json").read_text())
    Bundle.model_validate(doc)  # fhir.resources' R4B models: every resource in it is valid
    kinds = [e["resource"]["resourceType"] for e in doc["entry"]]
    assert kinds.count("AdverseEvent") == 2 and kinds.count("MedicationStatement") == 2
    [fixed] = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "AdverseEvent"
               and e["resource"]["id"] != out["ae_id"]]
    assert fixed["outcome"]["coding"][0]["code"] == "resolved" and fixed["severity"]["coding"][0]["code"] == "moderate"
    exts = {x["url"].rsplit("/", 1)[1]: x for x in fixed["extension"]}
    assert exts["period"]["valueCode"] == "baseline" and exts["replaces"]["valueReference"]["reference"].endswith(out["ae_id"])
    statements = {e["resource"]["status"]: e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "MedicationStatement"}
    assert statements["completed"]["medicationCodeableConcept"]["text"] == "ibuprofen"
    assert statements["active"]["dosage"][0]["text"] == "3 mg"

    dictionary = {r["Variable / Field Name"]: r for r in rows(out["redcap"] / "ldn-fm_DataDictionary.csv")}
    data = rows(out["redcap"] / "ldn-fm_ImportData.csv")
    by_form = {}
    for r in data:
        by_form.setdefault(r["redcap_repeat_instrument"], []).append(r)
    [ae] = by_form["adverse_event"]  # the event as it stands, the correction applied
    assert (ae["ae_what"], ae["ae_severity"], ae["ae_serious"], ae["ae_resolved"], ae["ae_corrected"], ae["ae_period"]) == (
        "nausea", "2", "0", "2026-03-06", "1", "baseline")
    assert ae["redcap_repeat_instance"] == "1" and ae["adverse_event_complete"] == "2"
    [m] = by_form["medication"]
    assert (m["med_taken"], m["med_purpose"], m["med_period"]) == ("2026-03-17 07:30", "1", "placebo")
    assert by_form["dose_change"][0]["dose_period"] == "ldn"
    for col in data[0]:
        assert col.split("___")[0] in dictionary or col.startswith("redcap_repeat") or col.endswith("_complete"), col
    for name in ("ae_severity", "med_purpose"):
        assert dictionary[name]["Field Type"] == "radio"
    for r in data:
        for name in ("ae_severity", "med_purpose"):
            codes = {c.split(",")[0].strip() for c in dictionary[name]["Choices, Calculations, OR Slider Labels"].split("|")}
            assert r[name] == "" or r[name] in codes


def test_the_cohort_reports_harms_and_flow_as_the_exported_tables_count_them(cli, hub, data_dir, tmp_path):
    """`hub report --json`'s harms and flow, against counts made directly from `hub export --csv`."""
    out = filed_and_exported(cli, hub, tmp_path)
    assert cli("event", "ae", "--what", "dizzy", "--started", "2026-03-31", "--severity", "severe", "--serious",
               now="2026-03-31T10:00").exit_code == 0
    assert json.loads(cli("sync", "--json", now="2026-03-31T10:05").output)["events_pending"] == 0  # sent at once
    r = CliRunner().invoke(main, ["hub", "export", "--db", str(hub.db_path), "--csv", str(tmp_path / "csv2")])
    assert r.exit_code == 0, r.output
    standing = [a for a in rows(tmp_path / "csv2" / "adverse_events.csv") if a["current"] == "1"]
    rep = CliRunner().invoke(main, ["hub", "report", "--db", str(hub.db_path), "--json"],
                             env={"DIARY_NOW": "2026-04-02T12:00", "DIARY_NOW_QUIET": "1"})
    assert rep.exit_code == 0, rep.output
    doc = json.loads(rep.stdout)
    for role in {a["role"] for a in standing}:
        mine = [a for a in standing if a["role"] == role]
        got = doc["harms"][role]
        assert (got["events"], got["participants"], got["serious"]) == (
            len(mine), len({a["participant_id"] for a in mine}), sum(a["serious"] == "1" for a in mine))
        assert got["by_severity"] == {s: sum(a["severity"] == s for a in mine) for s in ("mild", "moderate", "severe")}
    participants = rows(tmp_path / "csv2" / "participants.csv")
    assert doc["flow"]["enrolled"] == len(participants) == 1
    assert out["ae_id"] not in {a["event_id"] for a in standing}  # the corrected one counts through its correction
