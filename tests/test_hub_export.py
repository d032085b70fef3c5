"""`diary hub export`: SQLite (+ Datasette metadata, daily view), CSV, FHIR R4B and REDCap, from a real hub."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from diary_client.cli.tree import main
from diary_client.core.entry import Entry, new_id
from sync.hub.export import export
from sync.hub.store import HubStore

PROTOCOL = """
id = "kinds"
title = "Every kind of item"
version = 1

[[phases]]
id = "base"
role = "baseline"
days = 3
label = "Baseline"

[[phases]]
id = "drug"
role = "active"
days = 3
label = "Drug"

[[items]]
id = "severity"
label = "Severity"
kind = "vas"
prompt = "How severe were your symptoms {day}?"
min_label = "None"
max_label = "Worst"
primary = true

[[items]]
id = "dose"
kind = "number"
prompt = "How many doses?"
min = -5
max = 10
better = "higher"

[[items]]
id = "took"
kind = "yesno"
prompt = "Did you take the capsule?"
phases = ["drug"]

[[items]]
id = "mood"
kind = "choice"
prompt = "Mood?"
options = ["good", "bad", "=cmd()"]

[[items]]
id = "effects"
kind = "multi"
prompt = "Side effects?"
options = ["nausea", "rash"]

[[items]]
id = "pain"
kind = "vas"
prompt = "Pain?"
optional = true

[[items]]
id = "note"
kind = "text"
prompt = "Anything else?"
optional = true
"""
V2 = (PROTOCOL.replace("version = 1", "version = 2").replace('options = ["nausea", "rash"]', 'options = ["rash", "dizzy"]')
      + '\n[[items]]\nid = "sleep"\nkind = "number"\nprompt = "Hours of sleep?"\noptional = true\n')
START = date(2026, 3, 2)
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
CET = timezone(timedelta(hours=1))

# Participant A: day -> answers (day 2 is corrected, day 3 chose no effect and skipped pain and note)
A = {
    1: {"severity": 40, "dose": -2, "mood": "good", "effects": ["nausea"], "pain": 10, "note": "+1 call me"},
    2: {"severity": 55, "dose": 3, "mood": "=cmd()", "effects": ["rash", "nausea"], "pain": 20, "note": None},
    3: {"severity": 60, "dose": 1.5, "mood": "bad", "effects": [], "pain": None, "note": None},
    4: {"severity": 30, "dose": 0, "took": True, "mood": "good", "effects": ["dizzy"], "pain": 5, "note": "ok",
        "sleep": 7.5},
    5: {"severity": 20, "dose": 1, "took": False, "mood": "good", "effects": [], "pain": None, "note": None,
        "sleep": None},
}
CORRECTED_DAY2 = {**A[2], "severity": 35}


def entry(pid: str, day: int, answers: dict, version: int, seq: int, supersedes: str | None = None) -> Entry:
    d = START + timedelta(days=day - 1)
    return Entry(id=new_id(), participant_id=pid, study_id="kinds", protocol_version=version, diary_date=d,
                 study_day=day, answers=answers, submitted_at=datetime.combine(d, datetime.min.time(), CET).replace(hour=19),
                 timing="on_time", source="app", device_id="dev-A", seq=seq, supersedes=supersedes,
                 reason="typo" if supersedes else None)


@pytest.fixture
def hub_db(tmp_path) -> tuple[Path, dict]:
    """A hub with two protocol versions, a correction, and a participant without a day 1 yet."""
    path = tmp_path / "hub.db"
    hub = HubStore(path)
    hub.enrolment.register("A", PROTOCOL, START, "Europe/Berlin", NOW)
    hub.enrolment.register("B", PROTOCOL, None, "UTC", NOW)
    first = [entry("A", d, A[d], 1, d) for d in (1, 2, 3)]
    r = hub.ingest("A", first, NOW)
    assert len(r.accepted) == 3, r.rejected
    hub.enrolment.publish(V2, NOW)
    fix = entry("A", 2, CORRECTED_DAY2, 1, 9, supersedes=first[1].id)
    r = hub.ingest("A", [fix, *(entry("A", d, A[d], 2, d) for d in (4, 5))], NOW)
    assert len(r.accepted) == 3, r.rejected
    hub.close()
    return path, {"first": first, "fix": fix}


def run_export(path: Path, **outs) -> dict:
    hub = HubStore(path)
    try:
        return export(hub, NOW, **outs)
    finally:
        hub.close()


STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d")


def test_sqlite_tables_codebook_and_daily_view(hub_db, tmp_path):
    path, _ = hub_db
    out = tmp_path / "out.db"
    counts = run_export(path, sqlite_out=out)
    assert counts["participants"] == 2 and counts["entries"] == 6
    db = sqlite3.connect(out)
    # every item of every version in the codebook, direction only on numeric items, codes stable across versions
    book = {(v, i): (kind, better, options, lo, hi, phases) for v, i, kind, better, options, lo, hi, phases in db.execute(
        "SELECT protocol_version, item_id, kind, better, options, range_min, range_max, phases FROM codebook")}
    assert {i for v, i in book if v == 1} == {"severity", "dose", "took", "mood", "effects", "pain", "note"}
    assert {i for v, i in book if v == 2} == {i for v, i in book if v == 1} | {"sleep"}
    assert book[(1, "severity")][:2] == ("vas", "lower") and book[(1, "severity")][3:5] == (0, 100)
    assert book[(1, "dose")][1:2] + book[(1, "dose")][3:5] == ("higher", -5, 10)
    assert all(better is None for (v, i), (kind, better, *_) in book.items() if kind not in ("vas", "number"))
    assert book[(1, "effects")][2] == "1 = nausea | 2 = rash | 0 = (none chosen)"
    assert book[(2, "effects")][2] == "2 = rash | 3 = dizzy | 0 = (none chosen)"  # v2 dropped nausea: codes stay
    assert book[(1, "took")][5] == "drug" and book[(1, "severity")][5] == "base;drug"
    labels = dict(db.execute("SELECT item_id, label FROM codebook WHERE protocol_version = 1"))
    assert labels["severity"] == "Severity" and labels["dose"] == "dose"  # the label, else the id
    assert db.execute("SELECT prompt FROM codebook WHERE item_id = 'severity'").fetchone() == (
        "How severe were your symptoms {day}?",)  # as the protocol words it
    # chose nothing and skipped differ in answers; items not asked have no row
    rows = {(d, i): (status, value, code, num) for d, i, status, value, code, num in db.execute(
        "SELECT study_day, item_id, status, value, code, value_num FROM answers WHERE counts = 1")}
    assert rows[(3, "effects")] == ("answered", "", "0", None)
    assert rows[(3, "pain")] == ("skipped", None, None, None)
    assert rows[(2, "effects")] == ("answered", "rash;nausea", "2;1", None)
    assert rows[(4, "took")] == ("answered", "yes", None, 1) and (3, "took") not in rows
    assert rows[(1, "dose")][3] == -2 and rows[(3, "dose")][3] == 1.5 and rows[(2, "severity")][3] == 35
    assert rows[(2, "mood")][1:3] == ("=cmd()", "3")  # SQLite keeps the text as typed
    # one timestamp format
    for sub, rec in db.execute("SELECT submitted_at, received_at FROM entries"):
        assert STAMP.fullmatch(sub) and STAMP.fullmatch(rec) and sub.endswith("+01:00")
    # entry_no follows participant and date; the daily view has the counted report of each day
    order = [r[0] for r in db.execute("SELECT diary_date FROM entries ORDER BY entry_no")]
    assert order == sorted(order)
    cur = db.execute("SELECT * FROM daily")
    cols = [c[0] for c in cur.description]
    daily = [dict(zip(cols, r)) for r in cur]
    assert {"severity", "dose", "took", "mood", "effects", "pain", "note", "sleep"} <= set(cols)
    assert [r["study_day"] for r in daily] == [1, 2, 3, 4, 5]
    by_day = {r["study_day"]: r for r in daily}
    assert by_day[2]["severity"] == 35 and by_day[2]["corrected"] == 1
    assert by_day[3]["effects"] == "(none chosen)" and by_day[3]["pain"] is None and by_day[3]["took"] is None
    assert by_day[4]["took"] == 1 and by_day[5]["took"] == 0 and by_day[4]["effects"] == "dizzy"
    assert by_day[1]["dose"] == -2 and by_day[4]["sleep"] == 7.5 and by_day[1]["note"] == "+1 call me"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    participants = dict(db.execute("SELECT participant_id, start FROM participants").fetchall())
    assert participants == {"A": "2026-03-02", "B": None}  # B has no day 1 yet: in the table, not a failure


def _csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_csv_is_safe_to_open_in_a_spreadsheet(hub_db, tmp_path):
    path, _ = hub_db
    run_export(path, csv_dir=tmp_path / "csv")
    answers = {(r["study_day"], r["item_id"], r["counts"]): r for r in _csv(tmp_path / "csv" / "answers.csv")}
    assert answers[("2", "mood", "1")]["value"] == "'=cmd()"  # would run as a formula otherwise
    assert answers[("1", "note", "1")]["value"] == "'+1 call me"
    assert answers[("1", "dose", "1")]["value"] == "-2"  # a number stays a number
    assert (answers[("3", "effects", "1")]["status"], answers[("3", "effects", "1")]["code"]) == ("answered", "0")
    assert (answers[("3", "pain", "1")]["status"], answers[("3", "pain", "1")]["value"]) == ("skipped", "")
    book = _csv(tmp_path / "csv" / "codebook.csv")
    assert {r["item_id"] for r in book} == {"severity", "dose", "took", "mood", "effects", "pain", "note", "sleep"}
    assert next(r["options"] for r in book if r["item_id"] == "mood") == "1 = good | 2 = bad | 3 = =cmd()"


def _hub_values(hub_path: Path) -> dict[str, dict]:
    hub = HubStore(hub_path)
    try:
        return {e.id: e for e in hub.reads.entries()}
    finally:
        hub.close()


def test_fhir_resources_validate_and_hold_the_hubs_values(hub_db, tmp_path):
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.questionnaire import Questionnaire

    path, _ = hub_db
    folder = tmp_path / "fhir"
    run_export(path, fhir_dir=folder)
    q1 = Questionnaire.model_validate_json((folder / "Questionnaire-kinds-v1.json").read_text())
    q2 = Questionnaire.model_validate_json((folder / "Questionnaire-kinds-v2.json").read_text())
    assert (q1.version, q2.version) == ("1", "2") and q1.url == q2.url
    items = {i.linkId: i for i in q1.item}
    sev = items["severity"]
    assert sev.type == "integer" and sev.required and sev.text == "How severe were your symptoms today?"
    urls = {e.url: e for e in sev.extension}
    assert urls["http://hl7.org/fhir/StructureDefinition/minValue"].valueInteger == 0
    assert urls["http://hl7.org/fhir/StructureDefinition/maxValue"].valueInteger == 100
    assert urls["http://hl7.org/fhir/StructureDefinition/questionnaire-sliderStepValue"].valueInteger == 1
    control = urls["http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"]
    assert control.valueCodeableConcept.coding[0].code == "slider"
    assert [c.text for c in sev.item] == ["None", "Worst"] and sev.code[0].display == "Severity"
    assert items["took"].type == "boolean" and [w.answerCoding.code for w in items["took"].enableWhen] == ["drug"]
    assert items["effects"].repeats and [o.valueCoding.code for o in items["effects"].answerOption] == ["1", "2", "0"]
    assert items["mood"].type == "choice" and items["pain"].required is False
    assert {i.linkId for i in q2.item} - {i.linkId for i in q1.item} == {"sleep"}

    hub_entries = _hub_values(path)
    bundle = Bundle.model_validate_json((folder / "Bundle-A.json").read_text())
    assert bundle.type == "collection" and len(bundle.entry) == 6
    assert Bundle.model_validate_json((folder / "Bundle-B.json").read_text()).entry is None  # no day 1, no entries
    seen = 0
    for be in bundle.entry:
        qr = be.resource
        e = hub_entries[qr.id]
        assert be.fullUrl == f"urn:uuid:{e.id}" and qr.subject.identifier.value == "A"
        assert qr.authored == e.submitted_at
        ext = {x.url.rsplit("/", 1)[1]: x for x in qr.extension}
        assert ext["diary-date"].valueDate == e.diary_date and ext["study-day"].valueInteger == e.study_day
        assert qr.questionnaire.endswith(f"|{e.protocol_version}")
        if e.supersedes:
            assert qr.status == "amended" and ext["replaces"].valueReference.reference == f"urn:uuid:{e.supersedes}"
        else:
            assert qr.status == "completed" and "replaces" not in ext
        got = {}
        for it in qr.item:
            if it.linkId == "_phase":
                continue
            vals = []
            for a in it.answer:
                for attr in ("valueInteger", "valueDecimal", "valueBoolean", "valueString"):
                    if getattr(a, attr) is not None:
                        vals.append(getattr(a, attr))
                if a.valueCoding is not None:
                    vals.append(a.valueCoding.display)
            got[it.linkId] = vals
        want = {}
        for k, v in e.answers.items():
            if v is None:
                continue  # skipped: no item in the response
            want[k] = (v or ["(none chosen)"]) if isinstance(v, list) else [v]
        assert {k: [float(x) if isinstance(x, int | float) and not isinstance(x, bool) else x for x in vs]
                for k, vs in got.items()} == \
            {k: [float(x) if isinstance(x, int | float) and not isinstance(x, bool) else x for x in vs]
             for k, vs in want.items()}
        seen += 1
    assert seen == 6


def test_redcap_files_match_their_dictionary(hub_db, tmp_path):
    from sync.hub.export_redcap import DICTIONARY_HEADER

    path, _ = hub_db
    folder = tmp_path / "redcap"
    run_export(path, redcap_dir=folder)
    with (folder / "kinds_DataDictionary.csv").open(newline="", encoding="utf-8") as f:
        header, *fields = list(csv.reader(f))
    assert header == DICTIONARY_HEADER and len(header) == 18
    dictionary = {r[0]: dict(zip(header, r)) for r in fields}
    assert fields[0][0] == "record_id"  # REDCap's record id is the first field
    forms = {r["Form Name"] for r in dictionary.values()}
    rows = _csv(folder / "kinds_ImportData.csv")
    allowed_system = {"redcap_repeat_instrument", "redcap_repeat_instance"} | {f"{f}_complete" for f in forms}
    for col in rows[0]:
        base = col.split("___")[0]
        assert col in allowed_system or base in dictionary, col
        if "___" in col:
            f = dictionary[base]
            assert f["Field Type"] == "checkbox"
            codes = [c.split(",")[0].strip() for c in f["Choices, Calculations, OR Slider Labels"].split("|")]
            assert col.split("___")[1] in codes
    for r in rows:
        for col, v in r.items():
            if v == "" or col in allowed_system:
                continue
            f = dictionary.get(col.split("___")[0])
            kind = f["Field Type"]
            if kind in ("radio", "dropdown"):
                codes = {c.split(",")[0].strip() for c in f["Choices, Calculations, OR Slider Labels"].split("|")}
                assert v in codes, (col, v)
            elif kind in ("yesno", "checkbox"):
                assert v in ("0", "1"), (col, v)
            elif kind == "slider" or f["Text Validation Type OR Show Slider Number"] in ("number", "integer"):
                lo, hi = f["Text Validation Min"], f["Text Validation Max"]
                assert (not lo or float(v) >= float(lo)) and (not hi or float(v) <= float(hi)), (col, v)
            elif f["Text Validation Type OR Show Slider Number"] == "date_ymd":
                date.fromisoformat(v)
    diary = {int(r["redcap_repeat_instance"]): r for r in rows if r["redcap_repeat_instrument"] == "daily_diary"}
    assert sorted(diary) == [1, 2, 3, 4, 5]  # counted reports only, instance = study day
    assert all(diary[d]["study_day"] == str(d) for d in diary)
    assert diary[2]["severity"] == "35" and diary[2]["corrected"] == "1"  # the correction applied
    assert [diary[3][f"effects___{c}"] for c in (1, 2, 3, 0)] == ["0", "0", "0", "1"]  # chose nothing
    assert diary[2]["effects___1"] == diary[2]["effects___2"] == "1" and diary[2]["effects___0"] == "0"
    assert diary[1]["effects___1"] == "1"  # nausea, an option version 2 dropped, still has its column
    assert diary[3]["pain"] == "" and diary[3]["note"] == ""  # skipped
    assert (diary[4]["took"], diary[5]["took"], diary[3]["took"]) == ("1", "0", "")
    assert diary[1]["phase"] == "1" and diary[4]["phase"] == "2"
    assert dictionary["took"]["Branching Logic (Show field only if...)"] == "[phase] = '2'"
    assert dictionary["effects"]["Field Annotation"] == "@NONEOFTHEABOVE=0"  # an action tag, not neutralised
    assert dictionary["severity"]["Field Type"] == "slider" and dictionary["took"]["Field Type"] == "yesno"
    assert {r["record_id"] for r in rows if not r["redcap_repeat_instrument"]} == {"A", "B"}


async def test_datasette_metadata_loads_and_sorts_by_participant_and_date(hub_db, tmp_path):
    from datasette.app import Datasette

    path, _ = hub_db
    out = tmp_path / "study.db"
    run_export(path, sqlite_out=out)
    meta = json.loads((tmp_path / "study.metadata.json").read_text())
    ds = Datasette([str(out)], metadata=meta)
    got = (await ds.client.get("/-/metadata.json")).json()
    assert got["databases"]["study"]["tables"]["entries"]["sort"] == "entry_no"
    db = sqlite3.connect(out)
    for table, spec in meta["databases"]["study"]["tables"].items():
        cols = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        assert set(spec["columns"]) <= cols, table
    r = await ds.client.get("/study/entries.json?_shape=array")
    rows = r.json()
    assert r.status_code == 200 and [(x["participant_id"], x["diary_date"]) for x in rows] == \
        sorted((x["participant_id"], x["diary_date"]) for x in rows)
    r = await ds.client.get("/study/phases.json?_shape=array&participant_id=A")
    assert [x["phase_id"] for x in r.json()] == ["base", "drug"]
    r = await ds.client.get("/study/codebook.json?_shape=array&protocol_version=1")
    assert [x["position"] for x in r.json()] == list(range(1, 8))
    r = await ds.client.get("/study/answers.json?_shape=array&_size=100")
    assert [x["diary_date"] for x in r.json()] == sorted(x["diary_date"] for x in r.json())
    r = await ds.client.get("/study/daily.json?_shape=array")
    assert r.status_code == 200 and [x["study_day"] for x in r.json()] == [1, 2, 3, 4, 5]
    page = await ds.client.get("/study/entries")
    assert page.status_code == 200 and "One row per entry on the hub" in page.text


def test_cli_writes_every_format_and_refuses_an_unwritable_place(hub_db, tmp_path, monkeypatch):
    path, _ = hub_db
    monkeypatch.setenv("DIARY_NOW", "2026-03-10T12:00")

    def run(*args: str):
        return CliRunner().invoke(main, ["hub", "export", "--db", str(path), *args])

    r = run("--fhir", str(tmp_path / "f"), "--redcap", str(tmp_path / "r"), "--sqlite", str(tmp_path / "x.db"))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "x.metadata.json").exists() and (tmp_path / "r" / "codebook.csv").exists()
    assert (tmp_path / "f" / "codebook.csv").exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = run("--redcap", str(blocker / "sub"))
    assert r.exit_code == 1 and "cannot write the export" in r.output and "Traceback" not in r.output


def test_the_export_reads_the_hub_as_it_was_when_it_began(hub_db):
    path, _ = hub_db
    reader, writer = HubStore(path), HubStore(path)  # two connections, as an export beside a serving hub
    day6 = {"severity": 1, "dose": 0, "took": True, "mood": "good", "effects": [], "pain": None, "note": None}
    try:
        with reader.reads.snapshot():
            before = len(reader.reads.entries("A"))
            assert writer.ingest("A", [entry("A", 6, day6, 2, 6)], NOW).accepted
            assert len(reader.reads.entries("A")) == before
        assert len(reader.reads.entries("A")) == before + 1
    finally:
        reader.close()
        writer.close()


def test_a_hub_with_two_studies_exports_each_in_its_own_terms(hub_db, tmp_path):
    from hub_fixture import make_entry

    from diary_client.core.protocol import builtin_text

    path, _ = hub_db
    hub = HubStore(path)
    hub.enrolment.register("C", builtin_text(), START, "UTC", NOW)
    assert hub.ingest("C", [make_entry("C", START, 1)], NOW).accepted
    hub.close()
    run_export(path, sqlite_out=tmp_path / "two.db", redcap_dir=tmp_path / "r", fhir_dir=tmp_path / "f")
    db = sqlite3.connect(tmp_path / "two.db")
    cols = [r[1] for r in db.execute("PRAGMA table_info(daily)")]
    assert {"side_effects", "capsule", "effects", "took"} <= set(cols) and cols.count("severity") == 1
    assert db.execute("SELECT side_effects, effects FROM daily WHERE participant_id = 'C'").fetchone() == \
        ("(none chosen)", None)
    assert {p.name for p in (tmp_path / "r").glob("*_DataDictionary.csv")} == \
        {"kinds_DataDictionary.csv", "ldn-fm_DataDictionary.csv"}
    assert [r["record_id"] for r in _csv(tmp_path / "r" / "ldn-fm_ImportData.csv")] == ["C", "C"]
    assert (tmp_path / "f" / "Questionnaire-ldn-fm-v1.json").exists()


def _hub_of(path: Path, n: int) -> Path:
    hub = HubStore(path)
    for k in range(n):
        pid = f"M{k:03d}"
        hub.enrolment.register(pid, PROTOCOL, START, "UTC", NOW)
        hub.ingest(pid, [entry(pid, d, A[d], 1, d) for d in (1, 2, 3)], NOW)
    hub.close()
    return path


def test_export_memory_does_not_grow_with_the_study(tmp_path):
    import tracemalloc

    peaks = {}
    for run, n in enumerate((4, 4, 60)):  # the first run pays for imports and caches
        hub = _hub_of(tmp_path / f"hub{run}.db", n)
        tracemalloc.start()
        run_export(hub, sqlite_out=tmp_path / f"x{run}.db", csv_dir=tmp_path / f"c{run}",
                   fhir_dir=tmp_path / f"f{run}", redcap_dir=tmp_path / f"r{run}")
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks[60] < peaks[4] * 1.25, peaks  # 15 times the participants, about the same peak


@pytest.mark.parametrize(("cell", "written"), [
    ("=1+1", "'=1+1"), ("+1 call me", "'+1 call me"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("-2", "-2"), ("+2.5", "+2.5"), ("1e-3", "1e-3"), ("ok", "ok"), (7, 7), (None, None),
])
def test_a_csv_cell_never_runs_as_a_formula(cell, written):
    from diary_client.core.spreadsheet import safe_cell

    assert safe_cell(cell) == written
